// Produces the GGUF bytes of one planned tensor: reads the mapped checkpoint rows in the planned
// order, decodes them to f32, applies the element op, checks for NaN/Inf and encodes to the
// output type with ggml's reference algorithm. Works through the rows in bounded chunks, so
// memory is the output tensor plus one chunk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "convert/tensor_plan.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/thread_pool.h"

namespace qmix {

struct TensorStreamOptions {
  ThreadPool* pool = nullptr;                 // null: the calling thread only
  uint64_t chunk_values = uint64_t{4} << 20;  // f32 values decoded at a time
  const CancelToken* cancel = nullptr;
};

// Bytes of the tensor in its planned type.
uint64_t planned_tensor_bytes(const PlannedTensor& t);

// Fills `out` (resized to planned_tensor_bytes) with the tensor's data. Errors name the tensor
// and count its non-finite values.
Status encode_planned_tensor(const PlannedTensor& t, std::vector<std::byte>& out,
                             const TensorStreamOptions& options);

}  // namespace qmix
