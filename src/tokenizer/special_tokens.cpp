#include "tokenizer/special_tokens.h"

#include <algorithm>

namespace qmix {
namespace {

bool is_special(TokenType type) {
  return type == TokenType::kControl || type == TokenType::kUserDefined ||
         type == TokenType::kUnknown;
}

bool in_set(TokenType type, SpecialTokenSet set) {
  return set == SpecialTokenSet::kAll ? is_special(type) : type == TokenType::kUserDefined;
}

}  // namespace

SpecialTokenMatcher::SpecialTokenMatcher(const Vocab& vocab) {
  for (int32_t id = 0; id < vocab.size(); ++id) {
    if (!is_special(vocab.type(id)) || vocab.text(id).empty()) continue;
    by_first_byte_[static_cast<uint8_t>(vocab.text(id)[0])].push_back(id);
  }
  for (auto& ids : by_first_byte_) {
    std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
      return vocab.text(a).size() > vocab.text(b).size();
    });
  }
}

void SpecialTokenMatcher::split(std::string_view text, SpecialTokenSet set, const Vocab& vocab,
                                std::vector<TextFragment>& out) const {
  size_t plain_start = 0;
  for (size_t pos = 0; pos < text.size();) {
    int32_t match = kNoToken;
    for (int32_t id : by_first_byte_[static_cast<uint8_t>(text[pos])]) {
      if (in_set(vocab.type(id), set) && text.substr(pos).starts_with(vocab.text(id))) {
        match = id;
        break;
      }
    }
    if (match == kNoToken) {
      ++pos;
      continue;
    }
    if (pos > plain_start) out.push_back({text.substr(plain_start, pos - plain_start)});
    out.push_back({vocab.text(match), match});
    pos += vocab.text(match).size();
    plain_start = pos;
  }
  if (plain_start < text.size()) out.push_back({text.substr(plain_start)});
}

}  // namespace qmix
