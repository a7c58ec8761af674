#!/usr/bin/env bash
# Builds with AddressSanitizer + UndefinedBehaviorSanitizer (-Werror) and runs the fast tests
# (those not needing ../shared); then runs clang's libFuzzer on the GGUF parser (seeded with the
# small GGUFs in testdata/gguf) and on the tokenizer (seeded with the fixture texts), each for a
# bounded time (QMIX_FUZZ_SECONDS, default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQMIX_SANITIZE=ON \
  -DQMIX_BUILD_BENCH=OFF -DQMIX_WERROR=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -j"$(nproc)" --output-on-failure -E 'Shared'

if ! command -v clang++ >/dev/null; then
  echo "sanitize: clang++ not found, fuzzing skipped" >&2
  exit 0
fi
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DQMIX_FUZZ=ON -DQMIX_BUILD_TESTS=OFF -DQMIX_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target gguf_parser_fuzz tokenizer_fuzz

corpora=$(mktemp -d)
trap 'rm -rf "$corpora"' EXIT

# fuzz TARGET MAX_LEN CORPUS_DIR: a crash leaves its input in build-fuzz/ (crash-<sha1>), prints
# the end of the fuzzer's log and fails the script.
fuzz() {
  local log="build-fuzz/$1.log"
  if ! "./build-fuzz/fuzz/$1" -max_total_time="${QMIX_FUZZ_SECONDS:-60}" -max_len="$2" \
    -rss_limit_mb=2048 -artifact_prefix=build-fuzz/ "$3" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "sanitize: fuzz target $1 failed (log: $log)" >&2
    exit 1
  fi
  echo "$1: $(tail -n 1 "$log")"
}

mkdir "$corpora/gguf"
cp testdata/gguf/*.gguf "$corpora/gguf"/
fuzz gguf_parser_fuzz 65536 "$corpora/gguf"

mkdir "$corpora/tokenizer"
python3 - "$corpora/tokenizer" <<'PY'
import json, pathlib, sys
for path in pathlib.Path("testdata/tokenizer").glob("*.tokens.json"):
    for i, case in enumerate(json.loads(path.read_text())):
        for pick in range(4):  # the first byte picks the fuzzer's tokenizer
            (pathlib.Path(sys.argv[1]) / f"{path.stem}-{i}-{pick}").write_bytes(
                bytes([pick]) + case["text"].encode())
PY
fuzz tokenizer_fuzz 4096 "$corpora/tokenizer"
