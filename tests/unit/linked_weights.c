/* A model whose blob is linked in (--weights-format c or asm, API prefix m_):
 * the generated freestanding check accepts m_blob where it lies and names what is
 * wrong with a misaligned copy, a copy with the other byte order, a damaged
 * byte-order mark or header-size field, and a truncated one, then the
 * golden self-test runs on the weights in place. Prints one line per check;
 * exit 0 when every one holds. (tests/unit/generated_model_test.py weights-formats) */
#include "m.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  int ok = 1;
  int rc = m_blob_check(m_blob, sizeof m_blob);
  printf("%s linked blob: %s\n", rc == m_BLOB_OK ? "OK" : "NOT OK", m_blob_error(rc));
  ok &= rc == m_BLOB_OK;
  ok &= ((size_t)m_blob % 64) == 0;

  unsigned char *copy = aligned_alloc(64, sizeof m_blob + 64);
  memcpy(copy + 4, m_blob, sizeof m_blob);
  rc = m_blob_check(copy + 4, sizeof m_blob);
  printf("%s misaligned copy: %s\n", rc == m_BLOB_MISALIGNED ? "OK" : "NOT OK", m_blob_error(rc));
  ok &= rc == m_BLOB_MISALIGNED;
  memcpy(copy, m_blob, sizeof m_blob);
  unsigned char *mark = copy + 288; /* runtime/lg_blob.h: the byte-order mark */
  for (int i = 0; i < 2; i++) {
    unsigned char t = mark[i];
    mark[i] = mark[3 - i], mark[3 - i] = t;
  }
  rc = m_blob_check(copy, sizeof m_blob);
  printf("%s other byte order: %s\n", rc == m_BLOB_BYTE_ORDER ? "OK" : "NOT OK", m_blob_error(rc));
  ok &= rc == m_BLOB_BYTE_ORDER;
  memset(mark, 0, 4); /* a damaged mark is not "the other byte order" */
  rc = m_blob_check(copy, sizeof m_blob);
  printf("%s zeroed byte-order mark: %s\n", rc == m_BLOB_BAD_HEADER ? "OK" : "NOT OK", m_blob_error(rc));
  ok &= rc == m_BLOB_BAD_HEADER;
  memcpy(copy, m_blob, sizeof m_blob);
  memset(copy + 12, 0, 4); /* runtime/lg_blob.h: the header-size field */
  rc = m_blob_check(copy, sizeof m_blob);
  printf("%s zeroed header size: %s\n", rc == m_BLOB_BAD_HEADER ? "OK" : "NOT OK", m_blob_error(rc));
  ok &= rc == m_BLOB_BAD_HEADER;
  rc = m_blob_check(m_blob, sizeof m_blob - 64);
  printf("%s truncated: %s\n", rc == m_BLOB_BAD_SIZE ? "OK" : "NOT OK", m_blob_error(rc));
  ok &= rc == m_BLOB_BAD_SIZE;

  void *arena = aligned_alloc(64, m_ARENA_BYTES);
  float *out = malloc(sizeof(float) * m_OUT_FLOATS), err, mag;
  rc = m_selftest(arena, m_blob + m_BLOB_HEADER_BYTES, out, &err, &mag);
  printf(
      "%s selftest on the linked weights: max|diff| %.3g, max|expected| %.3g\n",
      rc == 0 ? "OK" : "NOT OK",
      (double)err,
      (double)mag);
  ok &= rc == 0;
  free(copy), free(arena), free(out);
  return ok ? 0 : 1;
}
