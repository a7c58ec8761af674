#include "recipe/quantize_model.h"

#include <algorithm>
#include <mutex>
#include <system_error>
#include <thread>

#include "core/thread_pool.h"
#include "gguf/gguf_writer.h"

namespace qmix {
namespace {

// llama.cpp's GGML_QNT_VERSION: the layout generation of quantized blocks.
constexpr uint32_t kQuantizationVersion = 2;

constexpr std::string_view kSplitKeys[] = {"split.no", "split.count", "split.tensors.count"};

bool is_float_source(GgmlType t) {
  return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16;
}

bool is_embedding(const std::string& name) { return name == "token_embd.weight"; }

// Rows per matrix and matrices per tensor (experts of a 3-D tensor get their own imatrix).
struct TensorGeometry {
  int64_t cols = 0;
  int64_t rows_per_matrix = 0;
  int64_t matrices = 0;
};

TensorGeometry geometry_of(const TensorDecision& d) {
  TensorGeometry g;
  g.cols = d.shape.empty() ? 1 : d.shape[0];
  g.rows_per_matrix = d.shape.size() > 1 ? d.shape[1] : 1;
  const uint64_t per_matrix =
      static_cast<uint64_t>(g.cols) * static_cast<uint64_t>(g.rows_per_matrix);
  g.matrices = per_matrix == 0 ? 0 : static_cast<int64_t>(d.n_elements / per_matrix);
  return g;
}

// The importance values a tensor is quantized with: empty when there are none or (for the
// embeddings, whose entry llama.cpp ignores) when they do not fit.
Expected<std::span<const float>> importance_for(const TensorDecision& d, const QuantizeJob& job) {
  if (job.imatrix == nullptr) return std::span<const float>{};
  const auto it = job.imatrix->values.find(d.name);
  if (it == job.imatrix->values.end()) return std::span<const float>{};
  const TensorGeometry g = geometry_of(d);
  const auto expected = static_cast<size_t>(g.cols * g.matrices);
  if (it->second.size() == expected) return std::span<const float>(it->second);
  if (is_embedding(d.name)) return std::span<const float>{};
  return make_error(ErrorCode::kInvalidArgument,
                    "{}: the imatrix entry has {} values but the tensor needs {} ({} columns x {} "
                    "matrices); was the imatrix made for another model?",
                    d.name, it->second.size(), expected, g.cols, g.matrices);
}

Status check_output_paths(const std::vector<std::filesystem::path>& outputs,
                          const GgufModel& input) {
  std::error_code ec;
  for (const auto& output : outputs)
    for (const auto& shard : input.shards())
      if (std::filesystem::equivalent(output, shard.name(), ec))
        return make_error(ErrorCode::kInvalidArgument,
                          "the output {} is the input file; choose another output path",
                          output.string());
  return ok_status();
}

Status check_conversion(const TensorDecision& d, const QuantizeJob& job) {
  const QuantType& src = quant_type(d.source_type);
  const QuantType& dst = quant_type(d.type);
  if (!is_float_source(d.source_type) && job.requantize == RequantizeMode::kRefuse)
    return make_error(ErrorCode::kInvalidArgument,
                      "{}: the input is already quantized ({}); requantizing loses quality, pass "
                      "--allow-requantize to do it anyway",
                      d.name, src.name);
  if (active_kernels(src).dequantize == nullptr)
    return make_error(ErrorCode::kUnsupported, "{}: cannot convert from {}", d.name, src.name);
  const QuantKernels& k = active_kernels(dst);
  const bool reference = job.algorithm == QuantAlgorithm::kReference;
  if ((reference ? k.quantize_reference : k.quantize) == nullptr)
    return make_error(ErrorCode::kUnsupported,
                      "{}: quantization to {} is not available in this build", d.name, dst.name);
  return ok_status();
}

}  // namespace

Status check_quantize_job(const GgufModel& input, const std::filesystem::path& output,
                          const QuantizeJob& job) {
  QMIX_CHECK(job.plan != nullptr);
  QMIX_TRY(check_output_paths(output_paths(input, output, job.split), input));
  // The imatrix first: it is the more fundamental problem (and llama-quantize's first check).
  std::vector<std::string> without_entry;
  for (const auto& d : job.plan->tensors) {
    if (d.type == d.source_type) continue;
    QMIX_TRY_ASSIGN(const auto importance, importance_for(d, job));
    if (importance.empty() && d.requires_imatrix)
      return make_error(ErrorCode::kInvalidArgument,
                        "{}: type {} needs an importance matrix{} (see qmix imatrix)", d.name,
                        quant_type(d.type).name,
                        job.imatrix == nullptr ? "; pass --imatrix FILE"
                                               : ", and the imatrix has no entry for it");
    const bool has_entry = job.imatrix && job.imatrix->values.contains(d.name);
    if (job.imatrix && !has_entry && d.name != "token_embd.weight" && d.name != "output.weight")
      without_entry.push_back(d.name);
  }
  for (const auto& d : job.plan->tensors) {
    if (d.type == d.source_type) continue;
    if (input.find_tensor(d.name) == nullptr)
      return make_error(ErrorCode::kInvalidArgument, "{}: not in {}", d.name, input.display_name());
    QMIX_TRY(check_conversion(d, job));
  }
  if (!without_entry.empty() && job.warnings != nullptr)
    job.warnings->warn(
        fmt::format("the imatrix has no entry for {} tensor(s) (first: {}); they "
                    "are quantized without importance weights",
                    without_entry.size(), without_entry.front()));
  return ok_status();
}

std::vector<GgufKv> output_metadata(const GgufModel& input, const QuantizeJob& job) {
  std::vector<GgufKv> kvs;
  // ggml's gguf_set_* removes an existing key and appends it: keep that order.
  auto set = [&kvs](std::string key, GgufValue value) {
    std::erase_if(kvs, [&](const GgufKv& kv) { return kv.key == key; });
    kvs.push_back({std::move(key), std::move(value)});
  };
  for (const auto& kv : input.metadata().kvs()) {
    if (kv.key == "general.alignment") continue;  // the writer sets it
    if (std::ranges::find(kSplitKeys, kv.key) != std::end(kSplitKeys)) continue;
    kvs.push_back(kv);
  }
  set("general.quantization_version", GgufValue::u32(kQuantizationVersion));
  set("general.file_type", GgufValue::u32(static_cast<uint32_t>(job.plan->preset->ftype)));
  for (const auto& kv : job.metadata_overrides) set(kv.key, kv.value);
  if (job.imatrix != nullptr && !job.imatrix->values.empty()) {
    const ImportanceData& im = *job.imatrix;
    set("quantize.imatrix.file", GgufValue::string(im.file));
    if (!im.dataset.empty()) set("quantize.imatrix.dataset", GgufValue::string(im.dataset));
    set("quantize.imatrix.entries_count", GgufValue::u32(static_cast<uint32_t>(im.values.size())));
    if (im.chunk_count > 0)
      set("quantize.imatrix.chunks_count", GgufValue::u32(static_cast<uint32_t>(im.chunk_count)));
  }
  return kvs;
}

namespace {

// Writes quantized chunks on a thread of its own, so that the next chunk is computed while the
// previous one goes to disk; one write in flight at a time keeps the file's order.
class BackgroundWriter {
 public:
  BackgroundWriter() = default;
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;
  ~BackgroundWriter() { (void)wait(); }

