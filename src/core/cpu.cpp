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
// AVX state must be enabled by the OS (XCR0 bits 1 and 2) before AVX instructions may run.
bool os_saves_avx_state() {
  uint32_t eax = 0, edx = 0;
  __asm__("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (eax & 0x6) == 0x6;
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_OSXSAVE) && os_saves_avx_state()) {
    f.fma = (ecx & bit_FMA) != 0;
    f.f16c = (ecx & bit_F16C) != 0;
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) f.avx2 = (ebx & bit_AVX2) != 0;
  }
#endif
  const char* force = std::getenv("QMIX_FORCE_SCALAR");
  if (force != nullptr && force[0] != '\0' && std::strcmp(force, "0") != 0) f = CpuFeatures{};
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace qmix
