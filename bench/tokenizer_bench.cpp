// Tokenizer throughput (MB/s of input text) on ../shared/data/wiki.test.raw, or, on a checkout
// without ../shared, on the fixture texts repeated to 1 MB. The baseline row is
// pre-tokenization alone (the regex split), so the merge cost reads as the difference.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gguf/gguf_file.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode_nfc.h"

namespace {

namespace fs = std::filesystem;

const fs::path kRepo = QMIX_SOURCE_DIR;

fs::path shared_dir() {
  if (const char* env = std::getenv("QMIX_SHARED_DIR")) return env;
  return QMIX_SHARED_DIR;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const std::string& bench_text() {
  static const std::string text = [] {
    const fs::path wiki = shared_dir() / "data" / "wiki.test.raw";
    if (fs::exists(wiki)) return read_file(wiki);
    std::string joined;
    const auto cases =
        nlohmann::json::parse(read_file(kRepo / "testdata/tokenizer/tiny-qwen3.tokens.json"));
    for (const auto& c : cases) joined += c.at("text").get<std::string>() + "\n";
    std::string out;
    while (out.size() < (1u << 20)) out += joined;
    return out;
  }();
  return text;
}

// Vocabularies to measure: the fixtures always, real ones from ../shared when present.
std::vector<fs::path> vocab_files() {
  std::vector<fs::path> out = {kRepo / "testdata/tokenizer/tiny-qwen3.vocab.gguf",
                               kRepo / "testdata/tokenizer/tiny-llama.vocab.gguf"};
  for (const char* name : {"gpt-2", "llama-spm"}) {
    const fs::path p = shared_dir() / "gguf/vocab" / (std::string("ggml-vocab-") + name + ".gguf");
    if (fs::exists(p)) out.push_back(p);
  }
  return out;
}

qmix::Tokenizer load(const fs::path& path) {
  auto file = qmix::GgufFile::open(path);
  auto tok = file.ok() ? qmix::Tokenizer::from_gguf(*file) : std::move(file).error();
  if (!tok.ok()) {
    std::fprintf(stderr, "tokenizer_bench: %s\n", tok.error().message.c_str());
    std::exit(1);
  }
  return *tok;
}

void BM_Encode(benchmark::State& state, fs::path vocab) {
  const qmix::Tokenizer tok = load(vocab);
  const std::string& text = bench_text();
  size_t n_tokens = 0;
  for (auto _ : state) {
    auto ids = tok.encode(text, {.add_special = false});
    n_tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(n_tokens);
}

void BM_Decode(benchmark::State& state, fs::path vocab) {
  const qmix::Tokenizer tok = load(vocab);
  const std::string& text = bench_text();
  const auto ids = tok.encode(text, {.add_special = false});
  for (auto _ : state) {
    std::string out = tok.decode(ids);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_PreTokenizeOnly(benchmark::State& state, std::string pre) {
  auto compiled = qmix::PreTokenizer::compile(*qmix::find_pre_tokenizer(pre));
  const std::string& text = bench_text();
  qmix::PreTokenizerScratch scratch;
  std::vector<std::string_view> words;
  for (auto _ : state) {
    compiled->split(text, scratch, words);
    benchmark::DoNotOptimize(words.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["words"] = static_cast<double>(words.size());
}

void BM_Nfc(benchmark::State& state) {
  const std::string& text = bench_text();
  for (auto _ : state) {
    std::string out = qmix::nfc_normalize(text);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

const bool kRegistered = [] {
  for (const fs::path& vocab : vocab_files()) {
    const std::string name = vocab.stem().string();
    benchmark::RegisterBenchmark(("encode/" + name).c_str(), BM_Encode, vocab)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("decode/" + name).c_str(), BM_Decode, vocab)
        ->Unit(benchmark::kMillisecond);
  }
  for (const char* pre : {"qwen2", "llama-bpe"}) {
    benchmark::RegisterBenchmark((std::string("baseline_pretokenize/") + pre).c_str(),
                                 BM_PreTokenizeOnly, std::string(pre))
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("nfc", BM_Nfc)->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
