/* libFuzzer target for the weight-blob check a classifier runs before any
 * kernel reads a blob (lg_blob_check): a blob passes only when its header is
 * consistent with its size and its payload hashes to the header's sha256. */
#include <stdint.h>

#include "fuzz_check.h"
#include "lg_blob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* a blob is read 64-byte aligned (mmap or posix_memalign) */
  void *copy = NULL;
  REQUIRE(posix_memalign(&copy, LG_BLOB_ALIGN, size ? size : 1) == 0);
  memcpy(copy, data, size);
  lg_blob blob;
  lg_blob_wrap(&blob, copy, size);
  char err[1024];
  for (int verify = 0; verify < 2; verify++) {
    lg_status s = lg_blob_check(&blob, "fuzz.bin", verify ? "fuzz_variant" : NULL, NULL, verify, err, sizeof err);
    if (s != LG_OK) {
      REQUIRE(s == LG_ERR_FORMAT || s == LG_ERR_UNSUPPORTED || s == LG_ERR_MISMATCH);
      REQUIRE_ONE_LINE(err);
      REQUIRE(strstr(err, "fuzz.bin"));
      continue;
    }
    REQUIRE(size >= LG_BLOB_HEADER_BYTES);
    const unsigned char *payload = lg_blob_payload(&blob);
    REQUIRE(payload == (const unsigned char *)copy + LG_BLOB_HEADER_BYTES);
  }
  free(copy);
  return 0;
}
