#include "tokenizer/tokenizer.h"

#include <deque>
#include <optional>
#include <unordered_map>
#include <utility>

#include "tokenizer/bpe.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/sentencepiece.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/unicode_nfc.h"
#include "tokenizer/utf8.h"

namespace qmix {

struct TokenizerData {
  explicit TokenizerData(Vocab v) : vocab(std::move(v)), special(vocab) {}

  Vocab vocab;
  TokenizerModel model = TokenizerModel::kByteLevelBpe;
  std::string pre_name;
  std::optional<PreTokenizer> pre;        // byte-level BPE only
  std::optional<BpeModel> bpe;            // byte-level BPE only
  std::optional<SentencePieceModel> spm;  // SentencePiece only
  SpecialTokenMatcher special;
  std::vector<std::string> pieces;  // what decode() writes for each token
  int32_t bos = kNoToken, eos = kNoToken, pad = kNoToken, unknown = kNoToken;
  bool add_bos = false, add_eos = false;
  bool add_space_prefix = false;  // SentencePiece: a space before text at the start
};

namespace {

Expected<int32_t> read_token_id(const GgufFile& file, std::string_view key, const Vocab& vocab) {
  const GgufValue* value = file.find(key);
  if (!value) return kNoToken;
  const std::optional<int64_t> id = value->as_int();
  if (!id || *id < 0 || *id >= vocab.size()) {
    return make_error(ErrorCode::kCorrupt, "{}: {} is not a token id (the vocabulary has {})", key,
                      value->to_display_string(), vocab.size());
  }
  return static_cast<int32_t>(*id);
}

Expected<bool> read_flag(const GgufFile& file, std::string_view key, bool fallback) {
  const GgufValue* value = file.find(key);
  if (!value) return fallback;
  const std::optional<bool> flag = value->as_bool();
  if (!flag) {
    return make_error(ErrorCode::kCorrupt, "{}: expected a bool, found {}", key,
                      value->to_display_string());
  }
  return *flag;
}

Expected<TokenizerModel> read_model(const GgufFile& file) {
  QMIX_TRY_ASSIGN(const std::string name, file.get_string("tokenizer.ggml.model"));
  if (name == "gpt2") return TokenizerModel::kByteLevelBpe;
  if (name == "llama") return TokenizerModel::kSentencePiece;
  return make_error(ErrorCode::kUnsupported,
                    "tokenizer.ggml.model \"{}\" is not supported (gpt2 or llama)", name);
}

// "<0x0A>" → 0x0A.
std::optional<uint8_t> byte_token_value(std::string_view text) {
  if (text.size() != 6 || !text.starts_with("<0x") || text[5] != '>') return std::nullopt;
  unsigned value = 0;
  for (char c : text.substr(3, 2)) {
    const int digit = c >= '0' && c <= '9'   ? c - '0'
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                             : -1;
    if (digit < 0) return std::nullopt;
    value = value * 16 + static_cast<unsigned>(digit);
  }
  return static_cast<uint8_t>(value);
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0;;) {
    const size_t hit = text.find(from, pos);
    out.append(text.substr(pos, hit - pos));
    if (hit == std::string_view::npos) return out;
    out.append(to);
    pos = hit + from.size();
  }
}

// The bytes decode() writes for a token.
std::string token_piece(const Vocab& vocab, int32_t id, TokenizerModel model,
                        const ByteLevelAlphabet& alphabet) {
  const std::string& text = vocab.text(id);
  const TokenType type = vocab.type(id);
  if (type == TokenType::kByte) {
    if (auto byte = byte_token_value(text)) return std::string(1, static_cast<char>(*byte));
  }
  if (type == TokenType::kControl || type == TokenType::kUserDefined) return text;
  if (model == TokenizerModel::kSentencePiece) return replace_all(text, kSpmSpace, " ");
  // Texts outside the byte-level alphabet are written as they are.
  return alphabet.decode(text).value_or(text);
}

Status load_model(const GgufFile& file, TokenizerData& data) {
  const bool spm = data.model == TokenizerModel::kSentencePiece;
  QMIX_TRY_ASSIGN(data.add_bos, read_flag(file, "tokenizer.ggml.add_bos_token", spm));
  QMIX_TRY_ASSIGN(data.add_eos, read_flag(file, "tokenizer.ggml.add_eos_token", false));
  QMIX_TRY_ASSIGN(data.add_space_prefix, read_flag(file, "tokenizer.ggml.add_space_prefix", spm));
  if (spm) {
    data.spm = SentencePieceModel::build(data.vocab, data.unknown);
    return ok_status();
  }
  data.pre_name = file.get_string_or("tokenizer.ggml.pre", "default");
  const PreTokenizerSpec* spec = find_pre_tokenizer(data.pre_name);
  if (!spec) {
    return make_error(ErrorCode::kUnsupported, "tokenizer.ggml.pre \"{}\" is not supported",
                      data.pre_name);
  }
  QMIX_TRY_ASSIGN(data.pre, PreTokenizer::compile(*spec));
  ByteLevelAlphabet alphabet;
  QMIX_TRY_ASSIGN(data.bpe, BpeModel::build(file, data.vocab, alphabet, spec->whole_words));
  return ok_status();
}

Expected<std::shared_ptr<TokenizerData>> load(const GgufFile& file) {
  QMIX_TRY_ASSIGN(const TokenizerModel model, read_model(file));
  QMIX_TRY_ASSIGN(Vocab vocab, Vocab::from_gguf(file));
  auto data = std::make_shared<TokenizerData>(std::move(vocab));
  data->model = model;
  QMIX_TRY_ASSIGN(data->bos, read_token_id(file, "tokenizer.ggml.bos_token_id", data->vocab));
  QMIX_TRY_ASSIGN(data->eos, read_token_id(file, "tokenizer.ggml.eos_token_id", data->vocab));
  QMIX_TRY_ASSIGN(data->pad, read_token_id(file, "tokenizer.ggml.padding_token_id", data->vocab));
  QMIX_TRY_ASSIGN(data->unknown,
                  read_token_id(file, "tokenizer.ggml.unknown_token_id", data->vocab));
  QMIX_TRY(load_model(file, *data));
  ByteLevelAlphabet alphabet;
  data->pieces.reserve(static_cast<size_t>(data->vocab.size()));
  for (int32_t id = 0; id < data->vocab.size(); ++id) {
    data->pieces.push_back(token_piece(data->vocab, id, model, alphabet));
  }
  return data;
}

// Everything one encode() call needs besides the tokenizer: scratch memory and a cache of
// the tokens of words seen before (real text repeats words a lot).
class EncodeSession {
 public:
  explicit EncodeSession(const TokenizerData& data) : data_(data) {}

