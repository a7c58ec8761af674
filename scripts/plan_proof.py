#!/usr/bin/env python3
"""The proof of `qmix plan` (docs/plan.md): on the tiny models of ../shared, plan at the bits per
weight of llama.cpp's Q4_K_M, Q3_K_M and IQ4_XS of the same model, quantize everything with our
own `qmix quantize`, and measure KL-divergence against the bf16 model with `qmix perplexity --kld`
on generic (wiki.test.raw) and domain (reasoning.test.txt) text. Also the derive levels (Q4_K_M
base) and predicted-vs-measured loss for both loss models. Prints markdown tables.

usage: scripts/plan_proof.py [--qmix build/qmix] [--shared ../shared] [--out out/plan-proof]
                             [--models tiny-qwen3,tiny-llama,tiny-qwen35] [--chunks 20]
                             [--tiers Q4_K_M,Q3_K_M,IQ4_XS] [--only-measured] [--measure-zones 5]
"""
import argparse
import json
import math
import os
import subprocess
import sys

TIERS = ["Q4_K_M", "Q3_K_M", "IQ4_XS"]
CORRELATION_PRESETS = ["Q2_K", "Q3_K_S", "Q3_K_M", "IQ4_XS", "Q4_K_M", "Q5_K_M", "Q6_K"]
TEXT_BYTES = 40000  # the first 40 kB of each corpus: ~20 chunks of 256 tokens


