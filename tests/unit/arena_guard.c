/* Runs a generated model in an arena of exactly NAME_ARENA_BYTES that ends
 * (then: starts) at a PROT_NONE page, so any read or write outside the planned
 * arena faults. Then checks the golden self-test result, so the run was real.
 * Built per model with -DLG_MODEL_HEADER and -DLG_MODEL(x) like the classifier. */
#include LG_MODEL_HEADER

#include "lg_blob.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static int run(const lg_blob *blob, int guard_after) {
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  const size_t arena_bytes = LG_MODEL(ARENA_BYTES);
  const size_t span = (arena_bytes + page - 1) / page * page;
  unsigned char *base = mmap(NULL, span + 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED)
    return 2;
  /* guard pages on both sides; the arena touches one of them exactly */
  mprotect(base, page, PROT_NONE);
  mprotect(base + page + span, page, PROT_NONE);
  unsigned char *arena = guard_after ? base + page + span - arena_bytes : base + page;
  float out[LG_MODEL(OUT_FLOATS)], err, mag;
  int rc = LG_MODEL(selftest)(arena, lg_blob_payload(blob), out, &err, &mag);
  printf(
      "%s: arena %zu bytes flush against the guard page %s: selftest %s (max|diff| %.3g, max|expected| %.3g)\n",
      LG_MODEL(VARIANT),
      arena_bytes,
      guard_after ? "after it" : "before it",
      rc ? "FAIL" : "PASS",
      (double)err,
      (double)mag);
  munmap(base, span + 2 * page);
  return rc;
}

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
  int rc = run(&blob, 1) | run(&blob, 0);
  lg_blob_free(&blob);
  return rc;
}
