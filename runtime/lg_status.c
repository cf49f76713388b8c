#include "lg_status.h"

#include <stdarg.h>
#include <stdio.h>

const char *lg_status_name(lg_status s) {
  switch (s) {
  case LG_OK:
    return "ok";
  case LG_ERR_ARG:
    return "invalid argument";
  case LG_ERR_IO:
    return "i/o error";
  case LG_ERR_FORMAT:
    return "format error";
  case LG_ERR_UNSUPPORTED:
    return "unsupported";
  case LG_ERR_MISMATCH:
    return "mismatch";
  case LG_ERR_NOMEM:
    return "out of memory";
  case LG_ERR_NETWORK:
    return "network error";
  case LG_ERR_NOT_FOUND:
    return "not found";
  }
  return "unknown error";
}

lg_status lg_fail(char *buf, size_t n, lg_status s, const char *fmt, ...) {
  if (buf && n) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
  }
  return s;
}
