#include "recipe/diff.h"

#include <algorithm>
#include <array>
#include <map>
#include <unordered_map>

#include "core/byte_size.h"

namespace qmix {
namespace {

struct ChangeKey {
  std::string what;
  bool in_block = false;
  GgmlType from, to;
  auto operator<=>(const ChangeKey&) const = default;
};

struct ChangeGroup {
  std::vector<int> blocks;
  size_t tensors = 0;
  std::optional<int64_t> bytes = 0;
};

std::string what_of(const std::string& name, const TensorName& parsed) {
  if (parsed.role != Role::kOther) return std::string(role_info(parsed.role).name);
  if (parsed.block < 0) return name;
  return name.substr(fmt::format("blk.{}.", parsed.block).size());
}

void add_size(TableSize& size, const TensorDesc& shape_of, GgmlType type) {
  size.elements += shape_of.n_elements();
  const auto bytes = shape_of.bytes_as(type);
  if (size.bytes && bytes) {
    *size.bytes += *bytes;
  } else {
    size.bytes.reset();
  }
}

std::optional<int64_t> bytes_delta(const TensorDesc& shape_of, GgmlType from, GgmlType to) {
  const auto a = shape_of.bytes_as(from), b = shape_of.bytes_as(to);
  if (!a || !b) return std::nullopt;
  return static_cast<int64_t>(*b) - static_cast<int64_t>(*a);
}

// Zones with the same change on the same blocks list all their roles.
std::vector<DiffZone> zones_of(const std::map<ChangeKey, ChangeGroup>& groups) {
  std::vector<DiffZone> zones;
  for (const auto& [key, g] : groups) {
    const LayerSet layers = LayerSet::from_blocks(g.blocks);
    auto same = [&](const DiffZone& z) {
      return z.from == key.from && z.to == key.to && z.layers == layers;
    };
    auto it = std::find_if(zones.begin(), zones.end(), same);
    if (it == zones.end()) {
      zones.push_back({{}, layers, key.from, key.to, 0, 0});
      it = zones.end() - 1;
    }
    it->what.push_back(key.what);
    it->tensors += g.tensors;
    if (it->bytes_delta && g.bytes) {
      *it->bytes_delta += *g.bytes;
    } else {
      it->bytes_delta.reset();
    }
  }
  std::stable_sort(zones.begin(), zones.end(), [](const DiffZone& x, const DiffZone& y) {
    return x.layers.min_block() < y.layers.min_block();
  });
  return zones;
}

// "+496 B", "-1.21 MiB": a size change with its sign.
std::string signed_bytes(int64_t delta) {
  const uint64_t magnitude =
      delta < 0 ? static_cast<uint64_t>(-delta) : static_cast<uint64_t>(delta);
  return fmt::format("{}{}", delta < 0 ? "-" : "+", format_bytes(magnitude));
}

}  // namespace

std::optional<double> TableSize::bpw() const {
  if (!bytes || elements == 0) return std::nullopt;
  return 8.0 * static_cast<double>(*bytes) / static_cast<double>(elements);
}

TypeDiff diff_type_tables(std::span<const TensorDesc> a, std::span<const TensorDesc> b) {
  TypeDiff diff;
  diff.size_a.bytes = diff.size_b.bytes = 0;
  std::unordered_map<std::string_view, size_t> in_b;
  for (size_t i = 0; i < b.size(); ++i) in_b.emplace(b[i].name, i);
  std::unordered_map<std::string_view, bool> seen;
  std::map<ChangeKey, ChangeGroup> groups;
  for (const TensorDesc& ta : a) {
    const auto it = in_b.find(ta.name);
    if (it == in_b.end()) {
      diff.only_in_a.push_back(ta.name);
      continue;
    }
    const TensorDesc& tb = b[it->second];
    seen[tb.name] = true;
    const TensorDesc& shape_of = ta.shape.empty() ? tb : ta;
    ++diff.compared;
    add_size(diff.size_a, shape_of, ta.type);
    add_size(diff.size_b, shape_of, tb.type);
    if (ta.type == tb.type) continue;
    ++diff.changed;
    const TensorName parsed = parse_tensor_name(ta.name);
    ChangeGroup& g = groups[{what_of(ta.name, parsed), parsed.block >= 0, ta.type, tb.type}];
    if (parsed.block >= 0) g.blocks.push_back(parsed.block);
    ++g.tensors;
    const auto delta = bytes_delta(shape_of, ta.type, tb.type);
    if (g.bytes && delta) {
      *g.bytes += *delta;
    } else {
      g.bytes.reset();
    }
  }
  for (const TensorDesc& tb : b)
    if (!seen.contains(tb.name)) diff.only_in_b.push_back(tb.name);
  diff.zones = zones_of(groups);
  return diff;
}

std::string format_diff(const TypeDiff& diff, std::string_view name_a, std::string_view name_b) {
  std::vector<std::array<std::string, 4>> rows = {{"zone", "change", "tensors", "size"}};
  for (const DiffZone& z : diff.zones) {
    std::string what;
    for (const std::string& w : z.what) what += (what.empty() ? "" : ", ") + w;
    if (!z.layers.empty()) what = fmt::format("blk.{} {}", z.layers.to_string(), what);
    rows.push_back({what, fmt::format("{} -> {}", type_name(z.from), type_name(z.to)),
                    std::to_string(z.tensors), z.bytes_delta ? signed_bytes(*z.bytes_delta) : "?"});
  }
  std::array<size_t, 4> width{};
  for (const auto& row : rows)
    for (size_t c = 0; c < 4; ++c) width[c] = std::max(width[c], row[c].size());
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < 4; ++c) line += fmt::format("{:<{}}  ", row[c], width[c]);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  out += fmt::format("changed {} of {} tensors ({} -> {})\n", diff.changed, diff.compared, name_a,
                     name_b);
  if (diff.size_a.bytes && diff.size_b.bytes) {
    const uint64_t a = *diff.size_a.bytes, b = *diff.size_b.bytes;
    const int64_t delta = static_cast<int64_t>(b) - static_cast<int64_t>(a);
    out += fmt::format("size {} -> {} ({}, {:+.1f}%), bpw {:.3f} -> {:.3f}\n", format_bytes(a),
                       format_bytes(b), signed_bytes(delta),
                       a > 0 ? 100.0 * static_cast<double>(delta) / static_cast<double>(a) : 0.0,
                       *diff.size_a.bpw(), *diff.size_b.bpw());
  }
  for (const std::string& n : diff.only_in_a) out += fmt::format("only in {}: {}\n", name_a, n);
  for (const std::string& n : diff.only_in_b) out += fmt::format("only in {}: {}\n", name_b, n);
  return out;
}

}  // namespace qmix
