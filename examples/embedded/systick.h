/* SysTick on the core clock, its 24-bit wraps counted in an interrupt: a 64-bit
 * tick count. Under qemu -icount shift=0 every instruction advances virtual time
 * by 1 ns, so BOARD_CLOCK_HZ ticks are 1e9 instructions (main.c checks this on a
 * loop of known length). */
#ifndef SYSTICK_H
#define SYSTICK_H

#include <stdint.h>

void systick_start(void);
uint64_t systick_now(void);
/* the handler in the vector table (startup.c) */
void SysTick_Handler(void);

#endif
