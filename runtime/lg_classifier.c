/* lg_classifier: the standalone classifier `lucidgen build` links around a
 * generated model. Compiled with
 *   -DLG_MODEL_HEADER="\"model.h\"" -D'LG_MODEL(x)=<prefix>##x'
 * so the same main serves every model.
 *
 *   EXE [--weights EXE.bin] [--topk K] [--threads N] IMAGE...
 *   EXE --input-raw IN.f32 --output-raw OUT.f32   (NCHW floats in, logits/features out)
 *   EXE --bench N [IMAGE... | --input-raw IN.f32]   (time N passes, then classify what is given)
 *   EXE --debug-dump DIR (IMAGE... | --input-raw IN.f32)
 *   EXE --selftest [--verify] | --verify | --peak | --profile N [--input-raw IN.f32]   (each runs alone)
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
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
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
      "  --selftest         run the golden input stored in the blob and compare (alone, or with --verify)\n"
      "  --verify           re-hash the whole blob against its sha256 (alone: verify and exit)\n"
      "  --bench N          time N runs and print min/median latency (then classify any input given)\n"
      "  --profile N        per layer and per kernel kind: fastest of N runs, GFLOP/s, %% of the FMA peak\n"
      "                     (on --input-raw or zeros; no images or outputs)\n"
      "  --peak             measure this machine's fp32 multiply-add peak (GFLOP/s) with --threads (alone)\n"
      "  --debug-dump DIR   write every layer's output as DIR/<layer>.f32 (NHWC) + DIR/index.tsv\n"
      "                     (not a norm the next layer applies, nor an 8-bit output)\n"
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
  if (!nhwc) /* no activation: an 8-bit output, or a norm the next layer applies */
    return;
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

/* --input-raw: exactly `bytes` from a regular file (lg_file) */
static int read_exact(const char *path, void *dst, size_t bytes) {
  char err[1024];
  int fd;
  size_t size;
  if (lg_file_open(path, "raw input", UINT64_MAX, &fd, &size, err, sizeof err) != LG_OK)
    return die(2, "%s", err);
  size_t got = 0;
  ssize_t r = 1;
  while (size == bytes && got < bytes && (r = read(fd, (char *)dst + got, bytes - got)) > 0)
    got += (size_t)r;
  close(fd);
  if (size != bytes || got != bytes)
    return die(
        2,
        "%s must hold exactly %zu bytes (%d float32 NCHW values for batch %d)",
        path,
        bytes,
        LG_MODEL(IN_FLOATS),
        LG_MODEL(BATCH));
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
#if defined(__AVX512VNNI__)
  if (!__builtin_cpu_supports("avx512bw") || !__builtin_cpu_supports("avx512vnni"))
    return 0;
#endif
#if defined(__AVXVNNI__)
  /* CPUID.(7,1):EAX bit 4 (compilers' __builtin_cpu_supports may not know "avxvnni") */
  unsigned a7, b7, c7, d7;
  if (!__get_cpuid_count(7, 1, &a7, &b7, &c7, &d7) || !(a7 & (1u << 4)))
    return 0;
#endif
#endif
#if defined(__ARM_FEATURE_DOTPROD)
  if (!(getauxval(AT_HWCAP) & HWCAP_ASIMDDP))
    return 0;
#endif
  return 1;
}

/* What the command line asks for. */
typedef struct options {
  const char *weights, *input_raw, *output_raw, *dump_dir;
  int topk, threads, bench, profile, peak, selftest, verify;
  lg_eval_options eval;
  const char **images; /* the IMAGE arguments, n_images of them */
  int n_images;
} options;

/* OpenMP threads a run may ask for: 4 per processor. More cannot make a
 * forward pass faster (the kernels split work statically) and, at 100000,
 * made libgomp crash. */
static int max_threads(void) { return 4 * omp_get_num_procs(); }

/* argv -> o: -1 to go on, else the exit code (0 for --help, 2 for a bad command line). */
/* The options that take a value: the index of `a` among them, or -1. */
static int valued_option(const char *a) {
  static const char *const valued[] = {
      "--weights",
      "--topk",
      "--threads",
      "--bench",
      "--profile",
      "--input-raw",
      "--output-raw",
      "--debug-dump",
      "--eval",
      "--eval-list",
      "--eval-report",
      "--min-top1",
      "--min-top5",
  };
  for (int i = 0; i < (int)(sizeof valued / sizeof valued[0]); i++)
    if (!strcmp(a, valued[i]))
      return i;
  return -1;
}

