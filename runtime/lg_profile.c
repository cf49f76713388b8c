/* lg_profile: per-layer timing through a generated model's layer hook, and an
 * FMA peak microbenchmark (see lg_profile.h). */
#include "lg_profile.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static double now_sec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int lg_profile_init(lg_profile *p, lg_profile_layer *layers, int n) {
  memset(p, 0, sizeof *p);
  p->layers = layers;
  p->n = n;
  p->run = calloc((size_t)n, sizeof *p->run);
  for (int i = 0; i < n; i++)
    layers[i].seconds = 1e30;
  return p->run ? 0 : -1;
}

void lg_profile_free(lg_profile *p) { free(p->run); }

void lg_profile_begin(lg_profile *p) {
  p->at = 0;
  p->last = now_sec();
}

/* The hook runs on one thread after the layer's barrier: the time since the
 * previous call is the layer's, waits for the slowest thread included. */
void lg_profile_hook(void *ctx, const char *name, const float *nhwc, int n, int h, int w, int c) {
  (void)name, (void)nhwc, (void)n, (void)h, (void)w, (void)c;
  lg_profile *p = ctx;
  double t = now_sec();
  if (p->at < p->n)
    p->run[p->at++] = t - p->last;
  p->last = now_sec(); /* the hook's own time is no layer's */
}

void lg_profile_end(lg_profile *p) {
  for (int i = 0; i < p->at; i++)
    if (p->run[i] < p->layers[i].seconds)
      p->layers[i].seconds = p->run[i];
}

static void line(FILE *f, double seconds, double macs, double peak, double share, const char *kind, const char *name) {
  double gflops = seconds > 0 ? 2.0 * macs / seconds * 1e-9 : 0;
  fprintf(f, "%9.3f %6.1f%% %9.1f", seconds * 1e3, 100.0 * share, gflops);
  if (peak > 0)
    fprintf(f, " %6.1f%%", 100.0 * gflops / peak);
  else
    fprintf(f, "       -");
  fprintf(f, "  %-10s %s\n", kind, name);
}

void lg_profile_print(const lg_profile *p, double peak, FILE *f) {
  double total = 0, total_macs = 0;
  for (int i = 0; i < p->n; i++)
    total += p->layers[i].seconds, total_macs += p->layers[i].macs;
  fprintf(f, "%9s %7s %9s %7s  %-10s %s\n", "ms", "time", "GFLOP/s", "peak", "kind", "layer (timm module)");
  for (int i = 0; i < p->n; i++) {
    const lg_profile_layer *l = &p->layers[i];
    line(f, l->seconds, l->macs, peak, l->seconds / total, l->kind, l->name);
  }
  fprintf(f, "\nby kernel kind:\n");
  for (int i = 0; i < p->n; i++) {
    int first = 1;
    for (int j = 0; j < i; j++)
      first = first && strcmp(p->layers[j].kind, p->layers[i].kind) != 0;
    if (!first)
      continue;
    double s = 0, m = 0;
    int count = 0;
    for (int j = i; j < p->n; j++)
      if (!strcmp(p->layers[j].kind, p->layers[i].kind))
        s += p->layers[j].seconds, m += p->layers[j].macs, count++;
    char what[64];
    snprintf(what, sizeof what, "%d layers", count);
    line(f, s, m, peak, s / total, p->layers[i].kind, what);
  }
  line(f, total, total_macs, peak, 1.0, "all", "sum of the layers' fastest runs");
}

/* Vectors as wide as the compiler was told the CPU has: the classifier is
 * built with its target's flags, so this measures what its kernels can use. */
#if defined(__AVX512F__)
#define LG_PEAK_BYTES 64
#elif defined(__AVX__)
#define LG_PEAK_BYTES 32
#else
#define LG_PEAK_BYTES 16
#endif
typedef float lg_peak_vec __attribute__((vector_size(LG_PEAK_BYTES)));
enum { CHAINS = 12, LANES = LG_PEAK_BYTES / 4 };

/* CHAINS independent multiply-add chains (more than latency x FMA units on
 * current cores); returns the flops done. GCC contracts a * b + c into one FMA
 * only when told to (-std=c11 alone does not), clang does by default. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=fast")))
#endif
static double
fma_chains(long iters, float seed) {
  lg_peak_vec acc[CHAINS];
  lg_peak_vec b = {0}, c = {0};
  for (int l = 0; l < LANES; l++)
    b[l] = 0.999f, c[l] = 1e-4f;
  for (int i = 0; i < CHAINS; i++)
    for (int l = 0; l < LANES; l++)
      acc[i][l] = seed + 0.01f * (float)i;
  for (long n = 0; n < iters; n++)
    for (int i = 0; i < CHAINS; i++)
      acc[i] = acc[i] * b + c;
  volatile float sink = 0;
  for (int i = 0; i < CHAINS; i++)
    sink += acc[i][0];
  (void)sink;
  return 2.0 * LANES * CHAINS * (double)iters;
}

double lg_fma_peak_gflops(int threads) {
#ifdef _OPENMP
  if (threads <= 0)
    threads = omp_get_max_threads();
#else
  (void)threads; /* one thread without OpenMP */
#endif
  double best = 0;
  for (int rep = 0; rep < 5; rep++) {
    double flops = 0, t0 = now_sec();
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) reduction(+ : flops)
#endif
    flops += fma_chains(200000000 / LANES, 0.1f + (float)rep);
    double g = flops / (now_sec() - t0) * 1e-9;
    if (g > best)
      best = g;
  }
  return best;
}
