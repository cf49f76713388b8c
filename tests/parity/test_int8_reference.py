#!/usr/bin/python3
"""The generated int8 C against an independent reference of docs/int8.md, bit for bit.

For one variant: a random checkpoint under timm keys (ref_<family>.py's
init_state, seeded) and a fixed calibration set (8 seeded inputs, a .f32
file); `lucidgen build --precision int8 --calibrate` at 64x64 on avx512vnni
(avx2 on a CPU without AVX512-VNNI); then the classifier and
int8_reference.py (numpy, from the doc, given only the checkpoint and
OUT.json's activation scales) run the same inputs: two of the calibration
set, two new ones and one with saturating, huge, infinite and NaN values.
Every logit must be the same float, bit for bit. On a difference it prints
the logits that differ and, solving the head for its input (the head is an
exact integer linear map before its fma, and its weights have full column
rank), whether the classifier's global-pool output already differed and in
which channels; the per-layer debug hook carries no int8 values.

It first holds int8_reference.fma32 (the emulation of fmaf the reference
uses) against libm's fmaf on a few million triples.
"""
import argparse
import importlib
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import run  # noqa: E402
import int8_reference as ir  # noqa: E402
import safetensors_io  # noqa: E402

REFERENCES = {"resnet": "ref_resnet", "convnext": "ref_convnext"}


def cpu_has(flag):
    with open("/proc/cpuinfo") as f:
        return any(line.startswith("flags") and flag in line.split() for line in f)


def bits(x):
    return np.asarray(x, np.float32).view(np.uint32)


def head_input(ref, head, logits):
    """The integer head input the classifier must have used for `logits`, solved from y = fma(acc, sc, b)."""
    p = ref.params[head]
    acc = (logits.astype(np.float64) - p["b"]) / p["sc"]
    q = p["q"].reshape(p["q"].shape[0], -1).astype(np.float64)
    d, *_ = np.linalg.lstsq(q, acc, rcond=None)
    return np.rint(d).astype(np.int64)