  // Waits for the write in flight and returns its status.
  Status wait() {
    if (thread_.joinable()) thread_.join();
    Status s = std::move(status_);
    status_ = ok_status();
    return s;
  }
  // Starts writing `data` (taken; `data` gets back the buffer of the previous write for reuse).
  Status submit(GgufWriter& writer, std::vector<std::byte>& data) {
    QMIX_TRY(wait());
    std::swap(in_flight_, data);
    thread_ = std::thread([this, &writer] { status_ = writer.write_tensor_part(in_flight_); });
    return ok_status();
  }

 private:
  std::thread thread_;
  Status status_ = ok_status();
  std::vector<std::byte> in_flight_;
};

// Converts one tensor chunk by chunk of rows: each thread decodes a few rows to f32 (in its own
// cache-sized buffer) and quantizes them at once; the chunk then streams to the writer in the
// background.
class TensorConverter {
 public:
  TensorConverter(const QuantizeJob& job, ThreadPool& pool)
      : job_(job), pool_(pool), scratch_(static_cast<size_t>(pool.size())) {}

  Status convert(const TensorDecision& d, std::span<const std::byte> src,
                 std::span<const float> importance, GgufWriter& writer);
  // Waits for the last chunk's write (before anything else is written, and at the end).
  Status flush() { return background_.wait(); }

