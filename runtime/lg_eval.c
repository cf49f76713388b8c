#include "lg_eval.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lg_eval_set.h"
#include "lg_file.h"
#include "lg_topk.h"

#define TOPK 5
#define MAX_DECODERS 8

/* ---- the pipeline: decoders fill a ring of input batches ---------------- *
 * Image i belongs to batch i / batch and is decoded into ring slot
 * (i / batch) % ring once that slot holds its batch (slot_batch); the model
 * takes a batch when every image of it is in (slot_filled), then hands the
 * slot to the batch `ring` places later. */
typedef struct pipeline {
  const lg_eval_model *m;
  const lg_eval_set *set;
  int ring;
  size_t in_floats; /* per image: in_chans * h * w */
  float *inputs; /* ring x batch x in_floats */
  int *slot_batch, *slot_filled;
  int next_image; /* the next image a decoder claims */
  lg_status failed; /* a decoder or the model failed; err says why */
  char err[1024];
  pthread_mutex_t mu;
  pthread_cond_t cv;
} pipeline;

static int images_in_batch(const pipeline *p, int b) {
  int left = p->set->n - b * p->m->batch;
  return left < p->m->batch ? left : p->m->batch;
}

static void fail_locked(pipeline *p, lg_status st, const char *why) {
  if (!p->failed) {
    snprintf(p->err, sizeof p->err, "%s", why);
    p->failed = st;
  }
  pthread_cond_broadcast(&p->cv);
}

