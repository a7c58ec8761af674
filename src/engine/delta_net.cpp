#include "engine/delta_net.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/gemm.h"
#include "engine/vec_exp.h"

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

// Work buffers of one call, sized for the longest chunk and reused by every chunk. Matrices
// that feed the GEMM as its Z operand are kept packed (see gemm.h).
struct ChunkWork {
  int64_t dk, dv;
  std::vector<double> G;  // cumulative log decay inside the chunk, in double for exact differences
  std::vector<float> decay;   // Γ (c × c, lower), then e^{G_i} (c), then e^{G_c − G_j} (c)
  std::vector<float> keys_t;  // Kᵀ, packed (dk × c)
  std::vector<float> t;  // (I + strictly_lower(diag(β) K Kᵀ ⊙ Γ))⁻¹, c × c, zero above
  std::vector<float> p;  // lower(Q Kᵀ ⊙ Γ), c × c, zero above
  std::vector<float> s_packed;        // S at the chunk's start, packed (dk × dv)
  std::vector<float> rows;            // c × dv scratch
  std::vector<float> rows_packed;     // c × dv packed: first β (V − e^G K S), then U − W S
  std::vector<float> keys_decayed_t;  // (K ⊙ e^{G_c − G})ᵀ, dk × c
  std::vector<float> s_delta;         // dk × dv
  GemmFn gemm = gemm_f32();
  ExpInplaceFn exp = exp_inplace();

  ChunkWork(int64_t chunk, int64_t dk_, int64_t dv_) : dk(dk_), dv(dv_) {
    auto sized = [](int64_t n) { return std::vector<float>(static_cast<size_t>(n)); };
    G.resize(static_cast<size_t>(chunk));
    decay = sized(chunk * chunk + 2 * chunk);
    keys_t = sized(packed_z_size(dk, chunk));
    t = sized(chunk * chunk);
    p = sized(chunk * chunk);
    s_packed = sized(packed_z_size(dk, dv));
    rows = sized(chunk * dv);
    rows_packed = sized(packed_z_size(chunk, dv));
    keys_decayed_t = sized(dk * chunk);
    s_delta = sized(dk * dv);
  }
};

// C = X · Z with Z packed as k × n (panel stride k · kGemmPanelCols).
void gemm_packed(const ChunkWork& w, const float* x, int64_t ldx, const float* z, float* c,
                 int64_t ldc, int64_t m, int64_t n, int64_t k, GemmTriangle triangle) {
  GemmArgs g;
  g.x = x;
  g.ldx = ldx;
  g.z = z;
  g.ldz = k * kGemmPanelCols;
  g.c = c;
  g.ldc = ldc;
  g.m = m;
  g.n = n;
  g.k = k;
  g.triangle = triangle;
  w.gemm(g);
}

// Γ_ij = e^{G_i − G_j} (j ≤ i), e^{G_i} and e^{G_c − G_j}: differences of the cumulative sum
// taken in double, then one vector exp over all of them.
void decay_factors(const DeltaNetHead& h, int64_t t0, int64_t c, ChunkWork& w) {
  double acc = 0;
  for (int64_t i = 0; i < c; ++i) w.G[static_cast<size_t>(i)] = acc += h.g[(t0 + i) * h.gb_stride];
  float* gamma = w.decay.data();
  for (int64_t i = 0; i < c; ++i) {
    const double gi = w.G[static_cast<size_t>(i)];
    for (int64_t j = 0; j <= i; ++j)
      gamma[i * c + j] = static_cast<float>(gi - w.G[static_cast<size_t>(j)]);
    std::fill(gamma + i * c + i + 1, gamma + (i + 1) * c, 0.0f);
  }
  const double gc = w.G[static_cast<size_t>(c - 1)];
  for (int64_t i = 0; i < c; ++i) {
    gamma[c * c + i] = static_cast<float>(w.G[static_cast<size_t>(i)]);
    gamma[c * c + c + i] = static_cast<float>(gc - w.G[static_cast<size_t>(i)]);
  }
  w.exp(gamma, c * c + 2 * c);
}

// Unit lower-triangular T = (I − A)⁻¹ in place, A strictly lower on entry: row by row,
// T_i = A_i + Σ_{m<i} A_im T_m (ascending m reads A_im before any later step changes it).
void invert_unit_lower(float* t, int64_t c) {
  for (int64_t i = 1; i < c; ++i) {
    float* row = t + i * c;
    for (int64_t m = 1; m < i; ++m) {
      const float a = row[m];
      const float* tm = t + m * c;
      for (int64_t j = 0; j < m; ++j) row[j] += a * tm[j];
    }
  }
}

// T and P from the chunk's key-key and query-key products.
void triangular_factors(const DeltaNetHead& h, int64_t t0, int64_t c, ChunkWork& w) {
  const float* k = h.k + t0 * h.qk_stride;
  pack_z_transposed(k, h.qk_stride, w.dk, c, w.keys_t.data(), 0, gemm_panel_count(c));
  gemm_packed(w, k, h.qk_stride, w.keys_t.data(), w.t.data(), c, c, c, w.dk,
              GemmTriangle::kColumnsUpToRow);
  gemm_packed(w, h.q + t0 * h.qk_stride, h.qk_stride, w.keys_t.data(), w.p.data(), c, c, c, w.dk,
              GemmTriangle::kColumnsUpToRow);
  const float* gamma = w.decay.data();
  for (int64_t i = 0; i < c; ++i) {
    const float beta = h.beta[(t0 + i) * h.gb_stride];
    float* t = w.t.data() + i * c;
    float* p = w.p.data() + i * c;
    for (int64_t j = 0; j < i; ++j) t[j] *= -beta * gamma[i * c + j];
    t[i] = 1.0f;
    for (int64_t j = 0; j <= i; ++j) p[j] *= gamma[i * c + j];
    std::fill(t + i + 1, t + c, 0.0f);
    std::fill(p + i + 1, p + c, 0.0f);
  }
  invert_unit_lower(w.t.data(), c);
}

