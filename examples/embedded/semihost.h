/* Semihosting: the debugger (here qemu-system-arm -semihosting) prints for the
 * program and ends it. The only I/O of the bare-metal example. */
#ifndef SEMIHOST_H
#define SEMIHOST_H

void semihost_puts(const char *s);
/* "name value" with value as d.ddde+XX, float arithmetic only (no printf, no double) */
void semihost_put_float(const char *name, float value);
void semihost_put_uint(const char *name, unsigned long long value);
/* Ends the program: status 0 = success (qemu exits 0), anything else = failure (qemu exits 1). */
_Noreturn void semihost_exit(int status);

#endif
