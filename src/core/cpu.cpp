#include "core/cpu.h"

#include <cstdlib>
#include <cstring>

namespace qmix {
namespace {
CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.f16c = __builtin_cpu_supports("f16c");
#endif
  const char* force = std::getenv("QMIX_FORCE_SCALAR");
  if (force != nullptr && std::strcmp(force, "0") != 0 && force[0] != '\0') f = CpuFeatures{};
  return f;
}
}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace qmix
