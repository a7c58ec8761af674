#!/usr/bin/env bash
# The README's main job: builds qmix, then runs the whole method on the bundled tiny model
# (testdata/demo: a 3.4 M-parameter Qwen3 in HF format and text excerpts, see PROVENANCE.md)
# as one resumable workflow (testdata/demo/workflow.toml, docs/workflow.md): convert →
# imatrix on generic and on domain text → compare them → derived and planned recipes → quantize
# seven variants → evaluate them against the bf16 model on domain and generic text → fit →
# HTML report. Results land in out/demo/ (eval/summary.md holds the tables, report.html the
# report). A rerun only redoes what an edit to the inputs or the config changed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target qmix   # the tests and benchmarks are not needed here
./build/qmix workflow testdata/demo/workflow.toml "$@"
