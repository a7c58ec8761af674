#include "imatrix/imatrix_file.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "core/atomic_file.h"
#include "core/mapped_file.h"
#include "gguf/gguf_writer.h"

namespace qmix {

namespace {

constexpr std::string_view kKeyType = "general.type";
constexpr std::string_view kKeyDatasets = "imatrix.datasets";
constexpr std::string_view kKeyChunkCount = "imatrix.chunk_count";
constexpr std::string_view kKeyChunkSize = "imatrix.chunk_size";
constexpr std::string_view kTypeValue = "imatrix";
constexpr int64_t kLegacyDefaultChunkSize = 512;
// Counts are stored as F32 in GGUF: integers are exact only up to 2^24, but llama.cpp rounds
// them, so anything representable is accepted; beyond 2^53 a double could not hold them.
constexpr double kMaxCount = 9007199254740992.0;

// ---------------------------------------------------------------------------------------
// GGUF

// The three tensors llama.cpp stores per weight, told apart by suffix.
struct WeightTensors {
  const GgufTensorInfo* sum_sq = nullptr;
  const GgufTensorInfo* counts = nullptr;
  const GgufTensorInfo* sum = nullptr;
  const GgufTensorInfo* chunk_sum_sq = nullptr;  // qmix's per-chunk totals
  const GgufTensorInfo* chunk_counts = nullptr;
};

struct SuffixSlot {
  std::string_view suffix;
  const GgufTensorInfo* WeightTensors::*slot;
};
constexpr SuffixSlot kSuffixes[] = {
    {".in_sum2", &WeightTensors::sum_sq},
    {".counts", &WeightTensors::counts},
    {".in_sum", &WeightTensors::sum},
    {".chunk_sum2", &WeightTensors::chunk_sum_sq},
    {".chunk_counts", &WeightTensors::chunk_counts},
};

Expected<std::map<std::string, WeightTensors>> group_tensors(const GgufFile& file) {
  std::map<std::string, WeightTensors> groups;
  for (const auto& t : file.tensors()) {
    for (const auto& s : kSuffixes) {
      if (t.name.size() <= s.suffix.size() || !t.name.ends_with(s.suffix)) continue;
      auto& slot = groups[t.name.substr(0, t.name.size() - s.suffix.size())].*s.slot;
      if (slot != nullptr)
        return make_error(ErrorCode::kCorrupt, "{}: tensor '{}' appears twice", file.name(),
                          t.name);
      slot = &t;
      break;
    }
  }
  return groups;
}

Expected<std::vector<double>> read_f32_tensor(const GgufFile& file, const GgufTensorInfo& t) {
  if (t.type != GgmlType::F32)
    return make_error(ErrorCode::kCorrupt, "{}: tensor '{}' has type {}, expected F32", file.name(),
                      t.name, t.quant_type().name);
  const auto bytes = file.tensor_data(t);
  std::vector<double> out(t.n_elements);
  for (size_t i = 0; i < out.size(); ++i) {
    float v;
    std::memcpy(&v, bytes.data() + i * sizeof(float), sizeof(float));
    out[i] = v;
  }
  return out;
}

Expected<std::vector<int64_t>> counts_from_floats(const std::vector<double>& values,
                                                  const std::string& name) {
  std::vector<int64_t> counts(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]) || values[i] < 0 || values[i] > kMaxCount)
      return make_error(ErrorCode::kBadData, "tensor '{}.counts': invalid count {} at index {}",
                        name, values[i], i);
    counts[i] = std::llround(values[i]);
  }
  return counts;
}

Status read_chunk_stats(const GgufFile& file, const std::string& name, const WeightTensors& w,
                        ImatrixEntry& e) {
  if (w.chunk_sum_sq == nullptr && w.chunk_counts == nullptr) return ok_status();
  if (w.chunk_sum_sq == nullptr || w.chunk_counts == nullptr ||
      w.chunk_sum_sq->n_elements != w.chunk_counts->n_elements)
    return make_error(ErrorCode::kCorrupt, "{}: '{}' has mismatched per-chunk statistics",
                      file.name(), name);
  QMIX_TRY_ASSIGN(e.chunk_sum_sq, read_f32_tensor(file, *w.chunk_sum_sq));
  QMIX_TRY_ASSIGN(const auto raw_counts, read_f32_tensor(file, *w.chunk_counts));
  QMIX_TRY_ASSIGN(e.chunk_counts, counts_from_floats(raw_counts, name));
  return ok_status();
}

