// Hugging Face fast-tokenizer files (tokenizer.json, tokenizer_config.json, chat_template.*)
// → the tokenizer.ggml.* / tokenizer.chat_template metadata llama.cpp's converter writes for
// byte-level BPE ("gpt2") vocabularies.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "gguf/gguf_value.h"
#include "tokenizer/vocab.h"  // TokenType: the GGUF token types

namespace qmix {

// llama.cpp names its pre-tokenizers (tokenizer.ggml.pre); it recognises them by hashing the
// token ids of a probe text. We recognise the pre-tokenizer definition itself: the split
// regexes of tokenizer.json, one table row per known name.
struct PreTokenizerRule {
  std::string_view name;   // "llama-bpe"
  std::string_view regex;  // the Split regex(es), joined by '\n'
};
std::span<const PreTokenizerRule> pre_tokenizer_rules();
// The pre-tokenizer name for a tokenizer.json, or an error listing the known ones.
Expected<std::string> detect_pre_tokenizer(const nlohmann::ordered_json& tokenizer_json);

struct TokenizerOptions {
  int64_t vocab_size = 0;     // config.json vocab_size; 0: from the tokenizer
  std::string pre_tokenizer;  // override of the detected name ("" = detect)
};

struct TokenizerMetadata {
  std::vector<GgufKv> kvs;  // in llama.cpp's order, ready for the writer
  std::string pre_tokenizer;
  int64_t n_tokens = 0;
};

// Reads the tokenizer files of a model directory (tokenizer.json, tokenizer_config.json,
// chat_template.*, and config.json's *_token_id as in llama.cpp's SpecialVocab).
Expected<TokenizerMetadata> read_tokenizer_metadata(const std::filesystem::path& dir,
                                                    const TokenizerOptions& options);

}  // namespace qmix