static void *decoder(void *arg) {
  pipeline *p = arg;
  char err[1024];
  pthread_mutex_lock(&p->mu);
  while (!p->failed && p->next_image < p->set->n) {
    int i = p->next_image++;
    int b = i / p->m->batch, s = b % p->ring;
    while (p->slot_batch[s] != b && !p->failed)
      pthread_cond_wait(&p->cv, &p->mu);
    if (p->failed)
      break;
    pthread_mutex_unlock(&p->mu);
    float *dst = p->inputs + ((size_t)s * p->m->batch + (size_t)(i % p->m->batch)) * p->in_floats;
    lg_status st = lg_preprocess_file(p->set->path[i], &p->m->pre, p->m->in_chans, dst, err, sizeof err);
    pthread_mutex_lock(&p->mu);
    if (st != LG_OK)
      fail_locked(p, st, err);
    p->slot_filled[s]++;
    pthread_cond_broadcast(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

static double now_sec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void draw_progress(int done, int total, int correct1, double elapsed) {
  enum { WIDTH = 30 };
  int fill = (int)((long)WIDTH * done / total);
  char bar[WIDTH + 1];
  for (int i = 0; i < WIDTH; i++)
    bar[i] = i < fill ? '#' : '.';
  bar[WIDTH] = '\0';
  fprintf(
      stderr,
      "\r[%s] %d/%d images  %.1f images/s  top-1 %.2f%%",
      bar,
      done,
      total,
      elapsed > 0 ? done / elapsed : 0.0,
      100.0 * correct1 / (done ? done : 1));
  if (done == total)
    fputc('\n', stderr);
  fflush(stderr);
}

/* The first of `rows` rows of `dim` outputs holding a NaN or an Inf, or -1. */
static int first_non_finite(const float *out, int rows, int dim) {
  for (int r = 0; r < rows; r++)
    for (int i = 0; i < dim; i++)
      if (!isfinite(out[(size_t)r * dim + i]))
        return r;
  return -1;
}

/* Runs every batch; top5 (n x TOPK) gets each image's five best classes. */
static lg_status run_batches(
    pipeline *p,
    int decoders,
    int progress,
    int *top5,
    lg_eval_result *r,
    char *err,
    size_t errn) {
  const lg_eval_model *m = p->m;
  float *out = malloc((size_t)m->batch * m->out_dim * sizeof *out);
  pthread_t *threads = calloc((size_t)decoders, sizeof *threads);
  if (!out || !threads) {
    free(out);
    free(threads);
    return lg_fail(err, errn, LG_ERR_NOMEM, "eval: out of memory");
  }
  int started = 0;
  for (; started < decoders; started++)
    if (pthread_create(&threads[started], NULL, decoder, p) != 0)
      break;
  const int n_batches = (p->set->n + m->batch - 1) / m->batch;
  const int k = m->out_dim < TOPK ? m->out_dim : TOPK;
  double t0 = now_sec(), drawn = 0;
  pthread_mutex_lock(&p->mu);
  if (started == 0)
    fail_locked(p, LG_ERR_NOMEM, "eval: cannot start a decoding thread");
  for (int b = 0; b < n_batches && !p->failed; b++) {
    int s = b % p->ring, count = images_in_batch(p, b);
    while (p->slot_filled[s] < count && !p->failed)
      pthread_cond_wait(&p->cv, &p->mu);
    if (p->failed)
      break;
    pthread_mutex_unlock(&p->mu);
    int rc = m->forward(m->ctx, p->inputs + (size_t)s * m->batch * p->in_floats, out);
    int bad = rc == 0 ? first_non_finite(out, count, m->out_dim) : -1;
    for (int j = 0; j < count && rc == 0 && bad < 0; j++) {
      int i = b * m->batch + j, *best = top5 + (size_t)i * TOPK;
      for (int t = lg_topk(out + (size_t)j * m->out_dim, m->out_dim, k, best); t < TOPK; t++)
        best[t] = -1;
      for (int t = 0; t < k; t++)
        if (best[t] == p->set->label[i]) {
          r->correct1 += t == 0;
          r->correct5++;
        }
    }
    r->images = b * m->batch + count;
    if (progress && (now_sec() - drawn > 0.1 || r->images == p->set->n)) {
      drawn = now_sec();
      draw_progress(r->images, p->set->n, r->correct1, drawn - t0);
    }
    pthread_mutex_lock(&p->mu);
    char why[1024];
    if (rc != 0) {
      snprintf(why, sizeof why, "eval: the model's forward returned %d", rc);
      fail_locked(p, LG_ERR_ARG, why);
    } else if (bad >= 0) {
      /* a NaN would rank last and count as a miss, an Inf as a hit: no accuracy is measured on them */
      snprintf(
          why,
          sizeof why,
          "eval: the model's outputs for %s are not finite (NaN or Inf); its weights %s are damaged or wrong: "
          "check them with --verify",
          p->set->path[b * m->batch + bad],
          m->weights ? m->weights : "(unnamed)");
      fail_locked(p, LG_ERR_FORMAT, why);
    }
    p->slot_filled[s] = 0;
    p->slot_batch[s] = b + p->ring;
    pthread_cond_broadcast(&p->cv);
  }
  if (p->failed)
    pthread_cond_broadcast(&p->cv); /* decoders waiting for a slot see it and stop */
  pthread_mutex_unlock(&p->mu);
  for (int t = 0; t < started; t++)
    pthread_join(threads[t], NULL);
  r->seconds = now_sec() - t0;
  free(threads);
  free(out);
  if (p->failed) {
    if (progress)
      fputc('\n', stderr);
    return lg_fail(err, errn, p->failed, "%s", p->err);
  }
  return LG_OK;
}

/* ---- the report --------------------------------------------------------- */

/* Bytes of the UTF-8 sequence at s (1..4), or 0 when s does not start one
 * (strict: no overlong forms, no surrogates, nothing past U+10FFFF). */
static int utf8_sequence(const unsigned char *s) {
  const unsigned c = s[0];
  const int n = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
  for (int k = 1; k < n; k++)
    if ((s[k] & 0xc0) != 0x80)
      return 0;
  if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) || (c == 0xf0 && s[1] < 0x90) ||
      (c == 0xf4 && s[1] >= 0x90))
    return 0;
  return n;
}

/* A JSON string of s. Paths are bytes: a byte that does not start a valid
 * UTF-8 sequence is written as \udcXX, the surrogate Python's
 * surrogateescape gives it, so the report stays JSON and os.fsencode() of the
 * string gives the path's bytes back. */
static void json_string(FILE *f, const char *str) {
  const unsigned char *s = (const unsigned char *)str;
  fputc('"', f);
  while (*s) {
    int n = utf8_sequence(s);
    if (*s == '"' || *s == '\\')
      fprintf(f, "\\%c", *s);
    else if (*s < 0x20 || n == 0)
      fprintf(f, "\\u%04x", *s < 0x20 ? *s : 0xdc00u + *s);
    else
      fwrite(s, 1, (size_t)n, f);
    s += n ? n : 1;
  }
  fputc('"', f);
}

static void json_number_or_null(FILE *f, double v) {
  if (v < 0)
    fputs("null", f);
  else
    fprintf(f, "%.6g", v);
}

typedef struct summary {
  const char *set_path, *layout;
  int val_like, compared, decoders;
  const char *note; /* published_note, or why the numbers are not compared */
} summary;

/* The report into `out`, opened before the run (lg_eval_run), closed here:
 * moved into place when every byte is written. */
static lg_status write_report(
    lg_outfile *out,
    const lg_eval_model *m,
    const lg_eval_options *o,
    const lg_eval_set *set,
    const summary *sm,
    const int *top5,
    const lg_eval_result *r,
    char *err,
    size_t errn) {
  FILE *f = out->f;
  fputs("{\n  \"variant\": ", f);
  json_string(f, m->variant);
  fputs(",\n  \"target\": ", f);
  json_string(f, m->target);
  fputs(",\n  \"set\": {\"path\": ", f);
  json_string(f, sm->set_path);
  fprintf(
      f,
      ", \"layout\": \"%s\", \"images\": %d, \"classes\": %d, \"skipped\": %d, "
      "\"imagenet_val_like\": %s},\n",
      sm->layout,
      set->n,
      set->n_classes,
      set->skipped,
      sm->val_like ? "true" : "false");
  fprintf(
      f,
      "  \"top1\": %.6g,\n  \"top5\": %.6g,\n  \"correct1\": %d,\n  \"correct5\": %d,\n",
      r->top1,
      r->top5,
      r->correct1,
      r->correct5);
  fprintf(
      f,
      "  \"seconds\": %.6g,\n  \"images_per_second\": %.6g,\n",
      r->seconds,
      r->seconds > 0 ? r->images / r->seconds : 0.0);
  fprintf(f, "  \"batch\": %d,\n  \"threads\": %d,\n  \"decoders\": %d,\n", m->batch, m->threads, sm->decoders);
  if (m->published_acc1 >= 0)
    fprintf(f, "  \"published\": {\"acc1\": %.6g, \"acc5\": %.6g},\n", m->published_acc1, m->published_acc5);
  else
    fputs("  \"published\": null,\n", f);
  fputs("  \"published_note\": ", f);
  json_string(f, sm->note);
  fprintf(f, ",\n  \"compared\": %s,\n  \"gates\": {\"min_top1\": ", sm->compared ? "true" : "false");
  json_number_or_null(f, o->min_top1);
  fputs(", \"min_top5\": ", f);
  json_number_or_null(f, o->min_top5);
  fprintf(f, ", \"passed\": %s},\n  \"predictions\": [", r->passed ? "true" : "false");
  for (int i = 0; i < set->n; i++) {
    fputs(i ? ",\n    {\"path\": " : "\n    {\"path\": ", f);
    json_string(f, set->path[i]);
    fprintf(f, ", \"label\": %d, \"top5\": [", set->label[i]);
    for (int t = 0; t < TOPK && top5[(size_t)i * TOPK + t] >= 0; t++)
      fprintf(f, "%s%d", t ? ", " : "", top5[(size_t)i * TOPK + t]);
    fputs("]}", f);
  }
  fputs("\n  ]\n}\n", f);
  int e = lg_outfile_close(out, 1);
  if (e != 0)
    return lg_fail(err, errn, LG_ERR_IO, "cannot write report %s: %s", out->path, strerror(e));
  return LG_OK;
}

/* ---- the summary a person reads ----------------------------------------- */

static void print_summary(
    FILE *out,
    const lg_eval_model *m,
    const lg_eval_options *o,
    const lg_eval_set *set,
    const summary *sm,
    const lg_eval_result *r) {
  fprintf(
      out,
      "eval %s (%s) on %s: %d images in %d classes (%s",
      m->variant,
      m->target,
      sm->set_path,
      set->n,
      set->n_classes,
      sm->layout);
  if (set->skipped)
    fprintf(out, ", %d other files skipped", set->skipped);
  fprintf(out, ")\n");
  fprintf(
      out,
      "top-1 %.2f%% (%d/%d)  top-5 %.2f%% (%d/%d)  %.1f images/s (%.2f s; batch %d, %d threads, %d decoders)\n",
      r->top1,
      r->correct1,
      r->images,
      r->top5,
      r->correct5,
      r->images,
      r->seconds > 0 ? r->images / r->seconds : 0.0,
      r->seconds,
      m->batch,
      m->threads,
      sm->decoders);
  if (sm->compared) {
    /* binomial standard error of this sample's accuracy, in points */
    double se1 = 100.0 * sqrt(r->top1 / 100 * (1 - r->top1 / 100) / r->images);
    double se5 = 100.0 * sqrt(r->top5 / 100 * (1 - r->top5 / 100) / r->images);
    fprintf(
        out,
        "published acc@1 %.3f%%, acc@5 %.3f%% (%s): this set %+.2f / %+.2f points "
        "(standard error of %d images: %.2f / %.2f)\n",
        m->published_acc1,
        m->published_acc5,
        sm->note,
        r->top1 - m->published_acc1,
        r->top5 - m->published_acc5,
        r->images,
        se1,
        se5);
  } else {
    fprintf(out, "not compared with published accuracy: %s\n", sm->note);
  }
  if (o->min_top1 >= 0)
    fprintf(out, "gate top-1 >= %.2f%%: %s\n", o->min_top1, r->top1 >= o->min_top1 ? "pass" : "FAIL");
  if (o->min_top5 >= 0)
    fprintf(out, "gate top-5 >= %.2f%%: %s\n", o->min_top5, r->top5 >= o->min_top5 ? "pass" : "FAIL");
}

static int default_decoders(void) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  return cpus < 1 ? 1 : cpus > MAX_DECODERS ? MAX_DECODERS : (int)cpus;
}

