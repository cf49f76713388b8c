#!/usr/bin/python3
"""Tests that need a generated model, driven through the real lucidgen binary.

  arena-guard VARIANT [lucidgen options]: generate, compile tests/unit/arena_guard.c
      against it, run in an arena of exactly ARENA_BYTES between guard pages.
  embed-weights VARIANT [options]: `lucidgen build --embed-weights` gives one
      self-contained executable (no EXE.bin) whose self-test passes.
  foreign-cpu VARIANT [options]: on an emulated Haswell (qemu-user: AVX2, no
      AVX-512) an avx512 classifier refuses to run with one line naming its
      target, and a generic one passes its self-test.
  threads-identical VARIANT [options]: the classifier's output on one input is
      bit-identical with 1, 2 and 4 threads (static schedules; reductions over
      fixed chunks, never per thread).
  classifier VARIANT [options]: a classifier built for VARIANT (a squash tag, so
      the crop mode matters) on non-square lossless pictures: its input is
      timm's eval transform (same logits as timm's tensor via --input-raw, not
      those of a center crop), --output-raw holds every image's row in order,
      and the payload is re-hashed only with --verify / --selftest.
  arena-pools VARIANT [options]: a model planned into three pools with the input
      and output in them (--arena-pools, --io-in-arena) gives the bits of the same
      model in one arena, run contiguously, from pools allocated apart, and with
      NULL in/out; pools too small for an activation are a one-line user error.
  weights-formats VARIANT [options]: --weights-format c and asm link the blob as
      m_blob (64-byte aligned, in .rodata.lucidgen) that the generated check accepts
      and the self-test runs on; --byte-order big writes every payload float
      byte-swapped and the runtime refuses it on this CPU in one line; --no-golden
      leaves the golden data out and --selftest says so (exit 2).
  generated-is-current DIR: regenerate the checked-in example in generated/DIR
      with the options recorded in its generate.args and require byte-identical
      output (the generator is deterministic and the copy is current).
"""
import filecmp
import json
import os
import random
import re
import shlex
import stat
import struct
import subprocess
import sys
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from harness import compile_model, run  # noqa: E402


def arena_guard(lucidgen, variant, opts):
    with tempfile.TemporaryDirectory() as d:
        model = os.path.join(d, "model.c")
        run([lucidgen, variant, "--random-init", "--quiet", "-o", model] + opts)
        prefix = variant + "_"
        exe = os.path.join(d, "guard")
        compile_model("cc", [os.path.join(ROOT, "tests/unit/arena_guard.c"), model]
                      + [os.path.join(ROOT, "runtime", f) for f in ("lg_blob.c", "lg_file.c", "lg_sha256.c", "lg_status.c")],
                      exe, os.path.join(d, "model.json"),
                      ["-fopenmp", "-march=native", "-D_DEFAULT_SOURCE", '-DLG_MODEL_HEADER="model.h"',
                       f"-DLG_MODEL(x)={prefix}##x", "-I", d, "-I", os.path.join(ROOT, "runtime")])
        r = subprocess.run([exe, os.path.join(d, "model.bin")], capture_output=True, text=True)
        print(r.stdout + r.stderr, end="")
        if r.returncode != 0:
            print(f"NOT OK arena-guard {variant}: exit {r.returncode} (a negative exit is the fault signal)")
            return 1
        print(f"OK arena-guard {variant}")
        return 0


def embed_weights(lucidgen, variant, opts):
    with tempfile.TemporaryDirectory() as d:
        exe = os.path.join(d, "model")
        run([lucidgen, "build", variant, "--random-init", "--embed-weights", "--quiet", "-o", exe] + opts)
        if os.path.exists(exe + ".bin"):
            print(f"NOT OK embed-weights {variant}: {exe}.bin exists beside a self-contained executable")
            return 1
        r = subprocess.run([exe, "--selftest"], capture_output=True, text=True, cwd="/")
        print(r.stdout + r.stderr, end="")
        if r.returncode != 0:
            print(f"NOT OK embed-weights {variant}: selftest exit {r.returncode}")
            return 1
    print(f"OK embed-weights {variant}")
    return 0


