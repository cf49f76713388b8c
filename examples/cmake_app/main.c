/* The smallest program around a generated model: load and check the blob,
 * run the golden self-test, then one forward pass on a mid-grey image.
 * Everything model-specific comes from the generated header: LG_MODEL(x)
 * pastes the API prefix (-DLG_MODEL_PREFIX=net_) onto a name. */
#include LG_MODEL_HEADER

#define LG_PASTE_(a, b) a##b
#define LG_PASTE(a, b) LG_PASTE_(a, b)
#define LG_MODEL(x) LG_PASTE(LG_MODEL_PREFIX, x)

#include "lg_blob.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL.bin\n", argv[0]);
    return 2;
  }
  char err[512];
  lg_blob blob;
  if (lg_blob_load(argv[1], &blob, err, sizeof err) != LG_OK ||
      lg_blob_check(&blob, argv[1], LG_MODEL(VARIANT), LG_MODEL(BLOB_SHA256), 1, err, sizeof err) != LG_OK) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  void *arena = aligned_alloc(64, LG_MODEL(ARENA_BYTES));
  float *in = calloc(LG_MODEL(IN_FLOATS), sizeof(float)); /* 0 = the dataset mean after normalization */
  float *out = malloc(sizeof(float) * LG_MODEL(OUT_FLOATS));
  float max_err, max_expected;
  int rc = LG_MODEL(selftest)(arena, lg_blob_payload(&blob), out, &max_err, &max_expected);
  printf("%s selftest: %s (max|diff| %.3g)\n", LG_MODEL(VARIANT), rc ? "FAIL" : "PASS", (double)max_err);
  LG_MODEL(forward)(in, out, arena, lg_blob_payload(&blob));
  int best = 0;
  for (int i = 1; i < LG_MODEL(OUT_DIM); i++)
    if (out[i] > out[best]) best = i;
  printf("mid-grey input: top output %d (%.4f)\n", best, (double)out[best]);
  free(arena);
  free(in);
  free(out);
  lg_blob_free(&blob);
  return rc;
}
