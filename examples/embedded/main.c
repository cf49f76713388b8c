/* A generated model on a bare Cortex-M (a Cortex-M7 on the MPS2 AN500, a
 * Cortex-M55 on the MPS3 AN547): weights linked into flash (--weights-format c),
 * activations in a static arena, no heap, no stdio, no OS. Checks the blob,
 * runs the golden self-test the generator stored in it, counts the
 * instructions it took (SysTick under qemu -icount shift=0), reports the stack
 * the forward pass used (painted beforehand) against net_STACK_BYTES, and ends
 * through semihosting: exit status 0 = PASS. The model's API prefix is `net_`
 * (lucidgen --name net). Build defines: BOARD (its name) and BOARD_CLOCK_HZ
 * (the core clock SysTick counts, a whole number of MHz). */
#include "net.h"
#include "semihost.h"
#include "systick.h"

#include <stdint.h>

#define STR(x) #x
#define XSTR(x) STR(x)
_Static_assert(BOARD_CLOCK_HZ % 1000000u == 0, "BOARD_CLOCK_HZ: a whole number of MHz");

static float arena[(net_ARENA_BYTES + 3) / 4] __attribute__((aligned(64)));
static float out[net_OUT_FLOATS];
static float zeros[net_IN_FLOATS]; /* the profile's input (RAM: the flash report stays the model's) */

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

/* Virtual nanoseconds: at -icount shift=0 one instruction each. */
static uint64_t ticks_to_ns(uint64_t ticks) { return ticks * 1000u / (BOARD_CLOCK_HZ / 1000000u); }

/* Exactly 2 * n instructions (subs, bne) besides the call. */
__attribute__((noinline)) static void known_loop(uint32_t n) {
  __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
}

/* Times a loop of known length against an empty interval: whether a tick is
 * 1e9 / BOARD_CLOCK_HZ instructions here (qemu -icount shift=0), within two
 * ticks and the call. */
static int ticks_are_instructions(void) {
  enum { ITERATIONS = 1000000, INSTRUCTIONS = 2 * ITERATIONS };
  const uint64_t e0 = systick_now(), e1 = systick_now();
  const uint64_t t0 = systick_now();
  known_loop(ITERATIONS);
  const uint64_t t1 = systick_now();
  const uint64_t counted = ticks_to_ns((t1 - t0) - (e1 - e0));
  const uint64_t slack = ticks_to_ns(2) + 8;
  const int ok = counted + slack >= INSTRUCTIONS && counted <= INSTRUCTIONS + slack;
  semihost_put_uint("timer check: a loop of 2000000 instructions counted as", counted);
  semihost_puts(
      ok ? "timer check: ok, a SysTick tick is 1e9 / " XSTR(BOARD_CLOCK_HZ) " instructions (qemu -icount shift=0)\n"
         : "timer check: FAIL, SysTick ticks are not instructions here (qemu needs -icount shift=0)\n");
  return ok;
}

/* Per layer: the instructions since the previous layer ended (the hook runs
 * after each; its own cost, about 30 instructions, goes to the next layer). */
typedef struct {
  uint64_t last;
  int layer;
} profile;

static void profile_layer(void *ctx, const char *name, const float *nhwc, int n, int h, int w, int c) {
  (void)nhwc, (void)n, (void)h, (void)w, (void)c;
  profile *p = ctx;
  const uint64_t now = systick_now();
  semihost_puts("  layer ");
  semihost_puts(name);
  semihost_puts(" (");
  semihost_puts(net_layers[p->layer++].kind);
  semihost_put_uint("):", ticks_to_ns(now - p->last));
  p->last = systick_now();
}

int main(void) {
  semihost_puts("lucidgen on " BOARD ": " net_VARIANT ", target " net_TARGET ", precision " net_PRECISION "\n");
  const int check = net_blob_check(net_blob, sizeof net_blob);
  if (check != net_BLOB_OK) {
    semihost_puts("blob check failed: ");
    semihost_puts(net_blob_error(check));
    semihost_puts("\n");
    return 1;
  }
  semihost_puts("blob check: ok (in flash, read in place)\n");

  systick_start();
  const int counts_instructions = ticks_are_instructions();

  paint_stack();
  const char *sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  float max_err, max_expected;
  const uint64_t t0 = systick_now();
  const int rc = net_selftest(arena, net_blob + net_BLOB_HEADER_BYTES, out, &max_err, &max_expected);
  const uint64_t t1 = systick_now();
  const unsigned used = stack_used_below(sp);

  semihost_put_float("max|diff|", max_err);
  semihost_put_float("max|expected|", max_expected);
  semihost_put_uint("stack bytes used by the forward pass:", used);
  semihost_put_uint("net_STACK_BYTES (the generator's bound):", net_STACK_BYTES);
  /* net_selftest: net_forward on the golden input, then comparing net_OUT_FLOATS logits
   * (about 20 instructions each) */
  if (counts_instructions)
    semihost_put_uint("instructions per inference (emulated, not cycles):", ticks_to_ns(t1 - t0));
  else
    semihost_put_uint("SysTick ticks per inference:", t1 - t0);
  if (counts_instructions) {
    semihost_puts("instructions per layer (emulated, not cycles):\n");
    profile p = {systick_now(), 0};
    net_forward_debug(zeros, out, arena, net_blob + net_BLOB_HEADER_BYTES, profile_layer, &p);
  }
  if (used > net_STACK_BYTES) {
    semihost_puts("stack: FAIL (the forward pass used more than the bound)\n");
    return 1;
  }
  semihost_puts(rc == 0 ? "selftest: PASS\n" : "selftest: FAIL\n");
  return rc;
}
