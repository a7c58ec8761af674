#!/usr/bin/env bash
# Builds everything and runs the whole test suite (the tests that need ../shared skip
# themselves, saying so, when it is absent; the report render test skips without chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
# The report test renders an HTML report in headless Chromium (Debian's package).
export QMIX_WITH_BROWSER=1
bash scripts/build.sh -DQMIX_WERROR=ON
ctest --test-dir build -j"$(nproc)" --output-on-failure