def arena_pools(lucidgen, variant, opts):
    with tempfile.TemporaryDirectory() as d:
        # placement does not depend on the target: portable C compiles anywhere
        gen = [lucidgen, variant, "--random-init", "--quiet", "--target", "generic"] + opts
        run(gen + ["--name", "plain", "-o", os.path.join(d, "plain.c")])
        run(gen + ["--name", "pooled", "--arena-pools", "dtcm:64K,sram:192K,sdram", "--io-in-arena", "-o",
                  os.path.join(d, "pooled.c")])
        exe = os.path.join(d, "pools")
        compile_model("cc", [os.path.join(ROOT, "tests/unit/arena_pools.c"), os.path.join(d, "plain.c"),
                             os.path.join(d, "pooled.c")], exe, os.path.join(d, "plain.json"),
                      ["-fopenmp", "-Wall", "-Wextra", "-Werror", "-I", d])
        r = subprocess.run([exe, os.path.join(d, "plain.bin"), os.path.join(d, "pooled.bin")], capture_output=True,
                           text=True)
        print(r.stdout + r.stderr, end="")
        if r.returncode != 0:
            print(f"NOT OK arena-pools {variant}: exit {r.returncode}")
            return 1
        out = os.path.join(d, "never.c")
        r = subprocess.run(gen + ["--arena-pools", "a:1K,b:2K", "-o", out], capture_output=True, text=True)
        lines = r.stderr.strip().splitlines()
        if r.returncode != 2 or len(lines) != 1 or "fits no pool" not in lines[0] or os.path.exists(out):
            print(f"NOT OK arena-pools: pools too small: exit {r.returncode}, {lines}")
            return 1
    print(f"OK arena-pools {variant}: pools, pools apart and io-in-arena give the one-arena bits; "
          f"too-small pools refused ({lines[0]})")
    return 0


def weights_formats(lucidgen, variant, opts):
    problems = []
    with tempfile.TemporaryDirectory() as d:
        gen = [lucidgen, variant] + opts + ["--random-init", "--quiet", "--target", "generic", "--name", "m"]
        for fmt in ("c", "asm"):
            sub = os.path.join(d, fmt)
            os.makedirs(sub)
            run(gen + ["--weights-format", fmt, "-o", os.path.join(sub, "m.c")])
            weights = os.path.join(sub, "m_weights." + ("c" if fmt == "c" else "S"))
            # one output set: the five files, no temporaries (OUT_weights.c is made from OUT.bin's)
            names = sorted(os.listdir(sub))
            if names != sorted(["m.c", "m.h", "m.bin", "m.json", os.path.basename(weights)]):
                problems.append(f"--weights-format {fmt} wrote {names}")
            exe, obj = os.path.join(sub, "linked"), os.path.join(sub, "weights.o")
            run(["cc", "-c", "-Wa,-I" + sub, "-I", sub, weights, "-o", obj])
            compile_model("cc", [os.path.join(ROOT, "tests/unit/linked_weights.c"), os.path.join(sub, "m.c"), obj], exe,
                          os.path.join(sub, "m.json"), ["-fopenmp-simd", "-Wall", "-Wextra", "-Werror", "-I", sub])
            r = subprocess.run([exe], capture_output=True, text=True)
            print("\n".join(f"[{fmt}] {line}" for line in r.stdout.splitlines()))
            if r.returncode != 0:
                problems.append(f"--weights-format {fmt}: exit {r.returncode}")
            sections = subprocess.run(["objdump", "-h", obj], capture_output=True, text=True).stdout
            if not re.search(r"\.rodata\.lucidgen .*\n.*\bREADONLY\b", sections) or "2**6" not in sections:
                problems.append(f"--weights-format {fmt}: the object has no read-only, 64-byte aligned "
                                f".rodata.lucidgen:\n{sections}")
        # the same weights in both byte orders: every payload float swapped, the header's mark too
        little, big = os.path.join(d, "le.c"), os.path.join(d, "be.c")
        run(gen + ["-o", little])
        run(gen + ["--byte-order", "big", "-o", big])
        le, be = open(little[:-2] + ".bin", "rb").read(), open(big[:-2] + ".bin", "rb").read()
        swapped = b"".join(be[i:i + 4][::-1] for i in range(512, len(be), 4))
        if le[512:] != swapped:
            problems.append("--byte-order big: the payload is not the little-endian one with each float swapped")
        if le[288:292] != b"\x04\x03\x02\x01" or be[288:292] != b"\x01\x02\x03\x04":
            problems.append(f"byte-order marks {le[288:292]!r} / {be[288:292]!r}")
        exe = os.path.join(d, "be_exe")
        run([lucidgen, "build", variant] + opts + ["--random-init", "--quiet", "--target", "generic", "--byte-order",
                                                  "big", "-o", exe])
        r = subprocess.run([exe, "--selftest"], capture_output=True, text=True)
        lines = r.stderr.strip().splitlines()
        if r.returncode != 2 or len(lines) != 1 or "big-endian floats but this CPU is little-endian" not in r.stderr:
            problems.append(f"a big-endian blob on this CPU: exit {r.returncode}, {lines}")
        else:
            print("OK big-endian blob refused: " + lines[0])
        exe = os.path.join(d, "nogolden")
        run([lucidgen, "build", variant] + opts + ["--random-init", "--quiet", "--target", "generic", "--no-golden",
                                                  "-o", exe])
        with_golden = os.path.getsize(little[:-2] + ".bin")
        without = os.path.getsize(exe + ".bin")
        r = subprocess.run([exe, "--selftest"], capture_output=True, text=True)
        if without >= with_golden or r.returncode != 2 or "--no-golden" not in r.stderr:
            problems.append(f"--no-golden: blob {without} vs {with_golden} bytes, selftest exit {r.returncode}: {r.stderr}")
        else:
            print(f"OK --no-golden: blob {with_golden - without} bytes smaller; " + r.stderr.strip())
    if problems:
        print("NOT OK weights-formats: " + "; ".join(problems))
        return 1
    print(f"OK weights-formats {variant}")
    return 0


