/* Runs a generated model on raw floats, the same C for every CPU the `cross`
 * tests compare (tests/cross/neon_vs_x86.py): no image decoders, so a cross
 * compiler needs only its libc and libgomp. Built per model with
 * -DLG_MODEL_HEADER and -DLG_MODEL(x) like the classifier.
 *
 *   raw_run MODEL.bin [IN.f32 OUT.f32]
 *
 * Checks the blob (sha256 included), runs the golden self-test and prints its
 * line; with IN.f32 (NAME_IN_FLOATS native floats) also writes the output
 * (NAME_OUT_FLOATS floats). Exit 0 when the self-test passes. */
#include LG_MODEL_HEADER

#include "lg_blob.h"

#include <stdio.h>
#include <stdlib.h>

static int io(const char *path, const char *mode, float *data, size_t n) {
  FILE *f = fopen(path, mode);
  size_t done = f ? (*mode == 'r' ? fread(data, sizeof *data, n, f) : fwrite(data, sizeof *data, n, f)) : 0;
  if (f && fclose(f) != 0)
    done = 0;
  if (done != n)
    fprintf(stderr, "raw_run: cannot %s %zu floats of %s\n", *mode == 'r' ? "read" : "write", n, path);
  return done == n;
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 4) {
    fprintf(stderr, "usage: %s MODEL.bin [IN.f32 OUT.f32]\n", argv[0]);
    return 2;
  }
  char err[512];
  lg_blob blob;
  if (lg_blob_load(argv[1], &blob, err, sizeof err) != LG_OK ||
      lg_blob_check(&blob, argv[1], LG_MODEL(VARIANT), LG_MODEL(BLOB_SHA256), 1, err, sizeof err) != LG_OK) {
    fprintf(stderr, "raw_run: %s\n", err);
    return 2;
  }
  void *arena = aligned_alloc(64, LG_MODEL(ARENA_BYTES));
  float *in = malloc(sizeof(float) * LG_MODEL(IN_FLOATS)), *out = malloc(sizeof(float) * LG_MODEL(OUT_FLOATS));
  float e, m;
  if (!arena || !in || !out)
    return 2;
  int rc = LG_MODEL(selftest)(arena, lg_blob_payload(&blob), out, &e, &m);
  printf(
      "selftest %s: %s max|diff| %.3g (max|expected| %.3g)\n",
      LG_MODEL(VARIANT),
      rc == 0 ? "PASS" : "FAIL",
      (double)e,
      (double)m);
  if (rc == 0 && argc == 4) {
    if (!io(argv[2], "rb", in, LG_MODEL(IN_FLOATS)))
      return 2;
    rc = LG_MODEL(forward)(in, out, arena, lg_blob_payload(&blob));
    if (rc == 0 && !io(argv[3], "wb", out, LG_MODEL(OUT_FLOATS)))
      return 2;
  }
  free(arena), free(in), free(out);
  lg_blob_free(&blob);
  return rc == 0 ? 0 : 1;
}
