/* The smallest program around a generated model: load and check the blob,
 * run the golden self-test, then one forward pass on a mid-grey image.
 * Everything model-specific comes from the generated header net.h (the
 * library `net` of lucidgen_add_model; its API prefix is net_).
 *
 *   app [MODEL.bin]      (default: the blob the build generated, NET_BLOB) */
#include "net.h"

#include "lg_blob.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : NET_BLOB;
  char err[512];
  lg_blob blob;
  if (lg_blob_load(path, &blob, err, sizeof err) != LG_OK ||
      lg_blob_check(&blob, path, net_VARIANT, net_BLOB_SHA256, 1, err, sizeof err) != LG_OK) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  void *arena = aligned_alloc(64, (net_ARENA_BYTES + 63) / 64 * 64);
  float *in = calloc(net_IN_FLOATS, sizeof(float)); /* 0 = the dataset mean after normalization */
  float *out = malloc(sizeof(float) * net_OUT_FLOATS);
  if (!arena || !in || !out) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  float max_err, max_expected;
  int rc = net_selftest(arena, lg_blob_payload(&blob), out, &max_err, &max_expected);
  printf("%s (%s) selftest: %s (max|diff| %.3g)\n", net_VARIANT, net_TARGET, rc ? "FAIL" : "PASS", (double)max_err);
  net_forward(in, out, arena, lg_blob_payload(&blob));
  int best = 0;
  for (int i = 1; i < net_OUT_DIM; i++)
    if (out[i] > out[best])
      best = i;
  printf("mid-grey input: top output %d (%.4f)\n", best, (double)out[best]);
  free(arena);
  free(in);
  free(out);
  lg_blob_free(&blob);
  return rc;
}
