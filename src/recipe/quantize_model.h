// Executes a quantization plan: streams the input model tensor by tensor (memory-mapped),
// converts and quantizes each in bounded chunks of rows on all threads, and writes the output
// GGUF through a temporary file that is renamed into place only when everything succeeded.
#pragma once

#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/progress.h"
#include "gguf/gguf_model.h"
#include "gguf/gguf_value.h"
#include "quant/quantize_rows.h"
#include "recipe/tensor_plan.h"

namespace qmix {

// Importance data as the quantizer consumes it: per weight name, the per-column importance
// (E[x²]) of every matrix, matrix-major (n_per_row × n_expert values for expert tensors).
struct ImportanceData {
  std::string file;     // as named on the command line (quantize.imatrix.file)
  std::string dataset;  // first calibration dataset, if known
  int64_t chunk_count = 0;
  std::unordered_map<std::string, std::vector<float>> values;
};

enum class RequantizeMode { kRefuse, kAllow };  // --allow-requantize
// --keep-split: one output per input shard (the plan must then use PlanOrder::kByShard).
enum class OutputSplit { kOneFile, kKeepShards };

struct QuantizeJob {
  const QuantPlan* plan = nullptr;
  const ImportanceData* imatrix = nullptr;           // null: none
  std::vector<GgufKv> metadata_overrides;            // --override-kv, set after the file type keys
  QuantAlgorithm algorithm = QuantAlgorithm::kBest;  // kReference: byte-identical to ggml
  RequantizeMode requantize = RequantizeMode::kRefuse;
  OutputSplit split = OutputSplit::kOneFile;
  int threads = 0;                            // <= 0: all cores
  uint64_t chunk_values = uint64_t{1} << 24;  // rows converted at once: bounds memory
  ProgressSink* progress = nullptr;           // bytes of input done / total
  WarningSink* warnings = nullptr;
  const CancelToken* cancel = nullptr;
};

// Everything that can be known wrong before writing a byte: missing imatrix where the plan
// needs one, imatrix entries of the wrong size, requantization without permission, types
// without kernels, output path equal to the input. Warnings (imatrix entries missing for
// tensors that would use them) go to job.warnings.
Status check_quantize_job(const GgufModel& input, const std::filesystem::path& output,
                          const QuantizeJob& job);

// The output's metadata: the input's, then general.quantization_version, general.file_type,
// the overrides and the quantize.imatrix.* keys, in llama-quantize's order.
std::vector<GgufKv> output_metadata(const GgufModel& input, const QuantizeJob& job);

// The files quantize_model writes: `output` itself, or, keeping the shards of a split input,
// llama.cpp's split names made from `output` without ".gguf" ("out-00001-of-00003.gguf").
std::vector<std::filesystem::path> output_paths(const GgufModel& input,
                                                const std::filesystem::path& output,
                                                OutputSplit split);

// Runs check_quantize_job, then writes `output`. On any error or cancellation nothing is left
// at `output` (and an existing file there is untouched).
Status quantize_model(const GgufModel& input, const std::filesystem::path& output,
                      const QuantizeJob& job);

}  // namespace qmix
