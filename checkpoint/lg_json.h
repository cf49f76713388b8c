/* lg_json: a small strict JSON (RFC 8259) parser.
 * One call parses a whole document into one malloc'd block that holds every
 * node and every decoded string; lg_json_free releases it. Nodes are plain
 * structs the caller may read directly or through the accessors below.
 *
 * Strict means: no comments, no trailing commas, no NaN/Infinity, no leading
 * zeros or '+', no control characters or invalid UTF-8 inside strings, no
 * lone surrogates in \u escapes, nothing but whitespace after the value.
 * Duplicate object keys are kept (RFC 8259 only says SHOULD be unique); a
 * caller that cares, like lg_safetensors, checks for them itself. */
#ifndef LG_JSON_H
#define LG_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "lg_status.h"

/* Containers nested deeper than this are rejected (bounds the recursion). */
#define LG_JSON_MAX_DEPTH 64
/* Documents with more values than this are rejected before anything is
 * allocated, so a hostile "[0,0,0,...]" cannot ask for gigabytes (a header
 * of 10,000 tensors is about 110,000 values). */
#define LG_JSON_MAX_NODES ((size_t)1 << 20)

typedef enum lg_json_type {
  LG_JSON_NULL,
  LG_JSON_BOOL,
  LG_JSON_NUMBER,
  LG_JSON_STRING,
  LG_JSON_ARRAY,
  LG_JSON_OBJECT
} lg_json_type;

typedef struct lg_json lg_json;
struct lg_json {
  lg_json_type type;
  int boolean; /* BOOL: 0 or 1 */
  int is_int; /* NUMBER written as an integer (no '.', no exponent) that fits int64 */
  int is_uint; /* NUMBER written as an integer that fits uint64 */
  double number; /* NUMBER: nearest double (integers above 2^53 are rounded here) */
  int64_t i64; /* NUMBER: exact value when is_int */
  uint64_t u64; /* NUMBER: exact value when is_uint */
  const char *str; /* STRING: decoded UTF-8, NUL-terminated (may also contain NUL) */
  size_t str_len; /* STRING: length in bytes, without the terminator */
  const char *key; /* member name when the parent is an object, else NULL */
  size_t key_len;
  lg_json *items; /* ARRAY/OBJECT: children in document order */
  size_t n_items;
};

/* Parses text[0..len) (need not be NUL-terminated). On success *root owns the
 * whole tree. On failure *root is NULL, the result is LG_ERR_FORMAT (or
 * LG_ERR_NOMEM) and err holds one line ending in "at byte N", N counted from
 * text[0]. */
lg_status lg_json_parse(const char *text, size_t len, lg_json **root, char *err, size_t errn);
void lg_json_free(lg_json *root);

/* Accessors; all accept NULL and wrong-typed nodes and then return NULL/0. */
const lg_json *lg_json_get(const lg_json *obj, const char *key); /* first member named key */
size_t lg_json_len(const lg_json *arr_or_obj);
const lg_json *lg_json_at(const lg_json *arr_or_obj, size_t i);
const char *lg_json_key_at(const lg_json *obj, size_t i);
/* 1 and *out set when n is an integer literal that fits exactly, else 0. */
int lg_json_int64(const lg_json *n, int64_t *out);
int lg_json_uint64(const lg_json *n, uint64_t *out);
/* "null", "boolean", "number", "string", "array", "object": for messages. */
const char *lg_json_type_name(lg_json_type t);

#endif
