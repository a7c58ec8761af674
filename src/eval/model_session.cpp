#include "eval/model_session.h"

#include "core/mapped_file.h"

namespace qmix {

Expected<LoadedModel> load_model(const std::filesystem::path& path, const EngineOptions& options) {
  LoadedModel m;
  QMIX_TRY_ASSIGN(GgufModel file, GgufModel::open(path));
  m.file = std::make_unique<GgufModel>(std::move(file));
  for (const GgufTensorRef& t : m.file->tensors()) {
    m.weight_bytes += t.info->n_bytes;
    m.weight_count += t.info->n_elements;
  }
  auto tok = Tokenizer::from_gguf(m.file->metadata());
  if (!tok.ok()) return tok.error().with_context(path.string());
  m.tokenizer = std::make_unique<Tokenizer>(std::move(tok).value());
  auto engine = Engine::create(*m.file, options);
  if (!engine.ok()) return engine.error().with_context(path.string());
  m.engine = std::move(engine).value();
  return m;
}

Expected<std::vector<int32_t>> tokenize_text_file(const Tokenizer& tokenizer,
                                                  const std::filesystem::path& path) {
  QMIX_TRY_ASSIGN(MappedFile f, MappedFile::open(path));
  const std::string_view text(reinterpret_cast<const char*>(f.bytes().data()), f.size());
  EncodeOptions opt;
  opt.add_special = false;
  opt.parse_special = false;
  return tokenizer.encode(text, opt);
}

Expected<CalibrationFormat> parse_calibration_format(std::string_view text) {
  if (text == "text") return CalibrationFormat::kText;
  if (text == "jsonl") return CalibrationFormat::kJsonl;
  return make_error(ErrorCode::kInvalidArgument, "--format must be text or jsonl (got '{}')", text);
}

Expected<std::vector<int32_t>> tokenize_calibration_file(const Tokenizer& tokenizer,
                                                         const GgufFile& metadata,
                                                         const std::filesystem::path& path,
                                                         CalibrationInput input) {
  QMIX_TRY_ASSIGN(MappedFile f, MappedFile::open(path));
  const std::string_view text(reinterpret_cast<const char*>(f.bytes().data()), f.size());
  if (input.format == CalibrationFormat::kText) return tokenizer.encode(text, input.text_encoding);
  input.jsonl.model_chat_template = metadata.get_string_or("tokenizer.chat_template", "");
  QMIX_TRY_ASSIGN(const auto records, parse_jsonl_records(text, path.string(), input.jsonl));
  return tokenize_records(tokenizer, records);
}

Expected<BosPolicy> parse_bos_policy(std::string_view text) {
  if (text == "auto") return BosPolicy::kAuto;
  if (text == "yes") return BosPolicy::kAlways;
  if (text == "no") return BosPolicy::kNever;
  return make_error(ErrorCode::kInvalidArgument, "--bos must be auto, yes or no (got '{}')", text);
}

std::optional<int32_t> chunk_bos(const Tokenizer& tokenizer, BosPolicy policy) {
  const bool use =
      policy == BosPolicy::kAlways || (policy == BosPolicy::kAuto && tokenizer.adds_bos());
  if (!use || tokenizer.bos_id() < 0) return std::nullopt;
  return tokenizer.bos_id();
}

}  // namespace qmix