// U − W S = T · (diag(β) (V − diag(e^G) K S)), left packed in rows_packed.
void corrected_values(const DeltaNetHead& h, int64_t t0, int64_t c, ChunkWork& w) {
  const int64_t dv = w.dv;
  gemm_packed(w, h.k + t0 * h.qk_stride, h.qk_stride, w.s_packed.data(), w.rows.data(), dv, c, dv,
              w.dk, GemmTriangle::kFull);
  const float* e_g = w.decay.data() + c * c;
  for (int64_t j = 0; j < c; ++j) {
    const float beta = h.beta[(t0 + j) * h.gb_stride];
    const float* v = h.v + (t0 + j) * h.v_stride;
    float* r = w.rows.data() + j * dv;
    for (int64_t e = 0; e < dv; ++e) r[e] = beta * (v[e] - e_g[j] * r[e]);
  }
  pack_z(w.rows.data(), dv, c, dv, w.rows_packed.data(), 0, gemm_panel_count(dv));
  gemm_packed(w, w.t.data(), c, w.rows_packed.data(), w.rows.data(), dv, c, dv, c,
              GemmTriangle::kDepthUpToRow);
  pack_z(w.rows.data(), dv, c, dv, w.rows_packed.data(), 0, gemm_panel_count(dv));
}

// O = diag(e^G) Q S + P (U − W S).
void chunk_outputs(const DeltaNetHead& h, int64_t t0, int64_t c, ChunkWork& w) {
  const int64_t dv = w.dv;
  float* out = h.out + t0 * h.out_stride;
  gemm_packed(w, h.q + t0 * h.qk_stride, h.qk_stride, w.s_packed.data(), out, h.out_stride, c, dv,
              w.dk, GemmTriangle::kFull);
  gemm_packed(w, w.p.data(), c, w.rows_packed.data(), w.rows.data(), dv, c, dv, c,
              GemmTriangle::kDepthUpToRow);
  const float* e_g = w.decay.data() + c * c;
  for (int64_t i = 0; i < c; ++i) {
    float* o = out + i * h.out_stride;
    const float* pu = w.rows.data() + i * dv;
    for (int64_t e = 0; e < dv; ++e) o[e] = e_g[i] * o[e] + pu[e];
  }
}

// S' = e^{G_c} S + (K ⊙ e^{G_c − G})ᵀ (U − W S).
void update_state(const DeltaNetHead& h, int64_t t0, int64_t c, ChunkWork& w, float* S) {
  const int64_t dk = w.dk, dv = w.dv;
  const float* to_end = w.decay.data() + c * c + c;
  for (int64_t j = 0; j < c; ++j) {
    const float* k = h.k + (t0 + j) * h.qk_stride;
    for (int64_t d = 0; d < dk; ++d)
      w.keys_decayed_t[static_cast<size_t>(d * c + j)] = k[d] * to_end[j];
  }
  gemm_packed(w, w.keys_decayed_t.data(), c, w.rows_packed.data(), w.s_delta.data(), dv, dk, dv, c,
              GemmTriangle::kFull);
  const float whole = static_cast<float>(std::exp(w.G[static_cast<size_t>(c - 1)]));
  for (int64_t i = 0; i < dk * dv; ++i) S[i] = whole * S[i] + w.s_delta[static_cast<size_t>(i)];
}

// One chunk of length c starting at token t0 (WY representation of the delta rule):
//   A = (I + strictly_lower(diag(β) K Kᵀ ⊙ Γ))⁻¹,  U = A (diag(β) V),  W = A (diag(β e^G) K)
//   O = (Q ⊙ e^G) S + lower(Q Kᵀ ⊙ Γ)(U − W S),   S' = e^{G_c} S + (K ⊙ e^{G_c − G})ᵀ (U − W S)
// with G the cumulative log decay inside the chunk and Γ_ij = e^{G_i − G_j}. The products are
// the engine's f32 GEMM; only the decays' differences are formed in double.
void process_chunk(const DeltaNetHead& h, int64_t t0, int64_t c, ChunkWork& w, float* S) {
  decay_factors(h, t0, c, w);
  triangular_factors(h, t0, c, w);
  pack_z(S, w.dv, w.dk, w.dv, w.s_packed.data(), 0, gemm_panel_count(w.dv));
  corrected_values(h, t0, c, w);
  chunk_outputs(h, t0, c, w);
  update_state(h, t0, c, w, S);
}

}  // namespace

void gated_delta_rule_chunked(const DeltaNetHead& h, int64_t n, float* state, int64_t chunk) {
  ChunkWork work(std::min(chunk, n), h.dk, h.dv);
  for (int64_t t0 = 0; t0 < n; t0 += chunk)
    process_chunk(h, t0, std::min(chunk, n - t0), work, state);
}

}  // namespace qmix
