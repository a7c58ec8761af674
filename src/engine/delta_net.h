// The gated delta rule for one value head, in two equivalent forms: the token-by-token
// recurrence (the definition) and the chunked form used for prompt processing.
//   S_t = exp(g_t) S_{t-1} + k_t ⊗ β_t (v_t − (exp(g_t) S_{t-1})ᵀ k_t),   o_t = S_tᵀ q_t
// S is dk × dv. q and k are already L2-normalised (q also scaled by 1/√dk).
#pragma once

#include <cstdint>

namespace qmix {

struct DeltaNetHead {
  const float* q;  // token t at q + t * qk_stride
  const float* k;
  const float* v;     // token t at v + t * v_stride
  const float* g;     // log decay, token t at g[t * gb_stride]
  const float* beta;  // write strength, beta[t * gb_stride]
  float* out;         // token t at out + t * out_stride
  int64_t qk_stride, v_stride, gb_stride, out_stride;
  int64_t dk, dv;
};

// `state` (dk × dv) holds S_0 on entry and S_n on return.
void gated_delta_rule_recurrent(const DeltaNetHead& h, int64_t n, float* state);
void gated_delta_rule_chunked(const DeltaNetHead& h, int64_t n, float* state, int64_t chunk = 64);

}  // namespace qmix
