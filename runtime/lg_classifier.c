/* lg_classifier: the standalone classifier `lucidgen build` links around a
 * generated model. Compiled with
 *   -DLG_MODEL_HEADER="\"model.h\"" -D'LG_MODEL(x)=<prefix>##x'
 * so the same main serves every model.
 *
 *   EXE [--weights EXE.bin] [--topk K] [--threads N] IMAGE...
 *   EXE --input-raw IN.f32 --output-raw OUT.f32   (NCHW floats in, logits/features out)
 *   EXE --selftest | --verify | --bench N | --profile N | --peak | --debug-dump DIR (with IMAGE or --input-raw)
 *   EXE --eval DIR | --eval-list FILE.csv [--eval-report FILE.json] [--min-top1 X] [--min-top5 X]
 */
#include LG_MODEL_HEADER

#include "lg_blob.h"
#include "lg_eval.h"
#include "lg_file.h"
#include "lg_labels.h"
#include "lg_preprocess.h"
#include "lg_profile.h"
#include "lg_topk.h"

#include <errno.h>
#include <stdarg.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#ifdef LG_EMBED_WEIGHTS
/* The blob inside the executable, LG_MODEL(BLOB_BYTES) long: `lucidgen build
 * --embed-weights` links model_weights.S and names its symbol with
 * -Dlg_embedded_blob=NAME_blob; CMake's lucidgen_add_classifier its own. */
extern const unsigned char lg_embedded_blob[];
#endif

/* classifier_data.c, written by lucidgen (build, or --classifier-data): the
 * label set's text (may be empty) and the checkpoint's published ImageNet-1k
 * accuracy in percent (-1 when none applies to this build; the note says why). */
extern const char lg_model_labels[];
extern const size_t lg_model_labels_len;
extern const double lg_model_published_acc1, lg_model_published_acc5;
extern const char lg_model_published_note[];

static const char *prog = "classifier";

/* One line on stderr, then the exit code to return from main. */
static int die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int die(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: error: ", prog);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return code;
}

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: %s [options] IMAGE...\n"
      "Classifies images with %s (input %dx%d, %s, crop_pct %.3g, crop mode %s).\n"
      "  --weights FILE     weight blob (default: %s)\n"
      "  --topk K           labels to print per image (default 5)\n"
      "  --threads N        OpenMP threads (default: all cores)\n"
      "  --input-raw FILE   run on %d float32 NCHW values (already normalized) instead of images\n"
      "  --output-raw FILE  write the output floats instead of labels: %d per image (logits, or features\n"
      "                     when NUM_CLASSES is 0), every image in order in one file; with\n"
      "                     --input-raw, the whole batch\n"
      "  --selftest         run the golden input stored in the blob and compare\n"
      "  --verify           re-hash the whole blob against its sha256 (alone: verify and exit)\n"
      "  --bench N          time N runs and print min/median latency\n"
      "  --profile N        per layer and per kernel kind: fastest of N runs, GFLOP/s, %% of the FMA peak\n"
      "  --peak             measure this machine's fp32 multiply-add peak (GFLOP/s) with --threads\n"
      "  --debug-dump DIR   write every layer's output as DIR/<layer>.f32 (NHWC) + DIR/index.tsv\n"
      "  --eval DIR         accuracy on DIR/<class>/<image> (class: index or synset, e.g. n01440764)\n"
      "  --eval-list FILE   accuracy on a CSV of path,label lines (label: index or synset)\n"
      "  --eval-report FILE write the evaluation as JSON (every image's top-5 included)\n"
      "  --min-top1 X       with --eval: exit 1 when top-1 accuracy is below X percent\n"
      "  --min-top5 X       with --eval: exit 1 when top-5 accuracy is below X percent\n"
      "  --help             this text\n"
      "Every start checks the blob's header against this program (variant, format, sizes and\n"
      "the sha256 it was generated with); only --verify and --selftest hash the payload itself.\n",
      prog,
      LG_MODEL(VARIANT),
      LG_MODEL(IN_H),
      LG_MODEL(IN_W),
      LG_MODEL(INTERPOLATION),
      (double)LG_MODEL(CROP_PCT),
      LG_MODEL(CROP_MODE),