def run(args, **kw):
    r = subprocess.run(args, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{r.stderr}")
    return r.stdout


class Proof:
    def __init__(self, a):
        self.q, self.shared, self.out, self.chunks = a.qmix, a.shared, a.out, a.chunks
        self.tiers = a.tiers.split(",")
        self.measure_zones = a.measure_zones
        os.makedirs(self.out, exist_ok=True)
        self.texts = {}
        for name, src in [("wiki", "wiki.test.raw"), ("reasoning", "reasoning.test.txt")]:
            path = os.path.join(self.out, f"{name}.txt")
            with open(os.path.join(self.shared, "data", src), "rb") as f, open(path, "wb") as o:
                o.write(f.read(TEXT_BYTES))
            self.texts[name] = path
        # --measure's calibration text, held out from both evaluation texts: wikitext from
        # 200 kB on and the start of the reasoning training split.
        self.calibration = os.path.join(self.out, "calibration.txt")
        with open(self.calibration, "wb") as o:
            with open(os.path.join(self.shared, "data", "wiki.test.raw"), "rb") as f:
                f.seek(200000)
                o.write(f.read(12000))
            with open(os.path.join(self.shared, "data", "reasoning.train.txt"), "rb") as f:
                o.write(f.read(12000))

    def gguf(self, model):
        return os.path.join(self.shared, "gguf", f"{model}.bf16.gguf")

    def imatrix(self, model, corpus):
        return os.path.join(self.shared, "gguf", "imatrix", f"{model}.{corpus}.imatrix.gguf")

    def preset_bpw(self, model, preset):
        with open(os.path.join(self.shared, "gguf", "presets", f"presets-{model}.json")) as f:
            return json.load(f)["presets"][preset]["bpw"]

    def base_logits(self, model):
        for name, text in self.texts.items():
            path = os.path.join(self.out, f"{model}.{name}.logits")
            if not os.path.exists(path):
                run([self.q, "perplexity", self.gguf(model), "-f", text, "-c", "256",
                     "--chunks", str(self.chunks), "--save-logits", path])

    def measure(self, model, gguf):
        row = {}
        for name, text in self.texts.items():
            j = json.loads(run([self.q, "perplexity", gguf, "-f", text, "-c", "256", "--chunks",
                                str(self.chunks), "--kld",
                                os.path.join(self.out, f"{model}.{name}.logits"), "--json"]))
            row["bpw"] = j["bpw"]
            row[f"ppl_{name}"] = j["ppl"]
            row[f"kld_{name}"] = j["kld"]["kld"]["mean"]
        return row

    def quantize(self, model, out, preset=None, recipe=None):
        args = [self.q, "quantize", "--imatrix", self.imatrix(model, "wiki")]
        if recipe:
            args += ["--recipe", recipe]
        args += [self.gguf(model), out] + ([preset] if preset else [])
        run(args)
        return out

    def plan(self, model, bpw, loss, out, base="Q4_K_M", measure=False):
        extra = (["--measure", self.calibration, "--measure-zones", str(self.measure_zones)]
                 if measure else [])
        j = json.loads(run([self.q, "plan", self.gguf(model)] + extra + [
                            "--imatrix", self.imatrix(model, "wiki"),
                            "--imatrix", self.imatrix(model, "reasoning"), "--mix", "0.5,0.5",
                            "--target-bpw", f"{bpw}", "--base", base, "--loss-model", loss,
                            "--cache-dir", os.path.join(self.out, "cache"), "-o", out,
                            "--json"]))
        return j

    def tier_rows(self, model, only_measured=False):
        rows = []
        variants = [("absolute", True)] + ([] if only_measured else
                                           [("relative", False), ("absolute", False)])
        for tier in self.tiers:
            bpw = self.preset_bpw(model, tier)
            # The preset beside every plan: paired numbers from the same binary.
            pre = self.quantize(model, os.path.join(self.out, f"{model}.{tier}.gguf"), tier)
            rows.append({"tier": tier, "variant": f"preset {tier}", **self.measure(model, pre)})
            for loss, measured in variants:
                name = f"{loss}-measure" if measured else loss
                recipe = os.path.join(self.out, f"{model}.plan-{tier}-{name}.toml")
                j = self.plan(model, bpw, loss, recipe, base=tier, measure=measured)
                out = self.quantize(model, recipe.replace(".toml", ".gguf"), recipe=recipe)
                rows.append({"tier": tier, "variant": f"plan ({loss}{', --measure' if measured else ''})",
                             "predicted": j["predicted_loss"], **self.measure(model, out)})
        return rows

    def derive_rows(self, model):
        base = os.path.join(self.out, f"{model}.Q4_K_M.toml")
        run([self.q, "recipe", "extract", os.path.join(self.out, f"{model}.Q4_K_M.gguf"),
             "--ignore-embedded", "-o", base])
        rows = []
        for level in [1, 2, 3]:
            recipe = os.path.join(self.out, f"{model}.derive-l{level}.toml")
            run([self.q, "recipe", "derive", "--base", base, "--level", str(level),
                 "--domain", self.imatrix(model, "reasoning"),
                 "--generic", self.imatrix(model, "wiki"), "--model", self.gguf(model),
                 "-o", recipe])
            out = self.quantize(model, recipe.replace(".toml", ".gguf"), recipe=recipe)
            row = self.measure(model, out)
            rows.append({"tier": "derive", "variant": f"derive level {level}", **row})
            j = self.plan(model, row["bpw"], "absolute",
                          os.path.join(self.out, f"{model}.plan-at-l{level}.toml"))
            p = self.quantize(model, os.path.join(self.out, f"{model}.plan-at-l{level}.gguf"),
                              recipe=os.path.join(self.out, f"{model}.plan-at-l{level}.toml"))
            rows.append({"tier": "derive", "variant": f"plan (absolute) at level {level}'s bpw",
                         "predicted": j["predicted_loss"], **self.measure(model, p)})
        return rows

    def correlation(self, model):
        """Predicted loss of each preset (its own base in `qmix plan`, at its own size) vs KLD."""
        points = {"relative": [], "absolute": []}
        for preset in CORRELATION_PRESETS:
            gguf = self.quantize(model, os.path.join(self.out, f"{model}.{preset}.gguf"), preset)
            kld = self.measure(model, gguf)
            for loss in points:
                j = self.plan(model, kld["bpw"], loss,
                              os.path.join(self.out, f"{model}.corr-{preset}-{loss}.toml"),
                              base=preset)
                points[loss].append((j["base_predicted_loss"], kld["kld_wiki"],
                                     kld["kld_reasoning"], preset))
        return points


def pearson(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sx = math.sqrt(sum((x - mx) ** 2 for x in xs))
    sy = math.sqrt(sum((y - my) ** 2 for y in ys))
    return sxy / (sx * sy)


def spearman(xs, ys):
    rank = lambda v: [sorted(v).index(x) for x in v]
    return pearson(rank(xs), rank(ys))


def print_rows(model, rows):
    print(f"\n### {model}\n")
    print("| tier | variant | bpw | predicted | KLD wiki | KLD reasoning | PPL wiki | PPL reasoning |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        pred = f"{r['predicted']:.4g}" if "predicted" in r else ""
        print(f"| {r['tier']} | {r['variant']} | {r['bpw']:.4f} | {pred} | {r['kld_wiki']:.5f} | "
              f"{r['kld_reasoning']:.5f} | {r['ppl_wiki']:.2f} | {r['ppl_reasoning']:.4f} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qmix", default="build/qmix")
    ap.add_argument("--shared", default=os.environ.get("QMIX_SHARED_DIR", "../shared"))
    ap.add_argument("--out", default="out/plan-proof")
    ap.add_argument("--models", default="tiny-qwen3,tiny-llama,tiny-qwen35")
    ap.add_argument("--chunks", type=int, default=20)
    ap.add_argument("--no-derive", action="store_true")
    ap.add_argument("--no-correlation", action="store_true")
    ap.add_argument("--only-measured", action="store_true",
                    help="only the presets and the plans calibrated with --measure (and no "
                         "derive/correlation)")
    ap.add_argument("--tiers", default=",".join(TIERS), help="presets to plan at, e.g. Q4_K_M")
    ap.add_argument("--measure-zones", type=int, default=5,
                    help="qmix plan --measure-zones (layer zones per role)")
    a = ap.parse_args()
    proof = Proof(a)
    for model in a.models.split(","):
        proof.base_logits(model)
        rows = proof.tier_rows(model, a.only_measured)
        if a.only_measured:
            print_rows(model, rows)
            continue
        if not a.no_derive:
            rows += proof.derive_rows(model)
        print_rows(model, rows)
        if a.no_correlation:
            continue
        for loss, pts in proof.correlation(model).items():
            pred = [math.log(p[0]) for p in pts]
            for i, text in [(1, "wiki"), (2, "reasoning")]:
                kld = [math.log(p[i]) for p in pts]
                print(f"\n{model} {loss}: predicted vs KLD {text} over {len(pts)} presets: "
                      f"Pearson(log, log) {pearson(pred, kld):.3f}, Spearman "
                      f"{spearman(pred, kld):.3f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
