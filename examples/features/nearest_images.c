/* nearest_images: embed every image of a folder with an encoder (a model
 * generated with NUM_CLASSES 0, whose output is encoder_OUT_DIM pooled
 * features per image) and print, for each, the most similar other image by
 * cosine similarity of the L2-normalized embeddings:
 *
 *   cat.png -> cat_flipped.png  (cosine 0.9871)
 *
 *   nearest_images DIR */
#include "encoder.h"

#include "lg_blob.h"
#include "lg_preprocess.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

_Static_assert(encoder_NUM_CLASSES == 0, "an encoder: generate it with NUM_CLASSES 0");

static int is_image(const char *name) {
  const char *dot = strrchr(name, '.');
  return dot &&
      (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png") || !strcasecmp(dot, ".bmp") ||
       !strcasecmp(dot, ".ppm") || !strcasecmp(dot, ".pgm"));
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  DIR *d = opendir(argv[1]);
  if (!d) {
    perror(argv[1]);
    return 2;
  }
  char **names = NULL;
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.' && is_image(e->d_name)) {
      names = realloc(names, sizeof *names * (size_t)(n + 1));
      names[n++] = strdup(e->d_name);
    }
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, by_name);
  if (n < 2) {
    fprintf(stderr, "%s: need at least two images\n", argv[1]);
    return 2;
  }

  char err[1024];
  lg_blob blob;
  if (lg_blob_load(ENCODER_BLOB, &blob, err, sizeof err) != LG_OK ||
      lg_blob_check(&blob, ENCODER_BLOB, encoder_VARIANT, encoder_BLOB_SHA256, 1, err, sizeof err) != LG_OK) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  static const float mean[] = encoder_MEAN, std[] = encoder_STD;
  lg_preprocess_cfg cfg = {.out_h = encoder_IN_H, .out_w = encoder_IN_W, .crop_pct = encoder_CROP_PCT};
  lg_interp_from_name(encoder_INTERPOLATION, &cfg.interp);
  for (int c = 0; c < 3; c++) {
    int i = sizeof mean / sizeof *mean == 1 ? 0 : c;
    cfg.mean[c] = mean[i], cfg.std[c] = std[i];
  }

  /* one embedding per image (batch slot 0; the others stay zero) */
  const int dim = encoder_OUT_DIM;
  float *in = calloc(encoder_IN_FLOATS, sizeof *in), *out = malloc(sizeof *out * encoder_OUT_FLOATS);
  float *emb = malloc(sizeof *emb * (size_t)n * dim);
  void *arena = aligned_alloc(64, (encoder_ARENA_BYTES + 63) / 64 * 64);
  if (!in || !out || !emb || !arena)
    return 1;
  for (int i = 0; i < n; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", argv[1], names[i]);
    if (lg_preprocess_file(path, &cfg, encoder_IN_CHANS, in, err, sizeof err) != LG_OK) {
      fprintf(stderr, "%s\n", err);
      return 2;
    }
    encoder_forward(in, out, arena, lg_blob_payload(&blob));
    double norm = 0;
    for (int j = 0; j < dim; j++)
      norm += (double)out[j] * out[j];
    for (int j = 0; j < dim; j++)
      emb[(size_t)i * dim + j] = (float)(out[j] / (sqrt(norm) + 1e-12));
  }

  printf("%s: %d-d embeddings of %d images\n", encoder_VARIANT, dim, n);
  for (int i = 0; i < n; i++) {
    int best = -1;
    double best_cos = -2;
    for (int k = 0; k < n; k++) {
      if (k == i)
        continue;
      double cos = 0;
      for (int j = 0; j < dim; j++)
        cos += (double)emb[(size_t)i * dim + j] * emb[(size_t)k * dim + j];
      if (cos > best_cos)
        best = k, best_cos = cos;
    }
    printf("%s -> %s  (cosine %.4f)\n", names[i], names[best], best_cos);
  }
  return 0;
}
