/* lg_eval: a classifier's accuracy on a labelled image set (lg_eval_set),
 * the gate a CI pipeline checks before it ships a model.
 *
 * Worker threads decode and preprocess images (lg_preprocess_file) into a
 * ring of input batches while the model runs the batch before; top-1/top-5
 * are counted per image. lg_eval_run prints a summary (and, on a terminal, a
 * progress bar), compares with the checkpoint's published accuracy when the
 * set is ImageNet-val-like (its classes are ImageNet-1k synsets and the model
 * has the ImageNet-1k head), and writes a JSON report:
 *
 *   { "variant", "target", "set": {"path", "layout", "images", "classes",
 *     "skipped", "imagenet_val_like"}, "top1", "top5" (percent), "correct1",
 *     "correct5", "seconds", "images_per_second", "batch", "threads",
 *     "decoders", "published": {"acc1", "acc5"} or null, "published_note",
 *     "compared", "gates": {"min_top1", "min_top5" (null when unset),
 *     "passed"}, "predictions": [{"path", "label", "top5": [idx...]}] }
 * (path bytes that are not UTF-8 are written as \udcXX, Python's
 * surrogateescape). Outputs that are not finite numbers (NaN, Inf) stop the
 * run with an error naming the image and the weights: an accuracy measured
 * on them would be a number about nothing. */
#ifndef LG_EVAL_H
#define LG_EVAL_H

#include <stdio.h>

#include "lg_labels.h"
#include "lg_preprocess.h"
#include "lg_status.h"

/* What lg_eval needs to know about the model it measures. */
typedef struct lg_eval_model {
  const char *variant, *target;
  const char *weights; /* names the weights in messages (the blob's path) */
  int batch, in_chans, out_dim; /* input (batch, in_chans, pre.out_h, pre.out_w) -> (batch, out_dim) */
  lg_preprocess_cfg pre; /* the variant's eval transform */
  const lg_labels *labels; /* class names and synset keys (may be empty) */
  int imagenet_1k; /* 1: the head is ImageNet-1k's 1000 classes */
  double published_acc1, published_acc5; /* percent; < 0 when there are none */
  const char *published_note; /* where they come from, or why there are none */
  int threads; /* OpenMP threads the forward uses (for the report) */
  /* Runs one batch: in (batch, in_chans, h, w) normalized NCHW -> out (batch, out_dim). */
  int (*forward)(void *ctx, const float *in, float *out);
  void *ctx;
} lg_eval_model;

typedef struct lg_eval_options {
  const char *dir; /* ImageFolder root, or NULL */
  const char *list; /* CSV list, or NULL (exactly one of dir, list) */
  const char *report; /* JSON report path, or NULL */
  double min_top1, min_top5; /* gates in percent; < 0 when unset */
  int decoders; /* decoding threads; 0 = one per CPU (at most 8) */
  int progress; /* 1: progress bar on stderr */
} lg_eval_options;

typedef struct lg_eval_result {
  int images, correct1, correct5;
  double top1, top5, seconds; /* percent, percent, wall time */
  int passed; /* every gate met */
} lg_eval_result;

/* Lists the set, runs the model over it and prints the summary on `out`.
 * A failure (unreadable set or image, report not writable) returns its
 * status with one line in err; missing a gate is not a failure: see
 * result->passed. The report is written whether or not the gates pass. */
lg_status lg_eval_run(
    const lg_eval_model *model,
    const lg_eval_options *opts,
    FILE *out,
    lg_eval_result *result,
    char *err,
    size_t errn);

#endif