def explain(ref, head, got, want):
    """Where the difference comes from, as far as the logits tell."""
    lines = []
    diff = np.flatnonzero(bits(got) != bits(want))
    for i in diff[:8]:
        lines.append(f"logit {i}: C {got[i]!r} (0x{bits(got)[i]:08x}), reference {want[i]!r} (0x{bits(want)[i]:08x})")
    x = ref.acts[ref.seen[-2]]  # the head's input as the reference computed it
    d_ref = x.d().ravel()
    d_c = head_input(ref, head, got)
    chans = np.flatnonzero(d_c != d_ref)
    if len(chans):
        step = np.abs(d_c[chans] - d_ref[chans])
        lines.append(f"the head's input ({ref.seen[-2]}, integers u - zu) differs already, in {len(chans)} of "
                     f"{d_ref.size} channels ({np.count_nonzero(step == 1)} by one step, the largest by {step.max()}): "
                     + ", ".join(f"[{c}] C {d_c[c]} ref {d_ref[c]}" for c in chans[:12]))
        lines.append("so the first difference is at or before " + ref.seen[-2] + " (the C exposes no int8 "
                     "intermediate); the reference's layers up to it:")
        for name in ref.seen:
            a = ref.acts.get(name)
            if isinstance(a, ir.Act):
                lines.append(f"  {name}: s {a.s:.6g} zu {a.zu} shape {list(a.u.shape)} u in [{a.u.min()}, "
                             f"{a.u.max()}] mean {a.u.mean():.3f}")
    else:
        lines.append(f"the head's input ({ref.seen[-2]}) is the same on both sides: the difference is in the "
                     f"head {head} itself (its scales sc, float bias or the fma)")
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lucidgen", required=True)
    ap.add_argument("--variant", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--size", default="64")
    ap.add_argument("--target", help="default: avx512vnni if this CPU has AVX512-VNNI, else avx2")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fma-triples", type=int, default=3_000_000)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    t0 = time.time()
    target = a.target or ("avx512vnni" if cpu_has("avx512_vnni") else "avx2")

    bad, corrected, (fa, fb, fc, fgot, fwant) = ir.check_fma(a.fma_triples, seed=a.seed)
    if len(bad):
        for i in bad[:5]:
            print(f"  fma({fa[i]!r}, {fb[i]!r}, {fc[i]!r}): fma32 {fgot[i]!r}, libm fmaf {fwant[i]!r}")
        print(f"NOT OK fma32 differs from libm's fmaf on {len(bad)} of {a.fma_triples} triples")
        return 1
    print(f"ok fma32 = libm fmaf on {a.fma_triples} triples ({corrected} of them double-rounding ties "
          f"the emulation corrected)")

    info = json.loads(run([a.lucidgen, "info", a.variant, "--json", "--size", a.size]).stdout)
    cfg, nc, (H, W) = info["config"], info["model"]["num_classes"], info["model"]["size"]
    family = info["family"]
    gen = torch.Generator().manual_seed(a.seed)
    sd = importlib.import_module(REFERENCES[family]).init_state(cfg, nc, 3, gen)
    weights, calib = os.path.join(a.work, "weights.safetensors"), os.path.join(a.work, "calibration.f32")
    safetensors_io.save(sd, weights)
    cal = torch.randn(8, 3, H, W, generator=gen).numpy().astype(np.float32)
    cal.tofile(calib)
    exe = os.path.join(a.work, "model")
    run([a.lucidgen, "build", a.variant, "--weights", weights, "--precision", "int8", "--calibrate", calib,
         "--target", target, "--size", a.size, "-o", exe, "--quiet"])
    with open(exe + ".build/model.json") as f:
        out_json = json.load(f)
    tag = f"{a.variant} int8 size={H}x{W} target={target}"

    ref = ir.Reference(family, cfg, {k: v.numpy() for k, v in sd.items()}, out_json)
    head = out_json["layers"][-1]["name"]
    new = torch.randn(2, 3, H, W, generator=gen).numpy().astype(np.float32)
    wild = (4 * torch.randn(1, 3, H, W, generator=gen)).numpy().astype(np.float32)
    flat = wild.reshape(-1)
    flat[:16] = [1e7, -1e7, 3e38, -3e38, np.inf, -np.inf, np.nan, -np.nan, 0.0, -0.0, 1e-40, -1e-40,
                 4194304.0, -4194304.0, 8388609.0, 2.5]
    inputs = [("calibration[0]", cal[:1]), ("calibration[7]", cal[7:]), ("new[0]", new[:1]), ("new[1]", new[1:]),
              ("wild (saturating, huge, inf, NaN)", wild)]
    failures = 0
    for label, x in inputs:
        inp, outp = os.path.join(a.work, "input.f32"), os.path.join(a.work, "output.f32")
        x.tofile(inp)
        run([exe, "--input-raw", inp, "--output-raw", outp, "--threads", "1"])
        got = np.fromfile(outp, dtype=np.float32)
        try:
            want = ref.run(x).reshape(-1)
        except ir.Mismatch as e:
            print(f"NOT OK {tag}: the reference does not fit the generated model: {e}")
            return 1
        if got.size != want.size:
            print(f"NOT OK {tag} {label}: {got.size} logits, reference {want.size}")
            return 1
        same = int(np.count_nonzero(bits(got) == bits(want)))
        if same == want.size:
            print(f"ok {tag} {label}: all {want.size} logits bit-identical (max|y| {np.abs(want).max():.4g})")
        else:
            failures += 1
            print(f"NOT OK {tag} {label}: {want.size - same} of {want.size} logits differ, "
                  f"max|diff| {np.abs(got.astype(np.float64) - want).max():.4g}")
            for line in explain(ref, head, got, want):
                print("  " + line)
    print(f"{'NOT OK' if failures else 'OK'} {tag}: {len(inputs) - failures} of {len(inputs)} inputs bit-exact "
          f"against int8_reference.py ({len(ref.seen)} layers), {time.time() - t0:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