/* The inputs, outputs and modes a command line gives, for the checks of which go together. */
enum {
  GIVEN_IMAGES = 1,
  GIVEN_RAW = 2,
  GIVEN_OUTPUT = 4,
  GIVEN_DUMP = 8,
  GIVEN_BENCH = 16,
  GIVEN_PROFILE = 32,
  GIVEN_SELFTEST = 64,
  GIVEN_VERIFY = 128,
  GIVEN_PEAK = 256,
};

/* The first of `which` that o gives, by the name a message shows (an image by its path), or NULL. */
static const char *first_given(const options *o, unsigned which) {
  const struct {
    unsigned bit;
    int given;
    const char *name;
  } all[] = {
      {GIVEN_IMAGES, o->n_images > 0, o->n_images ? o->images[0] : ""},
      {GIVEN_RAW, o->input_raw != NULL, "--input-raw"},
      {GIVEN_OUTPUT, o->output_raw != NULL, "--output-raw"},
      {GIVEN_DUMP, o->dump_dir != NULL, "--debug-dump"},
      {GIVEN_BENCH, o->bench > 0, "--bench"},
      {GIVEN_PROFILE, o->profile > 0, "--profile"},
      {GIVEN_SELFTEST, o->selftest, "--selftest"},
      {GIVEN_VERIFY, o->verify, "--verify"},
      {GIVEN_PEAK, o->peak, "--peak"},
  };
  for (size_t i = 0; i < sizeof all / sizeof *all; i++)
    if ((which & all[i].bit) && all[i].given)
      return all[i].name;
  return NULL;
}

