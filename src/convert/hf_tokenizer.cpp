#include "convert/hf_tokenizer.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "convert/hf_checkpoint.h"
#include "core/mapped_file.h"

namespace qmix {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// The GPT-2 regex the ByteLevel pre-tokenizer applies when its use_regex flag is set.
constexpr std::string_view kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

constexpr std::array kPreTokenizers = {
    PreTokenizerRule{
        "llama-bpe",
        R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
    PreTokenizerRule{
        "qwen2",
        R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
    PreTokenizerRule{"gpt-2", kGpt2Regex},
};

// Special token kinds in llama.cpp's SpecialVocab order, with their GGUF keys. Only bos, eos
// and sep have an "add" flag key.
struct SpecialKind {
  std::string_view kind;
  std::string_view id_key;
  std::string_view add_key;
};
constexpr std::array kSpecialKinds = {
    SpecialKind{"bos", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.add_bos_token"},
    SpecialKind{"eos", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.add_eos_token"},
    SpecialKind{"unk", "tokenizer.ggml.unknown_token_id", ""},
    SpecialKind{"sep", "tokenizer.ggml.seperator_token_id", "tokenizer.ggml.add_sep_token"},
    SpecialKind{"pad", "tokenizer.ggml.padding_token_id", ""},
    SpecialKind{"cls", "tokenizer.ggml.cls_token_id", ""},
    SpecialKind{"mask", "tokenizer.ggml.mask_token_id", ""},
    SpecialKind{"eot", "tokenizer.ggml.eot_token_id", ""},
};

const SpecialKind& special_kind(std::string_view kind) {
  for (const auto& k : kSpecialKinds)
    if (k.kind == kind) return k;
  QMIX_CHECK(false);
  return kSpecialKinds[0];
}

void collect_split_regexes(const Json& pre, std::vector<std::string>& out) {
  if (!pre.is_object()) return;
  const std::string type = pre.value("type", "");
  if (type == "Sequence") {
    for (const auto& p : pre.value("pretokenizers", Json::array())) collect_split_regexes(p, out);
  } else if (type == "Split") {
    const auto pattern = pre.value("pattern", Json::object());
    if (pattern.contains("Regex") && pattern["Regex"].is_string())
      out.push_back(pattern["Regex"].get<std::string>());
  } else if (type == "ByteLevel" && pre.value("use_regex", true)) {
    out.emplace_back(kGpt2Regex);
  }
}

// Names added tokens the way llama.cpp does when their special flag is unset.
bool looks_special(std::string_view t) {
  constexpr std::string_view kNamed[] = {"<pad>", "<mask>", "<2mass>", "[@BOS@]"};
  if (std::find(std::begin(kNamed), std::end(kNamed), t) != std::end(kNamed)) return true;
  return (t.starts_with("<|") && t.ends_with("|>")) ||
         (t.starts_with("<\xEF\xBD\x9C") && t.ends_with("\xEF\xBD\x9C>")) ||
         (t.starts_with("<unused") && t.ends_with(">"));
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  for (size_t at = 0;;) {
    const size_t hit = s.find(from, at);
    out.append(s.substr(at, hit == std::string_view::npos ? std::string_view::npos : hit - at));
    if (hit == std::string_view::npos) return out;
    out.append(to);
    at = hit + from.size();
  }
}

Status check_byte_level_bpe(const Json& tj, const fs::path& path) {
  const Json model = tj.value("model", Json::object());
  const Json decoder = tj.value("decoder", Json::object());
  if (model.value("type", "") != "BPE" || model.value("byte_fallback", false) ||
      decoder.value("type", "") != "ByteLevel" || !model.contains("vocab") ||
      !model["vocab"].is_object())
    return make_error(ErrorCode::kUnsupported,
                      "{}: only byte-level BPE tokenizers are supported (not SentencePiece or "
                      "byte-fallback BPE)",
                      path.string());
  return ok_status();
}

constexpr int64_t kMaxVocabulary = int64_t{1} << 24;

struct Vocabulary {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
};

Expected<Vocabulary> build_vocabulary(const Json& tj, int64_t vocab_size) {
  std::unordered_map<int64_t, std::string> by_id;
  for (const auto& [text, id] : tj["model"]["vocab"].items())
    if (id.is_number_integer()) by_id[id.get<int64_t>()] = text;
  std::unordered_map<std::string, bool> added;  // content → special
  for (const auto& a : tj.value("added_tokens", Json::array())) {
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() ||
        !a.contains("content") || !a["content"].is_string())
      return make_error(ErrorCode::kCorrupt, "tokenizer.json: malformed added_tokens entry");
    by_id[a["id"].get<int64_t>()] = a["content"].get<std::string>();
    added[a["content"].get<std::string>()] = a.value("special", false);
  }
  int64_t max_id = -1;
  for (const auto& [id, text] : by_id) max_id = std::max(max_id, id);
  if (vocab_size <= 0) vocab_size = max_id + 1;
  // A hostile vocab_size must not make us pad to billions of tokens.
  if (vocab_size > kMaxVocabulary)
    return make_error(ErrorCode::kInvalidArgument, "vocabulary size {} exceeds {}", vocab_size,
                      kMaxVocabulary);
  if (max_id >= vocab_size)
    return make_error(ErrorCode::kInvalidArgument,
                      "tokenizer.json has token id {} but the vocabulary size is {}", max_id,
                      vocab_size);
  Vocabulary v;
  for (int64_t i = 0; i < vocab_size; ++i) {
    const auto it = by_id.find(i);
    if (it == by_id.end()) {
      v.tokens.push_back(fmt::format("[PAD{}]", i));
      v.types.push_back(static_cast<int32_t>(TokenType::kUnused));
      continue;
    }
    std::string text = it->second;
    TokenType type = TokenType::kNormal;
    if (const auto a = added.find(text); a != added.end()) {
      type = a->second || looks_special(text) ? TokenType::kControl : TokenType::kUserDefined;
      // llama.cpp pre-normalizes spaces of user-defined tokens (U+2581 → ' ').
      if (type == TokenType::kUserDefined) text = replace_all(text, "\xE2\x96\x81", " ");
    }
    v.tokens.push_back(std::move(text));
    v.types.push_back(static_cast<int32_t>(type));
  }
  return v;
}

Expected<std::vector<std::string>> read_merges(const Json& tj) {
  std::vector<std::string> merges;
  for (const auto& m : tj["model"].value("merges", Json::array())) {
    if (m.is_string()) {
      merges.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      // Pair form (transformers ≥ 4.45): spaces inside a part are written as U+0120.
      merges.push_back(replace_all(m[0].get<std::string>(), " ", "\xC4\xA0") + " " +
                       replace_all(m[1].get<std::string>(), " ", "\xC4\xA0"));
    } else {
      return make_error(ErrorCode::kCorrupt, "tokenizer.json: unknown merges format");
    }
  }
  return merges;
}

// llama.cpp's SpecialVocab: special token ids, "add" flags and the chat template.
class SpecialVocab {
 public:
  SpecialVocab(const Json& tokenizer, Json tokenizer_config)
      : tokenizer_(tokenizer), config_(std::move(tokenizer_config)) {}

  void read_post_processor();
  Status read_tokenizer_config(const fs::path& dir);
  void read_model_config(const Json& config);
  void append_to(std::vector<GgufKv>& kvs) const;

 private:
  std::string config_token(std::string_view kind) const;
  void set_id(std::string_view kind, const Json& id);
  void set_add(std::string_view kind, bool value);

  const Json& tokenizer_;
  Json config_;  // tokenizer_config.json (null when absent)
  std::vector<std::string> kinds_ = {"bos", "eos", "unk", "sep", "pad", "cls", "mask"};
  std::vector<std::pair<std::string, int64_t>> ids_;
  std::vector<std::pair<std::string, bool>> add_;
  Json chat_template_;
};

std::string SpecialVocab::config_token(std::string_view kind) const {
  if (!config_.is_object()) return {};
  const auto it = config_.find(std::string(kind) + "_token");
  if (it == config_.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  return {};
}

void SpecialVocab::set_id(std::string_view kind, const Json& id) {
  if (!id.is_number_integer() || id.get<int64_t>() < 0) return;
  for (const auto& [k, v] : ids_)
    if (k == kind) return;  // the first source wins
  ids_.emplace_back(kind, id.get<int64_t>());
}

void SpecialVocab::set_add(std::string_view kind, bool value) {
  for (auto& [k, v] : add_)
    if (k == kind) {
      v = value;
      return;
    }
  add_.emplace_back(kind, value);
}

std::string special_token_of(const Json& entry) {
  if (!entry.is_object()) return {};
  const Json special = entry.value("SpecialToken", Json::object());
  return special.contains("id") && special["id"].is_string() ? special["id"].get<std::string>()
                                                             : std::string();
}

// TemplateProcessing/RobertaProcessing tell whether BOS/EOS are added; when tokenizer_config
// names another EOS than the template appends, the template's wins and the old one becomes EOT.
void SpecialVocab::read_post_processor() {
  const bool has_config = config_.is_object() && !config_.empty();
  std::string bos = config_token("bos"), eos = config_token("eos");
  const std::string cls = config_token("cls"), sep = config_token("sep");
  if (bos.empty() && !cls.empty() && has_config) config_["bos_token"] = bos = cls;
  if (eos.empty() && !sep.empty() && has_config) config_["eos_token"] = eos = sep;
  const Json pp = tokenizer_.value("post_processor", Json());
  if (!pp.is_object()) return;
  const Json processors = pp.contains("processors") ? pp["processors"] : Json::array({pp});
  for (const auto& p : processors) {
    const std::string type = p.is_object() ? p.value("type", "") : "";
    if (type == "RobertaProcessing") {
      for (auto kind : {"bos", "eos", "sep"}) set_add(kind, true);
      continue;
    }
    const Json single = type == "TemplateProcessing" ? p.value("single", Json::array()) : Json();
    if (!single.is_array() || single.size() <= 1) continue;
    if (const std::string first = special_token_of(single.front()); !first.empty()) {
      if (!has_config) bos = first;
      set_add("bos", first == bos || first == cls);
    }
    if (const std::string last = special_token_of(single.back()); !last.empty()) {
      if (!has_config) {
        eos = last;
      } else if (last != eos) {
        if (std::find(kinds_.begin(), kinds_.end(), "eot") == kinds_.end()) {
          kinds_.push_back("eot");
          config_["eot_token"] = eos;
        }
        config_["eos_token"] = eos = last;
      }
      set_add("eos", last == eos);
    }
  }
}

Expected<std::string> read_text_file(const fs::path& path) {
  QMIX_TRY_ASSIGN(const MappedFile file, MappedFile::open(path));
  return std::string(reinterpret_cast<const char*>(file.bytes().data()), file.size());
}

// chat_template.jinja (with additional_chat_templates/*.jinja as named ones) or
// chat_template.json; tokenizer_config.json's own "chat_template" takes precedence.
Expected<Json> read_chat_template(const fs::path& dir, const Json& tokenizer_config) {
  Json alt;
  if (fs::exists(dir / "chat_template.jinja")) {
    QMIX_TRY_ASSIGN(const std::string text, read_text_file(dir / "chat_template.jinja"));
    alt = text;
    std::vector<fs::path> extra;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir / "additional_chat_templates", ec))
      if (e.path().extension() == ".jinja") extra.push_back(e.path());
    std::sort(extra.begin(), extra.end());
    if (!extra.empty()) alt = Json::array({Json{{"name", "default"}, {"template", text}}});
    for (const auto& path : extra) {
      QMIX_TRY_ASSIGN(const std::string t, read_text_file(path));
      alt.push_back(Json{{"name", path.stem().string()}, {"template", t}});
    }
  } else if (fs::exists(dir / "chat_template.json")) {
    QMIX_TRY_ASSIGN(const Json j, read_json_file(dir / "chat_template.json"));
    if (j.is_object() && j.contains("chat_template")) alt = j["chat_template"];
  }
  const Json chat =
      tokenizer_config.contains("chat_template") ? tokenizer_config["chat_template"] : alt;
  return chat.is_string() || chat.is_array() ? chat : Json();
}

Status SpecialVocab::read_tokenizer_config(const fs::path& dir) {
  if (!config_.is_object() || config_.empty()) return ok_status();
  QMIX_TRY_ASSIGN(chat_template_, read_chat_template(dir, config_));
  const Json added = tokenizer_.value("added_tokens", Json::array());
  for (const auto& kind : kinds_) {
    const auto add = config_.find("add_" + kind + "_token");
    if (add != config_.end() && add->is_boolean()) set_add(kind, add->get<bool>());
    const std::string content = config_token(kind);
    if (content.empty()) continue;
    for (const auto& a : added)
      if (a.is_object() && a.value("content", "") == content) {
        set_id(kind, a.value("id", Json()));
        break;
      }
  }
  return ok_status();
}

void SpecialVocab::read_model_config(const Json& config) {
  for (const auto& kind : kinds_) {
    const std::string key = kind + "_token_id";
    Json id = config.value(key, Json());
    if (id.is_null() && config.contains("text_config") && config["text_config"].is_object())
      id = config["text_config"].value(key, Json());
    set_id(kind, id);
  }
}

void append_chat_templates(const Json& chat, std::vector<GgufKv>& kvs) {
  if (chat.is_string()) {
    kvs.push_back({"tokenizer.chat_template", GgufValue::string(chat.get<std::string>())});
    return;
  }
  Json fallback;
  std::vector<std::string> names;
  for (const auto& c : chat) {
    if (!c.is_object() || !c.contains("template") || !c["template"].is_string()) continue;
    std::string name = c.value("name", "");
    for (char& ch : name)
      if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    if (name.empty()) continue;
    if (name == "default") {
      fallback = c["template"];
    } else if (std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(name);
      kvs.push_back(
          {"tokenizer.chat_template." + name, GgufValue::string(c["template"].get<std::string>())});
    }
  }
  if (!names.empty()) kvs.push_back({"tokenizer.chat_templates", GgufValue::array_strings(names)});
  if (fallback.is_string())
    kvs.push_back({"tokenizer.chat_template", GgufValue::string(fallback.get<std::string>())});
}

void SpecialVocab::append_to(std::vector<GgufKv>& kvs) const {
  for (const auto& [kind, id] : ids_)
    if (id <= static_cast<int64_t>(UINT32_MAX))
      kvs.push_back(
          {std::string(special_kind(kind).id_key), GgufValue::u32(static_cast<uint32_t>(id))});
  for (const auto& [kind, value] : add_)
    if (!special_kind(kind).add_key.empty())
      kvs.push_back({std::string(special_kind(kind).add_key), GgufValue::boolean(value)});
  if (!chat_template_.is_null()) append_chat_templates(chat_template_, kvs);
}

}  // namespace

std::span<const PreTokenizerRule> pre_tokenizer_rules() { return kPreTokenizers; }

Expected<std::string> detect_pre_tokenizer(const Json& tokenizer_json) {
  std::vector<std::string> regexes;
  collect_split_regexes(tokenizer_json.value("pre_tokenizer", Json::object()), regexes);
  std::string signature;
  for (const auto& r : regexes) {
    if (!signature.empty()) signature += '\n';
    signature += r;
  }
  for (const auto& rule : kPreTokenizers)
    if (rule.regex == signature) return std::string(rule.name);
  std::string known;
  for (const auto& rule : kPreTokenizers) {
    if (!known.empty()) known += ", ";
    known += rule.name;
  }
  return make_error(ErrorCode::kUnsupported,
                    "tokenizer.json: pre-tokenizer not recognised (known: {}); name it with --pre",
                    known);
}

Expected<TokenizerMetadata> read_tokenizer_metadata(const fs::path& dir,
                                                    const TokenizerOptions& options) {
  const fs::path path = dir / "tokenizer.json";
  if (!fs::exists(path))
    return make_error(ErrorCode::kNotFound,
                      "{}: not found (only Hugging Face fast BPE tokenizers are supported)",
                      path.string());
  QMIX_TRY_ASSIGN(const Json tj, read_json_file(path));
  QMIX_TRY(check_byte_level_bpe(tj, path));
  TokenizerMetadata out;
  if (!options.pre_tokenizer.empty()) {
    out.pre_tokenizer = options.pre_tokenizer;
  } else {
    auto pre = detect_pre_tokenizer(tj);
    if (!pre.ok()) return pre.error().with_context(path.string());
    out.pre_tokenizer = *pre;
  }
  QMIX_TRY_ASSIGN(Vocabulary vocab, build_vocabulary(tj, options.vocab_size));
  QMIX_TRY_ASSIGN(std::vector<std::string> merges, read_merges(tj));
  Json tokenizer_config;
  if (fs::exists(dir / "tokenizer_config.json")) {
    QMIX_TRY_ASSIGN(tokenizer_config, read_json_file(dir / "tokenizer_config.json"));
  }
  SpecialVocab special(tj, std::move(tokenizer_config));
  special.read_post_processor();
  QMIX_TRY(special.read_tokenizer_config(dir));
  if (fs::exists(dir / "config.json")) {
    QMIX_TRY_ASSIGN(const Json config, read_json_file(dir / "config.json"));
    if (config.is_object()) special.read_model_config(config);
  }
  out.n_tokens = static_cast<int64_t>(vocab.tokens.size());
  out.kvs.push_back({"tokenizer.ggml.model", GgufValue::string("gpt2")});
  out.kvs.push_back({"tokenizer.ggml.pre", GgufValue::string(out.pre_tokenizer)});
  out.kvs.push_back({"tokenizer.ggml.tokens", GgufValue::array_strings(std::move(vocab.tokens))});
  out.kvs.push_back({"tokenizer.ggml.token_type", GgufValue::array_i32(vocab.types)});
  if (!merges.empty())
    out.kvs.push_back({"tokenizer.ggml.merges", GgufValue::array_strings(std::move(merges))});
  special.append_to(out.kvs);
  return out;
}

}  // namespace qmix
