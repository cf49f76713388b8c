#!/usr/bin/python3
"""A NEON build on an emulated AArch64 CPU against this machine's build (label `cross`).

  neon_vs_x86.py LUCIDGEN VARIANT [--arm-target neon-dotprod] [lucidgen options]

Generates the model twice from the same seeded weights: for this machine
(--target native) and for --target neon, and compiles each with the same
driver (tests/cross/raw_run.c: the model on raw floats, OpenMP, no image
decoders), the NEON one with aarch64-linux-gnu-gcc. Under qemu-aarch64 the
NEON build must pass its own self-test (the generator's reference output
stored in its blob) and, on one random input, agree with the x86 build within
the parity tolerance: max|diff| <= 1e-4 max|x86| and cosine >= 0.99999 (the
kernels sum in another order, so bits may differ). Options after VARIANT go to
both builds (--weights-dtype int8: both widen the same int8 weights; --precision
bf16: both emulate vdpbf16ps, the x86 side with --target avx2). Under --precision int8
the two must be bit-identical (every target computes the scheme's integers: docs/int8.md),
for --target neon (16-bit multiply-accumulates) and --arm-target neon-dotprod (sdot).
Without the cross compiler or qemu it is skipped (77), or fails where CI is set.
"""
import math
import os
import random
import struct
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CROSS_CC = "aarch64-linux-gnu-gcc"
QEMU = ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"]
RUNTIME = [os.path.join(ROOT, "runtime", f) for f in ("lg_blob.c", "lg_file.c", "lg_sha256.c", "lg_status.c")]
sys.path.insert(0, os.path.join(ROOT, "tests"))
from harness import compile_model, missing_tool, run  # noqa: E402


def build(lucidgen, variant, opts, target, cc, d):
    """Generates VARIANT for `target` into d and links it with raw_run.c; returns the executable."""
    os.makedirs(d)
    run([lucidgen, variant, "--random-init", "--quiet", "--target", target, "--name", "m", "-o",
         os.path.join(d, "m.c")] + opts)
    exe = os.path.join(d, "raw_run")
    compile_model(cc, [os.path.join(d, "m.c"), os.path.join(ROOT, "tests", "cross", "raw_run.c")] + RUNTIME, exe,
                  os.path.join(d, "m.json"),
                  ["-fopenmp", "-Wall", "-Wextra", "-D_POSIX_C_SOURCE=200809L", "-D_DEFAULT_SOURCE",
                   '-DLG_MODEL_HEADER="m.h"', "-DLG_MODEL(x)=m_##x", "-I", d, "-I", os.path.join(ROOT, "runtime")]
                  + (["-march=native"] if target == "native" else []))
    return exe


def main():
    lucidgen, variant, opts = sys.argv[1], sys.argv[2], sys.argv[3:]
    arm = "neon"
    if opts[:1] == ["--arm-target"]:
        arm, opts = opts[1], opts[2:]
    missing = missing_tool((CROSS_CC, QEMU[0]))
    if missing is not None:
        return missing
    env = dict(os.environ, OMP_NUM_THREADS="2")
    with tempfile.TemporaryDirectory() as d:
        # bf16 compute: avx2's emulation, bit for bit the hardware's, runs on any x86-64 CI machine
        x86_target = "avx2" if "bf16" in opts and "--precision" in opts else "native"
        x86 = build(lucidgen, variant, opts, x86_target, os.environ.get("CC", "cc"), os.path.join(d, "x86"))
        neon = build(lucidgen, variant, opts, arm, CROSS_CC, os.path.join(d, "neon"))
        blobs = [os.path.join(d, t, "m.bin") for t in ("x86", "neon")]
        hdr = open(os.path.join(d, "x86", "m.h")).read()
        dims = [int(hdr.split(f"#define m_{k} ")[1].split()[0]) for k in ("BATCH", "IN_CHANS", "IN_H", "IN_W")]
        n = math.prod(dims)
        inp = os.path.join(d, "in.f32")
        rng = random.Random(11)
        with open(inp, "wb") as f:
            f.write(struct.pack(f"<{n}f", *(rng.gauss(0, 1) for _ in range(n))))
        outs = []
        for name, cmd, blob in (("x86", [x86], blobs[0]), ("neon", QEMU + [neon], blobs[1])):
            out = os.path.join(d, name + ".f32")
            r = run(cmd + [blob, inp, out], env=env)
            print(f"{name}: {r.stdout.strip()}")
            data = open(out, "rb").read()
            outs.append(struct.unpack(f"<{len(data) // 4}f", data))
    a, b = outs
    mag = max(abs(x) for x in a)
    diff = max(abs(x - y) for x, y in zip(a, b))
    cos = sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
    # bf16 compute rounds every GEMM input: an activation that sums in another
    # order may round to the other bf16, so the two builds agree within bf16
    # compute's parity bounds (tests/parity/run_parity.py), not fp32's
    precision = opts[opts.index("--precision") + 1] if "--precision" in opts else "fp32"
    tol, min_cos = {"bf16": (4e-2, 0.9995), "int8": (0, 1)}.get(precision, (1e-4, 0.99999))
    ok = len(a) == len(b) and (a == b if precision == "int8" else diff <= tol * mag and cos >= min_cos)
    print(f"{'OK' if ok else 'NOT OK'} {arm}-vs-x86 {variant} {' '.join(opts)}: {len(a)} outputs, max|diff| {diff:.3g}, "
          f"max|x86| {mag:.3g}, ratio {diff / mag:.2g} (tol {tol:g}), cosine {cos:.8f} (min {min_cos:g})"
          + (", bit-identical" if a == b else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
