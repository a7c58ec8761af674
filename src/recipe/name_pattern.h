// Regular expressions over tensor names (--tensor-type PATTERN=TYPE, recipe rules): searched
// anywhere in the name and case-insensitively, as llama-quantize does. PCRE2 rather than
// std::regex: the same syntax for the patterns people write (classes, groups, alternation,
// anchors, escapes), compiled once, and no GCC <regex> warnings in sanitizer builds.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"

namespace qmix {

class NamePattern {
 public:
  // The error quotes the pattern and says where it is wrong.
  static Expected<NamePattern> compile(std::string_view pattern);

  NamePattern(NamePattern&&) noexcept;
  NamePattern& operator=(NamePattern&&) noexcept;
  ~NamePattern();

  bool search(std::string_view name) const;  // thread-safe
  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  NamePattern(std::string pattern, std::unique_ptr<Code> code);
  std::string pattern_;
  std::unique_ptr<Code> code_;
};

}  // namespace qmix
