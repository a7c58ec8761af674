#include "recipe/name_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>

namespace qmix {

struct NameRegex::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

Expected<NameRegex> NameRegex::compile(std::string_view pattern) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  auto code = std::make_shared<Code>();
  code->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), 0,
                             &error_code, &error_offset, nullptr);
  if (code->code == nullptr) {
    std::array<PCRE2_UCHAR, 256> message{};
    pcre2_get_error_message(error_code, message.data(), message.size());
    return make_error(ErrorCode::kInvalidArgument, "bad regex '{}': {} at offset {}", pattern,
                      reinterpret_cast<const char*>(message.data()), error_offset);
  }
  NameRegex out;
  out.code_ = std::move(code);
  return out;
}

bool NameRegex::search(std::string_view name) const {
  // Match data per call keeps a compiled recipe usable from several threads.
  pcre2_match_data* match = pcre2_match_data_create_from_pattern(code_->code, nullptr);
  const int rc = pcre2_match(code_->code, reinterpret_cast<PCRE2_SPTR>(name.data()), name.size(), 0,
                             0, match, nullptr);
  pcre2_match_data_free(match);
  return rc >= 0;
}

std::string escape_regex(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace qmix
