/* Semihosting calls on Arm M-profile: `bkpt 0xab`, operation in r0, argument in r1. */
#include "semihost.h"

enum { SYS_WRITE0 = 0x04, SYS_EXIT = 0x18 };
enum { ADP_STOPPED_APPLICATION_EXIT = 0x20026, ADP_STOPPED_RUNTIME_ERROR = 0x20023 };

static int semihost_call(int op, const void *arg) {
  register int r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void semihost_puts(const char *s) { semihost_call(SYS_WRITE0, s); }

static char *put_digits(char *p, unsigned long long v, int min_digits) {
  char tmp[20];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v || n < min_digits);
  while (n)
    *p++ = tmp[--n];
  return p;
}

void semihost_put_uint(const char *name, unsigned long long value) {
  char line[96], *p = line;
  while (*name && p < line + 64)
    *p++ = *name++;
  *p++ = ' ';
  p = put_digits(p, value, 1);
  *p++ = '\n';
  *p = 0;
  semihost_puts(line);
}

void semihost_put_float(const char *name, float value) {
  char line[96], *p = line;
  while (*name && p < line + 64)
    *p++ = *name++;
  *p++ = ' ';
  if (value != value) {
    p[0] = 'n', p[1] = 'a', p[2] = 'n', p += 3;
  } else {
    if (value < 0.0f)
      *p++ = '-', value = -value;
    int exp = 0;
    if (value > 0.0f) {
      while (value >= 10.0f)
        value /= 10.0f, exp++;
      while (value < 1.0f)
        value *= 10.0f, exp--;
    }
    unsigned digits = (unsigned)(value * 1000.0f + 0.5f); /* d.ddd */
    if (digits >= 10000)
      digits /= 10, exp++;
    p = put_digits(p, digits / 1000, 1);
    *p++ = '.';
    p = put_digits(p, digits % 1000, 3);
    *p++ = 'e';
    *p++ = exp < 0 ? '-' : '+';
    p = put_digits(p, (unsigned)(exp < 0 ? -exp : exp), 2);
  }
  *p++ = '\n';
  *p = 0;
  semihost_puts(line);
}

_Noreturn void semihost_exit(int status) {
  /* 32-bit semihosting: the reason itself is the argument */
  semihost_call(SYS_EXIT, (const void *)(status == 0 ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUNTIME_ERROR));
  for (;;) {
  }
}