 private:
  Status convert_rows(const TensorDecision& d, std::span<const std::byte> src, int64_t first_row,
                      int64_t n_rows, int64_t cols, std::span<const float> importance,
                      GgufWriter& writer);

  const QuantizeJob& job_;
  ThreadPool& pool_;
  std::vector<std::vector<float>> scratch_;  // per pool thread
  std::vector<std::byte> out_;
  BackgroundWriter background_;
};

Status TensorConverter::convert(const TensorDecision& d, std::span<const std::byte> src,
                                std::span<const float> importance, GgufWriter& writer) {
  const TensorGeometry g = geometry_of(d);
  const int64_t chunk_rows =
      std::max<int64_t>(1, static_cast<int64_t>(job_.chunk_values) / std::max<int64_t>(1, g.cols));
  for (int64_t m = 0; m < g.matrices; ++m) {
    const auto im = importance.empty() ? importance
                                       : importance.subspan(static_cast<size_t>(m * g.cols),
                                                            static_cast<size_t>(g.cols));
    for (int64_t r = 0; r < g.rows_per_matrix; r += chunk_rows) {
      if (job_.cancel != nullptr && job_.cancel->cancelled())
        return make_error(ErrorCode::kCancelled, "cancelled");
      const int64_t n = std::min(chunk_rows, g.rows_per_matrix - r);
      QMIX_TRY(convert_rows(d, src, m * g.rows_per_matrix + r, n, g.cols, im, writer));
    }
  }
  return ok_status();
}

// Rows a thread decodes and quantizes at once: about 64 Ki values (256 KiB of f32, cache-sized).
constexpr int64_t kRowGroupValues = int64_t{1} << 16;

Status TensorConverter::convert_rows(const TensorDecision& d, std::span<const std::byte> src,
                                     int64_t first_row, int64_t n_rows, int64_t cols,
                                     std::span<const float> importance, GgufWriter& writer) {
  const QuantType& from = quant_type(d.source_type);
  const QuantType& to = quant_type(d.type);
  const uint64_t src_row = *from.row_bytes(cols);
  const uint64_t dst_row = *to.row_bytes(cols);
  out_.resize(static_cast<size_t>(dst_row * static_cast<uint64_t>(n_rows)));
  QuantizeOptions options;
  options.algorithm = job_.algorithm;
  const int64_t group = std::max<int64_t>(1, kRowGroupValues / cols);
  std::mutex failure_mutex;
  Status failure = ok_status();
  auto work = [&](int64_t begin, int64_t end, int thread) {
    std::vector<float>& f32 = scratch_[static_cast<size_t>(thread)];
    for (int64_t r = begin; r < end; r += group) {
      const int64_t k = std::min(group, end - r);
      f32.resize(static_cast<size_t>(k * cols));
      const auto rows = static_cast<uint64_t>(first_row + r);
      Status s = dequantize_rows(from, src.subspan(src_row * rows, src_row * k), k, cols, f32);
      if (s.ok())
        s = quantize_rows(to, f32, k, cols, importance,
                          std::span(out_).subspan(dst_row * static_cast<uint64_t>(r), dst_row * k),
                          options);
      if (s.ok()) continue;
      const std::lock_guard lock(failure_mutex);
      if (failure.ok())
        failure = s.error().with_context(
            fmt::format("{} (rows {}-{} of {})", d.name, rows, rows + k - 1, to.name));
      return;
    }
  };
  pool_.parallel_for(n_rows, group, work);
  QMIX_TRY(failure);
  return background_.submit(writer, out_);
}

// One writer per output file; tensors go to their shard's writer when the shards are kept.
Status write_tensors(const GgufModel& input, const QuantizeJob& job,
                     std::vector<GgufWriter>& writers) {
  ThreadPool pool(job.threads);
  TensorConverter converter(job, pool);
  const uint64_t total = job.plan->source_bytes();
  uint64_t done = 0;
  for (const auto& d : job.plan->tensors) {
    if (job.cancel != nullptr && job.cancel->cancelled())
      return make_error(ErrorCode::kCancelled, "cancelled");
    if (job.progress != nullptr) job.progress->update(done, total, d.name);
    const GgufTensorRef* ref = input.find_tensor(d.name);
    QMIX_CHECK(ref != nullptr);
    GgufWriter& writer = writers.size() > 1 ? writers[d.shard] : writers.front();
    const auto src = input.tensor_data(*ref);
    if (d.type == d.source_type) {
      QMIX_TRY(converter.flush());
      QMIX_TRY(writer.write_tensor_data(src));
    } else {
      QMIX_TRY_ASSIGN(const auto importance, importance_for(d, job));
      QMIX_TRY(converter.convert(d, src, importance, writer));
    }
    input.drop_tensor_pages(*ref);  // keeps the resident set at about one tensor
    done += d.source_bytes;
  }
  QMIX_TRY(converter.flush());
  if (job.progress != nullptr) job.progress->update(total, total, "");
  return ok_status();
}

// llama.cpp's split keys, as it writes them to every output shard.
void set_split_keys(GgufWriter& w, size_t shard, size_t count, size_t tensors) {
  w.set("split.no", GgufValue::u16(static_cast<uint16_t>(shard)));
  w.set("split.count", GgufValue::u16(static_cast<uint16_t>(count)));
  w.set("split.tensors.count", GgufValue::i32(static_cast<int32_t>(tensors)));
}

// The writers of all outputs, headers declared: the first carries the metadata, the others
// (kept shards) only the split keys, as llama-quantize --keep-split writes them.
Expected<std::vector<GgufWriter>> make_writers(const GgufModel& input, const QuantizeJob& job,
                                               size_t n_outputs) {
  // The input's alignment (llama.cpp copies general.alignment with the metadata).
  uint32_t align = kGgufDefaultAlignment;
  if (const GgufValue* a = input.metadata().find("general.alignment"))
    if (const auto v = a->as_uint(); v && *v > 0 && *v <= UINT32_MAX)
      align = static_cast<uint32_t>(*v);
  std::vector<GgufWriter> writers;
  writers.reserve(n_outputs);
  for (size_t i = 0; i < n_outputs; ++i) writers.emplace_back(align);
  for (auto& kv : output_metadata(input, job))
    writers.front().set(std::move(kv.key), std::move(kv.value));
  if (n_outputs > 1)
    for (size_t i = 0; i < n_outputs; ++i)
      set_split_keys(writers[i], i, n_outputs, job.plan->tensors.size());
  for (const auto& d : job.plan->tensors) {
    GgufWriter& w = n_outputs > 1 ? writers[d.shard] : writers.front();
    QMIX_TRY(w.add_tensor(d.name, d.shape, d.type));
  }
  return writers;
}

}  // namespace

std::vector<std::filesystem::path> output_paths(const GgufModel& input,
                                                const std::filesystem::path& output,
                                                OutputSplit split) {
  const size_t n = input.shards().size();
  if (split == OutputSplit::kOneFile || n <= 1) return {output};
  std::string prefix = output.string();
  if (prefix.ends_with(".gguf")) prefix.resize(prefix.size() - 5);
  std::vector<std::filesystem::path> out;
  for (size_t i = 0; i < n; ++i)
    out.emplace_back(gguf_split_path(prefix, static_cast<int>(i + 1), static_cast<int>(n)));
  return out;
}

Status quantize_model(const GgufModel& input, const std::filesystem::path& output,
                      const QuantizeJob& job) {
  QMIX_TRY(check_quantize_job(input, output, job));
  const auto paths = output_paths(input, output, job.split);
  QMIX_TRY_ASSIGN(auto writers, make_writers(input, job, paths.size()));
  for (size_t i = 0; i < paths.size(); ++i) QMIX_TRY(writers[i].begin(paths[i]));
  const Status written = write_tensors(input, job, writers);
  if (!written.ok() && written.error().code == ErrorCode::kCancelled)
    return make_error(ErrorCode::kCancelled, "interrupted: {} was not written", output.string());
  QMIX_TRY(written);
  // Renamed into place only once every output is complete.
  for (auto& w : writers) QMIX_TRY(w.finish());
  return ok_status();
}

}  // namespace qmix
