#!/usr/bin/python3
"""--debug-dump names each fused layer after the module whose output it is.

A fused layer (conv_dw + norm, conv + bn + relu, fc1 + gelu) writes the output
of the last module it absorbed, so that is the name its dump must carry: the
parity driver reports the first diverging layer by this name. For a ConvNeXt
(convnext_atto_d2_in1k at 64x64) and a small ResNet config, this builds the
classifier on reference weights, dumps every layer, and checks that the
labels are unique and that chosen fused layers' dumps equal the named
module's output computed here with torch.nn.functional.

  test_debug_labels.py --lucidgen LUCIDGEN --work DIR
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import run  # noqa: E402
import ref_convnext  # noqa: E402
import ref_resnet  # noqa: E402
import safetensors_io  # noqa: E402

REL_TOL = 1e-4
FAILED = []


def dump_model(a, name, model_args, ref, size, seed):
    """Builds `model_args` on ref's weights, dumps every layer for a random input.
    Returns (cfg, state, input, {label: NCHW array}, [labels in order])."""
    work = os.path.join(a.work, name)
    os.makedirs(work, exist_ok=True)
    info = json.loads(run([a.lucidgen, "info"] + model_args + ["--json", "--size", str(size)]).stdout)
    cfg, nc = info["config"], info["model"]["num_classes"]
    gen = torch.Generator().manual_seed(seed)
    state = ref.init_state(cfg, nc, 3, gen)
    weights, exe = os.path.join(work, "w.safetensors"), os.path.join(work, "net")
    safetensors_io.save(state, weights)
    run([a.lucidgen, "build"] + model_args + ["--weights", weights, "--size", str(size), "--quiet", "-o", exe])
    x = torch.randn(1, 3, size, size, generator=gen)
    inp, dump = os.path.join(work, "in.f32"), os.path.join(work, "dump")
    x.numpy().tofile(inp)
    run([exe, "--input-raw", inp, "--output-raw", os.devnull, "--debug-dump", dump])
    labels, acts = [], {}
    for line in open(os.path.join(dump, "index.tsv")):
        label, n, h, w, c = line.rstrip("\n").split("\t")
        labels.append(label)
        t = np.fromfile(os.path.join(dump, label + ".f32"), dtype=np.float32)
        acts[label] = t.reshape(int(n), int(h), int(w), int(c)).transpose(0, 3, 1, 2)
    return cfg, state, x, acts, labels


def expect(what, got, want):
    if got is None:
        print(f"NOT OK {what}: no layer carries this label")
        FAILED.append(what)
        return
    want = want.detach().numpy()
    err, mag = float(np.abs(got - want).max()), float(np.abs(want).max())
    ok = got.shape == want.shape and err <= REL_TOL * mag
    print(f"{'OK    ' if ok else 'NOT OK'} {what}: max|diff| {err:.3g}, max|module output| {mag:.3g}")
    if not ok:
        FAILED.append(what)


def check_labels(name, labels, absent):
    dup = sorted({l for l in labels if labels.count(l) > 1})
    stale = [l for l in absent if l in labels]
    ok = not dup and not stale
    print(f"{'OK    ' if ok else 'NOT OK'} {name}: {len(labels)} labels, duplicates {dup}, "
          f"labels of modules whose output no layer writes {stale}")
    if not ok:
        FAILED.append(name + " labels")


def convnext(a):
    cfg, s, x, acts, labels = dump_model(a, "convnext", ["convnext_atto_d2_in1k"], ref_convnext, 64, 1)
    eps = cfg["ln_eps"]
    _, ref_acts = ref_convnext.forward(cfg, s, x, 0)
    p = "stages.0.blocks.0"
    with torch.no_grad():
        dw = F.conv2d(dict(ref_acts)["stem"], s[p + ".conv_dw.weight"], s[p + ".conv_dw.bias"], padding=3,
                      groups=cfg["dims"][0])
        norm = ref_convnext.layer_norm_2d(dw, s[p + ".norm.weight"], s[p + ".norm.bias"], eps)
        act = F.gelu(F.conv2d(norm, s[p + ".mlp.fc1.weight"], s[p + ".mlp.fc1.bias"]))
    expect(f"convnext {p}.norm (conv_dw + norm)", acts.get(p + ".norm"), norm)
    expect(f"convnext {p}.mlp.act (fc1 + act)", acts.get(p + ".mlp.act"), act)
    check_labels("convnext", labels, [p + ".conv_dw", p + ".mlp.fc1"])


def resnet(a):
    cfg_file = os.path.join(a.work, "tiny_resnet.lua")
    os.makedirs(a.work, exist_ok=True)
    open(cfg_file, "w").write("return { block = 'basic', layers = {1, 1, 1, 1}, num_classes = 10, name = 'tiny' }\n")
    cfg, s, x, acts, labels = dump_model(a, "resnet", ["--config", cfg_file], ref_resnet, 64, 2)

    def bn(t, name):
        return F.batch_norm(t, s[name + ".running_mean"], s[name + ".running_var"], s[name + ".weight"],
                            s[name + ".bias"], training=False, eps=1e-5)

    with torch.no_grad():
        stem = F.relu(bn(F.conv2d(x, s["conv1.weight"], stride=2, padding=3), "bn1"))
        block_in = F.max_pool2d(stem, 3, 2, 1)
        act1 = F.relu(bn(F.conv2d(block_in, s["layer1.0.conv1.weight"], padding=1), "layer1.0.bn1"))
        ds = bn(F.conv2d(dict(ref_resnet.forward(cfg, s, x, 10)[1])["layer1.0"], s["layer2.0.downsample.0.weight"],
                         stride=2), "layer2.0.downsample.1")
    expect("resnet act1 (conv1 + bn1 + act1)", acts.get("act1"), stem)
    expect("resnet layer1.0.act1 (conv1 + bn1 + act1)", acts.get("layer1.0.act1"), act1)
    expect("resnet layer2.0.downsample.1 (conv + bn)", acts.get("layer2.0.downsample.1"), ds)
    check_labels("resnet", labels, ["conv1", "layer1.0.conv1", "layer2.0.downsample.0"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lucidgen", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    convnext(a)
    resnet(a)
    print(("NOT OK debug labels: " + ", ".join(FAILED)) if FAILED else "OK debug labels name the last fused module")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
