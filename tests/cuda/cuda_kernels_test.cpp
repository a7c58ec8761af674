// The CUDA decoders against src/quant's reference dequantize (bit for bit), and the device
// matmul against a double-precision product of the same bf16-rounded operands. Runs on a
// machine with a GPU (see docs/cuda.md); skips without one.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "core/fp16.h"
#include "cuda/cuda_backend.h"
#include "quant/types.h"

namespace qmix {
namespace {

#define QMIX_REQUIRE_CUDA()                                              \
  do {                                                                   \
    const auto info = cuda::device_info();                               \
    if (!info.ok()) GTEST_SKIP() << "skipped: " << info.error().message; \
  } while (0)

// A matrix in one GGUF type and the WeightRef that views it.
struct TypedMatrix {
  std::vector<std::byte> bytes;
  WeightRef ref;
};

TypedMatrix make_matrix(const QuantType& type, std::vector<std::byte> bytes, int64_t rows,
                        int64_t cols) {
  TypedMatrix m{std::move(bytes), {}};
  m.ref.name = "test";
  m.ref.type = &type;
  m.ref.data = m.bytes.data();
  m.ref.rows = rows;
  m.ref.cols = cols;
  m.ref.row_bytes = *type.row_bytes(cols);
  return m;
}

// Quantized from Gaussian values with the type's own quantizer (the values real files hold).
TypedMatrix quantized_matrix(const QuantType& type, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(rows * cols));
  for (float& v : x) v = dist(rng);
  std::vector<std::byte> bytes(*type.row_bytes(cols) * static_cast<uint64_t>(rows));
  const auto& k = scalar_kernels(type);
  for (int64_t r = 0; r < rows; ++r)
    k.quantize(x.data() + r * cols, bytes.data() + *type.row_bytes(cols) * r, cols, nullptr);
  return make_matrix(type, std::move(bytes), rows, cols);
}

// Random bytes (every bit pattern of levels, scales, high bits), with the half-precision
// block scales at `half_offsets` set to finite values.
TypedMatrix random_block_matrix(const QuantType& type, const std::vector<int>& half_offsets,
                                int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> bytes(*type.row_bytes(cols) * static_cast<uint64_t>(rows));
  for (auto& b : bytes) b = static_cast<std::byte>(rng() & 0xFF);
  std::uniform_real_distribution<float> scale(-0.1f, 0.1f);
  for (size_t blk = 0; blk < bytes.size() / static_cast<size_t>(type.block_bytes); ++blk)
    for (int off : half_offsets) {
      const fp16_t h = fp32_to_fp16(scale(rng));
      std::memcpy(bytes.data() + blk * static_cast<size_t>(type.block_bytes) + off, &h, 2);
    }
  return make_matrix(type, std::move(bytes), rows, cols);
}

std::vector<float> cpu_values(const WeightRef& w) {
  std::vector<float> out(static_cast<size_t>(w.rows * w.cols));
  for (int64_t r = 0; r < w.rows; ++r)
    scalar_kernels(*w.type).dequantize(w.row(0, r), out.data() + r * w.cols, w.cols);
  return out;
}

void expect_device_decodes_exactly(const WeightRef& w) {
  const std::vector<float> want = cpu_values(w);
  auto f32 = cuda::device_dequantize_f32(w);
  ASSERT_TRUE(f32.ok()) << f32.error().message;
  ASSERT_EQ(f32->size(), want.size());
  int64_t mismatches = 0;
  for (size_t i = 0; i < want.size(); ++i)
    mismatches += std::memcmp(&want[i], &(*f32)[i], sizeof(float)) != 0;
  EXPECT_EQ(mismatches, 0) << w.type->name << ": f32 values differ from the CPU reference";
  auto bf16 = cuda::device_dequantize_bf16(w);
  ASSERT_TRUE(bf16.ok()) << bf16.error().message;
  int64_t bf16_mismatches = 0;
  for (size_t i = 0; i < want.size(); ++i) bf16_mismatches += (*bf16)[i] != fp32_to_bf16(want[i]);
  EXPECT_EQ(bf16_mismatches, 0) << w.type->name << ": bf16 values are not the rounded CPU values";
}

struct DecoderCase {
  GgmlType type;
  std::vector<int> half_offsets;  // block scales to keep finite in random blocks
};

class CudaDecoders : public ::testing::TestWithParam<DecoderCase> {};

TEST_P(CudaDecoders, QuantizedBlocksDecodeBitForBit) {
  QMIX_REQUIRE_CUDA();
  const QuantType& t = quant_type(GetParam().type);
  expect_device_decodes_exactly(quantized_matrix(t, 5, 1024, 7).ref);
}

TEST_P(CudaDecoders, RandomBlocksDecodeBitForBit) {
  QMIX_REQUIRE_CUDA();
  const QuantType& t = quant_type(GetParam().type);
  if (t.is_float()) GTEST_SKIP() << "float types: random bytes include NaNs";
  expect_device_decodes_exactly(random_block_matrix(t, GetParam().half_offsets, 9, 768, 11).ref);
}

INSTANTIATE_TEST_SUITE_P(
    Types, CudaDecoders,
    ::testing::Values(DecoderCase{GgmlType::F32, {}}, DecoderCase{GgmlType::F16, {}},
                      DecoderCase{GgmlType::BF16, {}}, DecoderCase{GgmlType::Q8_0, {0}},
                      DecoderCase{GgmlType::Q4_K, {0, 2}}, DecoderCase{GgmlType::Q5_K, {0, 2}},
                      DecoderCase{GgmlType::Q6_K, {208}}, DecoderCase{GgmlType::IQ4_XS, {0}}),
    [](const auto& info) { return std::string(quant_type(info.param.type).name); });

// Types without a device decoder are decoded on the host at upload and stored as bf16.
TEST(CudaDecoderFallback, HostDecodedTypesGiveTheRoundedValues) {
  QMIX_REQUIRE_CUDA();
  for (GgmlType id : {GgmlType::Q2_K, GgmlType::Q4_0, GgmlType::IQ3_S}) {
    const TypedMatrix m = quantized_matrix(quant_type(id), 3, 512, 5);
    const std::vector<float> want = cpu_values(m.ref);
    auto bf16 = cuda::device_dequantize_bf16(m.ref);
    ASSERT_TRUE(bf16.ok()) << bf16.error().message;
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ((*bf16)[i], fp32_to_bf16(want[i])) << quant_type(id).name << " value " << i;
  }
}

// y = x·Wᵀ: against a double-precision sum over the same bf16-rounded operands (the GEMM
// accumulates in f32: relative error far below bf16's 4e-3), and the exact f32 product within
// bf16 rounding of the activations.
TEST(CudaMatmul, MatchesDoubleProductOfBf16Operands) {
  QMIX_REQUIRE_CUDA();
  const int64_t rows = 96, cols = 1024, n = 37;
  for (GgmlType id : {GgmlType::Q4_K, GgmlType::Q8_0, GgmlType::BF16, GgmlType::Q6_K}) {
    const TypedMatrix m = quantized_matrix(quant_type(id), rows, cols, 3);
    const std::vector<float> w = cpu_values(m.ref);
    std::mt19937 rng(9);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(n * cols));
    for (float& v : x) v = dist(rng);
    auto y = cuda::device_matmul(m.ref, x, n);
    ASSERT_TRUE(y.ok()) << y.error().message;
    double err_bf16 = 0, err_exact = 0, norm = 0;
    for (int64_t t = 0; t < n; ++t)
      for (int64_t r = 0; r < rows; ++r) {
        double ref_bf16 = 0, ref_exact = 0;
        for (int64_t c = 0; c < cols; ++c) {
          const float wv = w[static_cast<size_t>(r * cols + c)];
          const float xv = x[static_cast<size_t>(t * cols + c)];
          ref_bf16 +=
              static_cast<double>(bf16_to_fp32(fp32_to_bf16(wv))) * bf16_to_fp32(fp32_to_bf16(xv));
          ref_exact += static_cast<double>(wv) * xv;
        }
        const double got = (*y)[static_cast<size_t>(t * rows + r)];
        err_bf16 += (got - ref_bf16) * (got - ref_bf16);
        err_exact += (got - ref_exact) * (got - ref_exact);
        norm += ref_exact * ref_exact;
      }
    EXPECT_LT(std::sqrt(err_bf16 / norm), 1e-5) << quant_type(id).name;
    EXPECT_LT(std::sqrt(err_exact / norm), 1e-2) << quant_type(id).name;
  }
}

}  // namespace
}  // namespace qmix
