// A 64-bit content hash for cache keys (not cryptographic): identical bytes give identical
// keys across runs and machines. Words are mixed 8 bytes at a time (splitmix64's finaliser),
// fast enough to key sampled tensor rows and importance vectors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace qmix {

class ContentHash {
 public:
  void add(std::span<const std::byte> bytes) {
    size_t i = 0;
    for (; i + 8 <= bytes.size(); i += 8) {
      uint64_t w = 0;
      std::memcpy(&w, bytes.data() + i, 8);
      mix(w);
    }
    uint64_t tail = 0;
    if (i < bytes.size()) std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
    mix(tail ^ (uint64_t{bytes.size() - i} << 56));
    mix(bytes.size());
  }
  void add(std::string_view text) { add(std::as_bytes(std::span(text.data(), text.size()))); }
  template <class T>
  void add_value(const T& value) {
    add(std::as_bytes(std::span(&value, 1)));
  }
  template <class T>
  void add_values(std::span<const T> values) {
    add(std::as_bytes(values));
  }
  uint64_t digest() const { return finalise(state_ ^ 0x9e3779b97f4a7c15ull); }

 private:
  static uint64_t finalise(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  void mix(uint64_t w) { state_ = finalise(state_ + w + 0x9e3779b97f4a7c15ull) * 31 + w; }

  uint64_t state_ = 0x6a09e667f3bcc908ull;
};

}  // namespace qmix
