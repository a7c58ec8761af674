// Comparing two importance matrices of one model, tensor by tensor: which weights matter more
// (or less) on a domain corpus than on a generic one.
//
// Normalisation (docs/imatrix.md): each file's tensor mean importances m_t (stats.h) are
// divided by their geometric mean over the tensors both files share, s_t = m_t / G. E[x²] is
// already a per-row average, so token counts cancel; dividing by G also cancels a corpus-wide
// change of activation scale, leaving how a tensor moved relative to the model as a whole.
// ratio_t = s_t(domain) / s_t(generic); ratio < demote_below suggests fewer bits,
// ratio > promote_above more.
//
// With per-chunk statistics in both files, a percentile bootstrap over chunks (each file's
// chunks resampled independently, G recomputed each time) gives a confidence interval; a
// verdict whose interval crosses its threshold is marked uncertain.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "imatrix/imatrix.h"

namespace qmix {

enum class Verdict { kKeep, kDemote, kPromote };
std::string_view verdict_name(Verdict v);

struct CompareOptions {
  double demote_below = 0.80;
  double promote_above = 1.10;
  int zone_size = 8;     // blocks per zone in the zone table
  int bootstrap = 1000;  // resamples when chunk statistics exist; 0 disables
  double confidence = 0.95;
  uint64_t seed = 1;
};

struct TensorComparison {
  std::string name;
  int block = -1;
  std::string kind;
  double domain_mean = 0, generic_mean = 0;  // m_t of each file
  double ratio = 0;                          // s_t(domain) / s_t(generic); NaN if undefined
  double ci_low = NAN, ci_high = NAN;        // NaN without chunk statistics
  Verdict verdict = Verdict::kKeep;
  bool uncertain = false;  // the interval crosses the threshold of the verdict
};

struct ZoneRatios {
  int first_block = 0, last_block = 0;
  std::vector<double> ratio;  // per kind (ImatrixComparison::kinds): geometric mean, NaN if none
  double all = NAN;
};

struct ImatrixComparison {
  std::vector<TensorComparison> tensors;  // tensors present in both, by name
  std::vector<std::string> only_domain, only_generic;
  double domain_scale = 0, generic_scale = 0;  // the geometric means G
  bool has_intervals = false;
  std::vector<std::string> kinds;
  std::vector<ZoneRatios> zones;
};

Expected<ImatrixComparison> compare_imatrices(const Imatrix& domain, const Imatrix& generic,
                                              const CompareOptions& options = {});

struct RecipePatchOptions {
  std::string demote_type = "Q3_K";
  std::string promote_type = "Q6_K";
  std::string domain_name, generic_name;  // recorded in each rule's evidence
  bool include_uncertain = false;         // also emit rules whose interval crosses a threshold
};

// A recipe file (docs/recipe.md) with one `data`-provenance rule per demote/promote
// candidate, matching the tensor's exact name and carrying the evidence numbers.
std::string recipe_patch_toml(const ImatrixComparison& comparison,
                              const RecipePatchOptions& options);

}  // namespace qmix