Expected<ImatrixEntry> entry_from_gguf(const GgufFile& file, const std::string& name,
                                       const WeightTensors& w) {
  if (w.sum_sq == nullptr || w.counts == nullptr)
    return make_error(ErrorCode::kCorrupt, "{}: weight '{}' lacks its {} tensor", file.name(), name,
                      w.sum_sq == nullptr ? ".in_sum2" : ".counts");
  ImatrixEntry e;
  e.name = name;
  e.n_per_row = w.sum_sq->row_length();
  const int64_t n_mat = w.sum_sq->n_rows();
  if (static_cast<int64_t>(w.counts->n_elements) != n_mat)
    return make_error(ErrorCode::kCorrupt, "{}: '{}' has {} matrices of sums but {} counts",
                      file.name(), name, n_mat, w.counts->n_elements);
  QMIX_TRY_ASSIGN(e.sum_sq, read_f32_tensor(file, *w.sum_sq));
  QMIX_TRY_ASSIGN(const auto raw_counts, read_f32_tensor(file, *w.counts));
  QMIX_TRY_ASSIGN(e.counts, counts_from_floats(raw_counts, name));
  if (w.sum != nullptr) {
    if (w.sum->n_elements != w.sum_sq->n_elements)
      return make_error(ErrorCode::kCorrupt, "{}: '{}.in_sum' has {} values, '.in_sum2' {}",
                        file.name(), name, w.sum->n_elements, w.sum_sq->n_elements);
    QMIX_TRY_ASSIGN(e.sum, read_f32_tensor(file, *w.sum));
  }
  QMIX_TRY(read_chunk_stats(file, name, w, e));
  if (auto st = e.validate(); !st) return st.error().with_context(file.name());
  return e;
}

Status read_gguf_metadata(const GgufFile& file, Imatrix& out) {
  if (const GgufValue* type = file.find(kKeyType)) {
    if (type->as_string() == nullptr || *type->as_string() != kTypeValue)
      return make_error(ErrorCode::kInvalidArgument, "{}: not an imatrix file (general.type is {})",
                        file.name(), type->to_display_string());
  }
  if (const GgufValue* datasets = file.find(kKeyDatasets)) {
    if (datasets->as_string_array() == nullptr)
      return make_error(ErrorCode::kCorrupt, "{}: '{}' is not an array of strings", file.name(),
                        kKeyDatasets);
    out.datasets = *datasets->as_string_array();
  }
  QMIX_TRY_ASSIGN(out.chunk_count, file.get_int_or(kKeyChunkCount, 0));
  QMIX_TRY_ASSIGN(out.chunk_size, file.get_int_or(kKeyChunkSize, 0));
  if (out.chunk_count < 0 || out.chunk_size < 0)
    return make_error(ErrorCode::kCorrupt, "{}: negative chunk count or size", file.name());
  return ok_status();
}

// Drops trailing dimensions of 1, as ggml does when it writes a tensor.
std::vector<int64_t> trimmed_shape(int64_t ne0, int64_t ne1) {
  if (ne1 == 1) return {ne0};
  return {ne0, ne1};
}

std::vector<std::byte> f32_bytes(std::span<const double> values) {
  std::vector<std::byte> out(values.size() * sizeof(float));
  for (size_t i = 0; i < values.size(); ++i) {
    const float v = static_cast<float>(values[i]);
    std::memcpy(out.data() + i * sizeof(float), &v, sizeof(float));
  }
  return out;
}

std::vector<double> counts_as_doubles(const std::vector<int64_t>& counts) {
  return std::vector<double>(counts.begin(), counts.end());
}

