#!/usr/bin/env bash
# Builds qmix and runs the main job on the bundled default.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
./build/qmix --help
