// Hand-made vocabularies whose correct tokenization follows from the algorithms' definitions,
// Unicode normalization facts from the standard, and rejection of malformed metadata.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode_nfc.h"
#include "tokenizer/utf8.h"

namespace qmix {
namespace {

// An in-memory GGUF holding only metadata.
class MetadataFile {
 public:
  explicit MetadataFile(const GgufWriter& writer) : bytes_(writer.header_bytes()) {}
  Expected<Tokenizer> tokenizer() const {
    auto file = GgufFile::parse(bytes_, "test.gguf");
    if (!file.ok()) return std::move(file).error();
    return Tokenizer::from_gguf(*file);
  }

 private:
  std::vector<std::byte> bytes_;
};

Tokenizer must_load(const GgufWriter& writer) {
  auto tok = MetadataFile(writer).tokenizer();
  EXPECT_TRUE(tok.ok()) << (tok.ok() ? "" : tok.error().message);
  return std::move(tok).value();
}

// GPT-2's byte-level alphabet, written out independently of the library: printable Latin-1
// bytes stand for themselves, the rest map to U+0100.. in byte order.
std::vector<std::string> byte_level_alphabet() {
  std::vector<std::string> out;
  int shifted = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    std::string s;
    utf8::append(s,
                 printable ? static_cast<char32_t>(b) : static_cast<char32_t>(0x100 + shifted++));
    out.push_back(s);
  }
  return out;
}

// Token ids 0..255 are the single bytes (id == byte value).
GgufWriter bpe_vocab(std::vector<std::string> extra_tokens, std::vector<std::string> merges,
                     std::string pre = "gpt-2") {
  std::vector<std::string> tokens = byte_level_alphabet();
  tokens.insert(tokens.end(), extra_tokens.begin(), extra_tokens.end());
  std::vector<int32_t> types(tokens.size(), 1);
  tokens.push_back("<|special|>");
  types.push_back(3);  // control
  tokens.push_back("<added>");
  types.push_back(4);  // user-defined
  GgufWriter w;
  w.set("tokenizer.ggml.model", GgufValue::string("gpt2"));
  w.set("tokenizer.ggml.pre", GgufValue::string(std::move(pre)));
  w.set("tokenizer.ggml.tokens", GgufValue::array_strings(tokens));
  w.set("tokenizer.ggml.token_type", GgufValue::array_i32(types));
  w.set("tokenizer.ggml.merges", GgufValue::array_strings(std::move(merges)));
  return w;
}

// Token texts for the ids (to compare in readable form).
std::vector<std::string> texts(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(tok.token_text(id));
  return out;
}

using Strings = std::vector<std::string>;

TEST(TokenizerBpe, MergesByRankNotByPosition) {
  // "b c" ranks before "a b": "abc" → a + bc, then "a bc" joins them.
  const Tokenizer tok = must_load(bpe_vocab({"bc", "ab", "abc"}, {"b c", "a b", "a bc"}));
  EXPECT_EQ(texts(tok, tok.encode("abc")), (Strings{"abc"}));
  EXPECT_EQ(texts(tok, tok.encode("abd")), (Strings{"ab", "d"}));
  EXPECT_EQ(tok.decode(tok.encode("abc abd")), "abc abd");
}

TEST(TokenizerBpe, EqualRanksMergeLeftmostFirst) {
  // "aaa": the pair (a, a) at position 0 merges first, leaving "aa" + "a".
  const Tokenizer tok = must_load(bpe_vocab({"aa"}, {"a a"}));
  EXPECT_EQ(texts(tok, tok.encode("aaa")), (Strings{"aa", "a"}));
  EXPECT_EQ(texts(tok, tok.encode("aaaa")), (Strings{"aa", "aa"}));
}

TEST(TokenizerBpe, Llama3TakesWholeWordTokensDirectly) {
  // "abc" is a token no merge reaches; Llama 3 (ignore_merges) uses it, GPT-2 merges.
  const Tokenizer llama3 = must_load(bpe_vocab({"bc", "abc"}, {"b c"}, "llama-bpe"));
  EXPECT_EQ(texts(llama3, llama3.encode("abc")), (Strings{"abc"}));
  const Tokenizer gpt2 = must_load(bpe_vocab({"bc", "abc"}, {"b c"}, "gpt-2"));
  EXPECT_EQ(texts(gpt2, gpt2.encode("abc")), (Strings{"a", "bc"}));
}

TEST(TokenizerBpe, SpacesAreByteLevelCharacters) {
  // GPT-2 splits " hello" as one word; its space is the alphabet's U+0120 (Ġ).
  const Tokenizer tok = must_load(bpe_vocab({"Ġh", "Ġhi"}, {"Ġ h", "Ġh i"}));
  EXPECT_EQ(texts(tok, tok.encode("hi hi")), (Strings{"h", "i", "Ġhi"}));
  EXPECT_EQ(tok.decode(tok.encode("hi hi")), "hi hi");
}

TEST(TokenizerBpe, SpecialTokensOnlyWhenAsked) {
  const Tokenizer tok = must_load(bpe_vocab({}, {}));
  const int32_t special = tok.n_tokens() - 2, added = tok.n_tokens() - 1;
  const auto parsed = tok.encode("x<|special|>y", {.add_special = false, .parse_special = true});
  EXPECT_EQ(parsed, (std::vector<int32_t>{'x', special, 'y'}));
  const auto plain = tok.encode("x<|special|>y", {.add_special = false, .parse_special = false});
  EXPECT_EQ(plain.size(), 13u);  // every character its own byte token
  // User-defined tokens are always matched.
  EXPECT_EQ(tok.encode("<added>", {.add_special = false, .parse_special = false}),
            (std::vector<int32_t>{added}));
  EXPECT_EQ(tok.decode(parsed), "xy");
  EXPECT_EQ(tok.decode(parsed, {.render_special = true}), "x<|special|>y");
}

TEST(TokenizerBpe, InvalidUtf8IsReadAsReplacementCharacters) {
  const Tokenizer tok = must_load(bpe_vocab({}, {}));
  EXPECT_EQ(tok.decode(tok.encode("a\xFF"
                                  "b")),
            "a\xEF\xBF\xBD"
            "b");
}

TEST(TokenizerBpe, AddsBosAndEosAsConfigured) {
  GgufWriter w = bpe_vocab({}, {});
  w.set("tokenizer.ggml.bos_token_id", GgufValue::u32(256));
  w.set("tokenizer.ggml.eos_token_id", GgufValue::u32(257));
  w.set("tokenizer.ggml.add_bos_token", GgufValue::boolean(true));
  w.set("tokenizer.ggml.add_eos_token", GgufValue::boolean(true));
  const Tokenizer tok = must_load(w);
  EXPECT_TRUE(tok.adds_bos());
  EXPECT_EQ(tok.encode("a"), (std::vector<int32_t>{256, 'a', 257}));
  EXPECT_EQ(tok.encode("a", {.add_special = false}), (std::vector<int32_t>{'a'}));
}

GgufWriter spm_vocab(const Strings& extra_tokens = {},
                     const std::vector<float>& extra_scores = {}) {
  // Scores decide the merge order: higher first.
  Strings tokens = {"<unk>", "<s>",  "</s>",  "▁",      "h", "e", "l", "o",  "he",
                    "ll",    "hell", "hello", "▁hello", "a", "b", "c", "ab", "bc"};
  std::vector<float> scores = {0,  0,  0,  -10, -10, -10, -10, -10, -1,
                               -2, -3, -4, -5,  -10, -10, -10, -2,  -1};
  tokens.insert(tokens.end(), extra_tokens.begin(), extra_tokens.end());
  scores.insert(scores.end(), extra_scores.begin(), extra_scores.end());
  std::vector<int32_t> types = {2, 3, 3};
  types.resize(tokens.size(), 1);
  Strings all = tokens;
  std::vector<float> all_scores = scores;
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    all.push_back(name);
    all_scores.push_back(0);
    types.push_back(6);
  }
  GgufWriter w;
  w.set("tokenizer.ggml.model", GgufValue::string("llama"));
  w.set("tokenizer.ggml.tokens", GgufValue::array_strings(all));
  w.set("tokenizer.ggml.scores", GgufValue::array_f32(all_scores));
  w.set("tokenizer.ggml.token_type", GgufValue::array_i32(types));
  w.set("tokenizer.ggml.bos_token_id", GgufValue::u32(1));
  w.set("tokenizer.ggml.eos_token_id", GgufValue::u32(2));
  w.set("tokenizer.ggml.unknown_token_id", GgufValue::u32(0));
  return w;
}