Status fits_u32(int64_t v, std::string_view what) {
  if (v < 0 || v > std::numeric_limits<uint32_t>::max())
    return make_error(ErrorCode::kOutOfRange, "{} {} does not fit the GGUF imatrix format", what,
                      v);
  return ok_status();
}

Status write_gguf(const Imatrix& im, const std::filesystem::path& path) {
  QMIX_TRY(fits_u32(im.chunk_count, "chunk count"));
  QMIX_TRY(fits_u32(im.chunk_size, "chunk size"));
  GgufWriter w;
  w.set(std::string(kKeyType), GgufValue::string(std::string(kTypeValue)));
  w.set(std::string(kKeyDatasets), GgufValue::array_strings(im.datasets));
  w.set(std::string(kKeyChunkCount), GgufValue::u32(static_cast<uint32_t>(im.chunk_count)));
  w.set(std::string(kKeyChunkSize), GgufValue::u32(static_cast<uint32_t>(im.chunk_size)));
  std::vector<std::vector<std::byte>> data;
  for (const auto& e : im.entries) {
    QMIX_TRY(
        w.add_tensor(e.name + ".in_sum2", trimmed_shape(e.n_per_row, e.n_mat()), GgmlType::F32));
    data.push_back(f32_bytes(e.sum_sq));
    QMIX_TRY(w.add_tensor(e.name + ".counts", trimmed_shape(1, e.n_mat()), GgmlType::F32));
    data.push_back(f32_bytes(counts_as_doubles(e.counts)));
    if (!e.sum.empty()) {
      QMIX_TRY(
          w.add_tensor(e.name + ".in_sum", trimmed_shape(e.n_per_row, e.n_mat()), GgmlType::F32));
      data.push_back(f32_bytes(e.sum));
    }
    if (!e.chunk_counts.empty()) {
      const auto n = static_cast<int64_t>(e.chunk_counts.size());
      QMIX_TRY(w.add_tensor(e.name + ".chunk_sum2", {n}, GgmlType::F32));
      data.push_back(f32_bytes(e.chunk_sum_sq));
      QMIX_TRY(w.add_tensor(e.name + ".chunk_counts", {n}, GgmlType::F32));
      data.push_back(f32_bytes(counts_as_doubles(e.chunk_counts)));
    }
  }
  QMIX_TRY(w.begin(path));
  for (const auto& d : data) QMIX_TRY(w.write_tensor_data(d));
  return w.finish();
}

// ---------------------------------------------------------------------------------------
// Legacy .dat

class DatReader {
 public:
  DatReader(std::span<const std::byte> bytes, std::string_view name) : bytes_(bytes), name_(name) {}

  size_t offset() const { return pos_; }
  bool at_end() const { return pos_ == bytes_.size(); }

  Expected<int32_t> i32(std::string_view field) {
    if (bytes_.size() - pos_ < sizeof(int32_t)) return truncated(field);
    int32_t v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }

  // A non-negative length that must fit in what is left of the file (elem_size bytes each).
  Expected<size_t> length(std::string_view field, size_t elem_size) {
    const size_t at = pos_;
    QMIX_TRY_ASSIGN(const int32_t n, i32(field));
    if (n < 0 || static_cast<uint64_t>(n) * elem_size > bytes_.size() - pos_)
      return make_error(ErrorCode::kCorrupt, "{}: offset {}: {} {} exceeds the file", name_, at,
                        field, n);
    return static_cast<size_t>(n);
  }

  std::string string(size_t n) {
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
    pos_ += n;
    return s;
  }

  std::vector<double> floats(size_t n) {
    std::vector<double> out(n);
    for (size_t i = 0; i < n; ++i) {
      float v;
      std::memcpy(&v, bytes_.data() + pos_ + i * sizeof(float), sizeof(float));
      out[i] = v;
    }
    pos_ += n * sizeof(float);
    return out;
  }

  Error corrupt(size_t at, std::string_view what) const {
    return make_error(ErrorCode::kCorrupt, "{}: offset {}: {}", name_, at, what);
  }

 private:
  Error truncated(std::string_view field) const {
    return make_error(ErrorCode::kCorrupt, "{}: offset {}: truncated before {}", name_, pos_,
                      field);
  }

