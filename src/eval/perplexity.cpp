#include "eval/perplexity.h"

#include <chrono>
#include <cmath>

namespace qmix {

double token_nll(std::span<const float> logits, int32_t target) {
  double mx = logits[0];
  for (float v : logits) mx = std::max(mx, static_cast<double>(v));
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - mx);
  return -(static_cast<double>(logits[static_cast<size_t>(target)]) - mx - std::log(sum));
}

NllStats summarize_nll(std::span<const double> nll) {
  NllStats s;
  const double n = static_cast<double>(nll.size());
  if (nll.empty()) return s;
  double sum = 0, sum2 = 0;
  for (double v : nll) {
    sum += v;
    sum2 += v * v;
  }
  s.mean = sum / n;
  s.ppl = std::exp(s.mean);
  const double var = sum2 / n - s.mean * s.mean;
  s.ppl_err = nll.size() > 1 ? s.ppl * std::sqrt(std::max(0.0, var) / (n - 1)) : 0.0;
  return s;
}

Expected<PerplexityResult> perplexity(Engine& engine, std::span<const int32_t> tokens,
                                      const PerplexityOptions& opt) {
  if (opt.n_ctx < 4)
    return make_error(ErrorCode::kInvalidArgument, "context size {} is too small", opt.n_ctx);
  int64_t n_chunks = static_cast<int64_t>(tokens.size()) / opt.n_ctx;
  if (opt.max_chunks >= 0) n_chunks = std::min(n_chunks, opt.max_chunks);
  if (n_chunks == 0)
    return make_error(ErrorCode::kInvalidArgument, "{} tokens are fewer than one chunk of {}",
                      tokens.size(), opt.n_ctx);
  const int64_t first = opt.n_ctx / 2;
  const int64_t vocab = engine.n_vocab();
  PerplexityResult r;
  const auto start = std::chrono::steady_clock::now();
  std::vector<int32_t> chunk(static_cast<size_t>(opt.n_ctx));
  for (int64_t c = 0; c < n_chunks; ++c) {
    if (opt.cancel && opt.cancel->cancelled())
      return make_error(ErrorCode::kCancelled, "interrupted");
    std::copy_n(tokens.begin() + c * opt.n_ctx, opt.n_ctx, chunk.begin());
    if (opt.bos_token) chunk[0] = *opt.bos_token;
    QMIX_TRY_ASSIGN(const std::vector<float> logits, engine.eval(chunk, first));
    double chunk_sum = 0;
    for (int64_t j = first; j < opt.n_ctx - 1; ++j) {
      const std::span<const float> row(logits.data() + (j - first) * vocab,
                                       static_cast<size_t>(vocab));
      const int32_t target = tokens[static_cast<size_t>(c * opt.n_ctx + j + 1)];
      const double nll = token_nll(row, target);
      r.nll.push_back(nll);
      chunk_sum += nll;
      if (opt.on_scored_token) QMIX_TRY(opt.on_scored_token(c, j, row, target));
    }
    r.chunk_mean_nll.push_back(chunk_sum / static_cast<double>(opt.n_ctx - 1 - first));
    if (opt.on_chunk) opt.on_chunk(c, summarize_nll(r.nll).ppl);
    if (opt.progress)
      opt.progress->update(static_cast<uint64_t>(c + 1), static_cast<uint64_t>(n_chunks), "chunks");
  }
  if (opt.progress) opt.progress->finish();
  const NllStats s = summarize_nll(r.nll);
  r.ppl = s.ppl;
  r.ppl_err = s.ppl_err;
  r.mean_nll = s.mean;
  r.chunks = n_chunks;
  r.scored_tokens = static_cast<int64_t>(r.nll.size());
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.tokens_per_second = static_cast<double>(n_chunks * opt.n_ctx) / std::max(r.seconds, 1e-9);
  return r;
}

}  // namespace qmix
