/* lg_sha256: SHA-256 (FIPS 180-4), streaming and one-shot.
 * Used to check downloaded weights against the hub's LFS etag (which is the
 * sha256 of the file) and to stamp generated code with a weight checksum. */
#ifndef LG_SHA256_H
#define LG_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "lg_status.h"

typedef struct lg_sha256_ctx {
  uint32_t state[8];
  uint64_t nbytes; /* total message length so far, in bytes */
  uint8_t block[64]; /* pending partial block */
  size_t nblock; /* bytes used in `block` */
} lg_sha256_ctx;

void lg_sha256_init(lg_sha256_ctx *ctx);
void lg_sha256_update(lg_sha256_ctx *ctx, const void *data, size_t n);
/* Writes the 32-byte digest; `ctx` must be re-initialised before reuse. */
void lg_sha256_final(lg_sha256_ctx *ctx, uint8_t digest[32]);

/* Lower-case hex of a 32-byte digest, NUL-terminated. */
void lg_sha256_digest_hex(const uint8_t digest[32], char out[65]);
/* One-shot: lower-case hex digest of `data[0..n)`. */
void lg_sha256_hex(const void *data, size_t n, char out[65]);
/* Hex digest of a whole file, read in chunks. */
lg_status lg_sha256_file(const char *path, char out[65], char *err, size_t errn);

#endif