def foreign_cpu(lucidgen, variant, opts):
    import shutil
    qemu = shutil.which("qemu-x86_64")
    if not qemu:
        print("SKIPPED: qemu-x86_64 not installed (Debian qemu-user)")
        return 77
    with tempfile.TemporaryDirectory() as d:
        for target in ("avx512", "generic"):
            run([lucidgen, "build", variant, "--random-init", "--quiet", "--target", target, "-o",
                os.path.join(d, target)] + opts)
        # bf16 compute: in hardware (needs AVX512-BF16), and emulated on AVX2
        for target in ("avx512bf16", "avx2"):
            run([lucidgen, "build", variant, "--random-init", "--quiet", "--target", target, "--precision", "bf16",
                "--error-inputs", "1", "-o", os.path.join(d, target)] + opts)
        refused = []
        for target in ("avx512", "avx512bf16"):
            r = subprocess.run([qemu, "-cpu", "Haswell", os.path.join(d, target), "--selftest"], capture_output=True,
                               text=True)
            ours = [line for line in r.stderr.splitlines() if not line.startswith("qemu-x86_64:")]
            if r.returncode != 2 or len(ours) != 1 or f"target {target}," not in ours[0]:
                print(f"NOT OK foreign-cpu: {target} build on Haswell: exit {r.returncode}, {ours}")
                return 1
            refused.append(ours[0])
        for target in ("generic", "avx2"):
            r = subprocess.run([qemu, "-cpu", "Haswell", os.path.join(d, target), "--selftest"], capture_output=True,
                               text=True)
            if r.returncode != 0 or "PASS" not in r.stdout:
                print(f"NOT OK foreign-cpu: {target} build on Haswell: exit {r.returncode}: {r.stdout}{r.stderr}")
                return 1
    print(f"OK foreign-cpu {variant}: avx512 and avx512bf16 builds refused ({'; '.join(refused)}); generic and "
          "emulated-bf16 avx2 builds pass on Haswell")
    return 0


