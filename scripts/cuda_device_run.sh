#!/usr/bin/env bash
# Runs the CUDA tests and benchmarks on a GPU machine (docs/cuda.md). Expects, under the
# current directory, what scripts/cuda_stage.sh prepares: bin/ (qmix, qmix_cuda_tests built
# with -DQMIX_CUDA=ON), lib/ (their non-system shared libraries), shared/ (the tiny models and
# texts). Logs go to $OUT (or ./out). Steps: 1 tests, 2 CLI checks, 3 prompt benchmark on
# random weights of llama-3-8b's layer shapes (LAYERS of them, default 8).
set -uo pipefail
out=${OUT:-$PWD/out}
mkdir -p "$out"
export LD_LIBRARY_PATH=$PWD/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export QMIX_SHARED_DIR=$PWD/shared
q=./bin/qmix
s=$QMIX_SHARED_DIR
step() { echo "== $* ($SECONDS s)"; }

step "device"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv
ldd ./bin/qmix | grep -E "not found|cublas"

step "1. tests"
./bin/qmix_cuda_tests 2>&1 | tee "$out/tests.log" | grep -E "^\[  (FAILED|PASSED|SKIPPED)|Δ|PPL|imatrix:|tests ran|Failure|error" 

step "1b. tests, weights decoded on every pass"
QMIX_CUDA_WEIGHTS=per-pass ./bin/qmix_cuda_tests --gtest_filter='*Engine*:*Imatrix*' 2>&1 |
  tee "$out/tests-per-pass.log" | grep -E "^\[  (FAILED|PASSED)|Δ|PPL|imatrix:|Failure"

step "2. CLI: perplexity cpu vs cuda, imatrix on cuda"
for dev in cpu cuda; do
  $q perplexity "$s/gguf/quantized/tiny-qwen3.Q4_K_M.gguf" -f "$s/data/reasoning.test.txt" \
    --ctx 256 --chunks 20 --device $dev 2>&1 | grep -E "PPL|tokens/s"
done
$q imatrix collect -m "$s/gguf/tiny-llama.bf16.gguf" -f "$s/data/wiki.test.raw" -c 256 \
  --chunks 40 --device cuda -o /tmp/llama.cuda.imatrix.gguf 2>&1 | tail -1
$q imatrix collect -m "$s/gguf/tiny-llama.bf16.gguf" -f "$s/data/wiki.test.raw" -c 256 \
  --chunks 40 -o /tmp/llama.cpu.imatrix.gguf 2>&1 | tail -1
$q imatrix compare /tmp/llama.cpu.imatrix.gguf /tmp/llama.cuda.imatrix.gguf 2>&1 | tail -8

[ "${SKIP_BENCH:-0}" = 1 ] && exit 0
step "3. prompt benchmark, llama-3-8b shapes, ${LAYERS:-8} layers"
m=/tmp/bench
mkdir -p $m
$q synth --shape llama-3-8b --layers "${LAYERS:-8}" -o $m/l8b.bf16.gguf || exit 1
step "synth done"
$q quantize $m/l8b.bf16.gguf $m/l8b.Q8_0.gguf Q8_0 16 > /dev/null || exit 1
step "Q8_0 done"
timeout ${Q4_TIMEOUT:-180} $q quantize --ggml-reference $m/l8b.bf16.gguf $m/l8b.Q4_K_M.gguf Q4_K_M 16 > /dev/null
step "Q4_K_M done"
for t in bf16 Q8_0 Q4_K_M Q8_0.per-pass Q4_K_M.per-pass; do
  f=$m/l8b.${t%.per-pass}.gguf
  [ -f $f ] || continue
  weights=once
  [ "$t" != "${t%.per-pass}" ] && weights=per-pass
  for ctx in 512 2048; do
    QMIX_CUDA_WEIGHTS=$weights $q bench pp $f --device cuda --ctx $ctx --reps 5 --json \
      > "/tmp/pp.$t.$ctx.json"
    python3 -c "import json,sys; j=json.load(open(sys.argv[1])); r=j['rows'][0]; d=r['device']; \
print(f\"$t ctx $ctx: {r['tokens_per_second']:.0f} tok/s, GEMM {d['gemm_tflops']:.0f} TFLOP/s \
= {100*d['gemm_fraction']:.1f}% of {d['peak_bf16_tflops']:.0f}; weights {d['weight_read_gb_per_s']:.0f} GB/s \
= {100*d['bandwidth_fraction']:.1f}% of {d['peak_copy_gb_per_s']:.0f}\")" "/tmp/pp.$t.$ctx.json"
  done
done
tar -czf "$out/pp-json.tgz" -C /tmp $(cd /tmp && ls pp.*.json)
step "end"
