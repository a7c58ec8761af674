#!/usr/bin/env bash
# Builds with AddressSanitizer + UndefinedBehaviorSanitizer and runs the fast tests (those not
# needing ../shared); then fuzzes the GGUF parser and the tokenizer for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQMIX_SANITIZE=ON \
  -DQMIX_BUILD_BENCH=OFF -DQMIX_WERROR=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -j"$(nproc)" --output-on-failure -E 'Shared'

# Fuzz the GGUF parser (seeded with small valid files) and the tokenizer (seeded with the
# fixture texts) for a bounded time each (clang's libFuzzer).
if command -v clang++ >/dev/null; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DQMIX_FUZZ=ON -DQMIX_BUILD_TESTS=OFF -DQMIX_BUILD_BENCH=OFF >/dev/null
  cmake --build build-fuzz -j"$(nproc)" --target gguf_parser_fuzz tokenizer_fuzz
  corpus=$(mktemp -d)
  cp testdata/gguf/*.gguf "$corpus"/ 2>/dev/null || true
  ./build-fuzz/fuzz/gguf_parser_fuzz -max_total_time="${QMIX_FUZZ_SECONDS:-60}" -max_len=65536 \
    -rss_limit_mb=2048 "$corpus" 2>&1 | tail -n 3
  rm -rf "$corpus"
  corpus=$(mktemp -d)
  python3 - "$corpus" <<'PY'
import json, pathlib, sys
for path in pathlib.Path("testdata/tokenizer").glob("*.tokens.json"):
    for i, case in enumerate(json.loads(path.read_text())):
        for pick in range(4):  # the first byte picks the fuzzer's tokenizer
            (pathlib.Path(sys.argv[1]) / f"{path.stem}-{i}-{pick}").write_bytes(
                bytes([pick]) + case["text"].encode())
PY
  ./build-fuzz/fuzz/tokenizer_fuzz -max_total_time="${QMIX_FUZZ_SECONDS:-60}" -max_len=4096 \
    -rss_limit_mb=2048 "$corpus" 2>&1 | tail -n 3
  rm -rf "$corpus"
fi
