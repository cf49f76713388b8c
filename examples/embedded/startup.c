/* Reset for a Cortex-M7 (MPS2 AN500) or a Cortex-M55 (MPS3 AN547): the vector
 * table, .data copied from flash, .bss zeroed, the FPU switched on (on the M55
 * the same two CPACR fields switch on Helium, MVE: it executes on the FPU's
 * registers), then main(); faults end the run with a message. Symbols come
 * from the board's linker script (mps2_an500.ld, mps3_an547.ld). */
#include "semihost.h"
#include "systick.h"

#include <stdint.h>
#include <string.h>

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[], __stack_top[];
int main(void);

#define CPACR (*(volatile uint32_t *)0xE000ED88u)

void Reset_Handler(void) {
  memcpy(__data_start, __data_load, (size_t)((char *)__data_end - (char *)__data_start));
  memset(__bss_start, 0, (size_t)((char *)__bss_end - (char *)__bss_start));
  CPACR |= 0xFu << 20; /* full access to coprocessors 10 and 11: the FPU (and MVE) */
  __asm__ volatile("dsb\n\tisb" ::: "memory");
  semihost_exit(main());
}

static void Fault_Handler(void) {
  semihost_puts("fault: the model touched memory it must not (or an unaligned access)\n");
  semihost_exit(1);
}

/* initial stack pointer, then the 15 system exceptions: NMI, HardFault,
 * MemManage, BusFault, UsageFault, SecureFault (Armv8-M; reserved on the M7),
 * ..., SysTick */
__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))__stack_top,
    Reset_Handler,
    Fault_Handler,
    Fault_Handler,
    Fault_Handler,
    Fault_Handler,
    Fault_Handler,
    Fault_Handler,
    [15] = SysTick_Handler,
};
