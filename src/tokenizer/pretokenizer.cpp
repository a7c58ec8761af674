#include "tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>

namespace qmix {
namespace {

// The patterns are the `pre_tokenizer` regexes of each family's Hugging Face tokenizer.json.
// GPT-2 (also MPT/GPT-NeoX, OLMo, Phi-2, JAIS): the ByteLevel pre-tokenizer's own regex.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kGpt2Patterns[] = {kGpt2Pattern};
constexpr std::string_view kGpt2Names[] = {"gpt-2", "default", "mpt",     "olmo",
                                           "phi-2", "jais",    "trillion"};

// StarCoder (also Refact, Command-R, SmolLM, CodeShell, EXAONE): digits split one by one,
// then the GPT-2 regex.
constexpr std::string_view kStarCoderPatterns[] = {R"(\p{N})", kGpt2Pattern};
constexpr std::string_view kStarCoderNames[] = {"starcoder", "refact", "command-r", "smollm",
                                                "codeshell", "exaone", "minerva-7b"};

// Llama 3: numbers in groups of up to three digits.
constexpr std::string_view kLlama3Patterns[] = {
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
constexpr std::string_view kLlama3Names[] = {"llama-bpe", "llama3",  "llama-v3", "smaug-bpe",
                                             "dbrx",      "falcon3", "pixtral"};

// Qwen2 (Qwen2/2.5/3): single digits, and NFC normalization before splitting.
constexpr std::string_view kQwen2Patterns[] = {
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
constexpr std::string_view kQwen2Names[] = {"qwen2", "deepseek-r1-qwen", "megrez"};

// DeepSeek LLM: a sequence of splits. The letter class is the cased letters (Lu, Ll, Lt);
// code points are escaped because several (U+1F7D, U+1FBE, U+2126, U+212A, ...) would turn into
// other characters under the NFC that editors and tools apply to source text.
constexpr std::string_view kDeepSeekLlmPatterns[] = {
    R"([\r\n])",
    R"(\s?[)"
    R"(A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293})"
    R"(\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-)"
    R"(\x{38A}\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-)"
    R"(\x{556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-)"
    R"(\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18})"
    R"(-\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D})"
    R"(\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6})"
    R"(-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4})"
    R"(\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124})"
    R"(\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F}\x{2145}-)"
    R"(\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4}\x{2CEB}-\x{2CEE})"
    R"(\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787})"
    R"(\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-)"
    R"(\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB})"
    R"(\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF}\x{1E900}-\x{1E943})"
    R"(]+)",
    R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)",
    R"(\s+$)",
    R"([\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}]+)",
    R"(\p{N}+)",
};
constexpr std::string_view kDeepSeekLlmNames[] = {"deepseek-llm"};

constexpr PreTokenizerSpec kPreTokenizers[] = {
    {kGpt2Names, kGpt2Patterns, Normalization::kNone},
    {kStarCoderNames, kStarCoderPatterns, Normalization::kNone},
    {kLlama3Names, kLlama3Patterns, Normalization::kNone, WholeWordTokens::kUseDirectly},
    {kQwen2Names, kQwen2Patterns, Normalization::kNfc},
    {kDeepSeekLlmNames, kDeepSeekLlmPatterns, Normalization::kNone},
};

constexpr size_t kJitStackStart = 32 * 1024;
constexpr size_t kJitStackMax = 4 * 1024 * 1024;

}  // namespace

std::span<const PreTokenizerSpec> pre_tokenizer_specs() { return kPreTokenizers; }

const PreTokenizerSpec* find_pre_tokenizer(std::string_view name) {
  for (const PreTokenizerSpec& spec : kPreTokenizers) {
    if (std::find(spec.names.begin(), spec.names.end(), name) != spec.names.end()) return &spec;
  }
  return nullptr;
}

struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Regex() { pcre2_code_free(code); }
};

struct PreTokenizerScratch::State {
  pcre2_match_data* match = pcre2_match_data_create(1, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_jit_stack* jit_stack = pcre2_jit_stack_create(kJitStackStart, kJitStackMax, nullptr);
  State() { pcre2_jit_stack_assign(context, nullptr, jit_stack); }
  ~State() {
    pcre2_jit_stack_free(jit_stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(match);
  }
  State(const State&) = delete;
  State& operator=(const State&) = delete;
};

PreTokenizerScratch::PreTokenizerScratch() : state_(std::make_unique<State>()) {}
PreTokenizerScratch::~PreTokenizerScratch() = default;

Expected<PreTokenizer> PreTokenizer::compile(const PreTokenizerSpec& spec) {
  PreTokenizer out;
  out.normalization_ = spec.normalization;
  for (std::string_view pattern : spec.patterns) {
    int error_code = 0;
    PCRE2_SIZE error_offset = 0;
    auto regex = std::make_shared<Regex>();
    regex->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                PCRE2_UTF | PCRE2_UCP, &error_code, &error_offset, nullptr);
    if (!regex->code) {
      std::array<PCRE2_UCHAR, 256> message{};
      pcre2_get_error_message(error_code, message.data(), message.size());
      return make_error(ErrorCode::kInternal, "pre-tokenizer regex \"{}\" at offset {}: {}",
                        std::string(pattern), error_offset,
                        reinterpret_cast<const char*>(message.data()));
    }
    // Without JIT support pcre2_match interprets the pattern: slower, same result.
    regex->jit = pcre2_jit_compile(regex->code, PCRE2_JIT_COMPLETE) == 0;
    out.regexes_.push_back(std::move(regex));
  }
  return out;
}

namespace {

// Appends the matches of `regex` in `piece` and the gaps between them to `out`. A match
// failure other than "no match" (resource limits; not expected for these patterns) keeps the
// rest of the piece whole rather than losing text.
void split_piece(const pcre2_code* code, std::string_view piece, pcre2_match_data* match,
                 pcre2_match_context* context, std::vector<std::string_view>& out) {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
  size_t last = 0;
  size_t start = 0;
  while (start < piece.size()) {
    const int rc =
        pcre2_match(code, subject, piece.size(), start, PCRE2_NO_UTF_CHECK, match, context);
    if (rc < 0) break;
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match);
    const size_t begin = ovector[0];
    size_t end = ovector[1];
    if (end == begin) {  // empty match: step over one code point, keep it in the gap
      end = begin + 1;
      while (end < piece.size() && (static_cast<uint8_t>(piece[end]) & 0xC0) == 0x80) ++end;
      start = end;
      continue;
    }
    if (begin > last) out.push_back(piece.substr(last, begin - last));
    out.push_back(piece.substr(begin, end - begin));
    last = start = end;
  }
  if (last < piece.size()) out.push_back(piece.substr(last));
}

}  // namespace

void PreTokenizer::split(std::string_view text, PreTokenizerScratch& scratch,
                         std::vector<std::string_view>& words) const {
  words.clear();
  if (text.empty()) return;
  words.push_back(text);
  PreTokenizerScratch::State& state = *scratch.state_;
  for (const auto& regex : regexes_) {
    scratch.next_.clear();
    for (std::string_view piece : words) {
      split_piece(regex->code, piece, state.match, state.context, scratch.next_);
    }
    words.swap(scratch.next_);
  }
}

}  // namespace qmix
