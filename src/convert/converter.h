// Hugging Face checkpoint directory → GGUF file, the way llama.cpp's convert_hf_to_gguf.py
// writes it (same tensors, bytes and metadata), streamed one tensor at a time into an atomic
// output file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/progress.h"
#include "quant/types.h"

namespace qmix {

// --outtype values, with the general.file_type llama.cpp records for each.
struct OutType {
  std::string_view name;  // "bf16"
  GgmlType type;
  uint32_t file_type;  // llama_ftype
};
std::span<const OutType> out_types();
// "auto" picks bf16 or f16 from the checkpoint's first matrix (f16 for f32 checkpoints), as
// llama.cpp does; it is resolved in convert_model.
Expected<const OutType*> out_type_by_name(std::string_view name);

struct ConvertOptions {
  std::string outtype = "auto";
  std::string pre_tokenizer;  // tokenizer.ggml.pre override ("" = recognise)
  int threads = 0;            // <= 0: all cores
  ProgressSink* progress = nullptr;
  const CancelToken* cancel = nullptr;
};

struct ConvertReport {
  std::string model_class;  // config.json architectures[0]
  std::string arch;         // general.architecture
  std::string outtype;
  std::string name;        // general.name
  std::string size_label;  // general.size_label
  std::string pre_tokenizer;
  int64_t n_tokens = 0;
  size_t n_tensors = 0;
  uint64_t n_params = 0;
  uint64_t file_bytes = 0;
};

Expected<ConvertReport> convert_model(const std::filesystem::path& model_dir,
                                      const std::filesystem::path& output,
                                      const ConvertOptions& options);

// general.* naming as llama.cpp derives it: the directory name in title case
// ("tiny-qwen3moe" → "Tiny Qwen3Moe") and the size label ("6.8M", "8x2.6M").
std::string model_name_from_directory(std::string_view directory_name);
std::string size_label(uint64_t total_params, uint64_t shared_params, uint64_t expert_params,
                       uint64_t expert_count);

}  // namespace qmix
