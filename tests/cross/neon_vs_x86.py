#!/usr/bin/python3
"""A NEON build on an emulated AArch64 CPU against this machine's build (label `cross`).

  neon_vs_x86.py LUCIDGEN VARIANT [lucidgen options]

Builds the classifier twice from the same seeded weights: for this machine
(--target native) and, with aarch64-linux-gnu-gcc, for --target neon. Under
qemu-aarch64 the NEON build must pass its own self-test (the generator's
reference output stored in its blob) and, on one random input, agree with the
x86 build within the parity tolerance: max|diff| <= 1e-4 max|x86| and cosine
>= 0.99999 (the kernels sum in another order, so bits may differ).
"""
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

CROSS_CC = "aarch64-linux-gnu-gcc"
QEMU = ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"]


def sh(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        print("NOT OK: " + " ".join(cmd) + f" (exit {r.returncode})\n" + r.stdout + r.stderr)
        sys.exit(1)
    return r


def main():
    lucidgen, variant, opts = sys.argv[1], sys.argv[2], sys.argv[3:]
    for tool in (CROSS_CC, QEMU[0]):
        if not shutil.which(tool):
            print(f"SKIPPED: {tool} not installed (.ci/install-deps installs it)")
            return 77
    with tempfile.TemporaryDirectory() as d:
        x86, neon = os.path.join(d, "x86"), os.path.join(d, "neon")
        gen = [lucidgen, "build", variant, "--random-init", "--quiet"] + opts
        sh(gen + ["-o", x86])
        sh(gen + ["--target", "neon", "-o", neon], env=dict(os.environ, CC=CROSS_CC))
        r = sh(QEMU + [neon, "--selftest"])
        print("neon: " + r.stdout.strip())
        n = sh([x86, "--help"]).stdout.split("--input-raw FILE   run on ")[1].split()[0]
        inp = os.path.join(d, "in.f32")
        rng = random.Random(11)
        with open(inp, "wb") as f:
            f.write(struct.pack(f"<{int(n)}f", *(rng.gauss(0, 1) for _ in range(int(n)))))
        outs = []
        for name, cmd in (("x86", [x86]), ("neon", QEMU + [neon])):
            out = os.path.join(d, name + ".f32")
            sh(cmd + ["--input-raw", inp, "--output-raw", out, "--threads", "2"])
            data = open(out, "rb").read()
            outs.append(struct.unpack(f"<{len(data) // 4}f", data))
    a, b = outs
    mag = max(abs(x) for x in a)
    diff = max(abs(x - y) for x, y in zip(a, b))
    cos = sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
    ok = len(a) == len(b) and diff <= 1e-4 * mag and cos >= 0.99999
    print(f"{'OK' if ok else 'NOT OK'} neon-vs-x86 {variant}: {len(a)} outputs, max|diff| {diff:.3g}, "
          f"max|x86| {mag:.3g}, ratio {diff / mag:.2g} (tol 1e-4), cosine {cos:.8f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
