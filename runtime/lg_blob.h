/* lg_blob: the packed weight blob a generated model reads.
 *
 * Layout (header fields little-endian, 512-byte header, then the payload):
 *   off   size  field
 *   0     8     magic "LGBLOB01"
 *   8     4     format version (LG_BLOB_VERSION)
 *   12    4     header bytes (512)
 *   16    8     total bytes (header + payload)
 *   24    8     payload bytes
 *   32    64    sha256 of the payload, lower-case hex
 *   96    128   variant name, NUL-padded
 *   224   32    kernel target (avx512, avx2, generic), NUL-padded
 *   256   32    generator version, NUL-padded
 *   288   4     byte-order mark: the uint32 0x01020304 stored in the payload's byte
 *               order (04 03 02 01: little-endian floats), the target's order
 *   292   220   zero
 * Payload floats are in the byte order of the kernel target they were generated
 * for; a reader whose CPU has the other order refuses the blob.
 * Every tensor in the payload starts on a 64-byte boundary of the payload;
 * the generated code addresses them as literal offsets from the payload start.
 * The generated header carries the payload sha256, so a blob from another
 * generation is refused before any kernel reads it. */
#ifndef LG_BLOB_H
#define LG_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "lg_status.h"

#define LG_BLOB_MAGIC "LGBLOB01"
#define LG_BLOB_VERSION 2u
#define LG_BLOB_BYTE_ORDER_MARK 0x01020304u
#define LG_BLOB_HEADER_BYTES 512u
#define LG_BLOB_ALIGN 64u

enum {
  LG_BLOB_OFF_MAGIC = 0,
  LG_BLOB_OFF_VERSION = 8,
  LG_BLOB_OFF_HEADER_BYTES = 12,
  LG_BLOB_OFF_TOTAL = 16,
  LG_BLOB_OFF_PAYLOAD = 24,
  LG_BLOB_OFF_SHA256 = 32,
  LG_BLOB_OFF_VARIANT = 96,
  LG_BLOB_OFF_TARGET = 224,
  LG_BLOB_OFF_GENERATOR = 256,
  LG_BLOB_OFF_BYTE_ORDER = 288
};

typedef struct lg_blob {
  const unsigned char *data; /* whole blob, header included, 64-byte aligned */
  size_t size;
  void *mapping; /* non-NULL when mmap'ed by lg_blob_load */
  size_t mapping_size;
  void *heap; /* non-NULL when read into memory */
} lg_blob;

/* Maps (or reads) a blob file. Only I/O errors here; call lg_blob_check next. */
lg_status lg_blob_load(const char *path, lg_blob *blob, char *err, size_t errn);
/* Wraps an in-memory blob (e.g. compiled in with --embed-weights). */
void lg_blob_wrap(lg_blob *blob, const void *data, size_t size);
void lg_blob_free(lg_blob *blob);

/* Validates magic, version, the payload's byte order, sizes, the variant name and the payload sha256
 * against what the generated code was built for. `what` names the blob in
 * messages (usually its path). `verify_hash` 0 skips hashing the payload
 * (the header's hash is still compared). */
lg_status lg_blob_check(
    const lg_blob *blob,
    const char *what,
    const char *expect_variant,
    const char *expect_sha256,
    int verify_hash,
    char *err,
    size_t errn);

/* Payload start: what NAME_forward's `blob` argument points at. */
static inline const void *lg_blob_payload(const lg_blob *blob) { return blob->data + LG_BLOB_HEADER_BYTES; }

#endif