#ifdef LG_EMBED_WEIGHTS
      "the one compiled into this program",
#else
      "this program's path + .bin",
#endif
      LG_MODEL(IN_FLOATS),
      LG_MODEL(OUT_DIM));
}

static double now_sec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* --profile N: each layer's fastest of N runs against the machine's FMA peak. */
static int run_profile(int runs, const float *in, float *out, void *arena, const void *payload) {
  static lg_profile_layer layers[LG_MODEL(NUM_LAYERS)];
  for (int i = 0; i < LG_MODEL(NUM_LAYERS); i++) {
    layers[i].name = LG_MODEL(layers)[i].name;
    layers[i].kind = LG_MODEL(layers)[i].kind;
    layers[i].macs = LG_MODEL(layers)[i].macs;
  }
  lg_profile p;
  if (lg_profile_init(&p, layers, LG_MODEL(NUM_LAYERS)))
    return die(1, "out of memory");
  LG_MODEL(forward)(in, out, arena, payload); /* warm-up */
  for (int r = 0; r < runs; r++) {
    lg_profile_begin(&p);
    LG_MODEL(forward_debug)(in, out, arena, payload, lg_profile_hook, &p);
    lg_profile_end(&p);
  }
  double peak = lg_fma_peak_gflops(0);
  printf(
      "profile %s: batch %d, %d threads, fastest of %d runs per layer; peak %.1f GFLOP/s (FMA microbenchmark)\n",
      LG_MODEL(VARIANT),
      LG_MODEL(BATCH),
      omp_get_max_threads(),
      runs,
      peak);
  lg_profile_print(&p, peak, stdout);
  lg_profile_free(&p);
  return 0;
}

/* --debug-dump: one file per layer, plus an index the parity driver reads. */
typedef struct {
  const char *dir;
  FILE *index;
  int failed;
} dump_ctx;

static void dump_layer(void *ctx, const char *name, const float *nhwc, int n, int h, int w, int c) {
  dump_ctx *d = ctx;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.f32", d->dir, name);
  FILE *f = fopen(path, "wb");
  size_t count = (size_t)n * h * w * c;
  if (!f || fwrite(nhwc, sizeof(float), count, f) != count)
    d->failed = 1;
  if (f)
    fclose(f);
  fprintf(d->index, "%s\t%d\t%d\t%d\t%d\n", name, n, h, w, c);
}

static int read_exact(const char *path, void *dst, size_t bytes) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return die(2, "cannot open %s: %s", path, strerror(errno));
  size_t got = fread(dst, 1, bytes, f);
  int extra = fgetc(f) != EOF;
  fclose(f);
  if (got != bytes || extra) {
    fprintf(
        stderr,
        "%s: error: %s must hold exactly %zu bytes (%d float32 NCHW values for batch %d)\n",
        prog,
        path,
        bytes,
        LG_MODEL(IN_FLOATS),
        LG_MODEL(BATCH));
    return 2;
  }
  return 0;
}

/* Default blob: <this executable>.bin */
static void default_blob_path(const char *argv0, char *out, size_t n) {
  char self[4000];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len > 0) {
    self[len] = 0;
    snprintf(out, n, "%s.bin", self);
  } else {
    snprintf(out, n, "%s.bin", argv0);
  }
}

/* The variant's timm eval transform. One-channel models see a grey image
 * with their single mean/std on all three channels (lg_preprocess_to_channels). */
