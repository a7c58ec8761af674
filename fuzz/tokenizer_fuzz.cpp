// Fuzzes encode/decode on arbitrary bytes with small built-in vocabularies. The first input
// byte picks the tokenizer; invariants: no crash, and decoding the ids gives the text back
// (after U+FFFD repair of invalid UTF-8, and NFC for the Qwen2 pre-tokenizer; except text
// with a literal U+2581, which SentencePiece reads as a space).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode_nfc.h"
#include "tokenizer/utf8.h"

namespace {

using qmix::GgufValue;

std::vector<std::byte> bpe_vocab(const char* pre) {
  const qmix::ByteLevelAlphabet alphabet;
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.emplace_back(alphabet.encoded(static_cast<uint8_t>(b)));
  const std::vector<std::string> merges = {"Ġ t", "h e", "Ġt he", "i n", "Ġ Ġ", "ĠĠ ĠĠ", "1 2"};
  for (const std::string& m : merges)
    tokens.push_back(m.substr(0, m.find(' ')) + m.substr(m.find(' ') + 1));
  tokens.push_back("<|ctl|>");
  std::vector<int32_t> types(tokens.size(), 1);
  types.back() = 3;
  qmix::GgufWriter w;
  w.set("tokenizer.ggml.model", GgufValue::string("gpt2"));
  w.set("tokenizer.ggml.pre", GgufValue::string(pre));
  w.set("tokenizer.ggml.tokens", GgufValue::array_strings(tokens));
  w.set("tokenizer.ggml.token_type", GgufValue::array_i32(types));
  w.set("tokenizer.ggml.merges", GgufValue::array_strings(merges));
  return w.header_bytes();
}

std::vector<std::byte> spm_vocab() {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>", "▁", "▁▁", "a", "b", "ab", "▁a"};
  std::vector<float> scores = {0, 0, 0, -5, -1, -5, -5, -2, -3};
  std::vector<int32_t> types = {2, 3, 3, 1, 1, 1, 1, 1, 1};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    tokens.push_back(name);
    scores.push_back(0);
    types.push_back(6);
  }
  qmix::GgufWriter w;
  w.set("tokenizer.ggml.model", GgufValue::string("llama"));
  w.set("tokenizer.ggml.tokens", GgufValue::array_strings(tokens));
  w.set("tokenizer.ggml.scores", GgufValue::array_f32(scores));
  w.set("tokenizer.ggml.token_type", GgufValue::array_i32(types));
  w.set("tokenizer.ggml.bos_token_id", GgufValue::u32(1));
  return w.header_bytes();
}

struct Fixture {
  std::vector<std::byte> bytes;
  qmix::Tokenizer tokenizer;
  bool nfc;
};

Fixture make(std::vector<std::byte> bytes, bool nfc) {
  auto file = qmix::GgufFile::parse(bytes, "fuzz.gguf");
  auto tok = file.ok() ? qmix::Tokenizer::from_gguf(*file) : std::move(file).error();
  if (!tok.ok()) std::abort();
  return {std::move(bytes), *tok, nfc};
}

const std::vector<Fixture>& fixtures() {
  static const std::vector<Fixture> all = [] {
    std::vector<Fixture> out;
    out.push_back(make(bpe_vocab("qwen2"), true));
    out.push_back(make(bpe_vocab("llama-bpe"), false));
    out.push_back(make(bpe_vocab("deepseek-llm"), false));
    out.push_back(make(spm_vocab(), false));
    return out;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Fixture& f = fixtures()[data[0] % fixtures().size()];
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto ids = f.tokenizer.encode(text, {.add_special = true, .parse_special = true});
  (void)f.tokenizer.decode(ids, {.render_special = true});
  const auto plain = f.tokenizer.encode(text, {.add_special = false, .parse_special = false});
  std::string expected = qmix::utf8::repair(text);
  if (f.nfc) expected = qmix::nfc_normalize(expected);
  // SentencePiece cannot tell a literal U+2581 from an escaped space (by design).
  const bool lossy = f.tokenizer.model() == qmix::TokenizerModel::kSentencePiece &&
                     expected.find("\xE2\x96\x81") != std::string::npos;
  if (lossy) return 0;
  if (f.tokenizer.decode(plain) != expected) std::abort();
  return 0;
}
