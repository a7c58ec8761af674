// `qmix raw quantize|dequantize`: raw little-endian files in and out, for tests and outside
// checks of the quantization kernels.
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/mapped_file.h"
#include "core/thread_pool.h"
#include "quant/quantize_rows.h"

namespace qmix::cli {
namespace {

struct RawArgs {
  std::string type;
  int64_t rows = 0;
  int64_t cols = 0;
  std::string imatrix;
  std::string input;
  std::string output;
  bool reference = false;
  int threads = 0;
};

Expected<std::vector<float>> read_f32_file(const std::string& path, size_t expected_count) {
  QMIX_TRY_ASSIGN(auto file, MappedFile::open(path));
  if (file.size() != expected_count * sizeof(float))
    return make_error(ErrorCode::kInvalidArgument, "{}: has {} bytes, expected {} ({} floats)",
                      path, file.size(), expected_count * sizeof(float), expected_count);
  std::vector<float> v(expected_count);
  if (expected_count > 0) std::memcpy(v.data(), file.bytes().data(), file.size());
  return v;
}

Status write_output(const std::string& path, std::span<const std::byte> data) {
  QMIX_TRY_ASSIGN(auto out, AtomicFile::create(path));
  QMIX_TRY(out.write(data));
  return out.commit();
}

// The type named by --type and the bytes of one of its rows of --cols values.
struct RawGeometry {
  const QuantType* type = nullptr;
  uint64_t row_bytes = 0;
};

Expected<RawGeometry> raw_geometry(const RawArgs& a) {
  QMIX_TRY_ASSIGN(const QuantType* type, quant_type_by_name(a.type));
  if (a.rows <= 0 || a.cols <= 0)
    return make_error(ErrorCode::kInvalidArgument, "--rows and --cols must be positive");
  const auto row_bytes = type->row_bytes(a.cols);
  if (!row_bytes)
    return make_error(ErrorCode::kInvalidArgument,
                      "--cols {} is not a multiple of {}'s block size {}", a.cols, type->name,
                      type->block_size);
  return RawGeometry{type, *row_bytes};
}

Status run_raw_quantize(const RawArgs& a) {
  QMIX_TRY_ASSIGN(const RawGeometry geometry, raw_geometry(a));
  const QuantType* type = geometry.type;
  QMIX_TRY_ASSIGN(auto src, read_f32_file(a.input, static_cast<size_t>(a.rows * a.cols)));
  std::vector<float> imatrix;
  if (!a.imatrix.empty()) {
    QMIX_TRY_ASSIGN(imatrix, read_f32_file(a.imatrix, static_cast<size_t>(a.cols)));
  }
  std::vector<std::byte> dst(geometry.row_bytes * static_cast<uint64_t>(a.rows));
  ThreadPool pool(a.threads);
  QuantizeOptions options;
  options.pool = &pool;
  options.algorithm = a.reference ? QuantAlgorithm::kReference : QuantAlgorithm::kBest;
  QMIX_TRY(quantize_rows(*type, src, a.rows, a.cols, imatrix, dst, options));
  return write_output(a.output, dst);
}

Status run_raw_dequantize(const RawArgs& a) {
  QMIX_TRY_ASSIGN(const RawGeometry geometry, raw_geometry(a));
  const QuantType* type = geometry.type;
  QMIX_TRY_ASSIGN(auto in, MappedFile::open(a.input));
  const uint64_t expected = geometry.row_bytes * static_cast<uint64_t>(a.rows);
  if (in.size() != expected)
    return make_error(ErrorCode::kInvalidArgument, "{}: has {} bytes, expected {}", a.input,
                      in.size(), expected);
  std::vector<float> dst(static_cast<size_t>(a.rows * a.cols));
  ThreadPool pool(a.threads);
  QMIX_TRY(dequantize_rows(*type, in.bytes(), a.rows, a.cols, dst, &pool));
  return write_output(a.output, std::as_bytes(std::span<const float>(dst)));
}

void add_common(CLI::App* sub, RawArgs& a) {
  sub->add_option("--type", a.type, "ggml type name (q4_K, iq2_xs, …; case-insensitive)")
      ->required();
  sub->add_option("--rows", a.rows, "number of rows")->required();
  sub->add_option("--cols", a.cols, "values per row")->required();
  sub->add_option("-t,--threads", a.threads, "threads (default: all cores)");
  sub->add_option("input", a.input, "input file")->required();
  sub->add_option("output", a.output, "output file")->required();
}

}  // namespace

void register_raw(CLI::App& app, CommandTable& table) {
  auto* raw = app.add_subcommand("raw", "quantize/dequantize raw little-endian arrays");
  raw->require_subcommand(1);
  auto args = std::make_shared<RawArgs>();
  auto* q = raw->add_subcommand("quantize", "f32 rows -> blocks of TYPE");
  add_common(q, *args);
  q->add_option("--imatrix", args->imatrix, "per-column importances (cols float32)");
  q->add_flag("--reference", args->reference, "use ggml's reference algorithm instead of ours");
  auto* d = raw->add_subcommand("dequantize", "blocks of TYPE -> f32 rows");
  add_common(d, *args);
  table.add(q, [args] {
    const Status s = run_raw_quantize(*args);
    return s.ok() ? 0 : report_error(s.error());
  });
  table.add(d, [args] {
    const Status s = run_raw_dequantize(*args);
    return s.ok() ? 0 : report_error(s.error());
  });
}

}  // namespace qmix::cli
