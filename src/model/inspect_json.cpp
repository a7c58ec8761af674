#include "model/inspect_json.h"

#include "model/tensor_roles.h"

namespace qmix {
namespace {

using Json = nlohmann::ordered_json;

Json optional_number(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }
Json optional_int(const std::optional<int64_t>& v) { return v ? Json(*v) : Json(nullptr); }

double share(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

// tensors, params, bytes, share of the file, bpw: the columns every tally carries.
Json tally_json(const Tally& t, uint64_t file_size) {
  return Json{{"tensors", t.tensors},
              {"params", t.params},
              {"bytes", t.bytes},
              {"share", share(t.bytes, file_size)},
              {"bpw", optional_number(t.bpw())}};
}

Json with_tally(Json head, const Tally& t, uint64_t file_size) {
  const Json tally = tally_json(t, file_size);  // a named object: items() only refers to it
  for (const auto& [k, v] : tally.items()) head[k] = v;
  return head;
}

Json scalar_json(const GgufValue& v) {
  if (const std::string* s = v.as_string()) return *s;
  if (const auto b = v.as_bool()) return *b;
  if (v.type() == GgufValueType::kFloat32 || v.type() == GgufValueType::kFloat64)
    return *v.as_float();
  if (v.type() == GgufValueType::kUint64) return *v.as_uint();
  return *v.as_int();
}

Json kv_json(const GgufKv& kv, ArrayDetail arrays) {
  Json j{{"key", kv.key}, {"type", gguf_value_type_name(kv.value.type())}};
  if (!kv.value.is_array()) {
    j["value"] = scalar_json(kv.value);
    return j;
  }
  const uint64_t count = kv.value.array_size();
  const uint64_t shown =
      arrays == ArrayDetail::kFull ? count : std::min<uint64_t>(count, kMetadataArrayHead);
  j["element_type"] = gguf_value_type_name(kv.value.array_type());
  j["count"] = count;
  Json values = Json::array();
  for (uint64_t i = 0; i < shown; ++i) values.push_back(scalar_json(kv.value.array_element(i)));
  j["value"] = std::move(values);
  j["truncated"] = shown < count;
  return j;
}

Json file_json(const InspectSummary& s) {
  Json shards = Json::array();
  for (const auto& sh : s.shards)
    shards.push_back({{"path", sh.path}, {"size", sh.size}, {"tensors", sh.tensors}});
  return Json{{"path", s.shards.front().path}, {"size", s.file_size},
              {"shards", std::move(shards)},   {"gguf_version", s.version},
              {"alignment", s.alignment},      {"kv_count", s.kv_count}};
}

Json model_json(const InspectSummary& s) {
  return Json{{"architecture", s.architecture},
              {"name", s.name},
              {"file_type", optional_int(s.file_type)},
              {"params", s.all.params},
              {"tensor_count", s.all.tensors}};
}

Json tokenizer_json(const TokenizerSummary& t) {
  return Json{{"model", t.model},
              {"pre", t.pre},
              {"vocab_size", t.vocab},
              {"merges", t.merges},
              {"bos_token_id", optional_int(t.bos)},
              {"eos_token_id", optional_int(t.eos)},
              {"chat_template", t.chat_template}};
}

Json type_counts_json(const std::vector<TypeCount>& types) {
  Json j = Json::object();
  for (const auto& t : types) j[type_label(t.type)] = t.tally.tensors;
  return j;
}

Json layers_json(const InspectSummary& s) {
  Json blocks = Json::array();
  for (const auto& layer : s.layers) {
    Json types = Json::object();
    for (size_t c = 0; c < s.layer_columns.size(); ++c)
      if (layer.types[c]) types[s.layer_columns[c].name] = type_label(*layer.types[c]);
    blocks.push_back(with_tally(Json{{"block", layer.block}, {"types", std::move(types)}},
                                layer.tally, s.file_size));
  }
  Json columns = Json::array();
  for (const auto& c : s.layer_columns) columns.push_back(c.name);
  return Json{{"columns", std::move(columns)}, {"blocks", std::move(blocks)}};
}

Json tensor_json(const TensorEntry& t) {
  const RoleInfo& role = role_info(t.parsed.role);
  return Json{{"name", t.name},
              {"type", type_label(t.type)},
              {"type_id", static_cast<uint32_t>(t.type)},
              {"shape", t.shape},
              {"params", t.params},
              {"bytes", t.bytes},
              {"bpw", optional_number(Tally{1, t.params, t.bytes}.bpw())},
              {"shard", t.shard},
              {"block", t.parsed.block >= 0 ? Json(t.parsed.block) : Json(nullptr)},
              {"role", role.name},
              {"group", role_group_name(role.group)}};
}

}  // namespace

Json inspect_json(const InspectSummary& s, const std::vector<GgufKv>& kvs, ArrayDetail arrays) {
  Json j;
  j["schema"] = kInspectJsonSchema;
  j["file"] = file_json(s);
  j["model"] = model_json(s);
  j["tokenizer"] = tokenizer_json(s.tokenizer);
  j["bpw"] = {{"tensors", optional_number(s.all.bpw())},
              {"matrices", optional_number(s.matrices.bpw())},
              {"file", optional_number(s.file_bpw())}};
  j["totals"] = {{"tensors", tally_json(s.all, s.file_size)},
                 {"matrices", tally_json(s.matrices, s.file_size)}};
  j["types"] = Json::array();
  for (const auto& t : s.types)
    j["types"].push_back(
        with_tally(Json{{"type", type_label(t.type)}, {"type_id", static_cast<uint32_t>(t.type)}},
                   t.tally, s.file_size));
  j["groups"] = Json::array();
  for (const auto& g : s.groups)
    j["groups"].push_back(
        with_tally(Json{{"group", role_group_name(g.group)}}, g.tally, s.file_size));
  j["roles"] = Json::array();
  for (const auto& r : s.roles) {
    const RoleInfo& info = role_info(r.role);
    j["roles"].push_back(with_tally(Json{{"role", info.name},
                                         {"group", role_group_name(info.group)},
                                         {"types", type_counts_json(r.types)}},
                                    r.tally, s.file_size));
  }
  j["layers"] = layers_json(s);
  j["tensors"] = Json::array();
  for (const auto& t : s.tensors) j["tensors"].push_back(tensor_json(t));
  j["metadata"] = Json::array();
  for (const auto& kv : kvs) j["metadata"].push_back(kv_json(kv, arrays));
  return j;
}

}  // namespace qmix
