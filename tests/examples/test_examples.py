#!/usr/bin/python3
"""Every example under examples/, built and run the way a user would.

  consumer BUILD_DIR GENERATOR
      `cmake --install` lucidgen into a temporary prefix: lucidgen, the
      runtime library and headers, the package config and version, the
      pkg-config file and the man page are there, and the installed lucidgen
      runs outside the source tree (it names no file of it); then
      examples/consumer configures against the prefix with GENERATOR (Ninja
      or Unix Makefiles), builds and runs its self-test; a program compiled
      with `pkg-config --cflags --libs lucidgen-runtime` links the runtime.
  classify-folder LUCIDGEN
      examples/classify_folder (lucidgen as source through FetchContent)
      classifies a folder in batches of 4 (the last one partial) into a CSV
      whose top-5 per image equals what `lucidgen build`'s classifier, built
      with the same options, says through --eval-list.
  features BUILD_DIR
      examples/features (installed package) embeds three pictures and a
      near-duplicate of each; every picture's nearest neighbour is its twin.
  ci-recipe LUCIDGEN
      examples/ci/pipeline.sh on a labelled sample: with a gate it meets it
      publishes model.c/.h/.bin/.json, the classifier and eval.json; with a
      gate above the measured top-1 it exits 1 and publishes the report only.
      The sample workflow parses and runs the same script.
"""
import csv
import json
import os
import shutil
import sys
import tempfile

import numpy as np
from PIL import Image, ImageDraw

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")
sys.path.insert(0, os.path.join(ROOT, "tests"))
from harness import run  # noqa: E402
SMALL = "convnext_atto_d2_in1k"  # 3.7 M parameters: quick to generate


def report(checks, name):
    for what, ok, detail in checks:
        print(f"{'OK' if ok else 'NOT OK'} {name}: {what}" + ("" if ok else f": {detail}"))
    return 0 if all(ok for _, ok, _ in checks) else 1


