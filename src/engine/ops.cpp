#include "engine/ops.h"

#include <algorithm>
#include <cmath>

#include "core/cpu.h"

namespace qmix::ops {

void rms_norm(const float* x, const float* weight, float eps, int64_t n, float* y) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  const float scale = 1.0f / std::sqrt(static_cast<float>(sum / static_cast<double>(n)) + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * (weight ? weight[i] : 1.0f);
}

RopeTable rope_table(int64_t n_pos, int64_t n_rot, float theta_base) {
  RopeTable t;
  t.half = n_rot / 2;
  t.cos.resize(static_cast<size_t>(n_pos * t.half));
  t.sin.resize(t.cos.size());
  for (int64_t i = 0; i < t.half; ++i) {
    const double freq = std::pow(static_cast<double>(theta_base),
                                 -2.0 * static_cast<double>(i) / static_cast<double>(n_rot));
    for (int64_t pos = 0; pos < n_pos; ++pos) {
      const double angle = static_cast<double>(pos) * freq;
      t.cos[static_cast<size_t>(pos * t.half + i)] = static_cast<float>(std::cos(angle));
      t.sin[static_cast<size_t>(pos * t.half + i)] = static_cast<float>(std::sin(angle));
    }
  }
  return t;
}

void rope(float* x, int64_t n_heads, int64_t head_dim, const RopeTable& table, int64_t pos,
          RopeStyle style) {
  const int64_t half = table.half;
  const float* cos = table.cos.data() + pos * half;
  const float* sin = table.sin.data() + pos * half;
  const int64_t stride = style == RopeStyle::kNormal ? 2 : 1;     // index of x0 = stride · i
  const int64_t offset = style == RopeStyle::kNormal ? 1 : half;  // x1 sits offset after x0
  for (int64_t h = 0; h < n_heads; ++h) {
    float* v = x + h * head_dim;
    for (int64_t i = 0; i < half; ++i) {
      const int64_t a = stride * i, b = a + offset;
      const float x0 = v[a], x1 = v[b];
      v[a] = x0 * cos[i] - x1 * sin[i];
      v[b] = x0 * sin[i] + x1 * cos[i];
    }
  }
}

void softmax(float* x, int64_t n, float scale) {
  if (cpu_features().use_avx2()) return softmax_avx2(x, n, scale);
  for (int64_t i = 0; i < n; ++i) x[i] *= scale;
  const float mx = *std::max_element(x, x + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
  if (cpu_features().use_avx2()) return swiglu_avx2(gate, up, n, out);
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] * sigmoid(gate[i]) * up[i];
}

}  // namespace qmix::ops
