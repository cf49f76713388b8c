#!/usr/bin/python3
"""The classifier's accuracy gate (EXE --eval) against PyTorch.

On lossless PNG pictures drawn here, a resnet18_a1_in1k classifier built by
`lucidgen build` from a checkpoint of random weights must give the same top-1
class for every image as the PyTorch reference (tests/parity/ref_resnet.py)
fed by PIL + torchvision with timm's eval transform. The labels are chosen
from the reference's own ranking, so the expected accuracy is exact: six
images labelled with the reference's top-1, one with its second class (a
top-5 hit only), one with a class outside its top five.

Checked for two builds (224x224 batch 1, where the registry's published
accuracy applies and is compared because the folders are ImageNet synsets;
64x64 batch 3, partial last batch, where it does not) and two set layouts
(ImageFolder with synset folders; a CSV list with index labels, a header and
a path holding a comma): per-image top-1, the counts, the report's fields;
then --min-top1/--min-top5 exit codes at the boundary and bad input (exit 2,
one line naming the thing, no report).
"""
import json
import math
import os
import shutil
import sys
import tempfile

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image, ImageDraw
from torchvision.transforms import InterpolationMode

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "parity"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import ref_resnet  # noqa: E402
import safetensors_io  # noqa: E402
import harness  # noqa: E402

VARIANT = "resnet18_a1_in1k"
SIZES = [(90, 120), (131, 77), (64, 64), (150, 200), (120, 90), (101, 150), (99, 99), (192, 256)]  # (h, w)


def run(cmd):
    return harness.run(cmd, ok=False)


def draw(h, w, seed):
    """Gradients, shapes and a noise patch, different for every seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = rng.integers(0, 256, size=3)
    rgb = np.stack([(x * (seed + 3) + base[0]) % 256, (y * (7 - seed % 5) + base[1]) % 256,
                    ((x + y) * 2 + base[2]) % 256], axis=-1).astype(np.uint8)
    rgb[: h // 3, w // 2:] = rng.integers(0, 256, size=(h // 3, w - w // 2, 3), dtype=np.uint8)
    img = Image.fromarray(rgb, "RGB")
    d = ImageDraw.Draw(img)
    c = tuple(int(v) for v in rng.integers(0, 256, size=3))
    d.ellipse((w // 5, h // 4, w * 3 // 4, h * 5 // 6), fill=c, outline=(0, 0, 0))
    d.rectangle((w // 10, h // 2, w // 3, h - 2), fill=(255 - c[0], 255 - c[1], 255 - c[2]))
    return img


def reference(info, sd, paths, size):
    """Logits and pooled features per image: PIL decode, timm's eval transform, the PyTorch reference."""
    interp = {"bicubic": InterpolationMode.BICUBIC, "bilinear": InterpolationMode.BILINEAR}[info["interpolation"]]
    tf = T.Compose([T.Resize(math.floor(size / info["crop_pct"]), interpolation=interp), T.CenterCrop(size),
                    T.ToTensor(), T.Normalize(info["mean"], info["std"])])
    x = torch.stack([tf(Image.open(p).convert("RGB")) for p in paths])
    with torch.no_grad():
        logits, acts = ref_resnet.forward(info["config"], sd, x, 1000)
    return logits, dict(acts)["global_pool"].flatten(1)


def reference_top5(info, sd, paths, size):
    logits, _ = reference(info, sd, paths, size)
    top = torch.topk(logits, 6, dim=1)
    gap = float(((top.values[:, 0] - top.values[:, 1]) / top.values[:, 0].abs()).min())
    return [row[:5] for row in top.indices.tolist()], gap


def check(results, ok, what, detail=""):
    results.append(ok)
    print(f"{'OK' if ok else 'NOT OK'} {what}" + (f": {detail}" if detail and not ok else ""))


