// `qmix inspect FILE.gguf [--json] [--tensors] [--layers] [--kv]`: what a GGUF holds (issue #3).
// The summary (sizes, tokenizer, type histogram, true bits per weight, bytes per role group and
// role) is always printed; the flags add the per-block table, every tensor and all metadata.
// Only tensor infos and metadata are read, never tensor data, so it is instant on any size.
#include <cstdio>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/table.h"
#include "model/inspect_json.h"
#include "model/inspect_summary.h"

namespace qmix::cli {
namespace {

struct InspectArgs {
  std::string path;
  bool json = false;
  bool tensors = false;
  bool layers = false;
  bool kv = false;
};

// Exact below 100 000, then three significant digits with K/M/B (params) for readability.
std::string format_count(uint64_t n) {
  if (n < 100000) return fmt::format("{}", n);
  constexpr const char* kSuffixes[] = {"K", "M", "B", "T"};
  double v = static_cast<double>(n);
  size_t i = 0;
  for (v /= 1000; v >= 1000 && i + 1 < std::size(kSuffixes); v /= 1000) ++i;
  return fmt::format("{:.{}f} {}", v, v < 10 ? 2 : (v < 100 ? 1 : 0), kSuffixes[i]);
}

// Exact bytes below 100 000, then KiB/MiB/GiB with two decimals.
std::string format_bytes(uint64_t n) {
  if (n < 100000) return fmt::format("{} B", n);
  constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n) / 1024;
  size_t i = 0;
  for (; v >= 1024 && i + 1 < std::size(kUnits); v /= 1024) ++i;
  return fmt::format("{:.2f} {}", v, kUnits[i]);
}

std::string format_bpw(const std::optional<double>& bpw) {
  return bpw ? fmt::format("{:.2f}", *bpw) : "-";
}

std::string format_share(uint64_t part, uint64_t whole) {
  if (whole == 0) return "-";
  return fmt::format("{:.1f}%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

std::string format_shape(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

std::string format_type_counts(const std::vector<TypeCount>& types) {
  std::string out;
  for (const auto& t : types)
    out += fmt::format("{}{}×{}", out.empty() ? "" : " ", type_label(t.type), t.tally.tensors);
  return out;
}

// The columns shared by the type, group and role tables.
std::vector<std::string> tally_cells(const Tally& t, uint64_t file_size) {
  return {format_count(t.tensors), format_count(t.params), format_bytes(t.bytes),
          format_share(t.bytes, file_size), format_bpw(t.bpw())};
}

std::vector<TableColumn> tally_columns(std::string first) {
  return {{std::move(first)},       {"tensors", Align::kRight}, {"params", Align::kRight},
          {"bytes", Align::kRight}, {"share", Align::kRight},   {"bpw", Align::kRight}};
}

std::vector<std::string> row(std::string head, std::vector<std::string> rest) {
  rest.insert(rest.begin(), std::move(head));
  return rest;
}

void print_overview(const InspectSummary& s) {
  const auto& tok = s.tokenizer;
  fmt::print("file       {} ({}{}), GGUF v{}, alignment {}, {} metadata keys\n",
             s.shards.front().path, format_bytes(s.file_size),
             s.shards.size() > 1 ? fmt::format(" in {} shards", s.shards.size()) : "", s.version,
             s.alignment, s.kv_count);
  fmt::print("model      {} \"{}\"{}\n", s.architecture.empty() ? "?" : s.architecture, s.name,
             s.file_type ? fmt::format(", file type {}", *s.file_type) : "");
  fmt::print("size       {} tensors, {} parameters, {} of tensor data\n", s.all.tensors,
             format_count(s.all.params), format_bytes(s.all.bytes));
  if (!tok.model.empty() || tok.vocab > 0)
    fmt::print("tokenizer  {}{}, {} tokens, {} merges{}{}{}\n", tok.model,
               tok.pre.empty() ? "" : " (pre " + tok.pre + ")", tok.vocab, tok.merges,
               tok.bos ? fmt::format(", bos {}", *tok.bos) : "",
               tok.eos ? fmt::format(", eos {}", *tok.eos) : "",
               tok.chat_template ? ", chat template" : "");
  fmt::print("bpw        {} over all tensors, {} over 2-D+ matrices, {} over the whole file\n",
             format_bpw(s.all.bpw()), format_bpw(s.matrices.bpw()), format_bpw(s.file_bpw()));
}

void print_histograms(const InspectSummary& s) {
  TextTable types(tally_columns("type"));
  for (const auto& t : s.types)
    types.add_row(row(type_label(t.type), tally_cells(t.tally, s.file_size)));
  types.add_separator();
  types.add_row(row("total", tally_cells(s.all, s.file_size)));
  fmt::print("\ntypes\n{}", types.render());

  TextTable groups(tally_columns("group"));
  for (const auto& g : s.groups)
    groups.add_row(row(std::string(role_group_name(g.group)), tally_cells(g.tally, s.file_size)));
  fmt::print("\nrole groups\n{}", groups.render());

  TextTable roles({{"role"},
                   {"types"},
                   {"params", Align::kRight},
                   {"bytes", Align::kRight},
                   {"bpw", Align::kRight}});
  for (const auto& r : s.roles)
    roles.add_row({std::string(role_info(r.role).name), format_type_counts(r.types),
                   format_count(r.tally.params), format_bytes(r.tally.bytes),
                   format_bpw(r.tally.bpw())});
  fmt::print("\nroles\n{}", roles.render());
}

// Vectors (norms, biases) are stored as F32 in every GGUF; leaving them out keeps the table to
// the matrices whose types differ. --json lists every column.
void print_layers(const InspectSummary& s) {
  std::vector<size_t> shown;
  std::vector<TableColumn> columns{{"blk", Align::kRight}};
  for (size_t c = 0; c < s.layer_columns.size(); ++c)
    if (s.layer_columns[c].matrix) {
      shown.push_back(c);
      columns.push_back({s.layer_columns[c].name});
    }
  columns.push_back({"bytes", Align::kRight});
  columns.push_back({"bpw", Align::kRight});
  TextTable table(std::move(columns));
  for (const auto& layer : s.layers) {
    std::vector<std::string> cells{fmt::format("{}", layer.block)};
    for (const size_t c : shown)
      cells.push_back(layer.types[c] ? type_label(*layer.types[c]) : "-");
    cells.push_back(format_bytes(layer.tally.bytes));
    cells.push_back(format_bpw(layer.tally.bpw()));
    table.add_row(std::move(cells));
  }
  fmt::print("\nlayers (matrices; bytes and bpw count every tensor of the block)\n{}",
             table.render());
}

void print_tensors(const InspectSummary& s) {
  const bool split = s.shards.size() > 1;
  std::vector<TableColumn> columns{{"#", Align::kRight},
                                   {"name"},
                                   {"type"},
                                   {"shape"},
                                   {"params", Align::kRight},
                                   {"bytes", Align::kRight},
                                   {"bpw", Align::kRight}};
  if (split) columns.push_back({"shard", Align::kRight});
  TextTable table(std::move(columns));
  for (size_t i = 0; i < s.tensors.size(); ++i) {
    const auto& t = s.tensors[i];
    std::vector<std::string> cells{fmt::format("{}", i),
                                   t.name,
                                   type_label(t.type),
                                   format_shape(t.shape),
                                   format_count(t.params),
                                   format_bytes(t.bytes),
                                   format_bpw(Tally{1, t.params, t.bytes}.bpw())};
    if (split) cells.push_back(fmt::format("{}", t.shard + 1));
    table.add_row(std::move(cells));
  }
  fmt::print("\ntensors\n{}", table.render());
}

// Cuts `text` after `max_width` code points (chat templates run to kilobytes).
std::string truncate_display(std::string text, size_t max_width) {
  size_t width = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (++width > max_width) {
      const size_t total = text.size();
      text.resize(i);
      return text + fmt::format("… ({} bytes)", total);
    }
  }
  return text;
}

void print_metadata(const std::vector<GgufKv>& kvs) {
  TextTable table({{"key"}, {"type"}, {"value"}});
  for (const auto& kv : kvs) {
    const std::string type =
        kv.value.is_array() ? fmt::format("{}[{}]", gguf_value_type_name(kv.value.array_type()),
                                          kv.value.array_size())
                            : std::string(gguf_value_type_name(kv.value.type()));
    table.add_row(
        {kv.key, type, truncate_display(kv.value.to_display_string(kMetadataArrayHead), 160)});
  }
  fmt::print("\nmetadata\n{}", table.render());
}

Status run_inspect(const InspectArgs& a) {
  QMIX_TRY_ASSIGN(const GgufModel model, GgufModel::open(a.path));
  const InspectSummary summary = summarize_model(model);
  const auto& kvs = model.metadata().kvs();
  if (a.json) {
    const auto j = inspect_json(summary, kvs, a.kv ? ArrayDetail::kFull : ArrayDetail::kHead);
    // Names and strings in a GGUF need not be valid UTF-8: replace, never throw.
    fmt::print("{}\n", j.dump(1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
    return ok_status();
  }
  print_overview(summary);
  print_histograms(summary);
  if (a.layers) print_layers(summary);
  if (a.tensors) print_tensors(summary);
  if (a.kv) print_metadata(kvs);
  return ok_status();
}

}  // namespace

void register_inspect(CLI::App& app, CommandTable& table) {
  auto a = std::make_shared<InspectArgs>();
  auto* sub = app.add_subcommand(
      "inspect", "show what a GGUF holds: types, true bits per weight, roles, layers, metadata");
  sub->add_option("file", a->path, "GGUF file (the first shard of a split model)")->required();
  sub->add_flag("--json", a->json, "machine-readable output (all sections; docs/inspect-json.md)");
  sub->add_flag("--tensors", a->tensors, "list every tensor: type, shape, params, bytes, bpw");
  sub->add_flag("--layers", a->layers, "per block: the type of each tensor and the block's bpw");
  sub->add_flag("--kv", a->kv, "list all metadata (with --json: arrays in full)");
  table.add(sub, [a] {
    const Status s = run_inspect(*a);
    return s.ok() ? 0 : report_error(s.error());
  });
}

}  // namespace qmix::cli
