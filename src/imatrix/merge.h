// Merging importance matrices of one model: sums and counts add, so every file weighs by the
// activation rows it saw (what llama-imatrix does with several --in-file).
#pragma once

#include <span>

#include "core/error.h"
#include "imatrix/imatrix.h"

namespace qmix {

// Tensors present in only some inputs keep the sums of those. A legacy entry read as one flat
// matrix merges with the per-expert form of the same size (its count applies to each expert).
// Per-chunk statistics are concatenated when every input has them for every tensor.
Expected<Imatrix> merge_imatrices(std::span<const Imatrix> inputs);

}  // namespace qmix
