// Chat rendering for calibration records (chat_template.h, chat_records.h): Qwen3's layout
// against a hand-written expected rendering (testdata/chat/README.md), ChatML, template
// detection, JSONL errors with line numbers, and the tokens of rendered records.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "testutil/testutil.h"
#include "tokenizer/chat_records.h"
#include "tokenizer/chat_template.h"

namespace qmix {
namespace {

namespace fs = std::filesystem;

fs::path chat_fixture(const char* name) { return test::testdata_dir() / "chat" / name; }

std::string joined(const std::vector<CalibrationRecord>& records) {
  std::string out;
  for (const auto& r : records) out += r.text;
  return out;
}

Expected<std::vector<CalibrationRecord>> parse(std::string_view data, JsonlOptions options) {
  return parse_jsonl_records(data, "calib.jsonl", options);
}

TEST(ChatTemplate, Qwen3RenderingMatchesTheHandWrittenExpectation) {
  const std::string jsonl = test::read_text(chat_fixture("qwen3_reasoning.jsonl"));
  const auto records = parse(jsonl, {.chat_template = ChatTemplateChoice::kQwen3});
  ASSERT_TRUE(records.ok()) << records.error().message;
  ASSERT_EQ(records->size(), 5u);
  for (const auto& r : *records) EXPECT_TRUE(r.template_tokens);
  EXPECT_EQ(joined(*records), test::read_text(chat_fixture("qwen3_reasoning.expected.txt")));
}

TEST(ChatTemplate, ChatMlKeepsEveryReasoningAndAddsNoEmptyThink) {
  const std::vector<ChatMessage> messages = {
      {"user", "Hi", std::nullopt},
      {"assistant", "Hello!", "Greet back."},
      {"user", "Add 1 and 2.", std::nullopt},
      {"assistant", "3", std::nullopt},
  };
  EXPECT_EQ(render_chat(messages, ChatStyle::kChatMl),
            "<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\n<think>\nGreet back.\n</think>\n\nHello!<|im_end|>\n"
            "<|im_start|>user\nAdd 1 and 2.<|im_end|>\n"
            "<|im_start|>assistant\n3<|im_end|>\n");
}

TEST(ChatTemplate, StyleOfTemplate) {
  // tiny-qwen3's own template (testdata/demo/tiny-qwen3/chat_template.jinja): plain ChatML.
  const std::string tiny =
      test::read_text(test::testdata_dir() / "demo" / "tiny-qwen3" / "chat_template.jinja");
  EXPECT_EQ(chat_style_of_template(tiny), ChatStyle::kChatMl);
  EXPECT_EQ(chat_style_of_template("{{- '<|im_start|>' + message.role + '\\n<think>\\n' + "
                                   "reasoning_content }}{{- '<|im_end|>\\n' }}"),
            ChatStyle::kQwen3);
  EXPECT_EQ(chat_style_of_template("{{ bos_token }}<|start_header_id|>{{ role }}<|eot_id|>"),
            std::nullopt);
}

TEST(ChatRecords, AutoFollowsTheModelsTemplate) {
  const std::string record =
      R"({"messages":[{"role":"user","content":"Q"},{"role":"assistant","content":"A"}]})";
  auto chatml = parse(record, {.model_chat_template = "<|im_start|>{{ m }}<|im_end|>"});
  ASSERT_TRUE(chatml.ok()) << chatml.error().message;
  EXPECT_EQ(joined(*chatml), "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n");
  auto qwen3 = parse(record, {.model_chat_template = "<|im_start|><think><|im_end|>"});
  ASSERT_TRUE(qwen3.ok());
  EXPECT_NE(joined(*qwen3).find("<think>\n\n</think>\n\nA"), std::string::npos);
  auto none = parse(record, {});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("line 1: the model has no chat template"), std::string::npos)
      << none.error().message;
}

TEST(ChatRecords, TextFieldsAndPlainConversations) {
  const std::string data =
      "{\"text\": \"first\"}\r\n"
      "{\"body\": \"x\", \"text\": \"second\"}\n"
      R"({"messages":[{"role":"user","content":"Q"},{"role":"assistant","reasoning":"R","content":[{"type":"text","text":"A"},{"type":"text","text":"B"}]}]})";
  auto records = parse(data, {.chat_template = ChatTemplateChoice::kNone});
  ASSERT_TRUE(records.ok()) << records.error().message;
  ASSERT_EQ(records->size(), 3u);
  EXPECT_EQ(joined(*records), "first\n\nsecond\n\nQ\n\nR\n\nAB\n\n");
  EXPECT_FALSE((*records)[2].template_tokens);
  auto body = parse("{\"body\": \"x\"}\n", {.field = "body"});
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(joined(*body), "x\n\n");
}

TEST(ChatRecords, BadLinesNameTheLine) {
  struct Case {
    std::string data, needle;
  };
  const std::vector<Case> cases = {
      {"{\"text\":\"a\"}\n\n{\"text\": 1", "calib.jsonl: line 3: not valid JSON"},
      {"[1, 2]", "line 1: a record must be a JSON object"},
      {"{\"text\":\"a\"}\n{\"other\":\"b\"}", "line 2: no \"text\" field"},
      {"{\"messages\":[]}", "line 1: the list of messages is empty"},
      {"{\"messages\":[{\"content\":\"x\"}]}", "line 1: message 0 has no string \"role\""},
      {"{\"messages\":[{\"role\":\"bot\",\"content\":\"x\"}]}", "role 'bot' is not"},
      {"{\"messages\":[{\"role\":\"user\",\"content\":3}]}", "message 0: content is neither"},
      {"{\"messages\":[{\"role\":\"assistant\",\"content\":\"\",\"reasoning_content\":[1]}]}",
       "reasoning_content is not a string"},
      {"{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"name\":\"f\"}]}]}",
       "tool_calls are not supported"},
      {"\n  \n", "calib.jsonl: no JSON records"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.data);
    auto r = parse(c.data, {.chat_template = ChatTemplateChoice::kChatMl});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find(c.needle), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
  }
  EXPECT_FALSE(parse_chat_template_choice("jinja").ok());
}

// The tokens of rendered records are those of the expected text with its control-token text
// read as the tokens (transformers' apply_chat_template(tokenize=True) does the same), on
// tiny-qwen3's vocabulary, where <|im_start|> is id 1 and <|im_end|> id 2 (its tokenizer.json).
TEST(ChatRecords, TokensOfRenderedRecordsAreThoseOfTheExpectedText) {
  auto file = GgufFile::open(test::testdata_dir() / "tokenizer" / "tiny-qwen3.vocab.gguf");
  ASSERT_TRUE(file.ok()) << file.error().message;
  auto tok = Tokenizer::from_gguf(*file);
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  const auto records = parse(test::read_text(chat_fixture("qwen3_reasoning.jsonl")),
                             {.chat_template = ChatTemplateChoice::kQwen3});
  ASSERT_TRUE(records.ok());
  const auto ids = tokenize_records(*tok, *records);
  const std::string expected = test::read_text(chat_fixture("qwen3_reasoning.expected.txt"));
  EXPECT_EQ(ids, tok->encode(expected, {.add_special = false, .parse_special = true}));
  // 15 turns in the fixture: each starts with <|im_start|> and ends with <|im_end|>.
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 1), 15);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 2), 15);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(tok->decode(ids, {.render_special = true}), expected);
  // Plain-text records keep control-token text as text.
  const auto plain = tokenize_records(*tok, std::vector<CalibrationRecord>{{"<|im_end|>", false}});
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 2), 0);
}

}  // namespace
}  // namespace qmix
