/* lg_profile: where a generated model's time goes (EXE --profile) and the
 * machine's fp32 multiply-add peak that puts it in perspective (EXE --peak). */
#ifndef LG_PROFILE_H
#define LG_PROFILE_H

#include <stdio.h>

/* One layer as the model's layer table names it, and its fastest run. */
typedef struct {
  const char *name; /* timm module */
  const char *kind; /* kernel kind: gemm, winograd, dwconv, ... */
  double macs; /* multiply-adds the model defines (whatever algorithm runs them) */
  double seconds; /* fastest of the profiled runs */
} lg_profile_layer;

typedef struct {
  lg_profile_layer *layers;
  int n;
  int at; /* layer the next hook call closes */
  double last; /* when the previous layer ended */
  double *run; /* this run's time per layer */
} lg_profile;

/* layers[i].name/kind/macs filled in by the caller; seconds reset here. */
int lg_profile_init(lg_profile *p, lg_profile_layer *layers, int n);
void lg_profile_free(lg_profile *p);
/* Before each forward pass; lg_profile_hook as its layer hook (ctx = p); after it, lg_profile_end. */
void lg_profile_begin(lg_profile *p);
void lg_profile_hook(void *ctx, const char *name, const float *nhwc, int n, int h, int w, int c);
void lg_profile_end(lg_profile *p);
/* Per layer and per kernel kind: ms, GFLOP/s and % of peak_gflops (0: not shown). */
void lg_profile_print(const lg_profile *p, double peak_gflops, FILE *f);

/* fp32 multiply-add peak of `threads` threads (0: OpenMP's default), in GFLOP/s,
 * from independent FMA chains as wide as this file was compiled for. */
double lg_fma_peak_gflops(int threads);

#endif
