#include "tokenizer/sentencepiece.h"

#include <algorithm>

#include <fmt/format.h>

#include "tokenizer/utf8.h"

namespace qmix {
namespace {

// Max-heap order: higher score first, then the leftmost pair.
bool lower_priority(const SpmScratch::Candidate& a, const SpmScratch::Candidate& b) {
  return a.score != b.score ? a.score < b.score : a.left > b.left;
}

// Whether `text` has U+2581 right after a code point that is not U+2581.
bool has_inner_space(std::string_view text) {
  for (size_t pos = text.find(kSpmSpace, 1); pos != std::string_view::npos;
       pos = text.find(kSpmSpace, pos + 1)) {
    if (pos < kSpmSpace.size() ||
        text.substr(pos - kSpmSpace.size(), kSpmSpace.size()) != kSpmSpace) {
      return true;
    }
  }
  return false;
}

}  // namespace

SentencePieceModel SentencePieceModel::build(const Vocab& vocab, int32_t unknown) {
  SentencePieceModel model;
  for (int b = 0; b < 256; ++b) {
    int32_t id = vocab.find(fmt::format("<0x{:02X}>", b));
    if (id == kNoToken) id = vocab.find(std::string(1, static_cast<char>(b)));
    model.byte_token_[static_cast<size_t>(b)] = id == kNoToken ? unknown : id;
  }
  model.split_at_spaces_ = true;
  for (int32_t id = 0; id < vocab.size() && model.split_at_spaces_; ++id) {
    model.split_at_spaces_ = !has_inner_space(vocab.text(id));
  }
  return model;
}

void SentencePieceModel::split_words(std::string_view text,
                                     std::vector<std::string_view>& words) const {
  words.clear();
  if (text.empty()) return;
  if (!split_at_spaces_) {
    words.push_back(text);
    return;
  }
  size_t start = 0;
  for (size_t pos = text.find(kSpmSpace, 1); pos != std::string_view::npos;
       pos = text.find(kSpmSpace, pos + kSpmSpace.size())) {
    const bool after_space = pos >= kSpmSpace.size() &&
                             text.substr(pos - kSpmSpace.size(), kSpmSpace.size()) == kSpmSpace;
    if (after_space) continue;
    words.push_back(text.substr(start, pos - start));
    start = pos;
  }
  words.push_back(text.substr(start));
}

void SentencePieceModel::push_candidate(std::string_view text, const Vocab& vocab, int32_t left,
                                        SpmScratch& scratch) const {
  if (left < 0) return;
  const SpmScratch::Symbol& l = scratch.symbols[static_cast<size_t>(left)];
  if (l.next < 0) return;
  const SpmScratch::Symbol& r = scratch.symbols[static_cast<size_t>(l.next)];
  const uint32_t length = l.length + r.length;
  const int32_t id = vocab.find(text.substr(l.offset, length));
  if (id == kNoToken) return;
  scratch.heap.push_back({vocab.score(id), left, l.next, length});
  std::push_heap(scratch.heap.begin(), scratch.heap.end(), lower_priority);
}

void SentencePieceModel::encode(std::string_view text, const Vocab& vocab, SpmScratch& scratch,
                                std::vector<int32_t>& out) const {
  scratch.symbols.clear();
  scratch.heap.clear();
  for (size_t pos = 0; pos < text.size();) {
    const auto length = static_cast<uint32_t>(utf8::decode(text, pos).length);
    const auto index = static_cast<int32_t>(scratch.symbols.size());
    scratch.symbols.push_back({static_cast<uint32_t>(pos), length, index - 1, -1});
    if (index > 0) scratch.symbols[static_cast<size_t>(index - 1)].next = index;
    pos += length;
  }
  const auto n = static_cast<int32_t>(scratch.symbols.size());
  for (int32_t i = 0; i + 1 < n; ++i) push_candidate(text, vocab, i, scratch);

  while (!scratch.heap.empty()) {
    std::pop_heap(scratch.heap.begin(), scratch.heap.end(), lower_priority);
    const SpmScratch::Candidate c = scratch.heap.back();
    scratch.heap.pop_back();
    SpmScratch::Symbol& left = scratch.symbols[static_cast<size_t>(c.left)];
    SpmScratch::Symbol& right = scratch.symbols[static_cast<size_t>(c.right)];
    if (left.length == 0 || right.length == 0 || left.length + right.length != c.length) continue;
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0) scratch.symbols[static_cast<size_t>(right.next)].prev = c.left;
    push_candidate(text, vocab, left.prev, scratch);
    push_candidate(text, vocab, c.left, scratch);
  }
  for (int32_t i = 0; i >= 0 && n > 0; i = scratch.symbols[static_cast<size_t>(i)].next) {
    const SpmScratch::Symbol& s = scratch.symbols[static_cast<size_t>(i)];
    const std::string_view piece = text.substr(s.offset, s.length);
    if (const int32_t id = vocab.find(piece); id != kNoToken) {
      out.push_back(id);
      continue;
    }
    for (char byte : piece) {
      const int32_t id = byte_token_[static_cast<uint8_t>(byte)];
      if (id != kNoToken) out.push_back(id);
    }
  }
}

}  // namespace qmix