lg_status lg_eval_run(
    const lg_eval_model *m,
    const lg_eval_options *o,
    FILE *out,
    lg_eval_result *r,
    char *err,
    size_t errn) {
  memset(r, 0, sizeof *r);
  lg_eval_set set;
  int num_classes = m->out_dim;
  lg_status st = o->dir ? lg_eval_set_from_dir(o->dir, m->labels, num_classes, &set, err, errn)
                        : lg_eval_set_from_list(o->list, m->labels, num_classes, &set, err, errn);
  if (st != LG_OK)
    return st;
  /* the report's file before the run, not after it: an unwritable path
   * (a directory, a missing folder) failed only once every image was run */
  lg_outfile report = {0};
  if (o->report) {
    int e = lg_outfile_open(&report, o->report);
    if (e) {
      lg_eval_set_free(&set);
      return lg_fail(err, errn, LG_ERR_IO, "cannot write report %s: %s", o->report, strerror(e));
    }
  }

  summary sm = {.set_path = o->dir ? o->dir : o->list, .layout = o->dir ? "ImageFolder" : "list"};
  sm.decoders = o->decoders > 0 ? o->decoders : default_decoders();
  if (sm.decoders > set.n)
    sm.decoders = set.n;
  sm.val_like = m->imagenet_1k && set.synset_labels;
  sm.compared = sm.val_like && m->published_acc1 >= 0;
  sm.note = m->published_acc1 < 0 ? m->published_note
      : !m->imagenet_1k           ? "the model's head is not ImageNet-1k's"
      : !sm.val_like              ? "the set's classes are not named by ImageNet-1k synsets (n01440764 ...)"
                                  : m->published_note;

  pipeline p = {.m = m, .set = &set};
  p.ring = 2 + (sm.decoders + m->batch - 1) / m->batch;
  p.in_floats = (size_t)m->in_chans * m->pre.out_h * m->pre.out_w;
  p.inputs = calloc((size_t)p.ring * m->batch * p.in_floats, sizeof *p.inputs);
  p.slot_batch = malloc((size_t)p.ring * sizeof *p.slot_batch);
  p.slot_filled = calloc((size_t)p.ring, sizeof *p.slot_filled);
  int *top5 = malloc((size_t)set.n * TOPK * sizeof *top5);
  if (!p.inputs || !p.slot_batch || !p.slot_filled || !top5) {
    st = lg_fail(err, errn, LG_ERR_NOMEM, "eval: out of memory for %d input batches", p.ring);
  } else {
    for (int s = 0; s < p.ring; s++)
      p.slot_batch[s] = s;
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    st = run_batches(&p, sm.decoders, o->progress, top5, r, err, errn);
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
  }
  if (st == LG_OK) {
    r->top1 = 100.0 * r->correct1 / r->images;
    r->top5 = 100.0 * r->correct5 / r->images;
    r->passed = r->top1 >= o->min_top1 && r->top5 >= o->min_top5;
    print_summary(out, m, o, &set, &sm, r);
    if (o->report)
      st = write_report(&report, m, o, &set, &sm, top5, r, err, errn);
  } else if (o->report) {
    lg_outfile_close(&report, 0);
  }
  free(top5);
  free(p.inputs);
  free(p.slot_batch);
  free(p.slot_filled);
  lg_eval_set_free(&set);
  return st;
}
