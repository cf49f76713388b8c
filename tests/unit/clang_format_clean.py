#!/usr/bin/python3
"""The C lucidgen emits and the project's own C are clang-format clean under
the repository's .clang-format (clang-format 14): generated C is for people to
read and to drop into projects that format their sources.

  generated LUCIDGEN LUA_UNIT [DIR]: generate small models covering every family,
      target and option that changes the emitted text, and the kernel tester's
      cases (tests/unit/kernel_cases.lua, run by LUA_UNIT), into DIR (kept) or a
      temporary directory, and require clang-format to leave each .c and .h
      unchanged, and the checked-in examples in generated/ too.
  hand-written: the same for every C file of the repository (host/, hub/,
      checkpoint/, runtime/, cmake/, tests/, examples/).

A failure prints, per file, the first lines clang-format would change.
"""
import difflib
import glob
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from harness import run  # noqa: E402
STYLE = "--style=file:" + os.path.join(ROOT, ".clang-format")
EMBEDDED = os.path.join(ROOT, "examples", "embedded", "model.lua")

# name -> lucidgen arguments: each family, each target, and each option that
# changes the emitted text, at input sizes that keep the whole run short.
MODELS = {
    "resnet18_avx2": ["resnet18_a1_in1k", "--size", "32", "--target", "avx2"],
    "resnet50_avx512_b2_options": ["resnet50_a1_in1k", "--size", "32x40", "--target", "avx512", "--batch", "2",
                                   "--no-winograd", "--io-in-arena", "--no-golden", "--num-classes", "0",
                                   "--in-chans", "1", "--name", "r"],
    "resnext50_neon": ["resnext50_32x4d_a1h_in1k", "--size", "32", "--target", "neon"],
    "bit_generic_big_endian": ["resnetv2_50x1_bit_goog_distilled_in1k", "--size", "32", "--target", "generic",
                               "--byte-order", "big"],
    "convnext_bf16_avx2": ["convnext_atto_d2_in1k", "--size", "32", "--target", "avx2", "--precision", "bf16",
                           "--error-inputs", "1"],
    "convnext_bf16_avx512bf16": ["convnext_atto_d2_in1k", "--size", "32", "--target", "avx512bf16",
                                 "--precision", "bf16", "--error-inputs", "1", "--keep-head-f32"],
    "convnext_bf16_neon": ["convnext_atto_d2_in1k", "--size", "32", "--target", "neon", "--precision", "bf16",
                           "--error-inputs", "1", "--name", "convnext_base_clip_laiona_augreg_ft_in1k_384"],
    "convnextv2_int8_cortex_m": ["convnextv2_atto_fcmae_ft_in1k", "--size", "32", "--target", "cortex-m",
                                 "--weights-dtype", "int8", "--error-inputs", "1"],
    "convnextv2_f16_neon": ["convnextv2_atto_fcmae_ft_in1k", "--size", "32", "--target", "neon",
                            "--weights-dtype", "f16", "--error-inputs", "1"],
    "resnet18_bf16w_pools": ["resnet18_a1_in1k", "--size", "48", "--target", "avx512", "--weights-dtype", "bf16",
                             "--arena-pools", "dtcm:64K,sram:256K,sdram", "--io-in-arena", "--error-inputs", "1"],
    # also checks OUT_weights.c, the blob as an array; under the longest variant
    # name of the registry, as a prefix would be
    "embedded_weights_c": ["--config", EMBEDDED, "--target", "cortex-m", "--weights-format", "c",
                           "--name", "convnext_base_clip_laion2b_augreg_ft_in12k_in1k_384"],
}
# the microkernel tester's models: every kernel shape (K split in blocks, packed
# stems, unfused element-wise ops, ...) in small files; their headers are the models'
# every kernel case, then the reduced-precision ones with the longest widening
# load (bf16 weights: Winograd expands U from them at run time)
KERNEL_CASES = {"kernels": ["--target", "avx512"], "kernels_bf16w": ["--target", "avx2", "--weights-dtype", "bf16"]}


def unformatted(path):
    """The first lines clang-format would change in path, or None."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    formatted = run(["clang-format", STYLE, path]).stdout
    if formatted == text:
        return None
    diff = difflib.unified_diff(text.splitlines(), formatted.splitlines(), path, "clang-format", n=1, lineterm="")
    return "\n".join(list(diff)[:24])


def check(paths):
    bad = 0
    for path in paths:
        d = unformatted(path)
        if d:
            bad += 1
            print(d)
    print("%d of %d files clang-format clean" % (len(paths) - bad, len(paths)))
    return 1 if bad else 0


def generated(lucidgen, lua_unit, out):
    out = os.path.abspath(out)
    for name, args in MODELS.items():
        run([lucidgen] + args + ["--random-init", "--quiet", "-o", os.path.join(out, name + ".c")])
    paths = sorted(glob.glob(os.path.join(out, "*.[ch]")))
    for sub, args in KERNEL_CASES.items():
        run([lua_unit, "tests/unit/kernel_cases.lua", "-o", os.path.join(out, sub), "--quiet"] + args, cwd=ROOT)
        paths += sorted(glob.glob(os.path.join(out, sub, "*.c")))
    return check(paths + sorted(glob.glob(os.path.join(ROOT, "generated", "*", "model.[ch]"))))


def hand_written():
    paths = []
    for top in ("host", "hub", "checkpoint", "runtime", "cmake", "tests", "examples"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            paths += [os.path.join(dirpath, f) for f in files if f.endswith((".c", ".h"))]
    return check(sorted(paths))


if __name__ == "__main__":
    if not shutil.which("clang-format"):
        sys.exit("FAIL: clang-format not found; .ci/install-deps installs it (Debian package clang-format)")
    version = run(["clang-format", "--version"]).stdout
    if " version 14." not in version:
        print("note: .clang-format is written for clang-format 14; this is " + version.strip())
    if len(sys.argv) >= 4 and sys.argv[1] == "generated":
        if len(sys.argv) > 4:
            os.makedirs(sys.argv[4], exist_ok=True)
            sys.exit(generated(sys.argv[2], sys.argv[3], sys.argv[4]))
        with tempfile.TemporaryDirectory() as tmp:
            sys.exit(generated(sys.argv[2], sys.argv[3], tmp))
    if sys.argv[1:] == ["hand-written"]:
        sys.exit(hand_written())
    sys.exit(__doc__)
