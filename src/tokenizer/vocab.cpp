#include "tokenizer/vocab.h"

#include <limits>

namespace qmix {
namespace {

constexpr int32_t kMaxTokenType = static_cast<int32_t>(TokenType::kByte);

Status read_types(const GgufFile& file, size_t n, std::vector<TokenType>& types) {
  types.assign(n, TokenType::kNormal);
  const GgufValue* value = file.find("tokenizer.ggml.token_type");
  if (!value) return ok_status();
  auto raw = value->as_int_array();
  if (!raw || raw->size() != n) {
    return make_error(ErrorCode::kCorrupt,
                      "tokenizer.ggml.token_type: expected {} integers, found {}", n,
                      value->to_display_string());
  }
  for (size_t i = 0; i < n; ++i) {
    const int64_t t = (*raw)[i];
    // Unknown type numbers are kept as "undefined" (treated like normal tokens).
    types[i] = t >= 0 && t <= kMaxTokenType ? static_cast<TokenType>(t) : TokenType::kUndefined;
  }
  return ok_status();
}

Status read_scores(const GgufFile& file, size_t n, std::vector<float>& scores) {
  scores.assign(n, 0.0f);
  const GgufValue* value = file.find("tokenizer.ggml.scores");
  if (!value) return ok_status();
  auto raw = value->as_float_array();
  if (!raw || raw->size() != n) {
    return make_error(ErrorCode::kCorrupt, "tokenizer.ggml.scores: expected {} floats, found {}", n,
                      value->to_display_string());
  }
  scores = std::move(*raw);
  return ok_status();
}

}  // namespace

Expected<Vocab> Vocab::from_gguf(const GgufFile& file) {
  const GgufValue* tokens = file.find("tokenizer.ggml.tokens");
  if (!tokens) return make_error(ErrorCode::kNotFound, "no tokenizer.ggml.tokens in the file");
  const std::vector<std::string>* texts = tokens->as_string_array();
  if (!texts || texts->empty()) {
    return make_error(ErrorCode::kCorrupt,
                      "tokenizer.ggml.tokens: expected a non-empty string array, found {}",
                      tokens->to_display_string());
  }
  if (texts->size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return make_error(ErrorCode::kOutOfRange, "tokenizer.ggml.tokens: {} tokens is too many",
                      texts->size());
  }
  Vocab vocab;
  vocab.texts_ = *texts;
  QMIX_TRY(read_types(file, texts->size(), vocab.types_));
  QMIX_TRY(read_scores(file, texts->size(), vocab.scores_));
  vocab.index_.reserve(texts->size());
  for (int32_t id = 0; id < vocab.size(); ++id) vocab.index_[vocab.text(id)] = id;
  return vocab;
}

int32_t Vocab::find(std::string_view text) const {
  auto it = index_.find(text);
  return it == index_.end() ? kNoToken : it->second;
}

}  // namespace qmix
