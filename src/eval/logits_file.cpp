#include "eval/logits_file.h"

#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace qmix {
namespace {

constexpr char kMagic[8] = {'Q', 'M', 'X', 'L', 'O', 'G', 'I', 'T'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderSize = 8 + 5 * 4 + 8;

template <class T>
void append(std::vector<std::byte>& out, const T& v) {
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &v, sizeof(T));
}

template <class T>
T load(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace

TokenDistribution summarize_distribution(std::span<const float> logits, int32_t target, int top_k) {
  double mx = logits[0];
  for (float v : logits) mx = std::max(mx, static_cast<double>(v));
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - mx);
  const double log_z = mx + std::log(sum);
  const int k = std::min<int>(top_k, static_cast<int>(logits.size()));
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
    return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)];
  });
  TokenDistribution d;
  d.target = target;
  d.target_logprob = static_cast<float>(logits[static_cast<size_t>(target)] - log_z);
  d.top_ids.assign(ids.begin(), ids.begin() + k);
  for (int32_t id : d.top_ids)
    d.top_logprobs.push_back(static_cast<float>(logits[static_cast<size_t>(id)] - log_z));
  return d;
}

uint64_t hash_tokens(std::span<const int32_t> tokens) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the id bytes
  for (int32_t t : tokens)
    for (int i = 0; i < 4; ++i) {
      h ^= static_cast<uint8_t>(static_cast<uint32_t>(t) >> (8 * i));
      h *= 1099511628211ull;
    }
  return h;
}

Expected<LogitsWriter> LogitsWriter::create(const std::filesystem::path& path,
                                            const LogitsFileHeader& header) {
  LogitsWriter w;
  QMIX_TRY_ASSIGN(w.out_, AtomicFile::create(path));
  w.header_ = header;
  std::vector<std::byte> h;
  for (char c : kMagic) append(h, c);
  append(h, kVersion);
  append(h, header.n_vocab);
  append(h, header.top_k);
  append(h, header.n_ctx);
  append(h, header.n_chunks);
  append(h, header.tokens_hash);
  QMIX_TRY(w.out_.write(h));
  return w;
}

Status LogitsWriter::add(const TokenDistribution& d) {
  if (d.top_ids.size() != header_.top_k)
    return make_error(ErrorCode::kInternal, "distribution has {} entries, expected {}",
                      d.top_ids.size(), header_.top_k);
  append(chunk_, d.target);
  append(chunk_, d.target_logprob);
  for (int32_t id : d.top_ids) append(chunk_, id);
  for (float lp : d.top_logprobs) append(chunk_, lp);
  return ok_status();
}

Status LogitsWriter::end_chunk() {
  std::vector<std::byte> packed(ZSTD_compressBound(chunk_.size()));
  const size_t n = ZSTD_compress(packed.data(), packed.size(), chunk_.data(), chunk_.size(), 3);
  if (ZSTD_isError(n)) return make_error(ErrorCode::kInternal, "zstd: {}", ZSTD_getErrorName(n));
  std::vector<std::byte> size_field;
  append(size_field, static_cast<uint64_t>(n));
  QMIX_TRY(out_.write(size_field));
  QMIX_TRY(out_.write({packed.data(), n}));
  chunk_.clear();
  ++chunks_written_;
  return ok_status();
}

Status LogitsWriter::finish() {
  if (chunks_written_ != header_.n_chunks)
    return make_error(ErrorCode::kInternal, "{} of {} chunks written", chunks_written_,
                      header_.n_chunks);
  return out_.commit();
}

Expected<LogitsReader> LogitsReader::open(const std::filesystem::path& path) {
  LogitsReader r;
  QMIX_TRY_ASSIGN(r.file_, MappedFile::open(path));
  const auto bytes = r.file_.bytes();
  const auto corrupt = [&](std::string_view what) {
    return make_error(ErrorCode::kCorrupt, "{}: not a valid qmix logits file ({})", path.string(),
                      what);
  };
  if (bytes.size() < kHeaderSize || std::memcmp(bytes.data(), kMagic, 8) != 0)
    return corrupt("bad magic");
  if (load<uint32_t>(bytes.data() + 8) != kVersion) return corrupt("unknown version");
  r.header_.n_vocab = load<uint32_t>(bytes.data() + 12);
  r.header_.top_k = load<uint32_t>(bytes.data() + 16);
  r.header_.n_ctx = load<uint32_t>(bytes.data() + 20);
  r.header_.n_chunks = load<uint32_t>(bytes.data() + 24);
  r.header_.tokens_hash = load<uint64_t>(bytes.data() + 28);
  if (r.header_.top_k == 0 || r.header_.top_k > r.header_.n_vocab || r.header_.n_ctx < 4)
    return corrupt("bad header");
  uint64_t pos = kHeaderSize;
  for (uint32_t c = 0; c < r.header_.n_chunks; ++c) {
    if (bytes.size() - pos < 8) return corrupt("truncated");
    const uint64_t n = load<uint64_t>(bytes.data() + pos);
    pos += 8;
    if (n > bytes.size() - pos) return corrupt("chunk outside the file");
    r.chunk_offsets_.push_back(pos);
    r.chunk_sizes_.push_back(n);
    pos += n;
  }
  return r;
}

Expected<std::vector<TokenDistribution>> LogitsReader::chunk(uint32_t c) const {
  if (c >= chunk_sizes_.size())
    return make_error(ErrorCode::kOutOfRange, "logits file has no chunk {}", c);
  const std::byte* src = file_.bytes().data() + chunk_offsets_[c];
  const uint64_t record = 8 + 8 * static_cast<uint64_t>(header_.top_k);
  const uint64_t expected = record * (header_.n_ctx - 1 - header_.n_ctx / 2);
  const unsigned long long content = ZSTD_getFrameContentSize(src, chunk_sizes_[c]);
  if (content != expected)
    return make_error(ErrorCode::kCorrupt, "{}: chunk {} has the wrong size", file_.path().string(),
                      c);
  std::vector<std::byte> raw(expected);
  const size_t n = ZSTD_decompress(raw.data(), raw.size(), src, chunk_sizes_[c]);
  if (ZSTD_isError(n) || n != expected)
    return make_error(ErrorCode::kCorrupt, "{}: chunk {} does not decompress",
                      file_.path().string(), c);
  std::vector<TokenDistribution> out;
  for (uint64_t off = 0; off < expected; off += record) {
    TokenDistribution d;
    const std::byte* p = raw.data() + off;
    d.target = load<int32_t>(p);
    d.target_logprob = load<float>(p + 4);
    for (uint32_t i = 0; i < header_.top_k; ++i) d.top_ids.push_back(load<int32_t>(p + 8 + 4 * i));
    for (uint32_t i = 0; i < header_.top_k; ++i)
      d.top_logprobs.push_back(load<float>(p + 8 + 4 * (header_.top_k + i)));
    for (int32_t id : d.top_ids)
      if (id < 0 || static_cast<uint32_t>(id) >= header_.n_vocab)
        return make_error(ErrorCode::kCorrupt, "{}: chunk {}: token id out of range",
                          file_.path().string(), c);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace qmix