  std::span<const std::byte> bytes_;
  std::string_view name_;
  size_t pos_ = 0;
};

Expected<ImatrixEntry> read_dat_entry(DatReader& in, int64_t chunk_size) {
  QMIX_TRY_ASSIGN(const size_t name_len, in.length("name length", 1));
  ImatrixEntry e;
  e.name = in.string(name_len);
  const size_t at = in.offset();
  QMIX_TRY_ASSIGN(const int32_t ncall, in.i32("call count"));
  if (ncall < 0) return in.corrupt(at, fmt::format("tensor '{}': negative call count", e.name));
  QMIX_TRY_ASSIGN(const size_t nval, in.length("value count", sizeof(float)));
  if (nval == 0) return in.corrupt(at, fmt::format("tensor '{}': no values", e.name));
  // values = E[x²] × ncall; rows seen = ncall × chunk_size, so Σx² = values × chunk_size.
  e.sum_sq = in.floats(nval);
  for (double& v : e.sum_sq) v *= static_cast<double>(chunk_size);
  e.n_per_row = static_cast<int64_t>(nval);
  e.counts = {static_cast<int64_t>(ncall) * chunk_size};
  QMIX_TRY(e.validate());
  return e;
}

Status read_dat_trailer(DatReader& in, Imatrix& out) {
  if (in.at_end()) return ok_status();  // very old files end after the entries
  const size_t at = in.offset();
  QMIX_TRY_ASSIGN(const int32_t chunks, in.i32("chunk count"));
  if (chunks < 0) return in.corrupt(at, "negative chunk count");
  out.chunk_count = chunks;
  if (in.at_end()) return ok_status();
  QMIX_TRY_ASSIGN(const size_t len, in.length("dataset name length", 1));
  out.datasets.push_back(in.string(len));
  if (!in.at_end()) return in.corrupt(in.offset(), "unexpected bytes after the dataset name");
  return ok_status();
}

float legacy_value(const ImatrixEntry& e, size_t i, float ncall) {
  const int64_t count = e.counts[i / static_cast<size_t>(e.n_per_row)];
  // llama.cpp's arithmetic, in float: (Σx² / count) × ncall; experts without data store ncall.
  if (count == 0) return ncall;
  return (static_cast<float>(e.sum_sq[i]) / static_cast<float>(count)) * ncall;
}

template <class T>
void append_pod(std::vector<std::byte>& out, T v) {
  const size_t at = out.size();
  out.resize(at + sizeof v);
  std::memcpy(out.data() + at, &v, sizeof v);
}

void append_string(std::vector<std::byte>& out, std::string_view s) {
  append_pod(out, static_cast<int32_t>(s.size()));
  const size_t at = out.size();
  out.resize(at + s.size());
  std::memcpy(out.data() + at, s.data(), s.size());
}

Status check_i32(uint64_t v, std::string_view what, std::string_view name) {
  if (v > static_cast<uint64_t>(std::numeric_limits<int32_t>::max()))
    return make_error(ErrorCode::kOutOfRange, "{} '{}': {} does not fit the legacy format", what,
                      name, v);
  return ok_status();
}

}  // namespace

std::string_view imatrix_format_name(ImatrixFormat format) {
  return format == ImatrixFormat::kDat ? "dat" : "gguf";
}

Expected<ImatrixFormat> parse_imatrix_format(std::string_view name) {
  if (name == "gguf") return ImatrixFormat::kGguf;
  if (name == "dat") return ImatrixFormat::kDat;
  return make_error(ErrorCode::kInvalidArgument, "unknown imatrix format '{}' (gguf or dat)", name);
}

ImatrixFormat imatrix_format_for_path(const std::filesystem::path& path) {
  return path.extension() == ".dat" ? ImatrixFormat::kDat : ImatrixFormat::kGguf;
}

