// tokenizer.json / tokenizer_config.json / config.json → tokenizer.ggml.* metadata, and the
// general.* naming rules, against llama.cpp's converter behaviour.
#include <gtest/gtest.h>

#include "convert/convert_fixtures.h"
#include "convert/converter.h"
#include "convert/hf_tokenizer.h"

namespace qmix {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

const GgufValue* find_kv(const TokenizerMetadata& m, std::string_view key) {
  for (const auto& kv : m.kvs)
    if (kv.key == key) return &kv.value;
  return nullptr;
}

std::vector<std::string> keys_of(const TokenizerMetadata& m) {
  std::vector<std::string> keys;
  for (const auto& kv : m.kvs) keys.push_back(kv.key);
  return keys;
}

Json with_pre_tokenizer(Json tokenizer, Json pre) {
  tokenizer["pre_tokenizer"] = std::move(pre);
  return tokenizer;
}

TEST(HfTokenizer, RecognisesPreTokenizersByTheirRegex) {
  const Json llama3 = test::tiny_tokenizer_json();
  EXPECT_EQ(*detect_pre_tokenizer(llama3), "llama-bpe");
  for (const auto& rule : pre_tokenizer_rules()) {
    const Json split = {{"type", "Split"}, {"pattern", {{"Regex", std::string(rule.regex)}}}};
    const Json seq = {
        {"type", "Sequence"},
        {"pretokenizers", Json::array({split, {{"type", "ByteLevel"}, {"use_regex", false}}})}};
    if (rule.name != "gpt-2") {  // gpt-2's regex is ByteLevel's own, not a Split
      EXPECT_EQ(*detect_pre_tokenizer(with_pre_tokenizer(llama3, seq)), rule.name);
    }
  }
  const Json gpt2 = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  EXPECT_EQ(*detect_pre_tokenizer(with_pre_tokenizer(llama3, gpt2)), "gpt-2");
  const Json odd = {{"type", "Split"}, {"pattern", {{"Regex", "\\d+"}}}};
  auto r = detect_pre_tokenizer(with_pre_tokenizer(llama3, odd));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("--pre"), std::string::npos);
}

TEST(HfTokenizer, VocabularyTypesPaddingAndSpecialTokens) {
  test::TempDir tmp;
  test::write_tokenizer_files(tmp.path());
  test::write_json(tmp / "config.json", {{"bos_token_id", 0}, {"pad_token_id", 2}});
  TokenizerOptions o;
  o.vocab_size = 12;
  auto m = read_tokenizer_metadata(tmp.path(), o);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->n_tokens, 12);
  const auto* tokens = find_kv(*m, "tokenizer.ggml.tokens")->as_string_array();
  EXPECT_EQ((*tokens)[3], "\xC4\xA0");
  EXPECT_EQ((*tokens)[8], "[PAD8]");
  EXPECT_EQ((*tokens)[11], "[PAD11]");
  const auto types = *find_kv(*m, "tokenizer.ggml.token_type")->as_int_array();
  EXPECT_EQ(types, (std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 1, 5, 3, 3, 5}));
  // tokenizer_config.json names BOS; config.json only fills what is still unset.
  EXPECT_EQ(*find_kv(*m, "tokenizer.ggml.bos_token_id")->as_int(), 9);
  EXPECT_EQ(*find_kv(*m, "tokenizer.ggml.eos_token_id")->as_int(), 10);
  EXPECT_EQ(*find_kv(*m, "tokenizer.ggml.padding_token_id")->as_int(), 2);
  EXPECT_EQ(keys_of(*m), (std::vector<std::string>{
                             "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens",
                             "tokenizer.ggml.token_type", "tokenizer.ggml.merges",
                             "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                             "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_bos_token"}));
  o.vocab_size = 10;  // id 10 does not fit
  EXPECT_FALSE(read_tokenizer_metadata(tmp.path(), o).ok());
  o.vocab_size = int64_t{1} << 40;  // a hostile config must not make us pad to it
  EXPECT_FALSE(read_tokenizer_metadata(tmp.path(), o).ok());
}

TEST(HfTokenizer, MergePairsWithSpacesAndUserDefinedTokens) {
  test::TempDir tmp;
  Json tj = test::tiny_tokenizer_json();
  tj["model"]["merges"] = Json::array({Json::array({"a b", "c"}), "d e"});
  tj["added_tokens"].push_back({{"id", 8}, {"content", "my\xE2\x96\x81word"}, {"special", false}});
  tj["added_tokens"].push_back({{"id", 11}, {"content", "<|tool|>"}, {"special", false}});
  test::write_json(tmp / "tokenizer.json", tj);
  auto m = read_tokenizer_metadata(tmp.path(), {});
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(*find_kv(*m, "tokenizer.ggml.merges")->as_string_array(),
            (std::vector<std::string>{"a\xC4\xA0"
                                      "b c",
                                      "d e"}));
  const auto* tokens = find_kv(*m, "tokenizer.ggml.tokens")->as_string_array();
  EXPECT_EQ((*tokens)[8], "my word");
  const auto types = *find_kv(*m, "tokenizer.ggml.token_type")->as_int_array();
  EXPECT_EQ(types[8], 4);   // user-defined
  EXPECT_EQ(types[11], 3);  // looks special: <|...|>
  // No tokenizer_config.json: the template's first special token is BOS, and nothing else.
  EXPECT_EQ(find_kv(*m, "tokenizer.ggml.bos_token_id"), nullptr);
  EXPECT_EQ(find_kv(*m, "tokenizer.ggml.add_bos_token")->as_bool(), true);
}

TEST(HfTokenizer, ChatTemplates) {
  test::TempDir tmp;
  test::write_tokenizer_files(tmp.path());
  std::ofstream(tmp / "chat_template.jinja") << "{{ messages }}";
  auto m = read_tokenizer_metadata(tmp.path(), {});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*find_kv(*m, "tokenizer.chat_template")->as_string(), "{{ messages }}");
  // tokenizer_config.json's own template wins; named templates get their own keys.
  test::write_json(tmp / "tokenizer_config.json",
                   {{"bos_token", "<|begin_of_text|>"},
                    {"chat_template", Json::array({{{"name", "default"}, {"template", "D"}},
                                                   {{"name", "tool use"}, {"template", "T"}}})}});
  m = read_tokenizer_metadata(tmp.path(), {});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*find_kv(*m, "tokenizer.chat_template")->as_string(), "D");
  EXPECT_EQ(*find_kv(*m, "tokenizer.chat_template.tool_use")->as_string(), "T");
  EXPECT_EQ(*find_kv(*m, "tokenizer.chat_templates")->as_string_array(),
            std::vector<std::string>{"tool_use"});
}