def bf16_hardware_matches_emulation(lucidgen, variant, opts):
    """--precision bf16 on avx512bf16 (vdpbf16ps) and on avx512 (the emulation, same
    vocabulary otherwise): the same bits out of a whole model."""
    with open("/proc/cpuinfo") as f:
        flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    if "avx512_bf16" not in flags:
        print("SKIPPED: this CPU has no AVX512-BF16")
        return 77
    with tempfile.TemporaryDirectory() as d:
        outputs = {}
        for target in ("avx512bf16", "avx512"):
            exe = os.path.join(d, target)
            run([lucidgen, "build", variant, "--random-init", "--quiet", "--precision", "bf16", "--error-inputs", "1",
                "--target", target, "-o", exe] + opts)
            with open(os.path.join(exe + ".build", "model.json")) as f:
                n = 1
                for dim in json.load(f)["input_nchw"]:
                    n *= dim
            inp, out = os.path.join(d, "in.f32"), os.path.join(d, target + ".f32")
            rng = random.Random(11)
            with open(inp, "wb") as f:
                f.write(struct.pack(f"<{n}f", *(rng.gauss(0, 1) for _ in range(n))))
            r = subprocess.run([exe, "--input-raw", inp, "--output-raw", out], capture_output=True, text=True)
            if r.returncode != 0:
                print(f"NOT OK bf16 {target}: exit {r.returncode}: {r.stderr}")
                return 1
            outputs[target] = open(out, "rb").read()
        if outputs["avx512bf16"] != outputs["avx512"]:
            print(f"NOT OK bf16 {variant}: vdpbf16ps and its emulation give different outputs")
            return 1
    print(f"OK bf16 {variant}: vdpbf16ps and its emulation give the same {len(outputs['avx512'])} bytes")
    return 0


