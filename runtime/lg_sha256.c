/* SHA-256 per FIPS 180-4 section 6.2. Big-endian words, 64-byte blocks,
 * padding 0x80 then zeros then the 64-bit message length in bits. */
#include "lg_sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* FIPS 180-4 4.2.2: first 32 bits of the fractional parts of the cube roots
 * of the first 64 primes. */
static const uint32_t lg_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t rotr32(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

/* One compression round over a 64-byte block (FIPS 180-4 6.2.2). */
static void lg_sha256_compress(uint32_t state[8], const uint8_t block[64]) {
  uint32_t w[64];
  for (int t = 0; t < 16; t++) {
    w[t] = (uint32_t)block[4 * t] << 24 | (uint32_t)block[4 * t + 1] << 16 | (uint32_t)block[4 * t + 2] << 8 |
        (uint32_t)block[4 * t + 3];
  }
  for (int t = 16; t < 64; t++) {
    uint32_t s0 = rotr32(w[t - 15], 7) ^ rotr32(w[t - 15], 18) ^ (w[t - 15] >> 3);
    uint32_t s1 = rotr32(w[t - 2], 17) ^ rotr32(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
  for (int t = 0; t < 64; t++) {
    uint32_t S1 = rotr32(e, 6) ^ rotr32(e, 11) ^ rotr32(e, 25);
    uint32_t ch = (e & f) ^ (~e & g);
    uint32_t t1 = h + S1 + ch + lg_sha256_k[t] + w[t];
    uint32_t S0 = rotr32(a, 2) ^ rotr32(a, 13) ^ rotr32(a, 22);
    uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
    uint32_t t2 = S0 + maj;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
  state[4] += e;
  state[5] += f;
  state[6] += g;
  state[7] += h;
}

void lg_sha256_init(lg_sha256_ctx *ctx) {
  /* FIPS 180-4 5.3.3: fractional parts of the square roots of the first 8 primes. */
  static const uint32_t h0[8] =
      {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(ctx->state, h0, sizeof h0);
  ctx->nbytes = 0;
  ctx->nblock = 0;
}

void lg_sha256_update(lg_sha256_ctx *ctx, const void *data, size_t n) {
  const uint8_t *p = data;
  ctx->nbytes += n;
  if (ctx->nblock) {
    size_t take = 64 - ctx->nblock < n ? 64 - ctx->nblock : n;
    memcpy(ctx->block + ctx->nblock, p, take);
    ctx->nblock += take;
    p += take;
    n -= take;
    if (ctx->nblock < 64)
      return;
    lg_sha256_compress(ctx->state, ctx->block);
    ctx->nblock = 0;
  }
  for (; n >= 64; p += 64, n -= 64)
    lg_sha256_compress(ctx->state, p);
  memcpy(ctx->block, p, n);
  ctx->nblock = n;
}

void lg_sha256_final(lg_sha256_ctx *ctx, uint8_t digest[32]) {
  uint64_t nbits = ctx->nbytes * 8;
  ctx->block[ctx->nblock++] = 0x80;
  if (ctx->nblock > 56) {
    memset(ctx->block + ctx->nblock, 0, 64 - ctx->nblock);
    lg_sha256_compress(ctx->state, ctx->block);
    ctx->nblock = 0;
  }
  memset(ctx->block + ctx->nblock, 0, 56 - ctx->nblock);
  for (int i = 0; i < 8; i++)
    ctx->block[56 + i] = (uint8_t)(nbits >> (56 - 8 * i));
  lg_sha256_compress(ctx->state, ctx->block);
  for (int i = 0; i < 8; i++) {
    digest[4 * i] = (uint8_t)(ctx->state[i] >> 24);
    digest[4 * i + 1] = (uint8_t)(ctx->state[i] >> 16);
    digest[4 * i + 2] = (uint8_t)(ctx->state[i] >> 8);
    digest[4 * i + 3] = (uint8_t)ctx->state[i];
  }
}

void lg_sha256_digest_hex(const uint8_t digest[32], char out[65]) {
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    out[2 * i] = hex[digest[i] >> 4];
    out[2 * i + 1] = hex[digest[i] & 15];
  }
  out[64] = '\0';
}

void lg_sha256_hex(const void *data, size_t n, char out[65]) {
  lg_sha256_ctx ctx;
  uint8_t digest[32];
  lg_sha256_init(&ctx);
  lg_sha256_update(&ctx, data, n);
  lg_sha256_final(&ctx, digest);
  lg_sha256_digest_hex(digest, out);
}

lg_status lg_sha256_file(const char *path, char out[65], char *err, size_t errn) {
  /* non-blocking, and only a regular file: a FIFO in a cache being verified
   * blocked open() for ever, and /dev/zero would be hashed without end */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return lg_fail(err, errn, LG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return lg_fail(err, errn, LG_ERR_IO, "%s is not a regular file", path);
  }
  lg_sha256_ctx ctx;
  uint8_t buf[1 << 16], digest[32];
  ssize_t got;
  lg_sha256_init(&ctx);
  while ((got = read(fd, buf, sizeof buf)) != 0) {
    if (got > 0)
      lg_sha256_update(&ctx, buf, (size_t)got);
    else if (errno != EINTR) {
      int e = errno;
      close(fd);
      return lg_fail(err, errn, LG_ERR_IO, "cannot read %s: %s", path, strerror(e));
    }
  }
  close(fd);
  lg_sha256_final(&ctx, digest);
  lg_sha256_digest_hex(digest, out);
  return LG_OK;
}
