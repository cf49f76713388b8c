/* classify_folder: every image of a folder through a generated model, in
 * batches of classifier_BATCH, into a CSV with one row per image:
 *
 *   path,class,probability,top5
 *   examples/images/ball_scene.jpg,805,0.4312,805 852 722 ...
 *
 * (plus a `label` column when a label file is given: one class per line,
 * "wnid<TAB>name" or "name", like lucidgen's variants/labels/).
 * The model is the library `classifier` of lucidgen_add_model: its header
 * gives the input shape and the variant's preprocessing, the runtime decodes
 * and preprocesses each image like timm's eval transform.
 *
 *   classify_folder DIR OUT.csv [LABELS.txt] */
#include "classifier.h"

#include "lg_blob.h"
#include "lg_labels.h"
#include "lg_preprocess.h"
#include "lg_topk.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int is_image(const char *name) {
  const char *dot = strrchr(name, '.');
  return dot &&
      (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png") || !strcasecmp(dot, ".bmp") ||
       !strcasecmp(dot, ".ppm") || !strcasecmp(dot, ".pgm"));
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void csv_field(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"')
      fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *text = NULL;
  long n = -1;
  if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
      (text = malloc((size_t)n + 1)) && fread(text, 1, (size_t)n, f) == (size_t)n) {
    *len = (size_t)n;
  } else {
    free(text);
    text = NULL;
  }
  if (f)
    fclose(f);
  return text;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: %s DIR OUT.csv [LABELS.txt]\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1], *csv = argv[2];
  char err[1024];

  lg_labels labels = {0};
  if (argc == 4) {
    size_t len;
    char *text = read_file(argv[3], &len);
    if (!text || lg_labels_parse(text, len, &labels, err, sizeof err) != LG_OK) {
      fprintf(stderr, "%s: %s\n", argv[3], text ? err : "cannot read");
      return 2;
    }
    free(text);
  }

  /* the images, in name order */
  DIR *d = opendir(dir);
  if (!d) {
    perror(dir);
    return 2;
  }
  char **paths = NULL;
  int n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.' || !is_image(e->d_name))
      continue;
    paths = realloc(paths, sizeof *paths * (size_t)(n + 1));
    paths[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
    sprintf(paths[n++], "%s/%s", dir, e->d_name);
  }
  closedir(d);
  qsort(paths, (size_t)n, sizeof *paths, by_name);

  lg_blob blob;
  if (lg_blob_load(CLASSIFIER_BLOB, &blob, err, sizeof err) != LG_OK ||
      lg_blob_check(&blob, CLASSIFIER_BLOB, classifier_VARIANT, classifier_BLOB_SHA256, 1, err, sizeof err) != LG_OK) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  static const float mean[] = classifier_MEAN, std[] = classifier_STD;
  lg_preprocess_cfg cfg = {.out_h = classifier_IN_H, .out_w = classifier_IN_W, .crop_pct = classifier_CROP_PCT};
  lg_interp_from_name(classifier_INTERPOLATION, &cfg.interp);
  for (int c = 0; c < 3; c++) { /* a one-channel model has one mean/std: all three channels get it */
    int i = sizeof mean / sizeof *mean == 1 ? 0 : c;
    cfg.mean[c] = mean[i], cfg.std[c] = std[i];
  }

  const size_t per_image = (size_t)classifier_IN_CHANS * classifier_IN_H * classifier_IN_W;
  float *in = calloc(classifier_IN_FLOATS, sizeof *in);
  float *out = malloc(sizeof *out * classifier_OUT_FLOATS), *probs = malloc(sizeof *probs * classifier_OUT_DIM);
  void *arena = aligned_alloc(64, (classifier_ARENA_BYTES + 63) / 64 * 64);
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", csv);
  FILE *f = fopen(tmp, "w");
  if (!in || !out || !probs || !arena || !f) {
    fprintf(stderr, "cannot write %s or out of memory\n", tmp);
    return 1;
  }
  fprintf(f, "path,class,probability,top5%s\n", labels.n ? ",label" : "");
  for (int first = 0; first < n; first += classifier_BATCH) {
    int count = n - first < classifier_BATCH ? n - first : classifier_BATCH; /* the last batch may be partial */
    for (int s = 0; s < count; s++)
      if (lg_preprocess_file(paths[first + s], &cfg, classifier_IN_CHANS, in + s * per_image, err, sizeof err) !=
          LG_OK) {
        fprintf(stderr, "%s\n", err);
        remove(tmp);
        return 2;
      }
    classifier_forward(in, out, arena, lg_blob_payload(&blob));
    for (int s = 0; s < count; s++) {
      int top[5];
      lg_softmax(out + (size_t)s * classifier_OUT_DIM, classifier_OUT_DIM, probs);
      int k = lg_topk(probs, classifier_OUT_DIM, 5, top);
      csv_field(f, paths[first + s]);
      fprintf(f, ",%d,%.4f,", top[0], (double)probs[top[0]]);
      for (int j = 0; j < k; j++)
        fprintf(f, "%s%d", j ? " " : "", top[j]);
      if (labels.n) {
        char buf[32];
        fputc(',', f);
        csv_field(f, lg_labels_format(&labels, top[0], buf, sizeof buf));
      }
      fputc('\n', f);
    }
  }
  if (fclose(f) != 0 || rename(tmp, csv) != 0) {
    perror(csv);
    return 1;
  }
  printf("%s: %d images of %s in batches of %d -> %s\n", classifier_VARIANT, n, dir, classifier_BATCH, csv);
  return 0;
}
