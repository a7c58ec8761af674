// The base model's distribution per scored token, stored compactly for KL-divergence runs.
//
// Full logits (1M tokens × 150k vocab) would be hundreds of GB, so each scored token keeps:
// the target id, the base log-probability of the target, and the top-k token ids with their
// log-probabilities (k = 64 by default); the rest of the vocabulary is one "remainder" bucket
// of mass 1 − Σ top-k. KL(base‖quant) is computed over the k+1 buckets, a lower bound of the
// full KL that is tight when the top k hold nearly all of the base mass (reported per file).
//
// File layout (little-endian), documented in docs/logits-format.md:
//   "QMXLOGIT" u32 version=1, u32 n_vocab, u32 top_k, u32 n_ctx, u32 n_chunks,
//   u64 tokens_hash (of the evaluated token ids), then per chunk: u64 compressed_size and a
//   zstd frame holding, per scored token: i32 target, f32 target_logprob,
//   top_k × i32 ids, top_k × f32 logprobs (descending).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/mapped_file.h"

namespace qmix {

struct TokenDistribution {
  int32_t target = 0;
  float target_logprob = 0;
  std::vector<int32_t> top_ids;
  std::vector<float> top_logprobs;
};

// Log-softmax of `logits` reduced to the stored form.
TokenDistribution summarize_distribution(std::span<const float> logits, int32_t target, int top_k);

struct LogitsFileHeader {
  uint32_t n_vocab = 0, top_k = 0, n_ctx = 0, n_chunks = 0;
  uint64_t tokens_hash = 0;
};

uint64_t hash_tokens(std::span<const int32_t> tokens);

class LogitsWriter {
 public:
  static Expected<LogitsWriter> create(const std::filesystem::path& path,
                                       const LogitsFileHeader& header);
  Status add(const TokenDistribution& d);  // in order
  Status end_chunk();
  Status finish();  // checks that header.n_chunks chunks were written, renames into place

 private:
  AtomicFile out_;
  LogitsFileHeader header_;
  std::vector<std::byte> chunk_;
  uint32_t chunks_written_ = 0;
};

class LogitsReader {
 public:
  static Expected<LogitsReader> open(const std::filesystem::path& path);
  const LogitsFileHeader& header() const { return header_; }
  // Decodes chunk c (validated sizes; corrupt data is an error).
  Expected<std::vector<TokenDistribution>> chunk(uint32_t c) const;

 private:
  MappedFile file_;
  LogitsFileHeader header_;
  std::vector<uint64_t> chunk_offsets_;
  std::vector<uint64_t> chunk_sizes_;
};

}  // namespace qmix