def main():
    lucidgen = sys.argv[1]
    info = json.loads(run([lucidgen, "info", VARIANT, "--json"]).stdout)
    synsets = [line.split("\t")[0] for line in open(os.path.join(ROOT, "variants", "labels", "imagenet-1k.txt"))]
    sd = ref_resnet.init_state(info["config"], 1000, 3, torch.Generator().manual_seed(0))
    results = []
    with tempfile.TemporaryDirectory() as d:
        pictures = []
        for i, (h, w) in enumerate(SIZES):
            pictures.append(os.path.join(d, "pictures", f"img{i}.png"))
            os.makedirs(os.path.dirname(pictures[-1]), exist_ok=True)
            draw(h, w, i).save(pictures[-1])
        # Random weights map every picture to about the same class; a head centred
        # on these pictures' mean feature ranks classes by what differs between them.
        _, features = reference(info, sd, pictures, 224)
        sd["fc.bias"] = -(sd["fc.weight"] @ features.mean(0))
        weights = os.path.join(d, "weights.safetensors")
        safetensors_io.save(sd, weights)

        for size, batch in ((224, 1), (64, 3)):
            tag = f"{size}x{size} batch {batch}"
            exe = os.path.join(d, f"cls{size}")
            r = run([lucidgen, "build", VARIANT, "--weights", weights, "--size", str(size), "--batch", str(batch),
                     "--quiet", "-o", exe])
            if r.returncode != 0:
                print(f"NOT OK {tag}: lucidgen build failed: {r.stderr}")
                return 1
            ref, gap = reference_top5(info, sd, pictures, size)
            print(f"   {tag}: reference top-1 {[t[0] for t in ref]} (smallest relative top-1/top-2 gap {gap:.2g})")
            # labels: six top-1 hits, one top-5 hit only, one miss
            labels = [t[0] for t in ref[:6]] + [ref[6][1]] + [next(c for c in range(1000) if c not in ref[7])]
            folder = os.path.join(d, f"set{size}")
            shutil.rmtree(folder, ignore_errors=True)
            for p, label in zip(pictures, labels):
                os.makedirs(os.path.join(folder, synsets[label]), exist_ok=True)
                shutil.copy(p, os.path.join(folder, synsets[label], os.path.basename(p)))
            open(os.path.join(folder, "README.txt"), "w").write("not a class: ImageFolder reads sub-folders only\n")

            report = os.path.join(d, f"report{size}.json")
            r = run([exe, "--eval", folder, "--eval-report", report])
            print("   " + r.stdout.strip().replace("\n", "\n   "))
            check(results, r.returncode == 0, f"{tag}: --eval exits 0", r.stderr)
            rep = json.load(open(report))
            by_path = {os.path.basename(p["path"]): p for p in rep["predictions"]}
            got = [by_path[os.path.basename(p)]["top5"][0] for p in pictures]
            want = [t[0] for t in ref]
            check(results, got == want, f"{tag}: same top-1 as PyTorch on all {len(pictures)} images",
                  f"lucidgen {got}, PyTorch {want}")
            check(results, (rep["correct1"], rep["correct5"], rep["top1"], rep["top5"]) == (6, 7, 75, 87.5),
                  f"{tag}: top-1 6/8 = 75%, top-5 7/8 = 87.5%",
                  f"{rep['correct1']}, {rep['correct5']}, {rep['top1']}, {rep['top5']}")
            check(results, rep["set"]["images"] == 8 and rep["set"]["classes"] == len(set(labels))
                  and rep["set"]["skipped"] == 1 and rep["set"]["imagenet_val_like"] and rep["batch"] == batch,
                  f"{tag}: report describes the set", json.dumps(rep["set"]))
            if size == 224:
                check(results, rep["compared"] and rep["published"] == {"acc1": info["acc1"], "acc5": info["acc5"]}
                      and f"acc@1 {info['acc1']:.3f}%" in r.stdout,
                      f"{tag}: compared with the registry's published accuracy",
                      f"{rep['published']} {rep['published_note']}")
            else:
                check(results, not rep["compared"] and rep["published"] is None
                      and "differs from the checkpoint's 224x224" in rep["published_note"],
                      f"{tag}: published accuracy not compared at another input size", rep["published_note"])

            # list layout: index labels, a header, relative paths, a comma in a name
            lst = os.path.join(d, f"list{size}", "val.csv")
            os.makedirs(os.path.join(os.path.dirname(lst), "extra"), exist_ok=True)
            shutil.copy(pictures[0], os.path.join(os.path.dirname(lst), "extra", "a,b.png"))
            with open(lst, "w") as f:
                f.write("path,label\n")
                for p, label in zip(pictures, labels):
                    f.write(f"{p},{label}\n")
                f.write(f"extra/a,b.png,{labels[0]}\n")
            r = run([exe, "--eval-list", lst, "--eval-report", report])
            rep = json.load(open(report))
            got = [p["top5"][0] for p in rep["predictions"]]
            check(results, r.returncode == 0 and got == want + [want[0]] and (rep["correct1"], rep["correct5"]) == (7, 8)
                  and not rep["compared"] and (size != 224 or "synsets" in rep["published_note"]),
                  f"{tag}: --eval-list gives the same predictions; index labels are not compared",
                  f"exit {r.returncode} {r.stderr} {got} {rep['correct1']} {rep['correct5']} {rep['published_note']}")

            # gates at the boundary (on the smaller build)
            for flag, value, want_rc in (() if size == 224 else (("--min-top1", "75", 0), ("--min-top1", "75.5", 1),
                                                                  ("--min-top5", "87.5", 0), ("--min-top5", "88", 1))):
                os.remove(report)
                r = run([exe, "--eval", folder, flag, value, "--eval-report", report])
                passed = json.load(open(report))["gates"]["passed"] if os.path.exists(report) else None
                check(results, r.returncode == want_rc and passed == (want_rc == 0),
                      f"{tag}: {flag} {value} exits {want_rc}, report written", f"exit {r.returncode}, passed {passed}")

        # bad input: exit 2, one line naming the thing, no report
        os.makedirs(os.path.join(d, "bad", "notaclass"))
        shutil.copy(pictures[0], os.path.join(d, "bad", "notaclass", "x.png"))
        os.makedirs(os.path.join(d, "corrupt", "0"))
        open(os.path.join(d, "corrupt", "0", "broken.png"), "wb").write(b"\x89PNG\r\n\x1a\nnot really")
        exe = os.path.join(d, "cls64")
        report = os.path.join(d, "bad.json")
        for args, name in (([ "--eval", os.path.join(d, "bad")], "notaclass"),
                           (["--eval", os.path.join(d, "corrupt")], "broken.png"),
                           (["--eval", os.path.join(d, "missing")], "missing"),
                           (["--eval", d, "--eval-list", lst], "exclude each other"),
                           (["--min-top1", "50", pictures[0]], "--eval"),
                           (["--eval", d, "--min-top1", "101"], "0..100")):
            r = run([exe] + args + ["--eval-report", report] if "--eval" in args else [exe] + args)
            lines = r.stderr.strip().splitlines()
            check(results, r.returncode == 2 and len(lines) == 1 and name in lines[0] and not os.path.exists(report),
                  f"rejects {' '.join(os.path.basename(a) for a in args)}: exit 2 naming {name!r}",
                  f"exit {r.returncode}: {r.stderr.strip()}")
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