static lg_preprocess_cfg model_preprocess_cfg(void) {
  static const float mean[] = LG_MODEL(MEAN), std[] = LG_MODEL(STD);
  lg_preprocess_cfg cfg = {.out_h = LG_MODEL(IN_H), .out_w = LG_MODEL(IN_W), .crop_pct = LG_MODEL(CROP_PCT)};
  if (lg_interp_from_name(LG_MODEL(INTERPOLATION), &cfg.interp) != LG_OK)
    cfg.interp = LG_INTERP_BICUBIC;
  /* a crop mode this runtime does not know: lg_preprocess refuses it by number */
  if (lg_crop_mode_from_name(LG_MODEL(CROP_MODE), &cfg.crop_mode) != LG_OK)
    cfg.crop_mode = (lg_crop_mode)-1;
  for (int c = 0; c < 3; c++) {
    cfg.mean[c] = LG_MODEL(IN_CHANS) == 1 ? mean[0] : mean[c];
    cfg.std[c] = LG_MODEL(IN_CHANS) == 1 ? std[0] : std[c];
  }
  return cfg;
}

/* One image into batch slot `slot` of `in`, with the variant's timm eval transform. */
static int load_image(const char *path, float *in, int slot) {
  char err[1024];
  lg_preprocess_cfg cfg = model_preprocess_cfg();
  float *dst = in + (size_t)slot * LG_MODEL(IN_CHANS) * LG_MODEL(IN_H) * LG_MODEL(IN_W);
  if (lg_preprocess_file(path, &cfg, LG_MODEL(IN_CHANS), dst, err, sizeof err) != LG_OK)
    return die(2, "%s", err);
  return 0;
}

/* --eval: the batched forward lg_eval drives. */
typedef struct {
  void *arena;
  const void *payload;
} model_run;

static int forward_batch(void *ctx, const float *in, float *out) {
  model_run *run = ctx;
  return LG_MODEL(forward)(in, out, run->arena, run->payload);
}

static int eval(
    const lg_eval_options *opts,
    const char *blob_path,
    const lg_labels *labels,
    void *arena,
    const void *payload) {
  if (LG_MODEL(NUM_CLASSES) == 0)
    return die(2, "--eval needs a classifier head; this model outputs %d pooled features", LG_MODEL(OUT_DIM));
  model_run run = {arena, payload};
  lg_eval_model m = {
      .variant = LG_MODEL(VARIANT),
      .target = LG_MODEL(TARGET),
      .weights = blob_path,
      .batch = LG_MODEL(BATCH),
      .in_chans = LG_MODEL(IN_CHANS),
      .out_dim = LG_MODEL(OUT_DIM),
      .pre = model_preprocess_cfg(),
      .labels = labels,
      .imagenet_1k = LG_MODEL(NUM_CLASSES) == 1000 && !strcmp(LG_MODEL(LABEL_SET), "imagenet-1k"),
      .published_acc1 = lg_model_published_acc1,
      .published_acc5 = lg_model_published_acc5,
      .published_note = lg_model_published_note,
      .threads = omp_get_max_threads(),
      .forward = forward_batch,
      .ctx = &run};
  lg_eval_result r;
  char err[1024];
  lg_status st = lg_eval_run(&m, opts, stdout, &r, err, sizeof err);
  if (st != LG_OK)
    return die(st == LG_ERR_NOMEM ? 1 : 2, "%s", err);
  return r.passed ? 0 : 1;
}

/* A classifier built for a wider ISA than this CPU has would die of SIGILL
 * in the first kernel; say which target it was built for instead. */
static int cpu_runs_target(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
#if defined(__AVX512F__)
  if (!__builtin_cpu_supports("avx512f"))
    return 0;
#endif
#if defined(__AVX2__)
  if (!__builtin_cpu_supports("avx2"))
    return 0;
#endif
#if defined(__FMA__)
  if (!__builtin_cpu_supports("fma"))
    return 0;
#endif
#if defined(__F16C__)
  /* CPUID.1:ECX bit 29 (clang 14's __builtin_cpu_supports has no "f16c") */
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_F16C))
    return 0;
