#!/usr/bin/python3
"""The ConvNeXt and ResNetV2 family builders against the PyTorch references.

  params_match_timm_and_reference   every convnext/resnetv2 architecture in the registry:
      the builder's backbone parameter count (`lucidgen info ARCH --json --num-classes 0`)
      equals timm's published count (the registry's `params`) and the reference's state_spec.
  every_dumped_activation_matches_reference   one architecture per block kind (conv/linear
      MLP x layer scale/GRN, BiT): weights from ref_<family>.init_state under timm key names,
      loaded strictly (so key names and shapes equal timm's), then every activation the
      reference names (stem, stages.i.downsample, stages.i.blocks.j, norm, head.global_pool)
      is compared with the generated C's --debug-dump, layer by layer.
Prints one line per compared item with the numbers; exits 1 on any failure.

Run: /usr/bin/python3 tests/parity/test_builders_vs_reference.py --lucidgen BUILD/lucidgen [--work DIR]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_convnext  # noqa: E402
import ref_resnetv2  # noqa: E402
import safetensors_io  # noqa: E402

REFERENCES = {"convnext": ref_convnext, "resnetv2": ref_resnetv2}
REL_TOL = 1e-4  # max|c - ref| <= REL_TOL * max|ref|, as the parity driver
# conv MLP + layer scale, Linear MLP + layer scale, conv MLP + GRN, Linear MLP + GRN, BiT
DUMP_CASES = [("convnext_atto", "64"), ("convnext_tiny", "64x96"), ("convnextv2_atto", "64"),
              ("convnextv2_tiny", "64"), ("resnetv2_50x1_bit", "64x96")]
FAILURES = []


def lucidgen_json(exe, *args):
    r = subprocess.run([exe, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"lucidgen {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def test_params_match_timm_and_reference(exe):
    test = "params_match_timm_and_reference"
    archs = {}
    for family in REFERENCES:
        for row in lucidgen_json(exe, "list", "--family", family, "--json"):
            archs.setdefault(row["arch"], row)
    for arch, row in sorted(archs.items()):
        info = lucidgen_json(exe, "info", arch, "--json", "--num-classes", "0")
        built = info["model"]["params"]
        ref = REFERENCES[info["family"]]
        spec = sum(int(np.prod(shape)) for _, shape, _ in ref.state_spec(info["config"], 0, 3))
        ok = built == row["params"] == spec
        print(f"  {arch:22s} builder {built:11d}  timm {row['params']:11d}  reference {spec:11d}  "
              f"{'OK' if ok else 'NOT OK'}")
        if not ok:
            FAILURES.append(f"{test}: {arch}")


def test_every_dumped_activation_matches_reference(exe, work):
    test = "every_dumped_activation_matches_reference"
    for arch, size in DUMP_CASES:
        d = os.path.join(work, arch)
        os.makedirs(d, exist_ok=True)
        info = lucidgen_json(exe, "info", arch, "--json", "--size", size)
        cfg, nc = info["config"], info["model"]["num_classes"]
        h, w = info["model"]["size"]
        ref = REFERENCES[info["family"]]
        gen = torch.Generator().manual_seed(11)
        state = ref.init_state(cfg, nc, 3, gen)
        x = torch.randn(1, 3, h, w, generator=gen)
        weights, model, inp = (os.path.join(d, f) for f in ("weights.safetensors", "model", "input.f32"))
        safetensors_io.save(state, weights)
        x.numpy().astype(np.float32).tofile(inp)
        r = subprocess.run([exe, "build", arch, "--weights", weights, "--size", size, "--quiet", "-o", model],
                           capture_output=True, text=True)
        if r.returncode != 0:  # strict loading: a key or shape that differs from timm's is named here
            print(f"  {arch}: build failed: {r.stderr.strip()}  NOT OK")
            FAILURES.append(f"{test}: {arch} build")
            continue
        dump = os.path.join(d, "dump")
        r = subprocess.run([model, "--input-raw", inp, "--output-raw", os.devnull, "--debug-dump", dump],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"  {arch}: --debug-dump failed: {r.stderr.strip()}  NOT OK")
            FAILURES.append(f"{test}: {arch} run")
            continue
        dumped = {}
        with open(os.path.join(dump, "index.tsv")) as f:
            for line in f:
                name, *dims = line.rstrip("\n").split("\t")
                dumped[name] = tuple(int(v) for v in dims)  # N, H, W, C
        _, acts = ref.forward(cfg, state, x, nc)
        print(f"  {arch} ({size}):")
        for name, act in acts:
            want = act.numpy()
            if name not in dumped:
                print(f"    {name:28s} missing from the dump  NOT OK")
                FAILURES.append(f"{test}: {arch} {name} missing")
                continue
            n, hh, ww, c = dumped[name]
            got = np.fromfile(os.path.join(dump, name + ".f32"), dtype=np.float32).reshape(n, hh, ww, c)
            got = got.transpose(0, 3, 1, 2).reshape(want.shape)
            err = float(np.max(np.abs(got.astype(np.float64) - want)))
            mag = float(np.max(np.abs(want)))
            ok = err <= REL_TOL * mag
            print(f"    {name:28s} [{n},{c},{hh},{ww}] max|diff| {err:.3e}  max|ref| {mag:.3e}  "
                  f"{'OK' if ok else 'NOT OK'}")
            if not ok:
                FAILURES.append(f"{test}: {arch} {name} diff {err:.3e}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lucidgen", required=True)
    ap.add_argument("--work", help="directory for checkpoints, models and dumps (default: a temporary one)")
    a = ap.parse_args()
    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
    print("params_match_timm_and_reference")
    test_params_match_timm_and_reference(a.lucidgen)
    print("every_dumped_activation_matches_reference")
    if a.work:
        test_every_dumped_activation_matches_reference(a.lucidgen, a.work)
    else:
        with tempfile.TemporaryDirectory() as work:
            test_every_dumped_activation_matches_reference(a.lucidgen, work)
    if FAILURES:
        print(f"\n{len(FAILURES)} FAILED:")
        for f in FAILURES:
            print(f"  {f}")
        return 1
    print("\nall builder checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