TEST(TokenizerSentencePiece, MergesHighestScoreFirst) {
  const Tokenizer tok = must_load(spm_vocab());
  EXPECT_EQ(tok.model(), TokenizerModel::kSentencePiece);
  EXPECT_TRUE(tok.adds_bos());  // SentencePiece's default when the key is absent
  // ▁ h e l l o → he (-1), ll (-2), hell (-3), hello (-4), ▁hello (-5).
  EXPECT_EQ(texts(tok, tok.encode("hello")), (Strings{"<s>", "▁hello"}));
  // "bc" (-1) outscores "ab" (-2) although "ab" is further left.
  EXPECT_EQ(texts(tok, tok.encode("abc", {.add_special = false})), (Strings{"▁", "a", "bc"}));
  EXPECT_EQ(tok.decode(tok.encode("hello abc")), "hello abc");
}

TEST(TokenizerSentencePiece, MergesAcrossSpacesWhenTheVocabularyHasSuchTokens) {
  // With "a▁" and "a▁b" in the vocabulary, "a b" must not be cut into words at the space.
  const Tokenizer tok = must_load(spm_vocab({"a▁", "a▁b"}, {-0.5f, -0.4f}));
  EXPECT_EQ(texts(tok, tok.encode("a b", {.add_special = false})), (Strings{"▁", "a▁b"}));
  EXPECT_EQ(tok.decode(tok.encode("a b")), "a b");
}