#endif
#if defined(__AVX512BF16__)
  if (!__builtin_cpu_supports("avx512bf16"))
    return 0;
#endif
#endif
  return 1;
}

int main(int argc, char **argv) {
  prog = argv[0];
  if (!cpu_runs_target())
    return die(
        2,
        "this classifier was built for target %s, which this CPU does not support; rebuild with "
        "lucidgen build --target avx2 or --target generic",
        LG_MODEL(TARGET));
  const char *weights = NULL, *input_raw = NULL, *output_raw = NULL, *dump_dir = NULL;
  int topk = 5, threads = 0, bench = 0, profile = 0, peak = 0, selftest = 0, verify = 0;
  lg_eval_options eval_opts = {.min_top1 = -1, .min_top5 = -1, .progress = isatty(STDERR_FILENO)};
  const char **images = calloc((size_t)argc, sizeof *images);
  int n_images = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int has_value = i + 1 < argc;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--selftest")) {
      selftest = 1;
    } else if (!strcmp(a, "--peak")) {
      peak = 1;
    } else if (!strcmp(a, "--verify")) {
      verify = 1;
    } else if (
        !strcmp(a, "--weights") || !strcmp(a, "--topk") || !strcmp(a, "--threads") || !strcmp(a, "--bench") ||
        !strcmp(a, "--profile") || !strcmp(a, "--input-raw") || !strcmp(a, "--output-raw") ||
        !strcmp(a, "--debug-dump") || !strcmp(a, "--eval") || !strcmp(a, "--eval-list") ||
        !strcmp(a, "--eval-report") || !strcmp(a, "--min-top1") || !strcmp(a, "--min-top5")) {
      if (!has_value)
        return die(2, "%s needs a value; see --help", a);
      const char *v = argv[++i];
      char *end;
      long num = strtol(v, &end, 10);
      int is_num = *v && !*end;
      if (!strcmp(a, "--weights"))
        weights = v;
      else if (!strcmp(a, "--input-raw"))
        input_raw = v;
      else if (!strcmp(a, "--output-raw"))
        output_raw = v;
      else if (!strcmp(a, "--debug-dump"))
        dump_dir = v;
      else if (!strcmp(a, "--eval"))
        eval_opts.dir = v;
      else if (!strcmp(a, "--eval-list"))
        eval_opts.list = v;
      else if (!strcmp(a, "--eval-report"))
        eval_opts.report = v;
      else if (!strcmp(a, "--min-top1") || !strcmp(a, "--min-top5")) {
        double x = strtod(v, &end);
        if (!*v || *end || !(x >= 0 && x <= 100))
          return die(2, "%s takes a percentage 0..100, got '%s'", a, v);
        *(!strcmp(a, "--min-top1") ? &eval_opts.min_top1 : &eval_opts.min_top5) = x;
      } else if (!is_num || num < 1 || num > 1000000)
        return die(2, "%s takes a positive integer, got '%s'", a, v);
      else if (!strcmp(a, "--topk"))
        topk = (int)num;
      else if (!strcmp(a, "--threads"))
        threads = (int)num;
      else if (!strcmp(a, "--profile"))
        profile = (int)num;
      else
        bench = (int)num;
    } else if (a[0] == '-' && a[1]) {
      return die(2, "unknown option '%s'; see --help", a);
    } else {
      images[n_images++] = a;
    }
  }
  int evaluating = eval_opts.dir || eval_opts.list;
  if (eval_opts.dir && eval_opts.list)
    return die(2, "--eval and --eval-list exclude each other; pick one");
  if (!evaluating && (eval_opts.report || eval_opts.min_top1 >= 0 || eval_opts.min_top5 >= 0))
    return die(2, "--eval-report, --min-top1 and --min-top5 go with --eval DIR or --eval-list FILE");
  if (evaluating && (n_images || input_raw || selftest || verify || bench || profile || peak || dump_dir || output_raw))
    return die(2, "--eval runs alone; drop the images and the other modes");
  if (!selftest && !verify && !input_raw && n_images == 0 && !bench && !profile && !peak && !evaluating) {
    usage(stderr);
    return 2;
  }
  if (threads)
    omp_set_num_threads(threads);
  if (peak) {
    printf("peak: %.1f GFLOP/s fp32 multiply-add, %d threads\n", lg_fma_peak_gflops(0), omp_get_max_threads());
    return 0;
  }

  char blob_path[4096], err[1024];
  lg_blob blob;
  if (weights)
    snprintf(blob_path, sizeof blob_path, "%s", weights);
  else
    default_blob_path(argv[0], blob_path, sizeof blob_path);
