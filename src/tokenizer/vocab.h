// The token list of a GGUF tokenizer (`tokenizer.ggml.*`): texts, types, scores and the
// text → id index shared by the BPE and SentencePiece models.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_file.h"

namespace qmix {

// llama.cpp's token types, as stored in `tokenizer.ggml.token_type`.
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

inline constexpr int32_t kNoToken = -1;

class Vocab {
 public:
  // Reads tokens, token_type and scores; checks the arrays agree in length.
  static Expected<Vocab> from_gguf(const GgufFile& file);
  Vocab() = default;
  Vocab(const Vocab&) = delete;  // the index points into texts_
  Vocab& operator=(const Vocab&) = delete;
  Vocab(Vocab&&) = default;
  Vocab& operator=(Vocab&&) = default;

  int32_t size() const { return static_cast<int32_t>(texts_.size()); }
  bool contains(int32_t id) const { return id >= 0 && id < size(); }
  const std::string& text(int32_t id) const { return texts_[static_cast<size_t>(id)]; }
  TokenType type(int32_t id) const { return types_[static_cast<size_t>(id)]; }
  float score(int32_t id) const { return scores_[static_cast<size_t>(id)]; }
  // The id of a token text; kNoToken when absent. With duplicate texts the last id wins
  // (as in llama.cpp).
  int32_t find(std::string_view text) const;

 private:
  std::vector<std::string> texts_;
  std::vector<TokenType> types_;
  std::vector<float> scores_;
  std::unordered_map<std::string_view, int32_t> index_;
};

}  // namespace qmix
