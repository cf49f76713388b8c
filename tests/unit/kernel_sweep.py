#!/usr/bin/python3
"""The microkernel tester: every kernel kind and strategy against the naive reference.

  kernel_sweep.py LUA_UNIT [--targets avx512,avx2,generic] [--numerics fp32|dtypes|bf16|all]
  kernel_sweep.py LUA_UNIT --targets neon --cc aarch64-linux-gnu-gcc \
      --run "qemu-aarch64 -L /usr/aarch64-linux-gnu"      (a cross target under emulation)

For each target this CPU runs (default: all of them it can),
tests/unit/kernel_cases.lua (run by LUA_UNIT, tests/unit/lua_unit_main.c, on
lucidgen's own modules) writes one small model per case (
GEMM tile tails in M/N/K, groups, strides, padding, packed stems, Winograd,
depthwise, norms, pools, every epilogue). All cases of a target link into one
program that, per case, runs the golden self-test (reference: lg.refops on the
unfolded graph, double accumulation; one kernel must stay within max|diff| <=
2e-5 max|ref|, five times tighter than a whole model's 1e-4) and
checks that 1, 2 and 3 threads give bit-identical outputs.

Integer inference (--numerics int8): every case on every target that runs int8,
each required to equal the scheme's scalar reference exactly (host/lua_qref.c,
docs/int8.md) and so every other target bit for bit.

Reduced precision (--numerics): `dtypes` reruns the cases with bf16, f16 and
int8 weights on every target (the golden is then the reference with the same
rounding, so 2e-5 still holds); `bf16` runs --precision bf16 on every target,
with AVX512-BF16 in hardware where the CPU has it (avx512bf16) and emulated on
the others, and requires every target's outputs to be bit-identical to the
first's in every case that does bf16 dot products: the emulation computes
what vdpbf16ps computes. (Kernels that stay fp32 -- depthwise, norms -- differ
between targets as their fp32 versions do: vector widths change the order of
their sums. So does a GELU epilogue on the portable target, whose compiler
may or may not fuse the polynomial's multiply-adds: those cases are compared
between the vector targets only.)
"""
import argparse
import os
import shlex
import subprocess
import sys
import tempfile

MAIN = r'''
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
%(includes)s
typedef int (*forward_fn)(const float *, float *, void *, const void *);
typedef int (*selftest_fn)(void *, const void *, float *, float *, float *);
struct kcase { const char *name; double tol; size_t header, arena, in_floats, out_floats; forward_fn forward; selftest_fn selftest; };
static const struct kcase cases[] = {
%(table)s
};

static void *load_payload(const char *dir, const char *name, size_t header) {
  char path[4096];
  snprintf(path, sizeof path, "%%s/%%s.bin", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, (long)header, SEEK_SET);
  void *p = aligned_alloc(64, ((size_t)size + 63) / 64 * 64);
  if (!p || fread(p, 1, (size_t)size - header, f) != (size_t)size - header) return NULL;
  fclose(f);
  return p;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  int failed = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const struct kcase *c = &cases[i];
    void *blob = load_payload(argv[1], c->name, c->header);
    void *arena = aligned_alloc(64, (c->arena + 63) / 64 * 64 + 64);
    float *out = malloc(c->out_floats * sizeof(float)), *ref = malloc(c->out_floats * sizeof(float));
    float *in = malloc(c->in_floats * sizeof(float));
    if (!blob || !arena || !out || !ref || !in) {
      printf("NOT OK %%s: cannot load the blob\n", c->name);
      failed++;
      continue;
    }
    float err, mag;
    omp_set_num_threads(1);
    int bad = c->selftest(arena, blob, out, &err, &mag);
    /* the same input on 1, 2 and 3 threads: the same bits */
    for (size_t j = 0; j < c->in_floats; j++) in[j] = (float)((j * 7919) %% 2003) / 1001.0f - 1.0f;
    c->forward(in, ref, arena, blob);
    int same = 1;
    for (int t = 2; t <= 3; t++) {
      omp_set_num_threads(t);
      c->forward(in, out, arena, blob);
      same = same && memcmp(out, ref, c->out_floats * sizeof(float)) == 0;
    }
    /* one kernel against the double-precision reference: tighter than a whole model's 1e-4 */
    bad = bad || !(err <= c->tol * mag);
    printf("%%s %%s: max|diff| %%.3g, max|ref| %%.3g, ratio %%.2g (tol %%g)%%s\n", bad || !same ? "NOT OK" : "OK",
           c->name, err, mag, mag > 0 ? err / mag : err, c->tol,
           same ? "; threads 1/2/3 bit-identical" : "; THREADS DIFFER");
    failed += bad || !same;
    /* the 1-thread output, for comparing targets */
    char path[4096];
    snprintf(path, sizeof path, "%%s/%%s.out", argv[1], c->name);
    FILE *f = fopen(path, "wb");
    failed += !f || fwrite(ref, sizeof(float), c->out_floats, f) != c->out_floats;
    if (f) fclose(f);
    free(blob), free(arena), free(out), free(ref), free(in);
  }
  return failed ? 1 : 0;
}
'''


def cpu_targets():
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    targets = []
    if "avx512f" in flags and "avx512_bf16" in flags:
        targets.append("avx512bf16")
    if "avx512f" in flags and "avx512bw" in flags and "avx512_vnni" in flags:
        targets.append("avx512vnni")
    if "avx512f" in flags:
        targets.append("avx512")
    if "avx2" in flags and "fma" in flags and "avx_vnni" in flags:
        targets.append("avxvnni")
    if "avx2" in flags and "fma" in flags:
        targets.append("avx2")
    return targets + ["generic"]