#ifdef LG_EMBED_WEIGHTS
  if (!weights) {
    snprintf(blob_path, sizeof blob_path, "the embedded weight blob");
    lg_blob_wrap(&blob, lg_embedded_blob, LG_MODEL(BLOB_BYTES));
  } else
#endif
      if (lg_blob_load(blob_path, &blob, err, sizeof err) != LG_OK)
    return die(2, "%s", err);
  /* The header binding always (cheap); the payload's sha256 only when asked:
   * hashing a 100 MB blob at every start would cost more than a forward pass. */
  if (lg_blob_check(&blob, blob_path, LG_MODEL(VARIANT), LG_MODEL(BLOB_SHA256), verify || selftest, err, sizeof err) !=
      LG_OK)
    return die(2, "%s", err);
  if (verify && !selftest && !input_raw && n_images == 0 && !bench && !profile) {
    printf("verify %s: %s matches sha256 %s\n", LG_MODEL(VARIANT), blob_path, LG_MODEL(BLOB_SHA256));
    return 0;
  }

  void *arena = aligned_alloc(64, (LG_MODEL(ARENA_BYTES) + 63) / 64 * 64);
  float *in = calloc(LG_MODEL(IN_FLOATS), sizeof(float));
  float *out = calloc(LG_MODEL(OUT_FLOATS), sizeof(float));
  if (!arena || !in || !out)
    return die(1, "out of memory for the %u-byte arena", (unsigned)LG_MODEL(ARENA_BYTES));
  const void *payload = lg_blob_payload(&blob);

  if (selftest) {
    float e, m;
    int rc = LG_MODEL(selftest)(arena, payload, out, &e, &m);
    if (rc == 2)
      return die(2, "this build has no self-test data (generated with --no-golden)");
    printf(
        "selftest %s: %s max|diff| %.3g (max|expected| %.3g, tolerance %g relative; %s weights, %s compute)\n",
        LG_MODEL(VARIANT),
        rc == 0 ? "PASS" : "FAIL",
        (double)e,
        (double)m,
        (double)LG_MODEL(SELFTEST_TOL),
        LG_MODEL(WEIGHTS_DTYPE),
        LG_MODEL(PRECISION));
    return rc;
  }

  lg_labels labels = {0};
  if (lg_model_labels_len && lg_labels_parse(lg_model_labels, lg_model_labels_len, &labels, err, sizeof err) != LG_OK)
    return die(1, "embedded labels: %s", err);

  if (evaluating)
    return eval(&eval_opts, blob_path, &labels, arena, payload);

  if (input_raw) {
    int rc = read_exact(input_raw, in, sizeof(float) * LG_MODEL(IN_FLOATS));
    if (rc)
      return rc;
  }

  if (profile)
    return run_profile(profile, in, out, arena, payload);
  if (bench) {
    double *t = malloc(sizeof(double) * (size_t)bench);
    LG_MODEL(forward)(in, out, arena, payload); /* warm-up */
    for (int i = 0; i < bench; i++) {
      double t0 = now_sec();
      LG_MODEL(forward)(in, out, arena, payload);
      t[i] = now_sec() - t0;
    }
    qsort(t, (size_t)bench, sizeof *t, cmp_double);
    printf(
        "bench %s: batch %d, %d threads, %d runs: min %.3f ms, median %.3f ms\n",
        LG_MODEL(VARIANT),
        LG_MODEL(BATCH),
        omp_get_max_threads(),
        bench,
        t[0] * 1e3,
        t[bench / 2] * 1e3);
    free(t);
    if (!input_raw && !n_images)
      return 0;
  }

  /* --output-raw: one file for the whole run, each image's row in order,
   * under a temporary name until every row is written */
  lg_outfile raw_file;
  FILE *raw = NULL;
  if (output_raw) {
    int e = lg_outfile_open(&raw_file, output_raw);
    if (e)
      return die(2, "cannot write %s: %s", output_raw, strerror(e));
    raw = raw_file.f;
  }

  int batch = LG_MODEL(BATCH), rc = 0;
  int runs = input_raw ? 1 : (n_images + batch - 1) / batch;
  for (int r = 0; r < runs && rc == 0; r++) {
    for (int s = 0; s < batch && !input_raw && rc == 0; s++) {
      int idx = r * batch + s < n_images ? r * batch + s : n_images - 1; /* pad a partial batch */
      rc = load_image(images[idx], in, s);
    }
    if (rc)
      break;
    if (dump_dir) {
      mkdir(dump_dir, 0777);
      char index_path[4096];
      snprintf(index_path, sizeof index_path, "%s/index.tsv", dump_dir);
      dump_ctx d = {dump_dir, fopen(index_path, "w"), 0};
      if (!d.index) {
        rc = die(2, "cannot write %s: %s", index_path, strerror(errno));
        break;
      }
      LG_MODEL(forward_debug)(in, out, arena, payload, dump_layer, &d);
      fclose(d.index);
      if (d.failed) {
        rc = die(2, "cannot write layer dumps into %s", dump_dir);
        break;
      }
    } else {
      LG_MODEL(forward)(in, out, arena, payload);
    }
    if (raw) {
      /* the rows of this batch's images (a padded last batch has fewer) */
      size_t rows = input_raw ? (size_t)batch : (size_t)(n_images - r * batch < batch ? n_images - r * batch : batch);
      size_t n = rows * LG_MODEL(OUT_DIM);
      if (fwrite(out, sizeof(float), n, raw) != n)
        rc = die(2, "cannot write %s: %s", output_raw, strerror(errno));
      continue;
    }
    for (int s = 0; s < batch && (input_raw || r * batch + s < n_images); s++) {
      const float *row = out + (size_t)s * LG_MODEL(OUT_DIM);
      printf("%s\n", input_raw ? input_raw : images[r * batch + s]);
      if (LG_MODEL(NUM_CLASSES) == 0) {
        printf("  %d pooled features (no classifier head); use --output-raw to save them\n", LG_MODEL(OUT_DIM));
        continue;
      }
      float *probs = malloc(sizeof(float) * LG_MODEL(OUT_DIM));
      int *idx = malloc(sizeof(int) * (size_t)topk);
      lg_softmax(row, LG_MODEL(OUT_DIM), probs);
      int k = lg_topk(probs, LG_MODEL(OUT_DIM), topk, idx);
      for (int j = 0; j < k; j++) {
        char buf[64];
        printf(
            "  %6.2f%%  %5d  %s\n",
            100.0 * probs[idx[j]],
            idx[j],
            lg_labels_format(&labels, idx[j], buf, sizeof buf));
      }
      free(probs);
      free(idx);
    }
  }
  if (raw) {
    int e = lg_outfile_close(&raw_file, rc == 0);
    if (e && rc == 0)
      rc = die(2, "cannot write %s: %s", output_raw, strerror(e));
  }
  if (rc)
    return rc;
  lg_labels_free(&labels);
  lg_blob_free(&blob);
  free(arena);
  free(in);
  free(out);
  free(images);
  return 0;
}
