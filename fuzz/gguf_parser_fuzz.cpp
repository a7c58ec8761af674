// libFuzzer target: the GGUF parser must reject or accept any byte string without crashing,
// and every tensor it accepts must lie inside the input.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/error.h"
#include "gguf/gguf_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  auto file = qmix::GgufFile::parse(bytes, "fuzz.gguf");
  if (!file.ok()) return 0;
  for (const auto& t : file->tensors()) {
    const auto span = file->tensor_data(t);
    QMIX_CHECK(span.data() >= bytes.data() && span.data() + span.size() <= bytes.data() + size);
  }
  for (const auto& kv : file->kvs()) (void)kv.value.to_display_string();
  return 0;
}
