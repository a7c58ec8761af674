#include "engine/delta_net.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace qmix {

void gated_delta_rule_recurrent(const DeltaNetHead& h, int64_t n, float* state) {
  std::vector<float> kv(static_cast<size_t>(h.dv));
  for (int64_t t = 0; t < n; ++t) {
    const float* q = h.q + t * h.qk_stride;
    const float* k = h.k + t * h.qk_stride;
    const float* v = h.v + t * h.v_stride;
    const float decay = std::exp(h.g[t * h.gb_stride]);
    const float beta = h.beta[t * h.gb_stride];
    for (int64_t i = 0; i < h.dk * h.dv; ++i) state[i] *= decay;
    std::fill(kv.begin(), kv.end(), 0.0f);
    for (int64_t i = 0; i < h.dk; ++i)
      for (int64_t j = 0; j < h.dv; ++j) kv[static_cast<size_t>(j)] += state[i * h.dv + j] * k[i];
    for (int64_t j = 0; j < h.dv; ++j)
      kv[static_cast<size_t>(j)] = (v[j] - kv[static_cast<size_t>(j)]) * beta;
    float* out = h.out + t * h.out_stride;
    std::fill(out, out + h.dv, 0.0f);
    for (int64_t i = 0; i < h.dk; ++i)
      for (int64_t j = 0; j < h.dv; ++j) {
        state[i * h.dv + j] += k[i] * kv[static_cast<size_t>(j)];
        out[j] += state[i * h.dv + j] * q[i];
      }
  }
}

namespace {

// One chunk of length c starting at token t0 (WY representation of the delta rule):
//   A = (I + strictly_lower(diag(β) K Kᵀ ⊙ Γ))⁻¹,  U = A (diag(β) V),  W = A (diag(β e^G) K)
//   O = (Q ⊙ e^G) S + lower(Q Kᵀ ⊙ Γ)(U − W S),   S' = e^{G_c} S + (K ⊙ e^{G_c − G})ᵀ (U − W S)
// with G the cumulative log decay inside the chunk and Γ_ij = e^{G_i − G_j}.
void process_chunk(const DeltaNetHead& h, int64_t t0, int64_t c, float* S) {
  const int64_t dk = h.dk, dv = h.dv;
  auto q = [&](int64_t i) { return h.q + (t0 + i) * h.qk_stride; };
  auto k = [&](int64_t i) { return h.k + (t0 + i) * h.qk_stride; };
  std::vector<double> G(static_cast<size_t>(c)), beta(static_cast<size_t>(c));
  double acc = 0;
  for (int64_t i = 0; i < c; ++i) {
    acc += h.g[(t0 + i) * h.gb_stride];
    G[static_cast<size_t>(i)] = acc;
    beta[static_cast<size_t>(i)] = h.beta[(t0 + i) * h.gb_stride];
  }
  auto kdot = [&](const float* a, const float* b) {
    double s = 0;
    for (int64_t d = 0; d < dk; ++d) s += static_cast<double>(a[d]) * b[d];
    return s;
  };
  // T = A by forward substitution: rows of (I + L)⁻¹ where L_ij = β_i k_i·k_j Γ_ij (j < i).
  std::vector<double> T(static_cast<size_t>(c * c), 0.0);
  for (int64_t i = 0; i < c; ++i) {
    for (int64_t j = 0; j < i; ++j) {
      double v = -beta[static_cast<size_t>(i)] * kdot(k(i), k(j)) *
                 std::exp(G[static_cast<size_t>(i)] - G[static_cast<size_t>(j)]);
      T[static_cast<size_t>(i * c + j)] = v;
    }
    for (int64_t j = 0; j < i; ++j) {
      double s = T[static_cast<size_t>(i * c + j)];
      for (int64_t m = j + 1; m < i; ++m)
        s += T[static_cast<size_t>(i * c + m)] * T[static_cast<size_t>(m * c + j)];
      T[static_cast<size_t>(i * c + j)] = s;
    }
    T[static_cast<size_t>(i * c + i)] = 1.0;
  }
  // U − W S for each row i: Σ_j T_ij β_j (v_j − e^{G_j} S ᵀ k_j).
  std::vector<double> SK(static_cast<size_t>(c * dv)), Unew(static_cast<size_t>(c * dv), 0.0);
  for (int64_t j = 0; j < c; ++j)
    for (int64_t e = 0; e < dv; ++e) {
      double s = 0;
      for (int64_t d = 0; d < dk; ++d) s += static_cast<double>(S[d * dv + e]) * k(j)[d];
      SK[static_cast<size_t>(j * dv + e)] =
          beta[static_cast<size_t>(j)] *
          (h.v[(t0 + j) * h.v_stride + e] - std::exp(G[static_cast<size_t>(j)]) * s);
    }
  for (int64_t i = 0; i < c; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      const double t = T[static_cast<size_t>(i * c + j)];
      for (int64_t e = 0; e < dv; ++e)
        Unew[static_cast<size_t>(i * dv + e)] += t * SK[static_cast<size_t>(j * dv + e)];
    }
  // Outputs.
  for (int64_t i = 0; i < c; ++i) {
    float* out = h.out + (t0 + i) * h.out_stride;
    const double gi = std::exp(G[static_cast<size_t>(i)]);
    for (int64_t e = 0; e < dv; ++e) {
      double s = 0;
      for (int64_t d = 0; d < dk; ++d) s += static_cast<double>(q(i)[d]) * S[d * dv + e];
      out[e] = static_cast<float>(gi * s);
    }
    for (int64_t j = 0; j <= i; ++j) {
      const double w =
          kdot(q(i), k(j)) * std::exp(G[static_cast<size_t>(i)] - G[static_cast<size_t>(j)]);
      for (int64_t e = 0; e < dv; ++e)
        out[e] += static_cast<float>(w * Unew[static_cast<size_t>(j * dv + e)]);
    }
  }
  // State update.
  const double Gc = G[static_cast<size_t>(c - 1)];
  for (int64_t d = 0; d < dk; ++d)
    for (int64_t e = 0; e < dv; ++e) {
      double s = std::exp(Gc) * S[d * dv + e];
      for (int64_t j = 0; j < c; ++j)
        s += k(j)[d] * std::exp(Gc - G[static_cast<size_t>(j)]) *
             Unew[static_cast<size_t>(j * dv + e)];
      S[d * dv + e] = static_cast<float>(s);
    }
}

}  // namespace

void gated_delta_rule_chunked(const DeltaNetHead& h, int64_t n, float* state, int64_t chunk) {
  for (int64_t t0 = 0; t0 < n; t0 += chunk) process_chunk(h, t0, std::min(chunk, n - t0), state);
}

}  // namespace qmix
