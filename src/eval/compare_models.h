// Several models evaluated on one text against the first (the base): perplexity, KLD against
// the base's saved distributions, and paired tests between every two models on identical
// tokens. What `qmix compare` prints and the workflow's evaluation step records.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/evaluate.h"
#include "eval/model_session.h"
#include "eval/paired.h"

namespace qmix {

inline constexpr std::string_view kCompareJsonSchema = "qmix.compare/1";

struct CompareModelsOptions {
  int64_t n_ctx = 512;
  int64_t max_chunks = -1;  // -1: every complete chunk
  BosPolicy bos = BosPolicy::kAuto;
  int threads = 0;
  int top_k = 64;                     // base distribution entries kept per token
  std::filesystem::path scratch_dir;  // for the base logits while they are needed ("": temp dir)
  ProgressSink* progress = nullptr;   // models done / models
  const CancelToken* cancel = nullptr;
};

struct ModelEvaluation {
  std::string name;  // file name
  uint64_t bytes = 0;
  double bpw = 0;
  EvalOutcome eval;
};

struct ModelPair {
  size_t a = 0, b = 0;  // indices into TextComparison::models
  PairedResult result;
};

struct TextComparison {
  std::string text;                     // as given
  std::vector<ModelEvaluation> models;  // [0] is the base
  std::vector<ModelPair> pairs;
};

// models[0] is the base; every model must tokenize the text as the base does.
Expected<TextComparison> compare_models_on_text(const std::vector<std::filesystem::path>& models,
                                                const std::filesystem::path& text,
                                                const CompareModelsOptions& options);

std::string comparison_markdown(const TextComparison& c);
nlohmann::json text_comparison_json(const TextComparison& c);
// {"schema": "qmix.compare/1", "texts": [...]}
nlohmann::json compare_document(const std::vector<TextComparison>& texts);

}  // namespace qmix
