#!/usr/bin/env bash
# Builds everything and runs the whole test suite (the tests that need ../shared skip
# themselves, saying so, when it is absent).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh -DQMIX_WERROR=ON
ctest --test-dir build -j"$(nproc)" --output-on-failure