def picture(path, seed, h=72, w=96):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([(x * (seed + 2)) % 256, (y * (seed + 5)) % 256, ((x * y) // (seed + 1)) % 256], -1)
    img = Image.fromarray(rgb.astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    d.ellipse((w // 4, h // 4, w * 3 // 4, h * 3 // 4), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img.save(path)
    return img


def install(build_dir, prefix):
    run(["cmake", "--install", build_dir, "--prefix", prefix])


def consumer(build_dir, generator):
    with tempfile.TemporaryDirectory() as d:
        prefix = os.path.join(d, "prefix")
        install(build_dir, prefix)
        wanted = ["bin/lucidgen", "lib/liblg_runtime.a", "include/lucidgen/lg_blob.h", "include/lucidgen/lg_eval.h",
                  "lib/cmake/lucidgen/lucidgenConfig.cmake", "lib/cmake/lucidgen/lucidgenConfigVersion.cmake",
                  "lib/cmake/lucidgen/LucidgenAddModel.cmake", "lib/pkgconfig/lucidgen-runtime.pc",
                  "share/lucidgen/lg_classifier.c", "share/lucidgen/lg_profile.c", "share/man/man1/lucidgen.1"]
        missing = [p for p in wanted if not os.path.exists(os.path.join(prefix, p))]
        checks = [("the install has lucidgen, the runtime, the package, pkg-config and the man page", not missing,
                   f"missing {missing}")]
        lucidgen = os.path.join(prefix, "bin", "lucidgen")
        names_source = ROOT.encode() in open(lucidgen, "rb").read()
        r = run([lucidgen, "info", "resnet18_a1_in1k", "--json"], ok=False, cwd="/")
        checks.append(("the installed lucidgen runs from / and names no file of the source tree",
                       r.returncode == 0 and not names_source, f"exit {r.returncode}, names {ROOT}: {names_source}"))
        man = open(os.path.join(prefix, "share/man/man1/lucidgen.1")).read()
        checks.append(("the man page is lucidgen --help", ".TH LUCIDGEN 1" in man and "\\-\\-random\\-init" in man,
                       man[:200]))

        build = os.path.join(d, "build")
        run(["cmake", "-S", os.path.join(EXAMPLES, "consumer"), "-B", build, "-G", generator,
             f"-DCMAKE_PREFIX_PATH={prefix}"])
        run(["cmake", "--build", build, "-j2"])
        r = run([os.path.join(build, "app")], ok=False)
        checks.append((f"examples/consumer ({generator}) builds and passes its self-test",
                       r.returncode == 0 and "selftest: PASS" in r.stdout, r.stdout + r.stderr))

        src = os.path.join(d, "status.c")
        open(src, "w").write('#include "lg_status.h"\n#include <stdio.h>\n'
                             'int main(void) { puts(lg_status_name(LG_ERR_FORMAT)); return 0; }\n')
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
        flags = run(["pkg-config", "--cflags", "--libs", "--static", "lucidgen-runtime"], env=env).stdout.split()
        run(["cc", src, "-o", os.path.join(d, "status")] + flags)
        r = run([os.path.join(d, "status")], ok=False)
        checks.append(("pkg-config's flags compile and link a runtime program", r.stdout.strip() == "format error",
                       r.stdout + r.stderr))
        return report(checks, "consumer")


def classify_folder(lucidgen):
    with tempfile.TemporaryDirectory() as d:
        images = os.path.join(d, "images")
        for i in range(5):  # 5 images: batches of 4 and 1
            picture(os.path.join(images, f"p{i}.png"), i)
        shutil.copy(os.path.join(EXAMPLES, "images", "ball_scene.jpg"), images)
        build = os.path.join(d, "build")
        run(["cmake", "-S", os.path.join(EXAMPLES, "classify_folder"), "-B", build, f"-DLUCIDGEN_EXECUTABLE={lucidgen}",
             f"-DMODEL_VARIANT={SMALL}"])
        run(["cmake", "--build", build, "-j2"])
        out = os.path.join(d, "predictions.csv")
        run([os.path.join(build, "classify_folder"), images, out, os.path.join(ROOT, "variants/labels/imagenet-1k.txt")])
        rows = list(csv.DictReader(open(out)))
        got = {os.path.basename(r["path"]): [int(c) for c in r["top5"].split()] for r in rows}

        # the same model through the classifier lucidgen builds
        exe = os.path.join(d, "cls")
        run([lucidgen, "build", SMALL, "--random-init=0", "--size", "64", "--quiet", "-o", exe])
        listing = os.path.join(d, "all.csv")
        with open(listing, "w") as f:
            f.writelines(f"{os.path.join(images, name)},0\n" for name in sorted(os.listdir(images)))
        run([exe, "--eval-list", listing, "--eval-report", os.path.join(d, "r.json")])
        want = {os.path.basename(p["path"]): p["top5"] for p in json.load(open(os.path.join(d, "r.json")))["predictions"]}
        checks = [("one CSV row per image, with label names", len(rows) == 6 and all(r["label"] for r in rows),
                   str(rows)),
                  ("top-5 per image equals the classifier's (batches of 4, the last partial)", got == want,
                   f"example {got}, classifier {want}")]
        return report(checks, "classify_folder")


def features(build_dir):
    with tempfile.TemporaryDirectory() as d:
        prefix = os.path.join(d, "prefix")
        install(build_dir, prefix)
        images = os.path.join(d, "images")
        for i in range(3):
            img = picture(os.path.join(images, f"pic{i}.png"), 10 * i + 1, 80 + 8 * i, 96)
            # its near-duplicate: a little brighter
            twin = Image.fromarray(np.minimum(np.asarray(img).astype(int) + 6, 255).astype(np.uint8))
            twin.save(os.path.join(images, f"pic{i}_twin.png"))
        build = os.path.join(d, "build")
        run(["cmake", "-S", os.path.join(EXAMPLES, "features"), "-B", build, f"-DCMAKE_PREFIX_PATH={prefix}"])
        run(["cmake", "--build", build, "-j2"])
        r = run([os.path.join(build, "nearest_images"), images])
        print(r.stdout, end="")
        pairs = dict(line.split("  (")[0].split(" -> ") for line in r.stdout.splitlines() if " -> " in line)
        wrong = {a: b for a, b in pairs.items() if b.replace("_twin", "") != a.replace("_twin", "") or a == b}
        checks = [("every picture's nearest neighbour is its near-duplicate", len(pairs) == 6 and not wrong,
                   f"{wrong or pairs}")]
        return report(checks, "features")


def ci_recipe(lucidgen):
    import yaml

    with tempfile.TemporaryDirectory() as d:
        sample = os.path.join(d, "sample")
        for i, synset in enumerate(["n01440764", "n01440764", "n01443537", "n01443537"]):
            picture(os.path.join(sample, synset, f"img{i}.png"), i)
        env = dict(os.environ, LUCIDGEN=lucidgen, LUCIDGEN_OPTIONS="--random-init --size 64", MIN_TOP1="0")
        script = os.path.join(EXAMPLES, "ci", "pipeline.sh")
        out = os.path.join(d, "dist")
        r = run([script, SMALL, sample, out], ok=False, env=env)
        published = sorted(os.listdir(out)) if os.path.isdir(out) else []
        want = ["SHA256SUMS", "eval.json", "model", "model.bin", "model.c", "model.h", "model.json"]
        checks = [("a gate it meets: exit 0, the artifacts published", r.returncode == 0 and published == want,
                   f"exit {r.returncode}, {published}\n{r.stdout}{r.stderr}")]
        top1 = json.load(open(os.path.join(out, "eval.json")))["top1"] if r.returncode == 0 else 0
        sums = run(["sha256sum", "-c", "SHA256SUMS"], ok=False, cwd=out)
        checks.append(("SHA256SUMS verifies", sums.returncode == 0, sums.stdout + sums.stderr))

        out2 = os.path.join(d, "dist2")
        env["MIN_TOP1"] = str(top1 + 1)
        r = run([script, SMALL, sample, out2], ok=False, env=env)
        published = sorted(os.listdir(out2)) if os.path.isdir(out2) else []
        checks.append((f"a gate above its top-1 ({top1}% < {top1 + 1}%): exit 1, only the report",
                       r.returncode == 1 and published == ["eval.json"], f"exit {r.returncode}, {published}"))

        wf = yaml.safe_load(open(os.path.join(EXAMPLES, "ci", "github-actions.yml")))
        steps = [s.get("run", "") for job in wf["jobs"].values() for s in job["steps"]]
        checks.append(("the sample workflow parses and runs pipeline.sh",
                       any("examples/ci/pipeline.sh" in s for s in steps), str(steps)))
        return report(checks, "ci recipe")


if __name__ == "__main__":
    mode, rest = sys.argv[1], sys.argv[2:]
    modes = {"consumer": consumer, "classify-folder": classify_folder, "features": features, "ci-recipe": ci_recipe}
    if mode not in modes:
        sys.exit(f"unknown mode {mode}")
    sys.exit(modes[mode](*rest))