static int parse_args(int argc, char **argv, options *o) {
  unsigned seen = 0;
  int valued;
  *o = (options){.topk = 5, .eval = {.min_top1 = -1, .min_top5 = -1, .progress = isatty(STDERR_FILENO)}};
  if (!(o->images = calloc((size_t)argc, sizeof *o->images)))
    return die(1, "out of memory");
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int has_value = i + 1 < argc;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--selftest")) {
      o->selftest = 1;
    } else if (!strcmp(a, "--peak")) {
      o->peak = 1;
    } else if (!strcmp(a, "--verify")) {
      o->verify = 1;
    } else if ((valued = valued_option(a)) >= 0) {
      if (!has_value)
        return die(2, "%s needs a value; see --help", a);
      /* the second of two would win silently: --output-raw A --output-raw B wrote only B */
      if (seen & (1u << valued))
        return die(2, "%s is given twice; give it once", a);
      seen |= 1u << valued;
      const char *v = argv[++i];
      char *end;
      long num = strtol(v, &end, 10);
      int is_num = *v && !*end;
      if (!strcmp(a, "--weights"))
        o->weights = v;
      else if (!strcmp(a, "--input-raw"))
        o->input_raw = v;
      else if (!strcmp(a, "--output-raw"))
        o->output_raw = v;
      else if (!strcmp(a, "--debug-dump"))
        o->dump_dir = v;
      else if (!strcmp(a, "--eval"))
        o->eval.dir = v;
      else if (!strcmp(a, "--eval-list"))
        o->eval.list = v;
      else if (!strcmp(a, "--eval-report"))
        o->eval.report = v;
      else if (!strcmp(a, "--min-top1") || !strcmp(a, "--min-top5")) {
        double x = strtod(v, &end);
        if (!*v || *end || !(x >= 0 && x <= 100))
          return die(2, "%s takes a percentage 0..100, got '%s'", a, v);
        *(!strcmp(a, "--min-top1") ? &o->eval.min_top1 : &o->eval.min_top5) = x;
      } else if (!is_num || num < 1 || num > 1000000)
        return die(
            2,
            "%s takes an integer from 1 to %d, got '%s'",
            a,
            strcmp(a, "--threads") ? 1000000 : max_threads(),
            v);
      else if (!strcmp(a, "--threads") && num > max_threads())
        return die(
            2,
            "--threads %ld is more than %d (4 per processor of this machine); use at most that",
            num,
            max_threads());
      else if (!strcmp(a, "--topk"))
        o->topk = (int)num;
      else if (!strcmp(a, "--threads"))
        o->threads = (int)num;
      else if (!strcmp(a, "--profile"))
        o->profile = (int)num;
      else
        o->bench = (int)num;
    } else if (a[0] == '-' && a[1]) {
      return die(2, "unknown option '%s'; see --help", a);
    } else {
      o->images[o->n_images++] = a;
    }
  }
  int evaluating = o->eval.dir || o->eval.list;
  if (o->eval.dir && o->eval.list)
    return die(2, "--eval and --eval-list exclude each other; pick one");
  if (!evaluating && (o->eval.report || o->eval.min_top1 >= 0 || o->eval.min_top5 >= 0))
    return die(2, "--eval-report, --min-top1 and --min-top5 go with --eval DIR or --eval-list FILE");
  /* Modes that run instead of classifying, and outputs only a classification
   * writes: each ignored the rest silently (`--peak a.jpg` printed the peak and
   * never read a.jpg, `--profile 5 --output-raw F` wrote no F). */
  const char *extra;
  if (evaluating && (extra = first_given(o, ~0u)))
    return die(2, "--eval runs alone; drop %s", extra);
  if (o->input_raw && o->n_images)
    return die(2, "--input-raw runs instead of images; drop the images (%s) or --input-raw", o->images[0]);
  if (o->peak && (extra = first_given(o, ~(unsigned)GIVEN_PEAK)))
    return die(2, "--peak runs alone (with --threads at most); drop %s", extra);
  if (o->selftest && (extra = first_given(o, ~(unsigned)(GIVEN_SELFTEST | GIVEN_VERIFY))))
    return die(2, "--selftest runs alone on its stored input (with --verify at most); drop %s", extra);
  if (o->profile && (extra = first_given(o, GIVEN_IMAGES | GIVEN_OUTPUT | GIVEN_DUMP | GIVEN_BENCH)))
    return die(2, "--profile times the pass on --input-raw (or zeros) and writes no outputs; drop %s", extra);
  if ((o->output_raw || o->dump_dir) && !o->input_raw && !o->n_images)
    return die(
        2,
        "%s writes what images or --input-raw produce; give one of them",
        o->output_raw ? "--output-raw" : "--debug-dump");
  if (!evaluating && !first_given(o, ~(unsigned)(GIVEN_OUTPUT | GIVEN_DUMP))) {
    usage(stderr);
    return 2;
  }
  if (!o->threads && omp_get_max_threads() > max_threads())
    return die(
        2,
        "OMP_NUM_THREADS asks for %d threads, more than %d (4 per processor of this machine); lower it",
        omp_get_max_threads(),
        max_threads());
  return -1;
}

/* The weight blob (--weights, the one compiled in, or EXE.bin) into blob, its
 * name into path; 0 or the exit code. The header binding is checked always
 * (cheap); the payload's sha256 only with --verify and --selftest: hashing a
 * 100 MB blob at every start would cost more than a forward pass. */
static int load_blob(const options *o, const char *argv0, lg_blob *blob, char *path, size_t pathn) {
  char err[1024];
  if (o->weights)
    snprintf(path, pathn, "%s", o->weights);
  else
    default_blob_path(argv0, path, pathn);
#ifdef LG_EMBED_WEIGHTS
  if (!o->weights) {
    snprintf(path, pathn, "the embedded weight blob");
    lg_blob_wrap(blob, lg_embedded_blob, LG_MODEL(BLOB_BYTES));
  } else
#endif
      if (lg_blob_load(path, blob, err, sizeof err) != LG_OK)
    return die(2, "%s", err);
  if (lg_blob_check(blob, path, LG_MODEL(VARIANT), LG_MODEL(BLOB_SHA256), o->verify || o->selftest, err, sizeof err) !=
      LG_OK)
    return die(2, "%s", err);
  return 0;
}

