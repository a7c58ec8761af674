// Unicode Normalization Form C (canonical decomposition, canonical ordering, canonical
// composition), as Hugging Face's NFC normalizer applies it before pre-tokenization.
#pragma once

#include <string>
#include <string_view>

namespace qmix {

// NFC of `text`, which must be valid UTF-8. Runs of code points that NFC cannot change are
// copied unchanged, so mostly-ASCII text costs little more than a scan.
std::string nfc_normalize(std::string_view text);

}  // namespace qmix
