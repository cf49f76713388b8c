/* --arena-pools and --io-in-arena against the one-arena build of the same model
 * (tests/unit/generated_model_test.py arena-pools): `plain` is generated without
 * pools, `pooled` with dtcm:64K,sram:192K,sdram and --io-in-arena, same weights.
 * The kernels are the same, so every way of running `pooled` must give the bits
 * `plain` gives: one contiguous arena, pools allocated apart, and the input and
 * output read and written in the pools. */
#include "plain.h"
#include "pooled.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(pooled_POOL_DTCM_BYTES <= 64 * 1024, "a pool holds no more than its size");
_Static_assert(pooled_POOL_SRAM_BYTES <= 192 * 1024, "a pool holds no more than its size");
_Static_assert(
    pooled_ARENA_BYTES == pooled_POOL_DTCM_BYTES + pooled_POOL_SRAM_BYTES + pooled_POOL_SDRAM_BYTES,
    "the arena is the pools back to back");

static void *blob_payload(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 512, SEEK_SET);
  void *p = aligned_alloc(64, ((size_t)size + 63) / 64 * 64);
  if (p && fread(p, 1, (size_t)size - 512, f) != (size_t)size - 512)
    p = NULL;
  fclose(f);
  return p;
}

static int same(const char *what, const float *a, const float *b) {
  int ok = memcmp(a, b, sizeof(float) * plain_OUT_FLOATS) == 0;
  printf("%s %s\n", ok ? "OK" : "NOT OK", what);
  return ok;
}

int main(int argc, char **argv) {
  if (argc != 3)
    return 2;
  const void *wp = blob_payload(argv[1]), *wq = blob_payload(argv[2]);
  static float in[plain_IN_FLOATS], ref[plain_OUT_FLOATS], out[plain_OUT_FLOATS];
  for (int i = 0; i < plain_IN_FLOATS; i++)
    in[i] = (float)((i * 7919) % 2003) / 1001.0f - 1.0f;
  void *arena = aligned_alloc(64, plain_ARENA_BYTES), *big = aligned_alloc(64, pooled_ARENA_BYTES);
  pooled_pools pools = {
      aligned_alloc(64, pooled_POOL_DTCM_BYTES),
      aligned_alloc(64, pooled_POOL_SRAM_BYTES),
      aligned_alloc(64, pooled_POOL_SDRAM_BYTES)};
  if (!wp || !wq || !arena || !big || !pools.dtcm || !pools.sram || !pools.sdram)
    return 2;
  printf(
      "pools: dtcm %u, sram %u, sdram %u bytes; one arena: %u bytes\n",
      pooled_POOL_DTCM_BYTES,
      pooled_POOL_SRAM_BYTES,
      pooled_POOL_SDRAM_BYTES,
      plain_ARENA_BYTES);
  plain_forward(in, ref, arena, wp);
  int ok = 1;
  pooled_forward(in, out, big, wq);
  ok &= same("pools back to back in one arena", ref, out);
  memset(out, 0, sizeof out);
  pooled_forward_pools(in, out, &pools, wq);
  ok &= same("pools allocated apart", ref, out);
  memcpy((char *)pools.pooled_IN_POOL + pooled_IN_OFFSET, in, sizeof in);
  pooled_forward_pools(NULL, NULL, &pools, wq);
  ok &= same(
      "input and output in the pools (--io-in-arena)",
      ref,
      (const float *)((const char *)pools.pooled_OUT_POOL + pooled_OUT_OFFSET));
  return ok ? 0 : 1;
}