/* The first of `rows` output rows holding a NaN or an Inf, or -1. */
static int first_non_finite(const float *out, int rows) {
  for (int r = 0; r < rows; r++)
    for (int i = 0; i < LG_MODEL(OUT_DIM); i++)
      if (!isfinite(out[(size_t)r * LG_MODEL(OUT_DIM) + i]))
        return r;
  return -1;
}

/* Prints the top-k labels of each of `rows` output rows. */
static void print_labels(const options *o, const lg_labels *labels, const float *out, int rows, int first_image) {
  float *probs = malloc(sizeof(float) * LG_MODEL(OUT_DIM));
  int *idx = malloc(sizeof(int) * (size_t)o->topk);
  for (int s = 0; s < rows && probs && idx; s++) {
    printf("%s\n", o->input_raw ? o->input_raw : o->images[first_image + s]);
    if (LG_MODEL(NUM_CLASSES) == 0) {
      printf("  %d pooled features (no classifier head); use --output-raw to save them\n", LG_MODEL(OUT_DIM));
      continue;
    }
    lg_softmax(out + (size_t)s * LG_MODEL(OUT_DIM), LG_MODEL(OUT_DIM), probs);
    int k = lg_topk(probs, LG_MODEL(OUT_DIM), o->topk, idx);
    for (int j = 0; j < k; j++) {
      char buf[64];
      printf("  %6.2f%%  %5d  %s\n", 100.0 * probs[idx[j]], idx[j], lg_labels_format(labels, idx[j], buf, sizeof buf));
    }
  }
  free(probs);
  free(idx);
}

/* The images (or --input-raw) batch by batch: labels printed, rows written
 * to --output-raw, layers dumped with --debug-dump. */
static int classify(
    const options *o,
    const char *blob_path,
    const lg_labels *labels,
    float *in,
    float *out,
    void *arena,
    const void *payload) {
  /* --output-raw: one file for the whole run, each image's row in order,
   * under a temporary name until every row is written */
  lg_outfile raw_file;
  if (o->output_raw) {
    int e = lg_outfile_open(&raw_file, o->output_raw);
    if (e)
      return die(2, "cannot write %s: %s", o->output_raw, strerror(e));
  }
  int batch = LG_MODEL(BATCH), rc = 0;
  int runs = o->input_raw ? 1 : (o->n_images + batch - 1) / batch;
  for (int r = 0; r < runs && rc == 0; r++) {
    for (int s = 0; s < batch && !o->input_raw && rc == 0; s++) {
      int idx = r * batch + s < o->n_images ? r * batch + s : o->n_images - 1; /* pad a partial batch */
      rc = load_image(o->images[idx], in, s);
    }
    if (rc)
      break;
    if (o->dump_dir) {
      mkdir(o->dump_dir, 0777);
      char index_path[4096];
      snprintf(index_path, sizeof index_path, "%s/index.tsv", o->dump_dir);
      dump_ctx d = {o->dump_dir, fopen(index_path, "w"), 0};
      if (!d.index) {
        rc = die(2, "cannot write %s: %s", index_path, strerror(errno));
        break;
      }
      LG_MODEL(forward_debug)(in, out, arena, payload, dump_layer, &d);
      fclose(d.index);
      if (d.failed) {
        rc = die(2, "cannot write layer dumps into %s", o->dump_dir);
        break;
      }
    } else {
      LG_MODEL(forward)(in, out, arena, payload);
    }
    /* the rows of this batch's images (a padded last batch has fewer) */
    int rows = o->input_raw ? batch : (o->n_images - r * batch < batch ? o->n_images - r * batch : batch);
    int bad = first_non_finite(out, rows);
    if (bad >= 0) { /* damaged or wrong weights: never print them as probabilities */
      rc =
          die(2,
              "the outputs for %s are not finite (NaN or Inf); the weights %s are damaged or wrong: check them with "
              "--verify",
              o->input_raw ? o->input_raw : o->images[r * batch + bad],
              blob_path);
      break;
    }
    if (o->output_raw) {
      size_t n = (size_t)rows * LG_MODEL(OUT_DIM);
      if (fwrite(out, sizeof(float), n, raw_file.f) != n)
        rc = die(2, "cannot write %s: %s", o->output_raw, strerror(errno));
    } else {
      print_labels(o, labels, out, rows, r * batch);
    }
  }
  if (o->output_raw) {
    int e = lg_outfile_close(&raw_file, rc == 0);
    if (e && rc == 0)
      rc = die(2, "cannot write %s: %s", o->output_raw, strerror(e));
  }
  return rc;
}

