#include "model/fit_table.h"

#include <algorithm>

namespace qmix {

Expected<std::vector<FitRow>> fit_rows(const HParams& hp, uint64_t weight_bytes,
                                       const FitRequest& request) {
  std::vector<FitRow> rows;
  for (const std::string& name : request.kv_types) {
    QMIX_TRY_ASSIGN(const QuantType* t, quant_type_by_name(name));
    MemoryRequest r = request.memory;
    r.k_type = r.v_type = t->id;
    FitRow row;
    row.kv = name;
    row.kv_per_token = kv_bytes_per_token(hp, r.k_type, r.v_type);
    if (request.budget) row.max_ctx = max_context(hp, weight_bytes, request.budget, r);
    r.n_ctx = request.ctx > 0 ? request.ctx : std::max<int64_t>(row.max_ctx, 0);
    row.at_ctx = estimate_memory(hp, weight_bytes, r);
    rows.push_back(row);
  }
  return rows;
}

nlohmann::json fit_json(const std::string& model_name, const HParams& hp, uint64_t weight_bytes,
                        const std::vector<FitRow>& rows, uint64_t budget) {
  nlohmann::json j = {
      {"schema", "qmix.fit/1"},        {"model", model_name},
      {"weights_bytes", weight_bytes}, {"attention_layers", hp.n_attention_layers()},
      {"layers", hp.n_layer},          {"recurrent_state_bytes", recurrent_state_bytes(hp)},
      {"vram_bytes", budget},          {"rows", nlohmann::json::array()}};
  for (const FitRow& r : rows)
    j["rows"].push_back({{"kv_type", r.kv},
                         {"kv_bytes_per_token", r.kv_per_token},
                         {"max_ctx", r.max_ctx},
                         {"ctx", r.at_ctx.kv_cache / std::max<uint64_t>(r.kv_per_token, 1)},
                         {"kv_cache", r.at_ctx.kv_cache},
                         {"recurrent_state", r.at_ctx.recurrent_state},
                         {"compute", r.at_ctx.compute},
                         {"overhead", r.at_ctx.overhead},
                         {"total", r.at_ctx.total()}});
  return j;
}

}  // namespace qmix
