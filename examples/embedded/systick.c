/* SysTick (Armv7-M / Armv8-M system timer, in every Cortex-M with a main
 * extension): counts the core clock down from RVR to 0, reloads and raises
 * its exception; the handler counts the wraps. */
#include "systick.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u) /* control: enable, interrupt, clock source */
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u) /* reload value */
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u) /* current value (counts down) */
#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04u) /* bit 26 PENDSTSET: a wrap not yet handled */

enum { RELOAD = 0xFFFFFF, CSR_ENABLE = 1, CSR_TICKINT = 2, CSR_CLKSOURCE_CORE = 4, ICSR_PENDSTSET = 1u << 26 };

static volatile uint32_t wraps;

void SysTick_Handler(void) { wraps++; }

void systick_start(void) {
  SYST_RVR = RELOAD;
  SYST_CVR = 0; /* any write clears it: the count starts at RELOAD */
  SYST_CSR = CSR_ENABLE | CSR_TICKINT | CSR_CLKSOURCE_CORE;
}

/* The wrap count and the current value must belong together: read again while
 * a wrap is pending or was handled between the two reads, and while the value
 * is 0, the one tick the exception may be raised on before or after the reload
 * (then w * (RELOAD + 1) + RELOAD - v counts on without a jump). */
uint64_t systick_now(void) {
  uint32_t w, v;
  do {
    w = wraps;
    v = SYST_CVR;
  } while (v == 0 || w != wraps || (SCB_ICSR & ICSR_PENDSTSET));
  return (uint64_t)w * (RELOAD + 1u) + (RELOAD - v);
}
