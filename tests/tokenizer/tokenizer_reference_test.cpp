// Token ids against independent references: transformers' ids for the tiny models (a copy in
// testdata/ runs on every checkout; ../shared has all four) and llama.cpp's tokenizer test
// vectors for real vocabularies in ../shared/gguf/vocab.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "testutil/testutil.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode_nfc.h"

namespace qmix {
namespace {

namespace fs = std::filesystem;

Tokenizer load_tokenizer(const fs::path& gguf) {
  auto file = GgufFile::open(gguf);
  EXPECT_TRUE(file.ok()) << (file.ok() ? "" : file.error().message);
  auto tokenizer = Tokenizer::from_gguf(*file);
  EXPECT_TRUE(tokenizer.ok()) << (tokenizer.ok() ? "" : tokenizer.error().message);
  return std::move(tokenizer).value();
}

// tokens.json: [{text, ids (with special tokens), ids_no_special}], from transformers'
// tokenizer.encode; special-token text in `text` is matched as the special token.
void expect_matches_transformers(const fs::path& gguf, const fs::path& tokens_json) {
  const Tokenizer tok = load_tokenizer(gguf);
  const auto cases = nlohmann::json::parse(test::read_text(tokens_json));
  ASSERT_FALSE(cases.empty());
  for (const auto& c : cases) {
    const std::string text = c.at("text");
    const auto ids = c.at("ids").get<std::vector<int32_t>>();
    const auto ids_no_special = c.at("ids_no_special").get<std::vector<int32_t>>();
    EXPECT_EQ(tok.encode(text, {.add_special = true, .parse_special = true}), ids)
        << "text: \"" << text << "\"";
    EXPECT_EQ(tok.encode(text, {.add_special = false, .parse_special = true}), ids_no_special)
        << "text: \"" << text << "\"";
  }
}

// Plain text survives encode → decode (after NFC where the model normalizes).
void expect_round_trips(const fs::path& gguf, const fs::path& tokens_json, bool normalizes) {
  const Tokenizer tok = load_tokenizer(gguf);
  const auto cases = nlohmann::json::parse(test::read_text(tokens_json));
  for (const auto& c : cases) {
    const std::string text = c.at("text");
    const auto ids = tok.encode(text, {.add_special = true, .parse_special = false});
    EXPECT_EQ(tok.decode(ids), normalizes ? nfc_normalize(text) : text);
  }
}

TEST(TokenizerFixture, TinyQwen3MatchesTransformers) {
  const fs::path dir = test::testdata_dir() / "tokenizer";
  expect_matches_transformers(dir / "tiny-qwen3.vocab.gguf", dir / "tiny-qwen3.tokens.json");
  expect_round_trips(dir / "tiny-qwen3.vocab.gguf", dir / "tiny-qwen3.tokens.json", true);
}

TEST(TokenizerFixture, TinyLlamaMatchesTransformers) {
  const fs::path dir = test::testdata_dir() / "tokenizer";
  expect_matches_transformers(dir / "tiny-llama.vocab.gguf", dir / "tiny-llama.tokens.json");
  expect_round_trips(dir / "tiny-llama.vocab.gguf", dir / "tiny-llama.tokens.json", false);
}

TEST(TokenizerFixture, MetadataOfTinyModels) {
  const fs::path dir = test::testdata_dir() / "tokenizer";
  const Tokenizer llama = load_tokenizer(dir / "tiny-llama.vocab.gguf");
  EXPECT_EQ(llama.model(), TokenizerModel::kByteLevelBpe);
  EXPECT_EQ(llama.pre_tokenizer_name(), "llama-bpe");
  EXPECT_EQ(llama.n_tokens(), 4096);
  EXPECT_TRUE(llama.adds_bos());
  EXPECT_EQ(llama.bos_id(), 0);
  EXPECT_EQ(llama.eos_id(), 1);
  const Tokenizer qwen = load_tokenizer(dir / "tiny-qwen3.vocab.gguf");
  EXPECT_FALSE(qwen.adds_bos());
  EXPECT_EQ(qwen.bos_id(), kNoToken);
  EXPECT_EQ(qwen.eos_id(), 2);
  EXPECT_EQ(qwen.token_type(1), TokenType::kControl);
  EXPECT_EQ(qwen.token_text(1), "<|im_start|>");
}

TEST(TokenizerSharedModels, AllTinyModelsMatchTransformers) {
  QMIX_REQUIRE_SHARED(shared);
  for (const char* model : {"tiny-llama", "tiny-qwen3", "tiny-qwen3moe", "tiny-qwen35"}) {
    SCOPED_TRACE(model);
    const fs::path tokens = shared / "models" / model / "reference" / "tokens.json";
    const fs::path gguf = shared / "gguf" / (std::string(model) + ".bf16.gguf");
    if (!fs::exists(tokens) || !fs::exists(gguf)) {
      GTEST_SKIP() << "skipped: " << model << " reference material is not present";
    }
    expect_matches_transformers(gguf, tokens);
  }
}

// llama.cpp's test-tokenizer-0 files: `.inp` holds the texts, each followed by a line
// "__ggml_vocab_test__"; `.out` one line of ids per text (no BOS/EOS, special text not parsed).
struct VocabCase {
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<VocabCase> read_vocab_cases(const fs::path& gguf) {
  const std::string inp = test::read_text(fs::path(gguf.string() + ".inp"));
  const std::string out = test::read_text(fs::path(gguf.string() + ".out"));
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<VocabCase> cases;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t end = inp.find(separator, pos);
    cases.push_back({inp.substr(pos, end - pos), {}});
    if (end == std::string::npos) break;
    pos = end + separator.size();
  }
  std::istringstream lines(out);
  std::string line;
  for (VocabCase& c : cases) {
    if (!std::getline(lines, line)) break;
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) c.ids.push_back(id);
  }
  return cases;
}

class TokenizerSharedVocab : public testing::TestWithParam<const char*> {};

TEST_P(TokenizerSharedVocab, MatchesLlamaCppTestVectors) {
  QMIX_REQUIRE_SHARED(shared);
  const fs::path gguf =
      shared / "gguf" / "vocab" / (std::string("ggml-vocab-") + GetParam() + ".gguf");
  if (!fs::exists(gguf)) GTEST_SKIP() << "skipped: " << gguf << " is not present";
  const Tokenizer tok = load_tokenizer(gguf);
  const auto cases = read_vocab_cases(gguf);
  ASSERT_GE(cases.size(), 40u);
  for (const VocabCase& c : cases) {
    const auto ids = tok.encode(c.text, {.add_special = false, .parse_special = false});
    EXPECT_EQ(ids, c.ids) << "text: \"" << c.text << "\"";
    EXPECT_EQ(tok.decode(ids), c.text);
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabs, TokenizerSharedVocab,
                         testing::Values("gpt-2", "llama-spm", "phi-3", "deepseek-llm", "mpt",
                                         "starcoder"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& ch : name) {
                             if (ch == '-') ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace qmix