TEST(HfTokenizer, UnsupportedTokenizersAreErrors) {
  test::TempDir tmp;
  EXPECT_EQ(read_tokenizer_metadata(tmp.path(), {}).error().code, ErrorCode::kNotFound);
  Json tj = test::tiny_tokenizer_json();
  tj["model"]["byte_fallback"] = true;  // SentencePiece-style BPE
  test::write_json(tmp / "tokenizer.json", tj);
  EXPECT_EQ(read_tokenizer_metadata(tmp.path(), {}).error().code, ErrorCode::kUnsupported);
  std::ofstream(tmp / "tokenizer.json") << "{ not json";
  EXPECT_EQ(read_tokenizer_metadata(tmp.path(), {}).error().code, ErrorCode::kCorrupt);
}

TEST(ModelNaming, DirectoryNameInTitleCase) {
  EXPECT_EQ(model_name_from_directory("tiny-llama"), "Tiny Llama");
  EXPECT_EQ(model_name_from_directory("tiny-qwen3moe"), "Tiny Qwen3Moe");
  EXPECT_EQ(model_name_from_directory("Qwen3-8B-v1.0"), "Qwen3 8B v1.0");
  EXPECT_EQ(model_name_from_directory("my-model-7b"), "My Model 7b");
  // Version-like words (`v` + dotted digits) stay as written; near misses are title-cased.
  EXPECT_EQ(model_name_from_directory("model-v2"), "Model v2");
  EXPECT_EQ(model_name_from_directory("model-v2.1.3"), "Model v2.1.3");
  EXPECT_EQ(model_name_from_directory("model-v2."), "Model V2.");
  EXPECT_EQ(model_name_from_directory("model-v"), "Model V");
  EXPECT_EQ(model_name_from_directory("model-vx1"), "Model Vx1");
  // Deliberate difference: llama.cpp also splits such names into general.basename,
  // size_label, finetune and version heuristically; qmix writes only general.name and the
  // size label it computes from the tensors (identical for the reference models).
}

TEST(ModelNaming, SizeLabelLikeGgufPy) {
  EXPECT_EQ(size_label(6820096, 6820096, 0, 0), "6.8M");
  EXPECT_EQ(size_label(3410688, 3410688, 0, 0), "3.4M");
  EXPECT_EQ(size_label(8137472, 1846016, 786432, 8), "8x2.6M");
  EXPECT_EQ(size_label(950000, 950000, 0, 0), "950K");
  EXPECT_EQ(size_label(7615616512, 7615616512, 0, 0), "7.6B");
  EXPECT_EQ(size_label(12000000000, 12000000000, 0, 0), "12B");
  EXPECT_EQ(size_label(1234, 1234, 0, 0), "1.2K");
}

}  // namespace
}  // namespace qmix
