// The regex engine of recipe `match` selectors: PCRE2, compiled once per rule. (Not
// std::regex: GCC's <regex> trips -Wmaybe-uninitialized under the sanitizers, see
// src/gguf/gguf_model.cpp.) For the patterns written against tensor names — classes, groups,
// alternation, anchors, \d, lookahead — Perl syntax and llama.cpp's ECMAScript agree.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"

namespace qmix {

class NameRegex {
 public:
  // Error: "bad regex '<pattern>': <PCRE2's message> at offset N".
  static Expected<NameRegex> compile(std::string_view pattern);
  // Whether the pattern matches somewhere in `name` (a search, as llama.cpp's regex_search).
  bool search(std::string_view name) const;

 private:
  struct Code;
  std::shared_ptr<const Code> code_;
};

// `text` with every regex metacharacter escaped: a pattern that finds exactly that text.
std::string escape_regex(std::string_view text);

}  // namespace qmix
