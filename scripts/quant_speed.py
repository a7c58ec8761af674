#!/usr/bin/env python3
"""Issue #4's speed target per quant type: our default quantizer (this CPU's kernels) against
ggml's algorithm run the way ggml's C runs it (our scalar reference path, QMIX_FORCE_SCALAR=1),
plain and with an imatrix, one thread, from bench/quant_bench.

The two sides run in alternating processes (the scalar baseline needs QMIX_FORCE_SCALAR, which
is per process), one type per process (scalar rows measured after AVX-512-heavy ones in the
same process came out up to 25 % slower), `--rounds` times each; every row keeps its fastest
CPU time, which is the least disturbed by other load on the machine. Prints a markdown table:
MB/s of f32 input and ours / ggml's speed. `--ours-env QMIX_NO_AVX512=1` times our AVX2 path.

  scripts/quant_speed.py [--bench build/bench/quant_bench] [--rounds 5] [--types iq2_s,q4_K]
"""
import argparse
import json
import os
import re
import subprocess


def run(bench, env_extra, pattern, min_time):
    env = dict(os.environ, **env_extra)
    out = subprocess.run([bench, f"--benchmark_filter={pattern}", f"--benchmark_min_time={min_time}",
                          "--benchmark_format=json"], env=env, check=True, capture_output=True,
                         text=True).stdout
    return {b["name"]: b["bytes_per_second"] / 1e6 for b in json.loads(out)["benchmarks"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/bench/quant_bench")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--min-time", default="0.05")
    ap.add_argument("--types", default="")
    ap.add_argument("--ours-env", action="append", default=[], help="NAME=VALUE for our side")
    a = ap.parse_args()
    ours_env = dict(e.split("=", 1) for e in a.ours_env)
    names = a.types.split(",") if a.types else []
    if not names:  # every type with a quantize row, in the table's order
        listed = subprocess.run([a.bench, "--benchmark_list_tests"], check=True,
                                capture_output=True, text=True).stdout.split()
        names = list(dict.fromkeys(n.split("/")[1] for n in listed if n.startswith("quantize/")))
    best_ours, best_ref = {}, {}
    for _ in range(a.rounds):
        for t in names:
            pattern = f"^quantize/{re.escape(t)}/"
            for env, best in ((ours_env, best_ours), ({"QMIX_FORCE_SCALAR": "1"}, best_ref)):
                for name, mbs in run(a.bench, env, pattern, a.min_time).items():
                    best[name] = max(best.get(name, 0), mbs)
    print("| type | ours plain | ggml plain | ours/ggml | ours imatrix | ggml imatrix | ours/ggml |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    for t in names:
        cells = []
        for suffix in ("", "/imatrix"):
            ours = best_ours.get(f"quantize/{t}/avx2{suffix}") or best_ours.get(
                f"quantize/{t}/scalar{suffix}")
            ref = best_ref.get(f"quantize/{t}/reference{suffix}") or best_ref.get(
                f"quantize/{t}/scalar{suffix}")
            if ours and ref:
                cells += [f"{ours:.1f}", f"{ref:.1f}", f"{ours / ref:.2f}"]
            else:
                cells += ["—", "—", "—"]
        print(f"| {t} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
