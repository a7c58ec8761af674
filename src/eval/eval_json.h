// JSON of evaluation results (keys documented in docs/eval.md), shared by `qmix perplexity`,
// `qmix compare` and the workflow.
#pragma once

#include <nlohmann/json.hpp>

#include "eval/evaluate.h"

namespace qmix {

nlohmann::json kld_json(const KldReport& r);
nlohmann::json eval_json(const EvalOutcome& out);

}  // namespace qmix
