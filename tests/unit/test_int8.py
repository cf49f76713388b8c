#!/usr/bin/python3
"""Integer inference as a user meets it (docs/int8.md): calibration inputs of
every kind, one-line errors for bad ones, the int8 entry point, the arena an
int8 model needs, and what --int8-min-sqnr keeps in fp32.

  test_int8.py LUCIDGEN     every case; prints OK / NOT OK per case
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
import harness  # noqa: E402

LUCIDGEN = sys.argv[1]
SMALL = ["resnet18_a1_in1k", "--random-init", "--size", "32", "--precision", "int8", "--target", "generic"]
case = harness.Cases()


def run(*args, timeout=600):
    return harness.run([LUCIDGEN, *args], ok=False, timeout=timeout)


def one_line_error(r, *needles):
    lines = [l for l in r.stderr.strip().splitlines() if not l.startswith("lucidgen: warning")]
    problems = []
    if r.returncode != 2:
        problems.append(f"exit {r.returncode}, want 2")
    if len(lines) != 1:
        problems.append(f"{len(lines)} error lines, want 1: {r.stderr!r}")
    problems += [f"stderr lacks {n!r}: {r.stderr.strip()!r}" for n in needles if n not in r.stderr]
    return problems


def write_f32(path, count, chw=(3, 32, 32), value=None):
    n = count * chw[0] * chw[1] * chw[2]
    with open(path, "wb") as f:
        f.write(struct.pack(f"<{n}f", *([value] * n if value is not None else
                                        [((i * 7919) % 2003) / 1001.0 - 1.0 for i in range(n)])))


def write_ppm(path, w, h, seed):
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h))
        f.write(bytes((x * 37 + y * 11 + seed * 5 + c * 70) % 256 for y in range(h) for x in range(w) for c in range(3)))


def nothing_written(d):
    left = [f for f in os.listdir(d) if f.startswith("m.")]
    return [f"files written: {left}"] if left else []


@case
def int8_options_without_int8_are_refused():
    problems = []
    with tempfile.TemporaryDirectory() as d:
        for opt in (["--calibrate", d], ["--int8-min-sqnr", "30"], ["--int8-range", "mse"]):
            problems += one_line_error(run("resnet18_a1_in1k", "--random-init", *opt, "-o", d + "/m.c"), opt[0],
                                       "--precision int8")
        problems += nothing_written(d)
    return problems


@case
def calibration_inputs_that_are_not_regular_files_are_refused_without_blocking():
    # a FIFO would block the open until a writer came; it was reported as missing
    problems = []
    with tempfile.TemporaryDirectory() as d:
        fifo = d + "/images.fifo"
        os.mkfifo(fifo)
        with open(d + "/list.txt", "w") as f:
            f.write(fifo + "\n")
        for source, needles in ((fifo, ["--calibrate", "not a regular file"]),
                                ("/dev/zero", ["--calibrate /dev/zero", "not a regular file"]),
                                (d + "/list.txt", [fifo, "not a regular file"])):
            problems += one_line_error(run(*SMALL, "--calibrate", source, "-o", d + "/m.c", timeout=60), *needles)
        problems += nothing_written(d)
    return problems


@case
def bad_int8_option_values_name_what_works():
    problems = []
    with tempfile.TemporaryDirectory() as d:
        for opt, needles in ((["--int8-min-sqnr", "101"], ["--int8-min-sqnr", "0 .. 100"]),
                             (["--int8-min-sqnr", "lots"], ["--int8-min-sqnr"]),
                             (["--int8-range", "kl"], ["--int8-range 'kl'", "minmax, percentile or mse"]),
                             (["--weights-dtype", "bf16"], ["--precision int8 multiplies int8 weights"]),
                             (["--target", "avx512"], ["--target avx512 has no int8", "avx512vnni"])):
            problems += one_line_error(run(*SMALL[:-2], *opt, "-o", d + "/m.c"), *needles)
        problems += nothing_written(d)
    return problems


@case
def bad_calibration_sets_are_one_line_errors():
    problems = []
    with tempfile.TemporaryDirectory() as d:
        os.mkdir(d + "/empty")
        write_f32(d + "/one.f32", 1)
        write_f32(d + "/nan.f32", 3, value=float("nan"))
        with open(d + "/ragged.f32", "wb") as f:
            f.write(b"\0" * (3 * 32 * 32 * 4 + 8))
        with open(d + "/list.csv", "w") as f:
            f.write("path,label\nmissing.ppm,0\nalso_missing.ppm,1\n")
        for src, needles in ((d + "/empty", ["holds 0 inputs"]), (d + "/one.f32", ["holds 1 input", "at least 2"]),
                             (d + "/nan.f32", ["NaN or Inf"]), (d + "/ragged.f32", ["not a whole number of inputs"]),
                             (d + "/nowhere", ["does not exist"]), (d + "/list.csv", ["missing.ppm"])):
            problems += one_line_error(run(*SMALL, "--calibrate", src, "-o", d + "/m.c"), *needles)
        problems += nothing_written(d)
    return problems


@case
def images_of_any_size_and_lists_calibrate():
    """A folder of images of other sizes than the model's (transformed, not refused),
    and a list of the same images with a header and paths relative to the list."""
    problems = []
    with tempfile.TemporaryDirectory() as d:
        os.mkdir(d + "/imgs")
        for i, (w, h) in enumerate([(40, 30), (64, 64), (17, 50), (32, 32), (90, 45)]):
            write_ppm(f"{d}/imgs/{i}.ppm", w, h, i)
        with open(d + "/list.csv", "w") as f:
            f.write("path,label\n" + "".join(f"imgs/{i}.ppm,{i}\n" for i in range(5)))
        outs = []
        for src in (d + "/imgs", d + "/list.csv"):
            r = run(*SMALL, "--calibrate", src, "-o", d + "/m.c")
            if r.returncode != 0:
                problems.append(f"--calibrate {src}: exit {r.returncode}: {r.stderr.strip()}")
                continue
            if "5 images from" not in r.stderr:
                problems.append(f"--calibrate {src}: the log does not count 5 images: {r.stderr.strip()}")
            outs.append(json.load(open(d + "/m.json"))["precision"]["int8"]["input"])
        if len(outs) == 2 and outs[0] != outs[1]:
            problems.append(f"the folder and the list of the same images gave other input scales: {outs}")
    return problems


@case
def seeded_calibration_warns_that_real_images_are_needed():
    with tempfile.TemporaryDirectory() as d:
        r = run(*SMALL, "-o", d + "/m.c")
        problems = [] if r.returncode == 0 else [f"exit {r.returncode}: {r.stderr}"]
        if "real images" not in r.stderr:
            problems.append(f"no warning about seeded calibration: {r.stderr!r}")
        return problems


@case
def int8_arena_is_far_below_fp32():
    problems = []
    with tempfile.TemporaryDirectory() as d:
        # fp32 ConvNeXt-V2 never writes a GRN's output (passes/fuse_norm_apply.lua: fc2 applies
        # it), int8 does: its fp32 arena is the smaller of the two plans (0.46 at 64x64)
        for variant, most in (("resnet18_a1_in1k", 0.3), ("convnextv2_atto_fcmae_ft_in1k", 0.5),
                              ("resnetv2_50x1_bit_goog_distilled_in1k", 0.3)):
            arena = {}
            for prec in ("fp32", "int8"):
                r = run("info", variant, "--size", "64", "--precision", prec, "--target", "generic", "--json")
                if r.returncode != 0:
                    problems.append(f"info {variant} {prec}: {r.stderr.strip()}")
                    continue
                arena[prec] = json.loads(r.stdout)["totals"]["arena_bytes"]
            if len(arena) == 2:
                ratio = arena["int8"] / arena["fp32"]
                print(f"  {variant}: int8 arena {arena['int8']} / fp32 {arena['fp32']} = {ratio:.3f}")
                if ratio > most:
                    problems.append(f"{variant}: int8 arena is {ratio:.3f} of fp32's, want <= {most}")
    return problems


MAIN = r'''
#include "m.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* the int8 entry point against the float one on the same input: the input quantized as
 * the header says gives the same integer pass, the logits rounded as the header says */
static int8_t q8(float x, float s, int zp) {
  float t = x / s;
  long q = (long)(t < 0 ? t - 0.5f : t + 0.5f) + zp;
  return (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
}
int main(int argc, char **argv) {
  (void)argc;
  FILE *f = fopen(argv[1], "rb");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = aligned_alloc(64, (n + 63) / 64 * 64);
  if (fread(b, 1, n, f) != (size_t)n) return 2;
  const void *blob = b + resnet18_a1_in1k_BLOB_HEADER_BYTES;
  void *arena = aligned_alloc(64, resnet18_a1_in1k_ARENA_BYTES);
  static float x[resnet18_a1_in1k_IN_FLOATS], y[resnet18_a1_in1k_OUT_FLOATS];
  static int8_t xq[resnet18_a1_in1k_IN_FLOATS], yq[resnet18_a1_in1k_OUT_FLOATS];
  for (int i = 0; i < resnet18_a1_in1k_IN_FLOATS; i++) {
    xq[i] = (int8_t)((i * 7919) % 251 - 125);
    x[i] = (xq[i] - resnet18_a1_in1k_IN_ZERO_POINT) * resnet18_a1_in1k_IN_SCALE;
  }
  resnet18_a1_in1k_forward(x, y, arena, blob);
  resnet18_a1_in1k_forward_int8(xq, yq, arena, blob);
  int bad = 0;
  for (int i = 0; i < resnet18_a1_in1k_OUT_FLOATS; i++) {
    int want = q8(y[i], resnet18_a1_in1k_OUT_SCALE, resnet18_a1_in1k_OUT_ZERO_POINT);
    if (abs(want - yq[i]) > 1) { /* rounding the logits: our nearest-even vs this test's half away */
      if (bad++ < 5) printf("logit %d: int8 entry %d, float entry %g rounds to %d\n", i, yq[i], y[i], want);
    }
  }
  printf("%d of %d logits differ\n", bad, resnet18_a1_in1k_OUT_FLOATS);
  return bad != 0;
}
'''


@case
def int8_entry_point_matches_the_float_one():
    with tempfile.TemporaryDirectory() as d:
        r = run(*SMALL, "-o", d + "/m.c")
        if r.returncode != 0:
            return [f"generate: {r.stderr.strip()}"]
        with open(d + "/main.c", "w") as f:
            f.write(MAIN)
        c = harness.compile_model("cc", [d + "/main.c", d + "/m.c"], d + "/t", d + "/m.json",
                                  ["-fopenmp", "-Wall", "-Wextra", "-Werror", "-I", d], ok=False)
        if c.returncode != 0:
            return [f"compile: {c.stderr[-2000:]}"]
        t = subprocess.run([d + "/t", d + "/m.bin"], capture_output=True, text=True)
        print("  " + t.stdout.strip().replace("\n", "\n  "))
        return [] if t.returncode == 0 else [t.stdout.strip()]


@case
def min_sqnr_keeps_the_weakest_layers_in_fp32():
    with tempfile.TemporaryDirectory() as d:
        r = run(*SMALL, "--int8-min-sqnr", "100", "-o", d + "/m.c")
        if r.returncode != 0:
            return [f"exit {r.returncode}: {r.stderr.strip()}"]
        rep = json.load(open(d + "/m.json"))
        kept = rep["precision"]["int8"]["kept_fp32"]
        convs = [l["name"] for l in rep["layers"] if l["op"] in ("conv", "linear")]
        problems = []
        if sorted(kept) != sorted(convs):
            problems.append(f"at 100 dB every conv/linear stays fp32; kept {kept}, convs {convs}")
        if "kept in fp32" not in r.stderr:
            problems.append(f"the log does not say what was kept: {r.stderr!r}")
        if rep["precision"]["selftest_tolerance"] == 0:
            problems.append("a mixed model cannot self-test exactly")
        return problems


if __name__ == "__main__":
    sys.exit(case.main())
