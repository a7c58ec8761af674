#!/usr/bin/env bash
# The README's main job: builds qmix, then runs the whole method on the bundled tiny model
# (testdata/demo: a 3.4 M-parameter Qwen3 in HF format and text excerpts, see PROVENANCE.md):
# convert → inspect → imatrix on generic and on domain text → compare the two → quantize
# variants → evaluate them against the bf16 model on domain and generic text → fit.
# Results land in out/demo/ (summary.md holds the tables). About a minute on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
Q=./build/qmix
D=testdata/demo
O=out/demo
mkdir -p "$O"
step() { printf '\n== %s\n' "$*"; }

step "convert the HF model to GGUF (bf16)"
$Q convert "$D/tiny-qwen3" -o "$O/tiny-qwen3.bf16.gguf" --outtype bf16
step "inspect it"
$Q inspect "$O/tiny-qwen3.bf16.gguf" | head -25
$Q inspect "$O/tiny-qwen3.bf16.gguf" --json > "$O/inspect.bf16.json"

step "importance matrices: generic (wikitext) and domain (the model's own reasoning text)"
$Q imatrix collect -m "$O/tiny-qwen3.bf16.gguf" -f "$D/text/generic.train.txt" -c 256 \
  -o "$O/generic.imatrix.gguf"
$Q imatrix collect -m "$O/tiny-qwen3.bf16.gguf" -f "$D/text/domain.train.txt" -c 256 \
  -o "$O/domain.imatrix.gguf"
step "where does the domain need more precision than generic text? (ratio per tensor)"
$Q imatrix compare "$O/domain.imatrix.gguf" "$O/generic.imatrix.gguf" --top 8 \
  --emit-recipe "$O/domain-vs-generic.toml" | tee "$O/imatrix-compare.txt" | head -40
$Q imatrix compare "$O/domain.imatrix.gguf" "$O/generic.imatrix.gguf" --json > "$O/imatrix-compare.json"

step "quantize: Q4_K_M without and with the domain imatrix, Q3_K_M and IQ4_XS with it"
$Q quantize "$O/tiny-qwen3.bf16.gguf" "$O/tiny-qwen3.Q4_K_M.gguf" Q4_K_M
for t in Q4_K_M Q3_K_M IQ4_XS; do
  $Q quantize --imatrix "$O/domain.imatrix.gguf" "$O/tiny-qwen3.bf16.gguf" \
    "$O/tiny-qwen3.$t-imat.gguf" "$t"
done
$Q recipe extract "$O/tiny-qwen3.Q3_K_M-imat.gguf" -o "$O/Q3_K_M.recipe.toml"

step "evaluate every variant against bf16 on identical tokens (PPL, KLD, paired tests)"
$Q compare "$O/tiny-qwen3.bf16.gguf" "$O/tiny-qwen3.Q4_K_M.gguf" "$O/tiny-qwen3.Q4_K_M-imat.gguf" \
  "$O/tiny-qwen3.Q3_K_M-imat.gguf" "$O/tiny-qwen3.IQ4_XS-imat.gguf" \
  -f "$D/text/domain.test.txt" -f "$D/text/generic.test.txt" --ctx 256 --chunks 30 \
  --json-out "$O/compare.json" | tee "$O/summary.md"

step "how much context fits a 24 GiB card with this quant (and a 27B hybrid at the same bpw)"
$Q fit "$O/tiny-qwen3.Q4_K_M-imat.gguf" --vram 24GiB
$Q fit --shape qwen3.6-27b --bpw 4.85 --vram 24GiB
$Q fit "$O/tiny-qwen3.Q4_K_M-imat.gguf" --vram 24GiB --json > "$O/fit.json"

step "report"
$Q inspect "$O/tiny-qwen3.Q3_K_M-imat.gguf" --json > "$O/inspect.Q3_K_M.json"
$Q report --title "qmix demo: tiny Qwen3" --inspect "$O/inspect.Q3_K_M.json" \
  --imatrix-compare "$O/imatrix-compare.json" --compare "$O/compare.json" \
  --recipe "$O/Q3_K_M.recipe.toml" --fit "$O/fit.json" -o "$O/report.html"

printf '\nDone: report in %s/report.html, tables in %s/summary.md, files in %s/\n' "$O" "$O" "$O"