  void encode_text(std::string_view text, bool after_special, std::vector<int32_t>& out) {
    if (data_.model == TokenizerModel::kSentencePiece) {
      std::string escaped;
      if (data_.add_space_prefix && after_special) escaped = kSpmSpace;
      escaped += replace_all(text, " ", kSpmSpace);
      texts_.push_back(std::move(escaped));  // kept alive: the word cache points into it
      data_.spm->split_words(texts_.back(), words_);
    } else {
      if (data_.pre->normalization() == Normalization::kNfc) {
        texts_.push_back(nfc_normalize(text));
        text = texts_.back();
      }
      data_.pre->split(text, pre_scratch_, words_);
    }
    for (std::string_view word : words_) append_word(word, out);
  }

 private:
  void append_word(std::string_view word, std::vector<int32_t>& out) {
    auto [it, inserted] = word_cache_.try_emplace(word, 0, 0);
    if (inserted) {
      const size_t begin = cached_ids_.size();
      if (data_.model == TokenizerModel::kSentencePiece) {
        data_.spm->encode(word, data_.vocab, spm_scratch_, cached_ids_);
      } else {
        data_.bpe->encode_word(word, bpe_scratch_, cached_ids_);
      }
      it->second = {begin, cached_ids_.size() - begin};
    }
    const auto first = cached_ids_.begin() + static_cast<std::ptrdiff_t>(it->second.first);
    out.insert(out.end(), first, first + static_cast<std::ptrdiff_t>(it->second.second));
  }

  const TokenizerData& data_;
  std::deque<std::string> texts_;
  std::vector<std::string_view> words_;
  PreTokenizerScratch pre_scratch_;
  BpeScratch bpe_scratch_;
  SpmScratch spm_scratch_;
  std::unordered_map<std::string_view, std::pair<size_t, size_t>> word_cache_;
  std::vector<int32_t> cached_ids_;
};

}  // namespace

Expected<Tokenizer> Tokenizer::from_gguf(const GgufFile& file) {
  auto data = load(file);
  if (!data.ok()) return std::move(data).error().with_context(file.name());
  return Tokenizer(std::move(data).value());
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, EncodeOptions options) const {
  const TokenizerData& data = *data_;
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (options.add_special && adds_bos()) out.push_back(data.bos);

  std::string repaired;
  if (utf8::valid_prefix_length(text) != text.size()) {
    repaired = utf8::repair(text);
    text = repaired;
  }
  std::vector<TextFragment> fragments;
  data.special.split(text,
                     options.parse_special ? SpecialTokenSet::kAll : SpecialTokenSet::kUserDefined,
                     data.vocab, fragments);
  EncodeSession session(data);
  bool after_special = true;  // the start of the text counts as following a special token
  for (const TextFragment& fragment : fragments) {
    if (fragment.token != kNoToken) {
      out.push_back(fragment.token);
      after_special = true;
    } else {
      session.encode_text(fragment.text, after_special, out);
      after_special = false;
    }
  }
  if (options.add_special && adds_eos()) out.push_back(data.eos);
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, DecodeOptions options) const {
  const TokenizerData& data = *data_;
  std::string out;
  // SentencePiece encodes a leading space it did not see; drop it from the first piece.
  bool strip_space = data.model == TokenizerModel::kSentencePiece && data.add_space_prefix;
  for (int32_t id : ids) {
    if (!valid_token(id)) continue;
    const TokenType type = data.vocab.type(id);
    if (type == TokenType::kControl && !options.render_special) continue;
    std::string_view piece = data.pieces[static_cast<size_t>(id)];
    if (strip_space && type != TokenType::kControl && piece.starts_with(' ')) {
      piece.remove_prefix(1);
    }
    strip_space = strip_space && type == TokenType::kControl;
    out.append(piece);
  }
  return out;
}

TokenizerModel Tokenizer::model() const { return data_->model; }
const std::string& Tokenizer::pre_tokenizer_name() const { return data_->pre_name; }
int32_t Tokenizer::n_tokens() const { return data_->vocab.size(); }
const std::string& Tokenizer::token_text(int32_t id) const { return data_->vocab.text(id); }
TokenType Tokenizer::token_type(int32_t id) const { return data_->vocab.type(id); }
int32_t Tokenizer::bos_id() const { return data_->bos; }
int32_t Tokenizer::eos_id() const { return data_->eos; }
int32_t Tokenizer::pad_id() const { return data_->pad; }
bool Tokenizer::adds_bos() const { return data_->add_bos && data_->bos != kNoToken; }
bool Tokenizer::adds_eos() const { return data_->add_eos && data_->eos != kNoToken; }

}  // namespace qmix