TEST(TokenizerSentencePiece, BytesWithoutTokensFallBack) {
  const Tokenizer tok = must_load(spm_vocab());
  // "x" is not a token: its byte 0x78; "€" is E2 82 AC.
  EXPECT_EQ(texts(tok, tok.encode("x€", {.add_special = false})),
            (Strings{"▁", "<0x78>", "<0xE2>", "<0x82>", "<0xAC>"}));
  EXPECT_EQ(tok.decode(tok.encode("x€")), "x€");
}

TEST(TokenizerNfc, ComposesReordersAndRespectsExclusions) {
  EXPECT_EQ(nfc_normalize("e\u0301"), "\u00E9");              // é
  EXPECT_EQ(nfc_normalize("e\u0323\u0302"), "\u1EC7");        // ệ: dot below, circumflex
  EXPECT_EQ(nfc_normalize("e\u0302\u0323"), "\u1EC7");        // reordered by class
  EXPECT_EQ(nfc_normalize("\u1100\u1161\u11A8"), "\uAC01");   // Hangul L V T → 각
  EXPECT_EQ(nfc_normalize("\u212B"), "\u00C5");               // Ångström sign (singleton)
  EXPECT_EQ(nfc_normalize("\u0958"), "\u0915\u093C");         // excluded from composition
  EXPECT_EQ(nfc_normalize("e\u0301\u0301"), "\u00E9\u0301");  // second acute is blocked
  EXPECT_EQ(nfc_normalize("\u0301e"), "\u0301e");             // no starter to join
  EXPECT_EQ(nfc_normalize("plain ASCII, Ünïcödé"), "plain ASCII, Ünïcödé");
}

TEST(TokenizerUtf8, ValidatesAndRepairs) {
  EXPECT_EQ(utf8::valid_prefix_length("ok \u00E9\u4E2D\U0001F600"), 12u);
  EXPECT_EQ(utf8::valid_prefix_length("a\xC0\xAF"), 1u);          // overlong '/'
  EXPECT_EQ(utf8::valid_prefix_length("a\xED\xA0\x80"), 1u);      // surrogate
  EXPECT_EQ(utf8::valid_prefix_length("a\xF4\x90\x80\x80"), 1u);  // above U+10FFFF
  EXPECT_EQ(utf8::repair("a\xE4\xB8"
                         "b"),
            "a\uFFFD\uFFFDb");
}

std::vector<std::string> split_with(std::string_view pre, std::string_view text) {
  const PreTokenizerSpec* spec = find_pre_tokenizer(pre);
  EXPECT_NE(spec, nullptr);
  auto compiled = PreTokenizer::compile(*spec);
  EXPECT_TRUE(compiled.ok());
  PreTokenizerScratch scratch;
  std::vector<std::string_view> words;
  compiled->split(text, scratch, words);
  return {words.begin(), words.end()};
}

TEST(TokenizerPreTokenizer, FamiliesSplitAsTheirRegexesSay) {
  EXPECT_EQ(split_with("gpt-2", "  hi you're 12345"),
            (Strings{" ", " hi", " you", "'re", " 12345"}));
  EXPECT_EQ(split_with("llama-bpe", "12345 I'M"), (Strings{"123", "45", " I", "'M"}));
  EXPECT_EQ(split_with("qwen2", "x=12\n\n y"), (Strings{"x", "=", "1", "2", "\n\n", " y"}));
  EXPECT_EQ(split_with("starcoder", "ab12"), (Strings{"ab", "1", "2"}));
  for (const PreTokenizerSpec& spec : pre_tokenizer_specs()) {
    EXPECT_TRUE(PreTokenizer::compile(spec).ok()) << spec.names.front();
  }
}

TEST(TokenizerErrors, RejectsMalformedMetadata) {
  auto expect_error = [](const GgufWriter& w, std::string_view needle) {
    auto tok = MetadataFile(w).tokenizer();
    ASSERT_FALSE(tok.ok());
    EXPECT_NE(tok.error().message.find(needle), std::string::npos) << tok.error().message;
    EXPECT_NE(tok.error().message.find("test.gguf"), std::string::npos) << tok.error().message;
  };
  GgufWriter no_model = bpe_vocab({}, {});
  no_model.remove("tokenizer.ggml.model");
  expect_error(no_model, "tokenizer.ggml.model");
  GgufWriter unknown_pre = bpe_vocab({}, {}, "no-such-pre");
  expect_error(unknown_pre, "no-such-pre");
  GgufWriter bad_types = bpe_vocab({}, {});
  bad_types.set("tokenizer.ggml.token_type", GgufValue::array_i32({1, 1}));
  expect_error(bad_types, "token_type");
  GgufWriter bad_bos = bpe_vocab({}, {});
  bad_bos.set("tokenizer.ggml.bos_token_id", GgufValue::u32(1u << 20));
  expect_error(bad_bos, "bos_token_id");
  GgufWriter bad_merge = bpe_vocab({}, {"nospace"});
  expect_error(bad_merge, "merges[0]");
  GgufWriter unsupported = bpe_vocab({}, {});
  unsupported.set("tokenizer.ggml.model", GgufValue::string("bert"));
  expect_error(unsupported, "bert");
}

}  // namespace
}  // namespace qmix
