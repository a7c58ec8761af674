#include "tokenizer/bpe.h"

#include <algorithm>
#include <string>

namespace qmix {
namespace {

// Min-heap order: lower rank first, then the leftmost pair.
bool later(const BpeScratch::Candidate& a, const BpeScratch::Candidate& b) {
  return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
}

}  // namespace

Expected<BpeModel> BpeModel::build(const GgufFile& file, const Vocab& vocab,
                                   const ByteLevelAlphabet& alphabet, WholeWordTokens whole_words) {
  const GgufValue* value = file.find("tokenizer.ggml.merges");
  if (!value) {
    return make_error(ErrorCode::kNotFound,
                      "byte-level BPE tokenizer without tokenizer.ggml.merges");
  }
  const std::vector<std::string>* merges = value->as_string_array();
  if (!merges) {
    return make_error(ErrorCode::kCorrupt, "tokenizer.ggml.merges: expected strings, found {}",
                      value->to_display_string());
  }
  BpeModel model;
  for (int b = 0; b < 256; ++b) {
    model.byte_token_[static_cast<size_t>(b)] =
        vocab.find(alphabet.encoded(static_cast<uint8_t>(b)));
  }
  size_t capacity = 16;
  while (capacity < 2 * merges->size()) capacity *= 2;
  model.slots_.resize(capacity);
  std::string joined;
  for (size_t rank = 0; rank < merges->size(); ++rank) {
    const std::string& merge = (*merges)[rank];
    // Search from 1: a left half may itself be a space in non-byte-level vocabularies.
    const size_t space = merge.find(' ', 1);
    if (space == std::string::npos) {
      return make_error(ErrorCode::kCorrupt,
                        "tokenizer.ggml.merges[{}]: \"{}\" is not \"left right\"", rank, merge);
    }
    const std::string_view left(merge.data(), space);
    const std::string_view right = std::string_view(merge).substr(space + 1);
    joined.assign(left).append(right);
    const int32_t left_id = vocab.find(left), right_id = vocab.find(right),
                  result = vocab.find(joined);
    if (left_id == kNoToken || right_id == kNoToken || result == kNoToken) continue;
    model.insert_merge(pair_key(left_id, right_id), static_cast<int32_t>(rank), result);
  }
  if (whole_words == WholeWordTokens::kUseDirectly) {
    for (int32_t id = 0; id < vocab.size(); ++id) {
      if (vocab.type(id) != TokenType::kNormal) continue;
      if (auto bytes = alphabet.decode(vocab.text(id))) model.whole_words_[*bytes] = id;
    }
  }
  return model;
}

size_t BpeModel::slot_of(uint64_t key) const {
  // Fibonacci hashing spreads the (left, right) id pairs; linear probing from there.
  const uint64_t hash = key * 0x9E3779B97F4A7C15ull;
  size_t i = static_cast<size_t>(hash >> 32) & (slots_.size() - 1);
  while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & (slots_.size() - 1);
  return i;
}

void BpeModel::insert_merge(uint64_t key, int32_t rank, int32_t result) {
  Slot& slot = slots_[slot_of(key)];
  if (slot.key == key) return;  // a repeated merge keeps its first (lowest) rank
  slot = {key, rank, result};
  ++merge_count_;
}

const BpeModel::Slot* BpeModel::find_merge(int32_t left, int32_t right) const {
  if (left == kNoToken || right == kNoToken) return nullptr;
  const Slot& slot = slots_[slot_of(pair_key(left, right))];
  return slot.key == kEmpty ? nullptr : &slot;
}

void BpeModel::push_candidate(int32_t left, BpeScratch& scratch) const {
  if (left < 0) return;
  const BpeScratch::Symbol& l = scratch.symbols[static_cast<size_t>(left)];
  if (l.next < 0) return;
  const BpeScratch::Symbol& r = scratch.symbols[static_cast<size_t>(l.next)];
  if (const Slot* m = find_merge(l.token, r.token)) {
    scratch.heap.push_back({m->rank, left, l.token, r.token});
    std::push_heap(scratch.heap.begin(), scratch.heap.end(), later);
  }
}

void BpeModel::encode_word(std::string_view word, BpeScratch& scratch,
                           std::vector<int32_t>& out) const {
  if (!whole_words_.empty()) {
    if (auto it = whole_words_.find(std::string(word)); it != whole_words_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  const auto n = static_cast<int32_t>(word.size());
  scratch.symbols.resize(word.size());
  scratch.heap.clear();
  for (int32_t i = 0; i < n; ++i) {
    const auto byte = static_cast<uint8_t>(word[static_cast<size_t>(i)]);
    scratch.symbols[static_cast<size_t>(i)] = {byte_token_[byte], i - 1, i + 1 < n ? i + 1 : -1};
  }
  for (int32_t i = 0; i + 1 < n; ++i) push_candidate(i, scratch);

  while (!scratch.heap.empty()) {
    std::pop_heap(scratch.heap.begin(), scratch.heap.end(), later);
    const BpeScratch::Candidate c = scratch.heap.back();
    scratch.heap.pop_back();
    BpeScratch::Symbol& left = scratch.symbols[static_cast<size_t>(c.left)];
    // Stale when either half changed since the candidate was queued (a merged token always
    // differs from its parts, so comparing ids is enough).
    if (left.token != c.left_token || left.next < 0) continue;
    BpeScratch::Symbol& right = scratch.symbols[static_cast<size_t>(left.next)];
    if (right.token != c.right_token) continue;
    left.token = find_merge(c.left_token, c.right_token)->result;
    right.token = kNoToken;  // dead: no candidate can match it again
    left.next = right.next;
    if (right.next >= 0) scratch.symbols[static_cast<size_t>(right.next)].prev = c.left;
    push_candidate(left.prev, scratch);
    push_candidate(c.left, scratch);
  }
  for (int32_t i = 0; i >= 0 && n > 0; i = scratch.symbols[static_cast<size_t>(i)].next) {
    // Bytes without a token of their own are dropped (no listed vocabulary lacks any).
    const int32_t token = scratch.symbols[static_cast<size_t>(i)].token;
    if (token != kNoToken) out.push_back(token);
  }
}

}  // namespace qmix