# the targets that run --precision int8 (generator/targets.lua's `int8`)
INT8_TARGETS = ("avx512vnni", "avxvnni", "avx2", "neon-dotprod", "neon", "cortex-m", "generic")


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from harness import compile_model, missing_tool  # noqa: E402


def run_target(lua_unit, target, work, extra, cc, runner):
    """Runs the cases of one target and option set; returns (failures, directory with <case>.out)."""
    d = os.path.join(work, target + ("_" + "_".join(a.strip("-") for a in extra) if extra else ""))
    r = subprocess.run([lua_unit, "tests/unit/kernel_cases.lua", "-o", d, "--target", target, "--quiet"] + extra,
                       capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        print(f"NOT OK {target}: tests/unit/kernel_cases.lua failed\n{r.stderr}")
        return 1, d
    cases = [line.split() for line in open(os.path.join(d, "cases.txt")).read().splitlines()]
    names = [n for n, _, _ in cases]
    table = "\n".join(f'  {{"{n}", {tol}, {n}_BLOB_HEADER_BYTES, {n}_ARENA_BYTES, {n}_IN_FLOATS, {n}_OUT_FLOATS, {n}_forward, {n}_selftest}},'
                      for n, tol, _ in cases)
    includes = "\n".join(f'#include "{n}.h"' for n in names)
    with open(os.path.join(d, "main.c"), "w") as f:
        f.write(MAIN % {"includes": includes, "table": table})
    exe = os.path.join(d, "sweep")
    r = compile_model(cc, [os.path.join(d, "main.c")] + [os.path.join(d, n + ".c") for n in names], exe,
                      os.path.join(d, names[0] + ".json"), ["-fopenmp", "-Wall", "-Wextra", "-Werror", "-I", d],
                      ok=False)
    if r.returncode != 0:
        print(f"NOT OK {target}: the generated cases do not compile cleanly\n{r.stderr[-4000:]}")
        return 1, d
    r = subprocess.run(runner + [exe, d], capture_output=True, text=True)
    label = target + (" " + " ".join(extra) if extra else "")
    print("\n".join(f"[{label}] {line}" for line in r.stdout.splitlines()))
    if r.returncode != 0:
        print(f"NOT OK {label}: {r.stderr}")
    return (1 if r.returncode != 0 else 0), d


def same_bits(runs, what="bf16"):
    """Every target's outputs against the first target's, case by case: under bf16 the
    cases that do bf16 dot products, under int8 every case."""
    (first, d0), failed = runs[0], 0
    for target, d in runs[1:]:
        differ = []
        for line in open(os.path.join(d0, "cases.txt")).read().splitlines():
            name, _, dot = line.split()
            if what == "bf16" and (dot == "0" or (target == "generic" and "gelu" in name)):
                continue
            a, b = (open(os.path.join(x, name + ".out"), "rb").read() for x in (d0, d))
            if a != b:
                differ.append(name)
        print(f"{'NOT OK' if differ else 'OK'} {what} {target} vs {first}: "
              + (f"outputs differ in {', '.join(differ)}" if differ else "every case bit-identical"))
        failed += bool(differ)
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lua_unit", help="the lua_unit test runner (tests/unit/lua_unit_main.c)")
    ap.add_argument("--targets", help="comma-separated (default: every target this CPU runs)")
    ap.add_argument("--numerics", choices=["fp32", "dtypes", "bf16", "int8", "all"], default="fp32",
                    help="fp32 (default): f32 weights; dtypes: bf16, f16, int8 weights; bf16: bf16 compute; "
                    "int8: integer inference, bit-identical to the scheme's reference and across targets")
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"), help="compiler (default $CC, else cc)")
    ap.add_argument("--run", default="", help="command prefix that runs the program (an emulator)")
    args = ap.parse_args()
    targets = args.targets.split(",") if args.targets else cpu_targets()
    runner = shlex.split(args.run)
    missing = missing_tool([args.cc] + runner[:1])
    if missing is not None:
        return missing
    tools = (args.cc, runner)
    fp32_targets = [t for t in targets if t not in ("avx512bf16", "avx512vnni", "avxvnni")]
    failed = 0
    with tempfile.TemporaryDirectory() as work:
        if args.numerics in ("fp32", "all"):
            for t in fp32_targets:
                failed += run_target(args.lua_unit, t, work, [], *tools)[0]
            # the 3x3 cases again as direct (indirect GEMM) convs
            failed += run_target(args.lua_unit, fp32_targets[0], work, ["--no-winograd"], *tools)[0]
        if args.numerics in ("dtypes", "all"):
            for dtype in ("bf16", "f16", "int8"):
                for t in fp32_targets:
                    failed += run_target(args.lua_unit, t, work, ["--weights-dtype", dtype], *tools)[0]
        if args.numerics in ("bf16", "all"):
            runs = []
            for t in targets:
                bad, d = run_target(args.lua_unit, t, work, ["--precision", "bf16"], *tools)
                failed += bad
                runs.append((t, d))
            failed += same_bits(runs) if not failed else 0
        if args.numerics in ("int8", "all"):
            runs = []
            for t in [t for t in targets if t in INT8_TARGETS]:
                bad, d = run_target(args.lua_unit, t, work, ["--precision", "int8"], *tools)
                failed += bad
                runs.append((t, d))
            failed += same_bits(runs, "int8") if not failed and len(runs) > 1 else 0
    print(f"{'NOT OK' if failed else 'OK'}: kernel sweep ({args.numerics}) over {', '.join(targets)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