Expected<Imatrix> imatrix_from_gguf(const GgufFile& file) {
  Imatrix out;
  QMIX_TRY(read_gguf_metadata(file, out));
  QMIX_TRY_ASSIGN(const auto groups, group_tensors(file));
  for (const auto& [name, tensors] : groups) {
    QMIX_TRY_ASSIGN(auto entry, entry_from_gguf(file, name, tensors));
    out.entries.push_back(std::move(entry));
  }
  if (out.entries.empty())
    return make_error(ErrorCode::kInvalidArgument,
                      "{}: no importance data (no '<weight>.in_sum2' tensors)", file.name());
  return out;  // std::map iteration already sorted the entries by name
}

Expected<Imatrix> parse_imatrix_dat(std::span<const std::byte> bytes, std::string_view name,
                                    const ImatrixReadOptions& options) {
  const int64_t chunk_size =
      options.legacy_chunk_size > 0 ? options.legacy_chunk_size : kLegacyDefaultChunkSize;
  DatReader in(bytes, name);
  // Each entry takes at least 16 bytes (three i32 fields and one float).
  QMIX_TRY_ASSIGN(const size_t n_entries, in.length("entry count", 16));
  if (n_entries == 0) return in.corrupt(0, "no entries");
  Imatrix out;
  out.chunk_size = chunk_size;
  for (size_t i = 0; i < n_entries; ++i) {
    QMIX_TRY_ASSIGN(auto entry, read_dat_entry(in, chunk_size));
    out.entries.push_back(std::move(entry));
  }
  QMIX_TRY(read_dat_trailer(in, out));
  out.sort_entries();
  if (auto st = out.validate(); !st) return st.error().with_context(name);
  return out;
}

Expected<Imatrix> read_imatrix(const std::filesystem::path& path,
                               const ImatrixReadOptions& options) {
  QMIX_TRY_ASSIGN(auto map, MappedFile::open(path));
  constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};
  const auto bytes = map.bytes();
  if (bytes.size() >= 4 && std::memcmp(bytes.data(), kMagic, 4) == 0) {
    QMIX_TRY_ASSIGN(const auto file, GgufFile::open(path));
    return imatrix_from_gguf(file);
  }
  return parse_imatrix_dat(bytes, path.string(), options);
}

Expected<std::vector<std::byte>> encode_imatrix_dat(const Imatrix& im) {
  const int64_t chunk_size = im.effective_chunk_size();
  std::vector<const ImatrixEntry*> stored;
  for (const auto& e : im.entries)
    if (e.total_count() > 0) stored.push_back(&e);
  std::vector<std::byte> out;
  append_pod(out, static_cast<int32_t>(stored.size()));
  for (const ImatrixEntry* e : stored) {
    QMIX_TRY(check_i32(e->sum_sq.size(), "tensor", e->name));
    const int64_t max_count = *std::max_element(e->counts.begin(), e->counts.end());
    const int64_t ncall = (max_count + chunk_size - 1) / chunk_size;  // ceiling: never 0
    QMIX_TRY(check_i32(static_cast<uint64_t>(ncall), "call count of", e->name));
    append_string(out, e->name);
    append_pod(out, static_cast<int32_t>(ncall));
    append_pod(out, static_cast<int32_t>(e->sum_sq.size()));
    for (size_t i = 0; i < e->sum_sq.size(); ++i)
      append_pod(out, legacy_value(*e, i, static_cast<float>(ncall)));
  }
  QMIX_TRY(check_i32(static_cast<uint64_t>(im.chunk_count), "chunk count of", "imatrix"));
  append_pod(out, static_cast<int32_t>(im.chunk_count));
  // The format holds one dataset name: the last one used, as llama.cpp records it.
  append_string(out, im.datasets.empty() ? std::string_view() : im.datasets.back());
  return out;
}

Status write_imatrix(const Imatrix& imatrix, const std::filesystem::path& path,
                     ImatrixFormat format) {
  QMIX_TRY(imatrix.validate());
  if (format == ImatrixFormat::kGguf) return write_gguf(imatrix, path);
  QMIX_TRY_ASSIGN(const auto bytes, encode_imatrix_dat(imatrix));
  QMIX_TRY_ASSIGN(auto out, AtomicFile::create(path));
  QMIX_TRY(out.write(bytes));
  return out.commit();
}

}  // namespace qmix
