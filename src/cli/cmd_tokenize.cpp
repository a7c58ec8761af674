// `qmix tokenize` / `qmix detokenize`: a model's tokenizer (GGUF metadata) on text or ids.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "gguf/gguf_model.h"
#include "tokenizer/tokenizer.h"

namespace qmix::cli {
namespace {

struct TokenizeArgs {
  std::string model;
  std::optional<std::string> text, file;
  bool ids_only = false, json = false, no_bos = false, parse_special = false;
};

struct DetokenizeArgs {
  std::string model;
  std::vector<std::string> ids;
  bool json = false, render_special = false;
};

Expected<Tokenizer> load_tokenizer(const std::string& path) {
  QMIX_TRY_ASSIGN(const GgufModel model, GgufModel::open(path));
  return Tokenizer::from_gguf(model.metadata());
}

Expected<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "{}: cannot open the file", path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return make_error(ErrorCode::kIo, "{}: read error", path);
  return text;
}

// A token's bytes made visible on one line: control characters and bytes that are not
// printable ASCII or part of UTF-8 text are escaped.
std::string visible(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += fmt::format("\\x{:02x}", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out;
}

std::string dump_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int run_tokenize(const TokenizeArgs& a) {
  auto tok = load_tokenizer(a.model);
  if (!tok.ok()) return report_error(tok.error());
  if (!a.text && !a.file) {
    return report_error(make_error(ErrorCode::kInvalidArgument, "tokenize: give --text or --file"));
  }
  std::string text = a.text.value_or("");
  if (a.file) {
    auto content = read_file(*a.file);
    if (!content.ok()) return report_error(content.error());
    text = std::move(*content);
  }
  const std::vector<int32_t> ids =
      tok->encode(text, {.add_special = !a.no_bos, .parse_special = a.parse_special});
  std::string out;
  if (a.json) {
    nlohmann::json tokens = nlohmann::json::array();
    for (int32_t id : ids) tokens.push_back(tok->token_text(id));
    out = dump_json({{"count", ids.size()}, {"ids", ids}, {"tokens", tokens}}) + "\n";
  } else if (a.ids_only) {
    out = fmt::format("{}\n", fmt::join(ids, " "));
  } else {
    for (int32_t id : ids) {
      const int32_t one[] = {id};
      out += fmt::format("{:>8} '{}'\n", id, visible(tok->decode(one, {.render_special = true})));
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

// Ids as separate arguments or in one argument separated by spaces or commas.
Expected<std::vector<int32_t>> parse_ids(const std::vector<std::string>& args,
                                         const Tokenizer& tok) {
  std::vector<int32_t> ids;
  for (const std::string& arg : args) {
    std::string spaced = arg;
    for (char& c : spaced) {
      if (c == ',') c = ' ';
    }
    std::istringstream in(spaced);
    for (std::string word; in >> word;) {
      size_t used = 0;
      long long id = -1;
      try {
        id = std::stoll(word, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != word.size())
        return make_error(ErrorCode::kInvalidArgument, "\"{}\" is not a token id", word);
      if (id < 0 || id >= tok.n_tokens()) {
        return make_error(ErrorCode::kInvalidArgument,
                          "token id {} is out of range (the vocabulary has {} tokens)", id,
                          tok.n_tokens());
      }
      ids.push_back(static_cast<int32_t>(id));
    }
  }
  return ids;
}

int run_detokenize(const DetokenizeArgs& a) {
  auto tok = load_tokenizer(a.model);
  if (!tok.ok()) return report_error(tok.error());
  auto ids = parse_ids(a.ids, *tok);
  if (!ids.ok()) return report_error(ids.error());
  const std::string text = tok->decode(*ids, {.render_special = a.render_special});
  const std::string out = a.json ? dump_json({{"text", text}}) + "\n" : text + "\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

void register_tokenize(CLI::App& app, CommandTable& table) {
  auto t = std::make_shared<TokenizeArgs>();
  auto* tokenize = app.add_subcommand("tokenize", "split text into a model's tokens");
  tokenize->add_option("model", t->model, "GGUF model (only its tokenizer metadata is read)")
      ->required();
  auto* text = tokenize->add_option("--text", t->text, "text to tokenize");
  auto* file = tokenize->add_option("--file", t->file, "file whose contents to tokenize");
  text->excludes(file);
  file->excludes(text);
  tokenize->add_flag("--ids-only", t->ids_only, "print only the ids, on one line");
  tokenize->add_flag("--json", t->json, "print {count, ids, tokens} as JSON");
  tokenize->add_flag("--no-bos", t->no_bos, "do not add BOS/EOS even where the model does");
  tokenize->add_flag("--parse-special", t->parse_special,
                     "text of control tokens (e.g. <|im_start|>) becomes the token");
  table.add(tokenize, [t] { return run_tokenize(*t); });

  auto d = std::make_shared<DetokenizeArgs>();
  auto* detokenize = app.add_subcommand("detokenize", "turn token ids back into text");
  detokenize->add_option("model", d->model, "GGUF model")->required();
  detokenize->add_option("ids", d->ids, "token ids (separate, or one argument with spaces/commas)")
      ->required();
  detokenize->add_flag("--special", d->render_special, "write control tokens as their text");
  detokenize->add_flag("--json", d->json, "print {text} as JSON");
  table.add(detokenize, [d] { return run_detokenize(*d); });
}

}  // namespace qmix::cli
