/* lg_status: one error convention for the whole runtime and host.
 * Every fallible function returns lg_status and, where it has one, fills a
 * caller-provided message buffer with a single line naming the thing and the
 * fix (no trailing newline). */
#ifndef LG_STATUS_H
#define LG_STATUS_H

#include <stddef.h>

typedef enum lg_status {
  LG_OK = 0,
  LG_ERR_ARG, /* bad argument or option value: the caller's fault */
  LG_ERR_IO, /* open/read/write/rename failed */
  LG_ERR_FORMAT, /* malformed file: safetensors, JSON, blob, image */
  LG_ERR_UNSUPPORTED, /* well-formed but not something we handle (dtype, ...) */
  LG_ERR_MISMATCH, /* checksum, shape, variant or key-set mismatch */
  LG_ERR_NOMEM,
  LG_ERR_NETWORK, /* download failed after retries */
  LG_ERR_NOT_FOUND /* missing file, key, cache entry, remote object */
} lg_status;

/* Short stable name of a status, e.g. "format error". */
const char *lg_status_name(lg_status s);

/* printf into an error buffer (no-op when buf is NULL); returns `s` so call
 * sites can write `return lg_fail(err, n, LG_ERR_IO, "...", ...)`. */
lg_status lg_fail(char *buf, size_t n, lg_status s, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
