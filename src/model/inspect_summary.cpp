#include "model/inspect_summary.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <tuple>

namespace qmix {
namespace {

size_t role_rank(Role role) {
  const auto roles = all_roles();
  for (size_t i = 0; i < roles.size(); ++i)
    if (roles[i].role == role) return i;
  return roles.size();
}

// Per-block tensors sort by role (table order), then weight before bias, then name.
using LayerColumnKey = std::tuple<size_t, int, std::string>;

LayerColumnKey layer_column_key(const TensorEntry& t) {
  const int suffix_rank = t.parsed.suffix == "bias" ? 1 : 0;
  return {role_rank(t.parsed.role), suffix_rank, t.layer_name};
}

std::string layer_name_of(std::string_view name, const TensorName& parsed) {
  if (parsed.block < 0) return std::string(name);
  // parse_tensor_name found "blk.<digits>."; drop through the dot after the digits.
  std::string_view rest = name.substr(name.find('.', 4) + 1);
  if (rest.ends_with(".weight")) rest.remove_suffix(std::string_view(".weight").size());
  return std::string(rest);
}

TensorEntry make_entry(const GgufTensorRef& ref) {
  const GgufTensorInfo& info = *ref.info;
  TensorEntry e;
  e.name = info.name;
  e.shape = info.shape;
  e.type = info.type;
  e.params = info.n_elements;
  e.bytes = info.n_bytes;
  e.shard = ref.shard;
  e.parsed = parse_tensor_name(info.name);
  e.layer_name = layer_name_of(info.name, e.parsed);
  return e;
}

void add_type(std::vector<TypeCount>& types, GgmlType type, const TensorEntry& t) {
  auto it = std::find_if(types.begin(), types.end(), [&](const auto& c) { return c.type == type; });
  if (it == types.end()) it = types.insert(types.end(), TypeCount{type, {}});
  it->tally.add(t.params, t.bytes);
}

void sort_by_type_id(std::vector<TypeCount>& types) {
  std::sort(types.begin(), types.end(), [](const auto& a, const auto& b) {
    return static_cast<uint32_t>(a.type) < static_cast<uint32_t>(b.type);
  });
}

void tally_tensors(InspectSummary& s) {
  std::map<RoleGroup, Tally> groups;
  std::map<size_t, RoleCount> roles;  // by role rank
  for (const auto& t : s.tensors) {
    s.all.add(t.params, t.bytes);
    if (t.is_matrix()) s.matrices.add(t.params, t.bytes);
    add_type(s.types, t.type, t);
    groups[role_info(t.parsed.role).group].add(t.params, t.bytes);
    auto [it, inserted] =
        roles.try_emplace(role_rank(t.parsed.role), RoleCount{t.parsed.role, {}, {}});
    it->second.tally.add(t.params, t.bytes);
    add_type(it->second.types, t.type, t);
    s.shards[t.shard].tensors++;
  }
  sort_by_type_id(s.types);
  for (const auto& [group, tally] : groups) s.groups.push_back({group, tally});
  for (auto& [rank, role] : roles) {
    sort_by_type_id(role.types);
    s.roles.push_back(std::move(role));
  }
}

void tally_layers(InspectSummary& s) {
  std::vector<LayerColumnKey> keys;
  for (const auto& t : s.tensors)
    if (t.parsed.block >= 0) keys.push_back(layer_column_key(t));
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  for (const auto& k : keys) s.layer_columns.push_back({std::get<2>(k)});

  std::map<int, LayerEntry> layers;
  for (const auto& t : s.tensors) {
    if (t.parsed.block < 0) continue;
    LayerEntry& layer = layers[t.parsed.block];
    layer.block = t.parsed.block;
    layer.types.resize(keys.size());
    layer.tally.add(t.params, t.bytes);
    const auto column = static_cast<size_t>(
        std::lower_bound(keys.begin(), keys.end(), layer_column_key(t)) - keys.begin());
    layer.types[column] = t.type;
    if (t.is_matrix()) s.layer_columns[column].matrix = true;
  }
  for (auto& [block, layer] : layers) s.layers.push_back(std::move(layer));
}

std::optional<int64_t> int_value(const GgufFile& f, std::string_view key) {
  const GgufValue* v = f.find(key);
  return v ? v->as_int() : std::nullopt;
}

std::string string_value(const GgufFile& f, std::string_view key) {
  const GgufValue* v = f.find(key);
  const std::string* s = v ? v->as_string() : nullptr;
  return s ? *s : std::string();
}

uint64_t array_size(const GgufFile& f, std::string_view key) {
  const GgufValue* v = f.find(key);
  return v && v->is_array() ? v->array_size() : 0;
}

TokenizerSummary summarize_tokenizer(const GgufFile& f) {
  TokenizerSummary t;
  t.model = string_value(f, "tokenizer.ggml.model");
  t.pre = string_value(f, "tokenizer.ggml.pre");
  t.vocab = array_size(f, "tokenizer.ggml.tokens");
  t.merges = array_size(f, "tokenizer.ggml.merges");
  t.bos = int_value(f, "tokenizer.ggml.bos_token_id");
  t.eos = int_value(f, "tokenizer.ggml.eos_token_id");
  t.chat_template = f.find("tokenizer.chat_template") != nullptr;
  return t;
}

std::optional<double> bits_per_weight(uint64_t bytes, uint64_t params) {
  if (params == 0) return std::nullopt;
  return 8.0 * static_cast<double>(bytes) / static_cast<double>(params);
}

}  // namespace

std::optional<double> Tally::bpw() const { return bits_per_weight(bytes, params); }

std::optional<double> InspectSummary::file_bpw() const {
  return bits_per_weight(file_size, all.params);
}

std::string type_label(GgmlType type) {
  std::string name(quant_type(type).name);
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

InspectSummary summarize_model(const GgufModel& model) {
  InspectSummary s;
  const GgufFile& meta = model.metadata();
  for (const auto& shard : model.shards()) {
    s.shards.push_back({shard.name(), shard.file_size(), 0});
    s.file_size += shard.file_size();
  }
  s.version = meta.version();
  s.alignment = meta.alignment();
  s.kv_count = meta.kvs().size();
  s.architecture = string_value(meta, "general.architecture");
  s.name = string_value(meta, "general.name");
  s.file_type = int_value(meta, "general.file_type");
  s.tokenizer = summarize_tokenizer(meta);
  for (const auto& ref : model.tensors()) s.tensors.push_back(make_entry(ref));
  tally_tensors(s);
  tally_layers(s);
  return s;
}

}  // namespace qmix
