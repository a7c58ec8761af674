// Tokenizers from GGUF metadata (`tokenizer.ggml.*`): byte-level BPE (`gpt2`, with the
// pre-tokenizer named by `tokenizer.ggml.pre`) and SentencePiece BPE (`llama`). Results match
// Hugging Face `transformers` (and llama.cpp's tokenizer tests). A Tokenizer is immutable and
// cheap to copy; encode/decode may run on many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "tokenizer/vocab.h"

namespace qmix {

enum class TokenizerModel {
  kByteLevelBpe,   // "gpt2"
  kSentencePiece,  // "llama"
};

struct EncodeOptions {
  // Add BOS/EOS where the model's metadata says to (add_bos_token / add_eos_token).
  bool add_special = true;
  // Text of control tokens (e.g. "<|im_start|>") becomes that token; otherwise it is
  // tokenized as plain text. User-defined tokens are always matched.
  bool parse_special = false;
};

struct DecodeOptions {
  // Write control tokens (BOS, "<|im_end|>", …) as their text instead of skipping them.
  bool render_special = false;
};

struct TokenizerData;  // the loaded vocabulary and models (tokenizer.cpp)

class Tokenizer {
 public:
  static Expected<Tokenizer> from_gguf(const GgufFile& file);

  // Invalid UTF-8 in `text` is read as U+FFFD per bad byte (what Python's decoding with
  // errors="replace" gives), since the regular expressions need valid text.
  std::vector<int32_t> encode(std::string_view text, EncodeOptions options = {}) const;
  // Ids outside the vocabulary are skipped (check with valid_token first where that matters).
  std::string decode(std::span<const int32_t> ids, DecodeOptions options = {}) const;

  TokenizerModel model() const;
  const std::string& pre_tokenizer_name() const;  // "" for SentencePiece
  int32_t n_tokens() const;
  bool valid_token(int32_t id) const { return id >= 0 && id < n_tokens(); }
  const std::string& token_text(int32_t id) const;  // as stored in the vocabulary
  TokenType token_type(int32_t id) const;

  int32_t bos_id() const;  // kNoToken when the model has none
  int32_t eos_id() const;
  int32_t pad_id() const;
  bool adds_bos() const;
  bool adds_eos() const;

 private:
  explicit Tokenizer(std::shared_ptr<const TokenizerData> data) : data_(std::move(data)) {}
  std::shared_ptr<const TokenizerData> data_;
};

}  // namespace qmix
