#include "recipe/type_ladder.h"

#include <array>

namespace qmix {

namespace {

using G = GgmlType;

constexpr std::array<G, 7> kRungTypes = {G::Q2_K, G::Q3_K, G::Q4_K, G::Q5_K,
                                         G::Q6_K, G::Q8_0, G::F16};

struct Placement {
  G type;
  int rung;
};

// Where each quantized type sits: by the bits per weight it spends, next to the K-quant it is
// an alternative to (IQ1/IQ2 and the ternary types are below Q2_K in bits, but there is no
// lower rung to demote them to, so they share the bottom one).
constexpr std::array<Placement, 24> kPlacements = {{
    {G::IQ1_S, 0},  {G::IQ1_M, 0}, {G::TQ1_0, 0},   {G::TQ2_0, 0}, {G::IQ2_XXS, 0}, {G::IQ2_XS, 0},
    {G::IQ2_S, 0},  {G::Q2_K, 0},  {G::IQ3_XXS, 1}, {G::IQ3_S, 1}, {G::Q3_K, 1},    {G::IQ4_NL, 2},
    {G::IQ4_XS, 2}, {G::Q4_0, 2},  {G::Q4_1, 2},    {G::MXFP4, 2}, {G::Q4_K, 2},    {G::Q5_0, 3},
    {G::Q5_1, 3},   {G::Q5_K, 3},  {G::Q6_K, 4},    {G::Q8_0, 5},  {G::F16, 6},     {G::BF16, 6},
}};

}  // namespace

std::optional<int> ladder_rung(GgmlType type) {
  for (const Placement& p : kPlacements)
    if (p.type == type) return p.rung;
  return std::nullopt;
}

std::optional<GgmlType> ladder_type(int rung) {
  if (rung < 0 || rung >= static_cast<int>(kRungTypes.size())) return std::nullopt;
  return kRungTypes[static_cast<size_t>(rung)];
}

std::optional<GgmlType> ladder_step(GgmlType type, int steps) {
  const std::optional<int> rung = ladder_rung(type);
  if (!rung) return std::nullopt;
  return ladder_type(*rung + steps);
}

}  // namespace qmix