def threads_identical(lucidgen, variant, opts):
    with tempfile.TemporaryDirectory() as d:
        exe = os.path.join(d, "model")
        run([lucidgen, "build", variant, "--random-init", "--quiet", "-o", exe] + opts)
        with open(os.path.join(exe + ".build", "model.json")) as f:
            n = 1
            for dim in json.load(f)["input_nchw"]:
                n *= dim
        inp = os.path.join(d, "in.f32")
        rng = random.Random(7)
        with open(inp, "wb") as f:
            f.write(struct.pack(f"<{n}f", *(rng.gauss(0, 1) for _ in range(n))))
        outputs = []
        for threads in (1, 2, 4):
            out = os.path.join(d, f"out{threads}.f32")
            r = subprocess.run([exe, "--input-raw", inp, "--output-raw", out, "--threads", str(threads)],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(f"NOT OK threads-identical {variant}: {threads} threads: exit {r.returncode}: {r.stderr}")
                return 1
            with open(out, "rb") as f:
                outputs.append(f.read())
        if not (outputs[0] == outputs[1] == outputs[2]):
            print(f"NOT OK threads-identical {variant}: outputs differ between 1, 2 and 4 threads")
            return 1
    print(f"OK threads-identical {variant}: 1, 2 and 4 threads give the same {len(outputs[0])} bytes")
    return 0


def classifier(lucidgen, variant, opts):
    import numpy as np
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from preprocess_vs_pil import draw_picture, timm_eval_transform

    failed = []

    def report(ok, what, detail):
        print(f"{'OK    ' if ok else 'NOT OK'} {what}: {detail}")
        if not ok:
            failed.append(what)

    with tempfile.TemporaryDirectory() as d:
        exe = os.path.join(d, "net")
        run([lucidgen, "build", variant, "--random-init", "--quiet", "-o", exe] + opts)
        # a #define too long for one line continues on the next (clang-format's shape)
        h = open(os.path.join(exe + ".build", "model.h")).read().replace("\\\n", "")

        def define(key):
            import re
            return re.search(rf"#define {variant}_{key} (.*?)(?: /\*.*)?$", h, re.M).group(1).strip()

        batch, size = int(define("BATCH")), (int(define("IN_H")), int(define("IN_W")))
        out_dim = int(define("OUT_DIM"))
        crop_pct, interp = float(define("CROP_PCT").rstrip("f")), define("INTERPOLATION").strip('"')
        import json
        crop_mode = json.loads(run([lucidgen, "info", variant, "--json"] + opts).stdout)["crop_mode"]  # timm's fact
        floats = lambda key: tuple(float(x.rstrip("f")) for x in define(key).strip("{} ").split(","))  # noqa: E731
        mean, std = floats("MEAN"), floats("STD")
        pictures = []
        for i, (w, h_) in enumerate([(500, 375), (301, 640), (640, 200)]):
            pictures.append(os.path.join(d, f"pic{i}.png"))
            draw_picture(w, h_, 20 + i).save(pictures[-1])

        def logits(*args):
            out = os.path.join(d, "out.f32")
            run([exe, "--threads", "1", "--output-raw", out] + list(args))
            return np.fromfile(out, dtype=np.float32).reshape(-1, out_dim)

        def logits_of_tensor(x):
            inp = os.path.join(d, "in.f32")
            np.stack([x] * batch).astype(np.float32).tofile(inp)
            return logits("--input-raw", inp)[0]

        # 1. the classifier's input is timm's, in the variant's crop mode
        from PIL import Image
        img = Image.open(pictures[0]).convert("RGB")
        want = logits_of_tensor(timm_eval_transform(*size, crop_pct, crop_mode, interp, mean, std)(img).numpy())
        center = logits_of_tensor(timm_eval_transform(*size, crop_pct, "center", interp, mean, std)(img).numpy())
        got = logits(pictures[0])[0]
        diff, off = float(np.abs(got - want).max()), float(np.abs(got - center).max())
        report(crop_mode != "center" and diff == 0.0 and off > 0.0, f"{crop_mode}_input_matches_timm",
               f"crop mode {crop_mode}: max|logits - timm's| {diff:.3g}, vs a center crop {off:.3g}")

        # 2. --output-raw: every image's row, in order, across batches
        rows = logits(*pictures)
        single = np.stack([logits(p)[0] for p in pictures])
        ok = rows.shape == single.shape and np.array_equal(rows, single)
        report(ok, "output_raw_holds_every_image_in_order",
               f"{rows.shape[0]} rows for {len(pictures)} images at batch {batch}"
               + ("" if rows.shape != single.shape else f", max|row - alone| {float(np.abs(rows - single).max()):.3g}"))

        # 2b. --output-raw to a pipe (a stand-in for /dev/null or /dev/stdout) is
        # written in place: renaming a temporary over it would replace the device
        fifo = os.path.join(d, "rows.fifo")
        os.mkfifo(fifo)
        got_bytes = []
        reader = threading.Thread(target=lambda: got_bytes.append(open(fifo, "rb").read()), daemon=True)
        reader.start()
        r = subprocess.run([exe, "--threads", "1", "--output-raw", fifo, pictures[0]], capture_output=True,
                           text=True, timeout=300)
        reader.join(timeout=60)
        piped = np.frombuffer(got_bytes[0], dtype=np.float32) if got_bytes else np.zeros(0, np.float32)
        ok = r.returncode == 0 and stat.S_ISFIFO(os.stat(fifo).st_mode) and np.array_equal(piped, rows[0])
        report(ok, "output_raw_to_a_pipe_is_written_in_place",
               f"exit {r.returncode}, still a FIFO: {stat.S_ISFIFO(os.stat(fifo).st_mode)}, {piped.size} floats read")

        # 3. the header binding at every start, the payload hash only on request
        data = bytearray(open(exe + ".bin", "rb").read())
        data[len(data) // 2] ^= 0xFF
        bad = os.path.join(d, "tampered.bin")
        open(bad, "wb").write(bytes(data))
        runs = {
            "plain run on a tampered payload": ([exe, "--weights", bad, pictures[0]], 0, None),
            "--verify on a tampered payload": ([exe, "--weights", bad, "--verify"], 2, "corrupt"),
            "--selftest on a tampered payload": ([exe, "--weights", bad, "--selftest"], 2, "corrupt"),
            "--verify alone on the good blob": ([exe, "--verify"], 0, "matches"),
        }
        for what, (cmd, code, needle) in runs.items():
            r = subprocess.run(cmd, capture_output=True, text=True)
            ok = r.returncode == code and (needle is None or needle in r.stdout + r.stderr)
            report(ok, "verify: " + what, f"exit {r.returncode}, {(r.stdout + r.stderr).strip()[:160]!r}")
        data = bytearray(open(exe + ".bin", "rb").read())
        data[40] ^= 0x01  # the header's sha256: another generation's blob
        open(bad, "wb").write(bytes(data))
        r = subprocess.run([exe, "--weights", bad, pictures[0]], capture_output=True, text=True)
        report(r.returncode == 2 and "another generation" in r.stderr, "verify: header binding checked at every start",
               f"exit {r.returncode}, {r.stderr.strip()[:160]!r}")
        r = subprocess.run([exe, "--help"], capture_output=True, text=True)
        report("--verify" in r.stdout and "only --verify and --selftest hash" in r.stdout, "verify: --help says so",
               "usage text")
    print(("NOT OK classifier: " + ", ".join(failed)) if failed else f"OK classifier {variant}")
    return 1 if failed else 0


def generated_is_current(lucidgen, name):
    src = os.path.join(ROOT, "generated", name)
    args = shlex.split(open(os.path.join(src, "generate.args")).read())
    with tempfile.TemporaryDirectory() as d:
        run([lucidgen] + args + ["--quiet", "-o", os.path.join(d, "model.c")])
        run([lucidgen] + args + ["--quiet", "-o", os.path.join(d, "rerun_xq.c")])
        bad = []
        for ext in (".c", ".h", ".json"):
            a, b = os.path.join(d, "model" + ext), os.path.join(d, "rerun_xq" + ext)
            if open(a).read() != open(b).read().replace("rerun_xq.", "model."):
                bad.append(f"two runs differ in {ext}")
            if not filecmp.cmp(a, os.path.join(src, "model" + ext), shallow=False):
                bad.append(f"generated/{name}/model{ext} is stale: run tests/unit/generated_model_test.py regenerate")
        if bad:
            print("NOT OK generated " + name + ": " + "; ".join(bad))
            return 1
    print(f"OK generated/{name} is byte-identical to a fresh, repeated generation")
    return 0


def regenerate(lucidgen, name):
    src = os.path.join(ROOT, "generated", name)
    args = shlex.split(open(os.path.join(src, "generate.args")).read())
    run([lucidgen] + args + ["--quiet", "-o", os.path.join(src, "model.c")])
    os.remove(os.path.join(src, "model.bin"))  # 40+ MB: its sha256 is in model.h
    return 0


if __name__ == "__main__":
    lucidgen, mode, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    if mode == "arena-guard":
        sys.exit(arena_guard(lucidgen, rest[0], rest[1:]))
    if mode == "embed-weights":
        sys.exit(embed_weights(lucidgen, rest[0], rest[1:]))
    if mode == "arena-pools":
        sys.exit(arena_pools(lucidgen, rest[0], rest[1:]))
    if mode == "weights-formats":
        sys.exit(weights_formats(lucidgen, rest[0], rest[1:]))
    if mode == "foreign-cpu":
        sys.exit(foreign_cpu(lucidgen, rest[0], rest[1:]))
    if mode == "bf16-hardware-matches-emulation":
        sys.exit(bf16_hardware_matches_emulation(lucidgen, rest[0], rest[1:]))
    if mode == "threads-identical":
        sys.exit(threads_identical(lucidgen, rest[0], rest[1:]))
    if mode == "classifier":
        sys.exit(classifier(lucidgen, rest[0], rest[1:]))
    if mode == "generated-is-current":
        sys.exit(generated_is_current(lucidgen, rest[0]))
    if mode == "regenerate":
        sys.exit(regenerate(lucidgen, rest[0]))
    sys.exit(f"unknown mode {mode}")
