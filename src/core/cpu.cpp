#include "core/cpu.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace qmix {
namespace {

#if defined(__x86_64__) || defined(__i386__)
uint32_t xcr0() {
  uint32_t eax = 0, edx = 0;
  __asm__("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return eax;
}
// AVX state must be enabled by the OS (XCR0 bits 1 and 2) before AVX instructions may run,
// and for AVX-512 also the opmask and ZMM states (bits 5 to 7).
bool os_saves_avx_state() { return (xcr0() & 0x6) == 0x6; }
bool os_saves_avx512_state() { return (xcr0() & 0xE6) == 0xE6; }

bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && v[0] != '\0' && std::strcmp(v, "0") != 0;
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_OSXSAVE) && os_saves_avx_state()) {
    f.fma = (ecx & bit_FMA) != 0;
    f.f16c = (ecx & bit_F16C) != 0;
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
      f.avx2 = (ebx & bit_AVX2) != 0;
      f.avx512f = (ebx & bit_AVX512F) != 0 && os_saves_avx512_state();
      f.avx512bw = (ebx & bit_AVX512BW) != 0;
      f.avx512vl = (ebx & bit_AVX512VL) != 0;
    }
    if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx))
      f.avx512_bf16 = (eax & bit_AVX512BF16) != 0;
  }
#endif
  if (env_set("QMIX_NO_AVX512")) f.avx512f = false;
  if (env_set("QMIX_FORCE_SCALAR")) f = CpuFeatures{};
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace qmix
