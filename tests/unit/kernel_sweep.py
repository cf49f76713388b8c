#!/usr/bin/python3
"""The microkernel tester: every kernel kind and strategy against the naive reference.

  kernel_sweep.py LUCIDGEN [--targets avx512,avx2,generic]
  kernel_sweep.py LUCIDGEN --targets neon --cc aarch64-linux-gnu-gcc \
      --run "qemu-aarch64 -L /usr/aarch64-linux-gnu"      (a cross target under emulation)

For each target this CPU runs (default: all of them it can), `lucidgen
kernel-cases` writes one small model per case (generator/kernel_cases.lua:
GEMM tile tails in M/N/K, groups, strides, padding, packed stems, Winograd,
depthwise, norms, pools, every epilogue). All cases of a target link into one
program that, per case, runs the golden self-test (reference: lg.refops on the
unfolded graph, double accumulation; one kernel must stay within max|diff| <=
2e-5 max|ref|, five times tighter than a whole model's 1e-4) and
checks that 1, 2 and 3 threads give bit-identical outputs.
"""
import argparse
import os
import shlex
import shutil
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
struct kcase { const char *name; size_t arena, in_floats, out_floats; forward_fn forward; selftest_fn selftest; };
static const struct kcase cases[] = {
%(table)s
};

static void *load_payload(const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%%s/%%s.bin", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 512, SEEK_SET);
  void *p = aligned_alloc(64, ((size_t)size + 63) / 64 * 64);
  if (!p || fread(p, 1, (size_t)size - 512, f) != (size_t)size - 512) return NULL;
  fclose(f);
  return p;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  int failed = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const struct kcase *c = &cases[i];
    void *blob = load_payload(argv[1], c->name);
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
    bad = bad || !(err <= 2e-5f * mag);
    printf("%%s %%s: max|diff| %%.3g, max|ref| %%.3g, ratio %%.2g (tol 2e-5)%%s\n", bad || !same ? "NOT OK" : "OK",
           c->name, err, mag, mag > 0 ? err / mag : err, same ? "; threads 1/2/3 bit-identical" : "; THREADS DIFFER");
    failed += bad || !same;
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
    if "avx512f" in flags:
        targets.append("avx512")
    if "avx2" in flags and "fma" in flags:
        targets.append("avx2")
    return targets + ["generic"]


# what the compiler must be told for each target's vocabulary (generator/targets.lua)
TARGET_FLAGS = {"avx512": ["-mavx512f", "-mavx512dq", "-mavx512vl", "-mavx2", "-mfma"], "avx2": ["-mavx2", "-mfma"],
                "neon": [], "cortex-m": [], "generic": []}


def run_target(lucidgen, target, work, extra, cc, runner):
    d = os.path.join(work, target + ("_" + "_".join(a.strip("-") for a in extra) if extra else ""))
    r = subprocess.run([lucidgen, "kernel-cases", "-o", d, "--target", target, "--quiet"] + extra,
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"NOT OK {target}: lucidgen kernel-cases failed\n{r.stderr}")
        return 1
    names = open(os.path.join(d, "cases.txt")).read().split()
    table = "\n".join(f'  {{"{n}", {n}_ARENA_BYTES, {n}_IN_FLOATS, {n}_OUT_FLOATS, {n}_forward, {n}_selftest}},'
                      for n in names)
    includes = "\n".join(f'#include "{n}.h"' for n in names)
    with open(os.path.join(d, "main.c"), "w") as f:
        f.write(MAIN % {"includes": includes, "table": table})
    flags = TARGET_FLAGS[target]
    exe = os.path.join(d, "sweep")
    r = subprocess.run([cc, "-std=c11", "-O2", "-ffp-contract=fast", "-fopenmp", "-Wall", "-Wextra", "-Werror"] + flags
                       + ["-I", d, os.path.join(d, "main.c")] + [os.path.join(d, n + ".c") for n in names]
                       + ["-o", exe, "-lm"], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"NOT OK {target}: the generated cases do not compile cleanly\n{r.stderr[-4000:]}")
        return 1
    r = subprocess.run(runner + [exe, d], capture_output=True, text=True)
    label = target + (" " + " ".join(extra) if extra else "")
    print("\n".join(f"[{label}] {line}" for line in r.stdout.splitlines()))
    if r.returncode != 0:
        print(f"NOT OK {label}: {r.stderr}")
    return 1 if r.returncode != 0 else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lucidgen")
    ap.add_argument("--targets", help="comma-separated (default: every target this CPU runs)")
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"), help="compiler (default $CC, else cc)")
    ap.add_argument("--run", default="", help="command prefix that runs the program (an emulator)")
    args = ap.parse_args()
    targets = args.targets.split(",") if args.targets else cpu_targets()
    runner = shlex.split(args.run)
    if runner and not shutil.which(runner[0]) or not shutil.which(args.cc):
        tool = args.cc if not shutil.which(args.cc) else runner[0]
        if os.environ.get("CI"):
            print(f"NOT OK: {tool} not installed; in CI (CI is set) .ci/install-deps must install it")
            return 1
        print(f"SKIPPED: {tool} not installed (.ci/install-deps)")
        return 77
    failed = 0
    with tempfile.TemporaryDirectory() as work:
        for t in targets:
            failed += run_target(args.lucidgen, t, work, [], args.cc, runner)
        # the 3x3 cases again as direct (indirect GEMM) convs
        failed += run_target(args.lucidgen, targets[0], work, ["--no-winograd"], args.cc, runner)
    print(f"{'NOT OK' if failed else 'OK'}: kernel sweep over {', '.join(targets)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
