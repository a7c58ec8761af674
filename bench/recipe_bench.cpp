// `qmix recipe extract` reads only the GGUF header: on a 64-block hybrid of ~27B shapes
// (a ~15 GB file, written sparse here: header plus a hole) it should take milliseconds.
// Baseline in the same run: opening the file (parsing the header) alone.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "recipe/extract.h"

namespace qmix {
namespace {

constexpr int kBlocks = 64;

// An irregular mix on real shapes: hidden 5120, FFN 17408, linear attention in three of four
// blocks, per-block deviations as an imatrix-driven quant has them.
GgufWriter hybrid_header() {
  using G = GgmlType;
  GgufWriter w;
  w.set("general.architecture", GgufValue::string("qwen35"));
  w.set("qwen35.block_count", GgufValue::u32(kBlocks));
  auto add = [&](const std::string& name, G type, std::vector<int64_t> shape) {
    if (!w.add_tensor(name, std::move(shape), type).ok()) std::abort();
  };
  add("token_embd.weight", G::Q6_K, {5120, 248320});
  add("output_norm.weight", G::F32, {5120});
  add("output.weight", G::Q8_0, {5120, 248320});
  for (int b = 0; b < kBlocks; ++b) {
    const std::string p = "blk." + std::to_string(b) + ".";
    add(p + "attn_norm.weight", G::F32, {5120});
    add(p + "post_attention_norm.weight", G::F32, {5120});
    if (b % 4 == 3) {
      add(p + "attn_q.weight", G::Q4_K, {5120, 12288});
      add(p + "attn_k.weight", G::Q4_K, {5120, 1024});
      add(p + "attn_v.weight", b % 8 == 7 ? G::Q8_0 : G::Q6_K, {5120, 1024});
      add(p + "attn_output.weight", G::Q5_K, {6144, 5120});
    } else {
      add(p + "attn_qkv.weight", b % 5 == 0 ? G::Q6_K : G::Q5_K, {5120, 10240});
      add(p + "attn_gate.weight", G::Q4_K, {5120, 6144});
      add(p + "ssm_out.weight", G::Q8_0, {6144, 5120});
      add(p + "ssm_a", G::F32, {48});
      add(p + "ssm_conv1d.weight", G::F32, {4, 10240});
    }
    const G ffn = (b >= 20 && b <= 30) ? G::Q4_K : G::IQ3_XXS;
    add(p + "ffn_gate.weight", ffn, {5120, 17408});
    add(p + "ffn_up.weight", ffn, {5120, 17408});
    add(p + "ffn_down.weight", b % 7 == 2 ? G::Q5_K : G::Q4_K, {17408, 5120});
  }
  return w;
}

// Header bytes, then a hole up to the full size: the tensor data is never read.
std::filesystem::path sparse_model() {
  static const std::filesystem::path path = [] {
    const GgufWriter w = hybrid_header();
    const auto p = std::filesystem::temp_directory_path() / "qmix-recipe-bench.gguf";
    const std::vector<std::byte> header = w.header_bytes();
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(header.data()),
               static_cast<std::streamsize>(header.size()));
    std::filesystem::resize_file(p, w.file_size());
    return p;
  }();
  return path;
}

void BM_OpenHeader(benchmark::State& state) {
  const auto path = sparse_model();
  for (auto _ : state) {
    auto f = GgufFile::open(path);
    if (!f.ok()) state.SkipWithError(f.error().message.c_str());
    benchmark::DoNotOptimize(f);
  }
  state.counters["file_GB"] = static_cast<double>(std::filesystem::file_size(path)) / 1e9;
}
BENCHMARK(BM_OpenHeader)->Unit(benchmark::kMillisecond);

void BM_ExtractRecipe(benchmark::State& state) {
  const auto path = sparse_model();
  size_t rules = 0, tensors = 0;
  for (auto _ : state) {
    auto model = read_model_tensors(path);
    if (!model.ok()) state.SkipWithError(model.error().message.c_str());
    auto r = extract_recipe(*model);
    if (!r.ok()) state.SkipWithError(r.error().message.c_str());
    rules = r->recipe.rules.size();
    tensors = model->tensors.size();
  }
  state.counters["tensors"] = static_cast<double>(tensors);
  state.counters["rules"] = static_cast<double>(rules);
}
BENCHMARK(BM_ExtractRecipe)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace qmix

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::error_code ec;
  std::filesystem::remove(std::filesystem::temp_directory_path() / "qmix-recipe-bench.gguf", ec);
  return 0;
}
