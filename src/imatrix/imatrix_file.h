// llama.cpp's importance-matrix files, read and written.
//
// GGUF imatrix (llama.cpp's default since 2025): `general.type = "imatrix"`,
// `imatrix.datasets` (string array), `imatrix.chunk_count`, `imatrix.chunk_size` (u32), and per
// weight `<name>.in_sum2` (F32 [n_per_row, n_mat]: Σx²), `<name>.counts` (F32 [1, n_mat]: rows
// seen per matrix) and optionally `<name>.in_sum` (F32, Σx). Tensors sorted by name. qmix adds,
// when asked, `<name>.chunk_sum2` and `<name>.chunk_counts` (F32 [n_chunks]: per-chunk totals);
// llama.cpp's readers ignore tensors with other suffixes.
//
// Legacy .dat (little-endian): i32 n_entries; per entry i32 name_len, name bytes, i32 ncall,
// i32 nval, f32[nval] values; then i32 chunk_count and i32 len + dataset name (both optional in
// old files). values[i] = Σx²/count × ncall with ncall = ⌈max count / chunk_size⌉, so
// values/ncall is E[x²]. The file records neither the chunk size nor the matrix shape: a read
// entry has one matrix of nval channels and count ncall × chunk_size, with chunk_size given by
// the caller (ImatrixReadOptions). Means survive a round trip exactly; per-expert counts do not.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "imatrix/imatrix.h"

namespace qmix {

enum class ImatrixFormat { kGguf, kDat };

std::string_view imatrix_format_name(ImatrixFormat format);
Expected<ImatrixFormat> parse_imatrix_format(std::string_view name);  // "gguf" | "dat"
// The format a path's extension suggests: ".dat" → legacy, anything else → GGUF.
ImatrixFormat imatrix_format_for_path(const std::filesystem::path& path);

struct ImatrixReadOptions {
  // Tokens per chunk assumed for legacy .dat files (which do not record it); <= 0 means
  // llama-imatrix's historical default of 512.
  int64_t legacy_chunk_size = 0;
};

// Reads either format, recognised by content (GGUF magic), never by extension.
Expected<Imatrix> read_imatrix(const std::filesystem::path& path,
                               const ImatrixReadOptions& options = {});
Expected<Imatrix> imatrix_from_gguf(const GgufFile& file);
// `name` is used in error messages.
Expected<Imatrix> parse_imatrix_dat(std::span<const std::byte> bytes, std::string_view name,
                                    const ImatrixReadOptions& options = {});

// Writes atomically (nothing is left at `path` on failure). Legacy .dat drops entries that
// saw no rows at all, as llama.cpp does, and stores 1 for experts without data.
Status write_imatrix(const Imatrix& imatrix, const std::filesystem::path& path,
                     ImatrixFormat format);
// The legacy encoding as bytes (also used by write_imatrix).
Expected<std::vector<std::byte>> encode_imatrix_dat(const Imatrix& imatrix);

}  // namespace qmix
