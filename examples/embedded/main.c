/* A generated model on a bare Cortex-M7: weights linked into flash
 * (--weights-format c), activations in a static arena, no heap, no stdio, no
 * OS. Checks the blob, runs the golden self-test the generator stored in it,
 * reports the stack the forward pass used (painted beforehand) against
 * net_STACK_BYTES, and ends through semihosting: exit status 0 = PASS.
 * The model's API prefix is `net_` (lucidgen --name net). */
#include "net.h"
#include "semihost.h"

#include <stdint.h>

static float arena[(net_ARENA_BYTES + 3) / 4] __attribute__((aligned(64)));
static float out[net_OUT_FLOATS];

extern uint32_t __stack_bottom[];
#define PAINT 0xA5A5A5A5u

/* Paints the free stack up to a little below this frame. */
__attribute__((noinline)) static void paint_stack(void) {
  uint32_t *p = __stack_bottom, *below_frame = (uint32_t *)__builtin_frame_address(0) - 64;
  while (p < below_frame)
    *p++ = PAINT;
}

static unsigned stack_used_below(const void *sp) {
  const uint32_t *p = __stack_bottom;
  while (*p == PAINT)
    p++;
  return (unsigned)((const char *)sp - (const char *)p);
}

int main(void) {
  semihost_puts("lucidgen on a Cortex-M7: " net_VARIANT ", target " net_TARGET "\n");
  const int check = net_blob_check(net_blob, sizeof net_blob);
  if (check != net_BLOB_OK) {
    semihost_puts("blob check failed: ");
    semihost_puts(net_blob_error(check));
    semihost_puts("\n");
    return 1;
  }
  semihost_puts("blob check: ok (in flash, read in place)\n");

  paint_stack();
  const char *sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  float max_err, max_expected;
  const int rc = net_selftest(arena, net_blob + net_BLOB_HEADER_BYTES, out, &max_err, &max_expected);
  const unsigned used = stack_used_below(sp);

  semihost_put_float("max|diff|", max_err);
  semihost_put_float("max|expected|", max_expected);
  semihost_put_uint("stack bytes used by the forward pass:", used);
  semihost_put_uint("net_STACK_BYTES (the generator's bound):", net_STACK_BYTES);
  if (used > net_STACK_BYTES) {
    semihost_puts("stack: FAIL (the forward pass used more than the bound)\n");
    return 1;
  }
  semihost_puts(rc == 0 ? "selftest: PASS\n" : "selftest: FAIL\n");
  return rc;
}
