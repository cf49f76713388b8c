#!/usr/bin/python3
"""The bf16 vocabulary of every target against AVX512-BF16 and runtime/lg_half.h, bit for bit.

  bf16_emulation.py [--hardware]

Renders the reduced-precision parts of templates/vec_avx512.c.in,
vec_avx2.c.in and vec_scalar.c.in (plus bf16_pairs.c.in) the way the
generator does and links them into one program that feeds each the same
operands -- random bit patterns weighted towards the edges: zeros of both
signs, infinities, NaNs, sums that cancel to a denormal, products that
underflow or pass the float range -- and compares:
  * lg_vdpbf16 (one step of a GEMM's sum): every emulation against the others
    and, with --hardware, against vdpbf16ps itself;
  * lg_bf16_pairs (a GEMM's input rounded to bf16): against lg_f32_to_bf16 of
    runtime/lg_half.h (what the packer and the reference use) and vcvtne2ps2bf16;
  * the widening loads of bf16, f16 and int8 weights: against lg_half.h.
NaNs compare as NaN (payloads aside). The dot products get the operands a
kernel can give them: bf16 values are never denormal (lg_bf16_pairs and the
packer flush them, as vcvtne2ps2bf16 does) and neither is a running sum (each
step flushes its result), so the emulations need not treat denormal inputs as
zero, which vdpbf16ps would. --hardware exits 77 on a CPU without AVX512-BF16
(the emulations are checked without it).
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
T = os.path.join(ROOT, "templates")


def render(name, on):
    """templates/NAME with the sections in `on` kept and the others dropped (template.lua's rules)."""
    text = open(os.path.join(T, name)).read()
    pattern = re.compile(r"{{([#^])(\w+)}}(.*?){{/\2}}", re.S)
    while True:
        text, n = pattern.subn(lambda m: m.group(3) if (m.group(2) in on) == (m.group(1) == "#") else "", text)
        if n == 0:
            return text


# One translation unit per vocabulary: its functions exported under a prefix.
UNIT = r'''
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
%(vocabulary)s
void %(p)s_dot(float *acc, const uint32_t *a, const uint32_t *b, int n) {
  for (int i = 0; i < n; i += LG_VW) {
    lg_vf c = lg_vload(acc + i);
    c = lg_vdpbf16(c, lg_vbf_load((const uint16_t *)(a + i)), lg_vbf_load((const uint16_t *)(b + i)));
    lg_vstore(acc + i, c);
  }
}
void %(p)s_pairs(uint32_t *dst, const float *src, int n) { lg_bf16_pairs(dst, src, n); }
void %(p)s_widen(float *bf, float *f16, float *i8, const uint16_t *h, const int8_t *q, int n) {
  for (int i = 0; i < n; i += LG_VW) {
    lg_vstore(bf + i, lg_vload_bf16(h + i));
    lg_vstore(f16 + i, lg_vload_f16(h + i));
    lg_vstore(i8 + i, lg_vload_i8(q + i));
  }
}
'''

MAIN = r'''
#include "lg_half.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#define N 4096
%(decls)s
typedef void (*dot_fn)(float *, const uint32_t *, const uint32_t *, int);
typedef void (*pairs_fn)(uint32_t *, const float *, int);
typedef void (*widen_fn)(float *, float *, float *, const uint16_t *, const int8_t *, int);
static const char *names[] = {%(names)s};
static dot_fn dots[] = {%(dots)s};
static pairs_fn pairss[] = {%(pairs)s};
static widen_fn widens[] = {%(widens)s};
enum { IMPLS = sizeof names / sizeof names[0] };

static uint64_t state = 0x243F6A8885A308D3ull;
static uint32_t next(void) {
  state ^= state << 13, state ^= state >> 7, state ^= state << 17;
  return (uint32_t)(state >> 11);
}
/* a bf16 with an exponent drawn to hit the edges often */
static uint16_t edgy_bf16(void) {
  uint32_t r = next(), e;
  switch (r %% 8) {
  case 0: return (uint16_t)((r >> 8 & 1) << 15); /* zero (denormals never reach a dot product) */
  case 1: e = 255; break;                  /* inf or NaN */
  case 2: e = 1 + next() %% 20; break;     /* tiny: products underflow */
  case 3: e = 235 + next() %% 19; break;   /* huge: products overflow */
  default: e = 100 + next() %% 55; break;  /* ordinary */
  }
  return (uint16_t)((r >> 8 & 1) << 15 | e << 7 | (next() & 0x7F));
}
static float edgy_f32(void) {
  uint32_t r = next();
  switch (r %% 6) {
  case 0: return lg_f32_from_bits(next() & 0x807FFFFFu);                     /* denormal */
  case 1: return lg_f32_from_bits((r & 0x80000000u) | 0x7F800000u | (next() %% 3 ? 0 : next() & 0x7FFFFF));
  case 2: return lg_f32_from_bits(lg_bits_from_f32(1.0f) + (next() & 0xFFFF)); /* rounding ties and halves */
  default: return lg_f32_from_bits(next() ^ next() << 16);
  }
}
static int same(float x, float y) { return (isnan(x) && isnan(y)) || lg_bits_from_f32(x) == lg_bits_from_f32(y); }

int main(void) {
  static float acc[IMPLS][N], acc0[N], f[N], out[IMPLS][3][N];
  static uint32_t a[N], b[N], pr[IMPLS][N / 2 + 1];
  static uint16_t h[N];
  static int8_t q[N];
  long bad[IMPLS][3] = {{0}};
  for (int round = 0; round < 500; round++) {
    for (int i = 0; i < N; i++) {
      a[i] = edgy_bf16() | (uint32_t)edgy_bf16() << 16;
      b[i] = edgy_bf16() | (uint32_t)edgy_bf16() << 16;
      /* accumulators: ordinary, denormal, and ones that the products cancel */
      float c = i %% 3 == 0 ? edgy_f32() : -(lg_bf16_to_f32((uint16_t)(a[i] >> 16)) * lg_bf16_to_f32((uint16_t)(b[i] >> 16)));
      if (fabsf(c) < 1.17549435e-38f) c = copysignf(0.0f, c); /* a running sum is never denormal */
      for (int k = 0; k < IMPLS; k++) acc[k][i] = c;
      acc0[i] = c;
      f[i] = edgy_f32();
      h[i] = (uint16_t)next();
      q[i] = (int8_t)next();
    }
    for (int k = 0; k < IMPLS; k++) {
      dots[k](acc[k], a, b, N);
      pairss[k](pr[k], f, N - 1); /* odd: the last pair's high half stays 0 */
      widens[k](out[k][0], out[k][1], out[k][2], h, q, N);
    }
    for (int k = 0; k < IMPLS; k++)
      for (int i = 0; i < N; i++) {
        if (!same(acc[k][i], acc[0][i])) {
          if (bad[k][0]++ < 3)
            printf("  %%s dot: %%a + %%a*%%a + %%a*%%a = %%a, %%s says %%a\n", names[k], (double)acc0[i],
                   (double)lg_bf16_to_f32((uint16_t)(a[i] >> 16)), (double)lg_bf16_to_f32((uint16_t)(b[i] >> 16)),
                   (double)lg_bf16_to_f32((uint16_t)a[i]), (double)lg_bf16_to_f32((uint16_t)b[i]), (double)acc[k][i],
                   names[0], (double)acc[0][i]);
        }
        if (i < N - 1) {
          uint16_t want = lg_f32_to_bf16(f[i]), got = (uint16_t)(pr[k][i / 2] >> (16 * (i %% 2)));
          if (!same(lg_bf16_to_f32(got), lg_bf16_to_f32(want)) && bad[k][1]++ < 3)
            printf("  %%s pairs: %%08x -> %%04x, lg_half.h says %%04x\n", names[k], lg_bits_from_f32(f[i]), got, want);
        } else if (pr[k][i / 2] >> 16) {
          bad[k][1]++;
        }
        if (!same(out[k][0][i], lg_bf16_to_f32(h[i])) || !same(out[k][1][i], lg_f16_to_f32(h[i])) ||
            out[k][2][i] != (float)q[i]) {
          if (bad[k][2]++ < 3) printf("  %%s widen: %%04x / %%d\n", names[k], h[i], q[i]);
        }
      }
  }
  int failed = 0;
  for (int k = 0; k < IMPLS; k++) {
    printf("%%s %%s: dot %%s%%s, %%ld differ; pairs vs lg_half.h, %%ld differ; widening, %%ld differ\n",
           bad[k][0] || bad[k][1] || bad[k][2] ? "NOT OK" : "OK", names[k], k ? "vs " : "(the yardstick)",
           k ? names[0] : "", bad[k][0], bad[k][1], bad[k][2]);
    failed |= bad[k][0] || bad[k][1] || bad[k][2];
  }
  return failed;
}
'''

# name, vocabulary template, extra sections, compiler flags, CPU flags it needs
IMPLS = [
    ("vdpbf16ps", "vec_avx512.c.in", "BF16_HW", ["-mavx512f", "-mavx512dq", "-mavx512vl", "-mavx512bf16", "-mavx2",
                                                 "-mfma"], {"avx512f", "avx512dq", "avx512vl", "avx512_bf16"}),
    ("avx512_emulated", "vec_avx512.c.in", "BF16_EMU", ["-mavx512f", "-mavx512dq", "-mavx512vl", "-mavx2", "-mfma"],
     {"avx512f", "avx512dq", "avx512vl"}),
    ("avx2_emulated", "vec_avx2.c.in", "BF16_EMU", ["-mavx2", "-mfma", "-mf16c"], {"avx2", "fma", "f16c"}),
    ("portable_emulated", "vec_scalar.c.in", "BF16_EMU", [], set()),
]


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def main():
    hardware = "--hardware" in sys.argv[1:]
    flags = cpu_flags()
    if hardware and "avx512_bf16" not in flags:
        print("SKIPPED: this CPU has no AVX512-BF16")
        return 77
    # the yardstick first: the hardware, else the widest emulation this CPU runs
    impls = [i[:4] for i in IMPLS if i[4] <= flags and (hardware or i[2] != "BF16_HW")]
    cc = os.environ.get("CC", "cc")
    with tempfile.TemporaryDirectory() as d:
        objs = []
        for name, vec, section, flags in impls:
            voc = render(vec, {section, "WIDEN_BF16", "WIDEN_F16", "WIDEN_I8"})
            if section == "BF16_EMU":
                voc += render("bf16_pairs.c.in", set())
            src = os.path.join(d, name + ".c")
            with open(src, "w") as f:
                f.write(UNIT % {"vocabulary": voc, "p": name})
            obj = os.path.join(d, name + ".o")
            # the generated code's own flags: the emulation must hold as users compile it
            r = subprocess.run([cc, "-std=c11", "-O3", "-ffp-contract=fast", "-Wall", "-Werror", "-c", src, "-o", obj]
                               + flags, capture_output=True, text=True)
            if r.returncode != 0:
                print(f"NOT OK {name}: does not compile\n{r.stderr[-3000:]}")
                return 1
            objs.append(obj)
        main_c = os.path.join(d, "main.c")
        with open(main_c, "w") as f:
            f.write(MAIN % {
                "decls": "\n".join(f"void {n}_dot(float *, const uint32_t *, const uint32_t *, int);\n"
                                   f"void {n}_pairs(uint32_t *, const float *, int);\n"
                                   f"void {n}_widen(float *, float *, float *, const uint16_t *, const int8_t *, int);"
                                   for n, *_ in impls),
                "names": ", ".join(f'"{n}"' for n, *_ in impls),
                "dots": ", ".join(f"{n}_dot" for n, *_ in impls),
                "pairs": ", ".join(f"{n}_pairs" for n, *_ in impls),
                "widens": ", ".join(f"{n}_widen" for n, *_ in impls)})
        exe = os.path.join(d, "check")
        r = subprocess.run([cc, "-std=c11", "-O2", "-I", os.path.join(ROOT, "runtime"), main_c] + objs
                           + ["-o", exe, "-lm"], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"NOT OK: the checker does not compile\n{r.stderr[-3000:]}")
            return 1
        r = subprocess.run([exe], capture_output=True, text=True)
        print(r.stdout, end="")
        return r.returncode


if __name__ == "__main__":
    sys.exit(main())