/* The mode the options ask for, on a checked blob. */
static int run_mode(const options *o, const lg_blob *blob, const char *blob_path) {
  char err[1024];
  if (o->verify && !o->selftest && !o->input_raw && o->n_images == 0 && !o->bench && !o->profile) {
    printf("verify %s: %s matches sha256 %s\n", LG_MODEL(VARIANT), blob_path, LG_MODEL(BLOB_SHA256));
    return 0;
  }
  void *arena = aligned_alloc(64, (LG_MODEL(ARENA_BYTES) + 63) / 64 * 64);
  float *in = calloc(LG_MODEL(IN_FLOATS), sizeof(float));
  float *out = calloc(LG_MODEL(OUT_FLOATS), sizeof(float));
  if (!arena || !in || !out)
    return die(1, "out of memory for the %u-byte arena", (unsigned)LG_MODEL(ARENA_BYTES));
  const void *payload = lg_blob_payload(blob);

  if (o->selftest) {
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
  int rc = 0;
  if (o->eval.dir || o->eval.list)
    rc = eval(&o->eval, blob_path, &labels, arena, payload);
  else if (o->input_raw && (rc = read_exact(o->input_raw, in, sizeof(float) * LG_MODEL(IN_FLOATS))) != 0)
    ;
  else if (o->profile)
    rc = run_profile(o->profile, in, out, arena, payload);
  else {
    if (o->bench) {
      double *t = malloc(sizeof(double) * (size_t)o->bench);
      if (!t)
        return die(1, "out of memory");
      LG_MODEL(forward)(in, out, arena, payload); /* warm-up */
      for (int i = 0; i < o->bench; i++) {
        double t0 = now_sec();
        LG_MODEL(forward)(in, out, arena, payload);
        t[i] = now_sec() - t0;
      }
      qsort(t, (size_t)o->bench, sizeof *t, cmp_double);
      printf(
          "bench %s: batch %d, %d threads, %d runs: min %.3f ms, median %.3f ms\n",
          LG_MODEL(VARIANT),
          LG_MODEL(BATCH),
          omp_get_max_threads(),
          o->bench,
          t[0] * 1e3,
          t[o->bench / 2] * 1e3);
      free(t);
    }
    if (o->input_raw || o->n_images)
      rc = classify(o, blob_path, &labels, in, out, arena, payload);
  }
  lg_labels_free(&labels);
  free(arena);
  free(in);
  free(out);
  return rc;
}

/* SIGINT, SIGTERM, SIGHUP: no --output-raw or --eval-report temporary is
 * left behind; the process then ends by the signal as it would have. */
static void on_signal(int sig) {
  lg_outfile_remove_temporaries();
  signal(sig, SIG_DFL);
  raise(sig);
}

static void catch_signals(void) {
  const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
    struct sigaction old, sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN) /* nohup's stays ignored */
      sigaction(sigs[i], &sa, NULL);
  }
}

/* As lua.c's main: parse the arguments, load what they name, run the mode. */
int main(int argc, char **argv) {
  prog = argv[0];
  if (!cpu_runs_target())
    return die(
        2,
        "this classifier was built for target %s, which this CPU does not support; rebuild with "
        "lucidgen build --target avx2, neon or generic",
        LG_MODEL(TARGET));
  options o;
  int rc = parse_args(argc, argv, &o);
  if (rc >= 0)
    return rc;
  if (o.threads)
    omp_set_num_threads(o.threads);
  if (o.peak) {
    printf("peak: %.1f GFLOP/s fp32 multiply-add, %d threads\n", lg_fma_peak_gflops(0), omp_get_max_threads());
    return 0;
  }
  catch_signals();
  char blob_path[4096];
  lg_blob blob;
  if ((rc = load_blob(&o, argv[0], &blob, blob_path, sizeof blob_path)) != 0)
    return rc;
  rc = run_mode(&o, &blob, blob_path);
  lg_blob_free(&blob);
  free(o.images);
  return rc;
}
