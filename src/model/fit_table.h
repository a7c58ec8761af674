// The table `qmix fit` prints and the workflow records: per KV-cache type, the largest context
// that fits a memory budget and/or the memory one context needs (memory_model.h; docs/fit.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/memory_model.h"

namespace qmix {

struct FitRequest {
  std::vector<std::string> kv_types{"f16", "q8_0", "q4_0"};
  uint64_t budget = 0;   // 0: no budget (then ctx must be set)
  int64_t ctx = 0;       // > 0: size this context; else the largest that fits
  MemoryRequest memory;  // n_seq, n_ubatch, flash attention, overhead (n_ctx, types ignored)
};

struct FitRow {
  std::string kv;
  uint64_t kv_per_token = 0;
  int64_t max_ctx = -1;   // with a budget
  MemoryEstimate at_ctx;  // at request.ctx, or at max_ctx
};

// Errors: an unknown KV-cache type name.
Expected<std::vector<FitRow>> fit_rows(const HParams& hp, uint64_t weight_bytes,
                                       const FitRequest& request);

// {"schema": "qmix.fit/1", "model", "weights_bytes", "rows": [...]} (docs/fit.md).
nlohmann::json fit_json(const std::string& model_name, const HParams& hp, uint64_t weight_bytes,
                        const std::vector<FitRow>& rows, uint64_t budget);

}  // namespace qmix
