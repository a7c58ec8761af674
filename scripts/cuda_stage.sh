#!/usr/bin/env bash
# Stages what scripts/cuda_device_run.sh needs into DEST (for the device tool: a folder the
# checkout's .git/info/exclude ignores, named in `carry`): the CUDA build's qmix and
# qmix_cuda_tests, their non-system shared libraries, the run script, and the tiny models and
# texts of ../shared (about 50 MiB). Usage: scripts/cuda_stage.sh BUILD_DIR DEST [SHARED]
set -euo pipefail
build=$1 dest=$2 shared=${3:-$(dirname "$0")/../../shared}
# (shared/golden only marks the folder as the shared material for tests/testutil.)
rm -rf "$dest" && mkdir -p "$dest"/{bin,lib,shared/gguf/quantized,shared/data,shared/golden}
cp "$build/qmix" "$build/tests/qmix_cuda_tests" "$dest/bin/"
strip "$dest"/bin/*
cp "$(dirname "$0")/cuda_device_run.sh" "$dest/"
# Libraries from packages the GPU image may lack (system ones: libc, libstdc++, libm, libgcc).
ldd "$build/qmix" "$build/tests/qmix_cuda_tests" | awk '/=> \// {print $3}' | sort -u |
  grep -E 'libfmt|libtomlplusplus|libpcre2|libzstd|libgtest' | xargs -r cp -L -t "$dest/lib/"
cp "$shared"/gguf/tiny-{qwen3,llama}.bf16.gguf "$dest/shared/gguf/"
cp "$shared"/gguf/quantized/tiny-qwen3.{Q4_K_M,Q8_0,IQ4_XS,Q2_K}.gguf \
  "$shared"/gguf/quantized/tiny-qwen35.Q4_K_M.gguf "$dest/shared/gguf/quantized/"
cp "$shared"/data/{wiki.test.raw,reasoning.test.txt} "$dest/shared/data/"
du -sh "$dest"
