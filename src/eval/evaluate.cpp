#include "eval/evaluate.h"

#include <algorithm>

namespace qmix {
namespace {

int64_t chunks_available(std::span<const int32_t> tokens, int64_t n_ctx, int64_t max_chunks) {
  int64_t n = n_ctx > 0 ? static_cast<int64_t>(tokens.size()) / n_ctx : 0;
  if (max_chunks >= 0) n = std::min(n, max_chunks);
  return n;
}

// Streams the base distributions of every scored token into a logits file.
class BaseSaver {
 public:
  static Expected<BaseSaver> create(const std::filesystem::path& path, const LogitsFileHeader& h,
                                    int64_t last_position) {
    QMIX_TRY_ASSIGN(LogitsWriter w, LogitsWriter::create(path, h));
    return BaseSaver(std::move(w), static_cast<int>(h.top_k), last_position);
  }
  Status add(int64_t position, std::span<const float> logits, int32_t target) {
    QMIX_TRY(writer_.add(summarize_distribution(logits, target, top_k_)));
    if (position == last_position_) QMIX_TRY(writer_.end_chunk());
    return ok_status();
  }
  Status finish() { return writer_.finish(); }

 private:
  BaseSaver(LogitsWriter w, int top_k, int64_t last)
      : writer_(std::move(w)), top_k_(top_k), last_position_(last) {}
  LogitsWriter writer_;
  int top_k_;
  int64_t last_position_;
};

// Compares every scored token with the stored base distribution at the same place.
class BaseComparer {
 public:
  explicit BaseComparer(LogitsReader reader) : reader_(std::move(reader)) {}
  const LogitsFileHeader& header() const { return reader_.header(); }
  Status add(int64_t chunk, int64_t index_in_chunk, std::span<const float> logits, int32_t target,
             std::vector<TokenComparison>& out) {
    if (chunk != loaded_chunk_) {
      QMIX_TRY_ASSIGN(base_, reader_.chunk(static_cast<uint32_t>(chunk)));
      loaded_chunk_ = chunk;
    }
    if (index_in_chunk >= static_cast<int64_t>(base_.size()))
      return make_error(ErrorCode::kInvalidArgument,
                        "base logits file has fewer scored tokens in chunk {} than this run",
                        chunk);
    const TokenDistribution& b = base_[static_cast<size_t>(index_in_chunk)];
    if (b.target != target)
      return make_error(ErrorCode::kInvalidArgument,
                        "base logits file scores token {} where this run has {} (chunk {})",
                        b.target, target, chunk);
    out.push_back(compare_token(b, logits));
    return ok_status();
  }

 private:
  LogitsReader reader_;
  std::vector<TokenDistribution> base_;
  int64_t loaded_chunk_ = -1;
};

Status check_base(const LogitsFileHeader& h, const Engine& engine, int64_t n_ctx, int64_t n_chunks,
                  uint64_t tokens_hash) {
  if (h.n_vocab != static_cast<uint64_t>(engine.n_vocab()))
    return make_error(ErrorCode::kInvalidArgument,
                      "base logits file has a vocabulary of {}, the model {}", h.n_vocab,
                      engine.n_vocab());
  if (h.n_ctx != static_cast<uint64_t>(n_ctx))
    return make_error(ErrorCode::kInvalidArgument,
                      "base logits file was made with --ctx {}, this run uses {}", h.n_ctx, n_ctx);
  if (h.n_chunks < n_chunks)
    return make_error(ErrorCode::kInvalidArgument, "base logits file holds {} chunks, need {}",
                      h.n_chunks, n_chunks);
  if (h.tokens_hash != tokens_hash)
    return make_error(ErrorCode::kInvalidArgument,
                      "base logits file was made from different tokens (text or tokenizer differ)");
  return ok_status();
}

}  // namespace

uint64_t evaluated_tokens_hash(std::span<const int32_t> tokens, int64_t n_ctx, int64_t n_chunks) {
  return hash_tokens(tokens.first(static_cast<size_t>(n_ctx * n_chunks)));
}

Expected<EvalOutcome> evaluate(Engine& engine, std::span<const int32_t> tokens,
                               const EvalOptions& options) {
  PerplexityOptions popt;
  popt.n_ctx = options.n_ctx;
  popt.bos_token = options.bos_token;
  popt.progress = options.progress;
  popt.cancel = options.cancel;
  popt.on_chunk = options.on_chunk;
  EvalOutcome out;
  std::optional<BaseComparer> comparer;
  int64_t n_chunks = chunks_available(tokens, options.n_ctx, options.max_chunks);
  if (!options.kld_base.empty()) {
    QMIX_TRY_ASSIGN(LogitsReader reader, LogitsReader::open(options.kld_base));
    if (options.max_chunks < 0)
      n_chunks = std::min<int64_t>(n_chunks, static_cast<int64_t>(reader.header().n_chunks));
    Status checked = check_base(reader.header(), engine, options.n_ctx, n_chunks,
                                evaluated_tokens_hash(tokens, options.n_ctx, n_chunks));
    if (!checked.ok()) return checked.error().with_context(options.kld_base.string());
    comparer.emplace(std::move(reader));
  }
  popt.max_chunks = n_chunks;
  std::optional<BaseSaver> saver;
  const int64_t first = options.n_ctx / 2, last = options.n_ctx - 2;
  if (!options.save_logits.empty()) {
    LogitsFileHeader h;
    h.n_vocab = static_cast<uint32_t>(engine.n_vocab());
    h.top_k = static_cast<uint32_t>(std::clamp<int64_t>(options.top_k, 1, engine.n_vocab()));
    h.n_ctx = static_cast<uint32_t>(options.n_ctx);
    h.n_chunks = static_cast<uint32_t>(n_chunks);
    h.tokens_hash = evaluated_tokens_hash(tokens, options.n_ctx, n_chunks);
    QMIX_TRY_ASSIGN(BaseSaver s, BaseSaver::create(options.save_logits, h, last));
    saver.emplace(std::move(s));
  }
  if (saver || comparer)
    popt.on_scored_token = [&](int64_t chunk, int64_t position, std::span<const float> logits,
                               int32_t target) -> Status {
      if (saver) QMIX_TRY(saver->add(position, logits, target));
      if (comparer)
        QMIX_TRY(comparer->add(chunk, position - first, logits, target, out.comparisons));
      return ok_status();
    };
  QMIX_TRY_ASSIGN(out.ppl, perplexity(engine, tokens, popt));
  if (saver) QMIX_TRY(saver->finish());
  if (comparer) out.kld = summarize_kld(out.comparisons);
  return out;
}

}  // namespace qmix
