// `qmix inspect --json`: the InspectSummary and the metadata as one JSON document whose keys
// are stable and documented in docs/inspect-json.md (bump kInspectJsonSchema on any change
// that is not a pure addition).
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>
#include <vector>

#include "gguf/gguf_value.h"
#include "model/inspect_summary.h"

namespace qmix {

inline constexpr std::string_view kInspectJsonSchema = "qmix.inspect/1";

// Metadata arrays longer than this are cut to their first items unless kFull is asked (--kv).
inline constexpr size_t kMetadataArrayHead = 16;
enum class ArrayDetail { kHead, kFull };

nlohmann::ordered_json inspect_json(const InspectSummary& summary, const std::vector<GgufKv>& kvs,
                                    ArrayDetail arrays);

}  // namespace qmix
