#include "imatrix/calibration.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "core/mapped_file.h"

namespace qmix {

namespace {

Status check_id(int64_t id, int64_t n_vocab, std::string_view name, std::string_view where) {
  if (id < 0 || id > INT32_MAX || (n_vocab > 0 && id >= n_vocab))
    return make_error(ErrorCode::kInvalidArgument, "{}: {}: token id {} outside the vocabulary{}",
                      name, where, id, n_vocab > 0 ? fmt::format(" (0..{})", n_vocab - 1) : "");
  return ok_status();
}

Expected<std::vector<int32_t>> parse_json_ids(std::string_view text, std::string_view name,
                                              int64_t n_vocab) {
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_array())
    return make_error(ErrorCode::kInvalidArgument, "{}: not a JSON array of token ids", name);
  std::vector<int32_t> ids;
  ids.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    if (!json[i].is_number_integer())
      return make_error(ErrorCode::kInvalidArgument, "{}: element {} is not an integer", name, i);
    const auto id = json[i].get<int64_t>();
    QMIX_TRY(check_id(id, n_vocab, name, fmt::format("element {}", i)));
    ids.push_back(static_cast<int32_t>(id));
  }
  return ids;
}

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

Expected<std::vector<int32_t>> parse_line_ids(std::string_view text, std::string_view name,
                                              int64_t n_vocab) {
  std::vector<int32_t> ids;
  int64_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const auto nl = text.find('\n');
    const std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    int64_t id = 0;
    const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), id);
    if (ec != std::errc() || end != line.data() + line.size())
      return make_error(ErrorCode::kInvalidArgument, "{}: line {}: '{}' is not a token id", name,
                        line_no, line.substr(0, 40));
    QMIX_TRY(check_id(id, n_vocab, name, fmt::format("line {}", line_no)));
    ids.push_back(static_cast<int32_t>(id));
  }
  return ids;
}

}  // namespace

Expected<std::vector<int32_t>> parse_token_list(std::string_view text, std::string_view name,
                                                int64_t n_vocab) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '[')
    return parse_json_ids(text, name, n_vocab);
  return parse_line_ids(text, name, n_vocab);
}

Expected<std::vector<int32_t>> read_token_file(const std::filesystem::path& path, int64_t n_vocab) {
  QMIX_TRY_ASSIGN(const auto map, MappedFile::open(path));
  const auto bytes = map.bytes();
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return parse_token_list(text, path.string(), n_vocab);
}

}  // namespace qmix
