/* safetensors reader: header JSON -> validated tensor table -> float32 reads.
 * Every check names the file and the tensor; see lg_safetensors.h for the
 * rules and where they come from. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mmap, O_CLOEXEC: also when built outside CMake */
#endif
#include "lg_safetensors.h"

#include "lg_half.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
  const char *name;
  int bits;
} lg_dtype_info[LG_DT_COUNT] = {
    [LG_DT_BOOL] = {"BOOL", 8},
    [LG_DT_F4] = {"F4", 4},
    [LG_DT_F6_E2M3] = {"F6_E2M3", 6},
    [LG_DT_F6_E3M2] = {"F6_E3M2", 6},
    [LG_DT_U8] = {"U8", 8},
    [LG_DT_I8] = {"I8", 8},
    [LG_DT_F8_E5M2] = {"F8_E5M2", 8},
    [LG_DT_F8_E4M3] = {"F8_E4M3", 8},
    [LG_DT_F8_E8M0] = {"F8_E8M0", 8},
    [LG_DT_F8_E4M3FNUZ] = {"F8_E4M3FNUZ", 8},
    [LG_DT_F8_E5M2FNUZ] = {"F8_E5M2FNUZ", 8},
    [LG_DT_I16] = {"I16", 16},
    [LG_DT_U16] = {"U16", 16},
    [LG_DT_F16] = {"F16", 16},
    [LG_DT_BF16] = {"BF16", 16},
    [LG_DT_I32] = {"I32", 32},
    [LG_DT_U32] = {"U32", 32},
    [LG_DT_F32] = {"F32", 32},
    [LG_DT_C64] = {"C64", 64},
    [LG_DT_F64] = {"F64", 64},
    [LG_DT_I64] = {"I64", 64},
    [LG_DT_U64] = {"U64", 64},
};

const char *lg_dtype_name(lg_dtype dt) { return (unsigned)dt < LG_DT_COUNT ? lg_dtype_info[dt].name : "?"; }

int lg_dtype_bits(lg_dtype dt) { return (unsigned)dt < LG_DT_COUNT ? lg_dtype_info[dt].bits : 0; }

/* ---- messages ------------------------------------------------------------ */

/* "<file>: " + message into st->err; returns s. */
static lg_status st_fail(lg_safetensors *st, lg_status s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static lg_status st_fail(lg_safetensors *st, lg_status s, const char *fmt, ...) {
  int n = snprintf(st->err, sizeof st->err, "%s: ", st->path ? st->path : "<memory>");
  if (n >= 0 && (size_t)n < sizeof st->err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err + n, sizeof st->err - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return s;
}

/* A name from a hostile file, quoted for a one-line message: control bytes
 * escaped, long names cut at a UTF-8 boundary. Used as qname(x).s inside one
 * printf call (the temporary lives until the end of the full expression). */
typedef struct {
  char s[72];
} lg_qname;

static lg_qname qname(const char *name) {
  lg_qname q;
  size_t o = 0;
  q.s[o++] = '\'';
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
    if (o > sizeof q.s - 10 && (*p & 0xC0) != 0x80) {
      memcpy(q.s + o, "...", 3);
      o += 3;
      break;
    }
    if (*p < 0x20 || *p == 0x7F)
      o += (size_t)snprintf(q.s + o, 5, "\\x%02x", *p);
    else
      q.s[o++] = (char)*p;
  }
  q.s[o++] = '\'';
  q.s[o] = '\0';
  return q;
}

typedef struct {
  char s[200];
} lg_shape_str;

static lg_shape_str shape_str(const lg_st_tensor *t) {
  lg_shape_str r;
  size_t o = 0;
  r.s[o++] = '[';
  for (int i = 0; i < t->ndim; i++)
    o += (size_t)snprintf(r.s + o, sizeof r.s - o, "%s%" PRId64, i ? ", " : "", t->shape[i]);
  snprintf(r.s + o, sizeof r.s - o, "]");
  return r;
}

/* "a string", "an array", "null": for "expected X, got Y". */
static const char *a_type(lg_json_type t) {
  switch (t) {
  case LG_JSON_NULL:
    return "null";
  case LG_JSON_BOOL:
    return "a boolean";
  case LG_JSON_NUMBER:
    return "a number";
  case LG_JSON_STRING:
    return "a string";
  case LG_JSON_ARRAY:
    return "an array";
  case LG_JSON_OBJECT:
    return "an object";
  }
  return "an unknown value";
}

/* What a JSON value is, for "expected a non-negative integer, got ...". */
typedef struct {
  char s[40];
} lg_jdesc;

static lg_jdesc describe(const lg_json *v) {
  lg_jdesc d;
  if (v->type != LG_JSON_NUMBER)
    snprintf(d.s, sizeof d.s, "%s", a_type(v->type));
  else if (v->is_int)
    snprintf(d.s, sizeof d.s, "%" PRId64, v->i64);
  else if (v->is_uint)
    snprintf(d.s, sizeof d.s, "%" PRIu64, v->u64);
  else
    snprintf(d.s, sizeof d.s, "%.17g", v->number);
  return d;
}

/* ---- header -> tensor table --------------------------------------------- */

static uint64_t le64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static int key_is(const lg_json *m, const char *k) {
  size_t n = strlen(k);
  return m->key_len == n && memcmp(m->key, k, n) == 0;
}

/* One entry {"dtype": ..., "shape": [...], "data_offsets": [b, e]}. */
static lg_status parse_tensor(lg_safetensors *st, const lg_json *m, lg_st_tensor *t) {
  static const char *const fields[3] = {"dtype", "shape", "data_offsets"};
  const lg_json *f[3] = {NULL, NULL, NULL};
  t->name = m->key;
  if (m->type != LG_JSON_OBJECT)
    return st_fail(st, LG_ERR_FORMAT, "tensor %s: entry must be an object, got %s", qname(t->name).s, a_type(m->type));
  for (size_t i = 0; i < m->n_items; i++) {
    for (int k = 0; k < 3; k++) {
      if (!key_is(&m->items[i], fields[k]))
        continue;
      if (f[k])
        return st_fail(st, LG_ERR_FORMAT, "tensor %s has a duplicate \"%s\" field", qname(t->name).s, fields[k]);
      f[k] = &m->items[i];
    }
  }
  for (int k = 0; k < 3; k++)
    if (!f[k])
      return st_fail(st, LG_ERR_FORMAT, "tensor %s is missing \"%s\"", qname(t->name).s, fields[k]);
  const lg_json *dt = f[0], *shape = f[1], *off = f[2];

  if (dt->type != LG_JSON_STRING)
    return st_fail(st, LG_ERR_FORMAT, "tensor %s: dtype must be a string, got %s", qname(t->name).s, a_type(dt->type));
  int found = 0;
  for (int k = 0; k < LG_DT_COUNT && !found; k++) {
    if (dt->str_len == strlen(lg_dtype_info[k].name) && memcmp(dt->str, lg_dtype_info[k].name, dt->str_len) == 0) {
      t->dtype = (lg_dtype)k;
      found = 1;
    }
  }
  if (!found)
    return st_fail(st, LG_ERR_FORMAT, "tensor %s has unknown dtype %s", qname(t->name).s, qname(dt->str).s);

  if (shape->type != LG_JSON_ARRAY)
    return st_fail(
        st,
        LG_ERR_FORMAT,
        "tensor %s: shape must be an array of integers, got %s",
        qname(t->name).s,
        a_type(shape->type));
  if (shape->n_items > LG_ST_MAX_DIMS)
    return st_fail(
        st,
        LG_ERR_UNSUPPORTED,
        "tensor %s has %zu dimensions; at most %d are supported",
        qname(t->name).s,
        shape->n_items,
        LG_ST_MAX_DIMS);
  t->ndim = (int)shape->n_items;
  for (int i = 0; i < t->ndim; i++) {
    uint64_t d;
    if (!lg_json_uint64(&shape->items[i], &d) || d > (uint64_t)INT64_MAX)
      return st_fail(
          st,
          LG_ERR_FORMAT,
          "tensor %s: shape[%d] is %s, expected a non-negative integer below 2^63",
          qname(t->name).s,
          i,
          describe(&shape->items[i]).s);
    t->shape[i] = (int64_t)d;
  }

  if (off->type != LG_JSON_ARRAY || off->n_items != 2)
    return off->type == LG_JSON_ARRAY ? st_fail(
                                            st,
                                            LG_ERR_FORMAT,
                                            "tensor %s: data_offsets must be [begin, end], got %zu elements",
                                            qname(t->name).s,
                                            off->n_items)
                                      : st_fail(
                                            st,
                                            LG_ERR_FORMAT,
                                            "tensor %s: data_offsets must be [begin, end], got %s",
                                            qname(t->name).s,
                                            a_type(off->type));
  for (int i = 0; i < 2; i++) {
    uint64_t *dst = i ? &t->end : &t->begin;
    if (!lg_json_uint64(&off->items[i], dst))
      return st_fail(
          st,
          LG_ERR_FORMAT,
          "tensor %s: data_offsets[%d] is %s, expected a non-negative integer",
          qname(t->name).s,
          i,
          describe(&off->items[i]).s);
  }
  if (t->begin > t->end)
    return st_fail(
        st,
        LG_ERR_FORMAT,
        "tensor %s has data_offsets [%" PRIu64 ", %" PRIu64 "] with begin > end",
        qname(t->name).s,
        t->begin,
        t->end);
  if (t->end > st->data_size)
    return st_fail(
        st,
        LG_ERR_FORMAT,
        "tensor %s: data_offsets [%" PRIu64 ", %" PRIu64 "] go past the end of the %" PRIu64 "-byte data section",
        qname(t->name).s,
        t->begin,
        t->end,
        st->data_size);

  /* numel and byte size with overflow checks: numel must fit int64 for
   * lg_st_numel, and numel * bits must fit uint64. */
  uint64_t numel = 1;
  for (int i = 0; i < t->ndim; i++) {
    uint64_t d = (uint64_t)t->shape[i];
    if (d && numel > (uint64_t)INT64_MAX / d)
      return st_fail(
          st,
          LG_ERR_FORMAT,
          "tensor %s: shape %s has more than 2^63-1 elements",
          qname(t->name).s,
          shape_str(t).s);
    numel *= d;
  }
  uint64_t bits_per = (uint64_t)lg_dtype_info[t->dtype].bits;
  if (numel > UINT64_MAX / bits_per)
    return st_fail(
        st,
        LG_ERR_FORMAT,
        "tensor %s: size of shape %s in %s overflows 64 bits",
        qname(t->name).s,
        shape_str(t).s,
        lg_dtype_name(t->dtype));
  uint64_t bits = numel * bits_per;
  if (bits % 8)
    return st_fail(
        st,
        LG_ERR_FORMAT,
        "tensor %s: shape %s in %s is %" PRIu64 " bits, not a whole number of bytes",
        qname(t->name).s,
        shape_str(t).s,
        lg_dtype_name(t->dtype),
        bits);
  if (t->end - t->begin != bits / 8)
    return st_fail(
        st,
        LG_ERR_FORMAT,
        "tensor %s: shape %s in %s needs %" PRIu64 " bytes but data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64,
        qname(t->name).s,
        shape_str(t).s,
        lg_dtype_name(t->dtype),
        bits / 8,
        t->begin,
        t->end,
        t->end - t->begin);
  return LG_OK;
}

static int has_nul(const char *s, size_t n) { return memchr(s, '\0', n) != NULL; }

static int cmp_meta(const void *a, const void *b) {
  return strcmp(((const lg_st_meta_entry *)a)->key, ((const lg_st_meta_entry *)b)->key);
}

/* "__metadata__": null, or an object of string -> string. */
static lg_status parse_metadata(lg_safetensors *st, const lg_json *m) {
  if (m->type == LG_JSON_NULL)
    return LG_OK;
  if (m->type != LG_JSON_OBJECT)
    return st_fail(st, LG_ERR_FORMAT, "__metadata__ must be an object of strings, got %s", a_type(m->type));
  st->meta = calloc(m->n_items ? m->n_items : 1, sizeof *st->meta);
  if (!st->meta)
    return st_fail(st, LG_ERR_NOMEM, "out of memory for __metadata__");
  for (size_t i = 0; i < m->n_items; i++) {
    const lg_json *v = &m->items[i];
    if (has_nul(v->key, v->key_len))
      return st_fail(st, LG_ERR_FORMAT, "__metadata__ key %s contains a NUL byte", qname(v->key).s);
    if (v->type != LG_JSON_STRING)
      return st_fail(
          st,
          LG_ERR_FORMAT,
          "__metadata__ %s must map to a string, got %s",
          qname(v->key).s,
          a_type(v->type));
    if (has_nul(v->str, v->str_len))
      return st_fail(st, LG_ERR_FORMAT, "__metadata__ %s has a value containing a NUL byte", qname(v->key).s);
    st->meta[i].key = v->key;
    st->meta[i].value = v->str;
  }
  st->n_meta = m->n_items;
  qsort(st->meta, st->n_meta, sizeof *st->meta, cmp_meta);
  for (size_t i = 1; i < st->n_meta; i++)
    if (strcmp(st->meta[i - 1].key, st->meta[i].key) == 0)
      return st_fail(st, LG_ERR_FORMAT, "duplicate __metadata__ key %s", qname(st->meta[i].key).s);
  return LG_OK;
}

static int cmp_by_name(const void *a, const void *b) {
  return strcmp(((const lg_st_tensor *)a)->name, ((const lg_st_tensor *)b)->name);
}

/* Order by data_offsets, ties by name so the first reported error is stable. */
static int cmp_by_offsets(const void *a, const void *b) {
  const lg_st_tensor *x = *(const lg_st_tensor *const *)a, *y = *(const lg_st_tensor *const *)b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return strcmp(x->name, y->name);
}

/* Sorted by offset, the tensors must tile [0, data_size) with no hole and no
 * overlap, like the reference reader's Metadata::validate. */
static lg_status check_layout(lg_safetensors *st) {
  const lg_st_tensor **order = malloc((st->n_tensors ? st->n_tensors : 1) * sizeof *order);
  if (!order)
    return st_fail(st, LG_ERR_NOMEM, "out of memory checking tensor offsets");
  for (size_t i = 0; i < st->n_tensors; i++)
    order[i] = &st->tensors[i];
  qsort(order, st->n_tensors, sizeof *order, cmp_by_offsets);
  lg_status s = LG_OK;
  uint64_t pos = 0;
  const lg_st_tensor *prev = NULL;
  for (size_t i = 0; i < st->n_tensors && s == LG_OK; i++) {
    const lg_st_tensor *t = order[i];
    if (t->begin < pos)
      s = st_fail(
          st,
          LG_ERR_FORMAT,
          "tensor %s starts at %" PRIu64 " but previous tensor %s ends at %" PRIu64 " (overlap)",
          qname(t->name).s,
          t->begin,
          qname(prev->name).s,
          pos);
    else if (t->begin > pos && prev)
      s = st_fail(
          st,
          LG_ERR_FORMAT,
          "tensor %s starts at %" PRIu64 " but previous tensor %s ends at %" PRIu64 " (hole of %" PRIu64 " bytes)",
          qname(t->name).s,
          t->begin,
          qname(prev->name).s,
          pos,
          t->begin - pos);
    else if (t->begin > pos)
      s = st_fail(
          st,
          LG_ERR_FORMAT,
          "first tensor %s starts at %" PRIu64 ", not 0 (hole at the start of the data "
          "section)",
          qname(t->name).s,
          t->begin);
    pos = t->end;
    prev = t;
  }
  free(order);
  if (s == LG_OK && pos != st->data_size)
    s = st_fail(
        st,
        LG_ERR_FORMAT,
        "tensors end at byte %" PRIu64 " of the %" PRIu64 "-byte data section (%" PRIu64
        " trailing bytes belong to no tensor)",
        pos,
        st->data_size,
        st->data_size - pos);
  return s;
}

static lg_status parse_buffer(lg_safetensors *st, const unsigned char *buf, size_t size) {
  if (size < 8)
    return st_fail(st, LG_ERR_FORMAT, "file is %zu bytes, too short for the 8-byte header length", size);
  uint64_t n = le64(buf);
  if (n > LG_ST_MAX_HEADER)
    return st_fail(
        st,
        LG_ERR_FORMAT,
        "header length %" PRIu64 " exceeds the %u-byte limit (not a safetensors file?)",
        n,
        LG_ST_MAX_HEADER);
  if (n > size - 8)
    return st_fail(
        st,
        LG_ERR_FORMAT,
        "header length %" PRIu64 " runs past the end of the file (%zu bytes follow "
        "the length)",
        n,
        size - 8);
  st->header_size = n;
  st->data = buf + 8 + n;
  st->data_size = size - 8 - n;

  char jerr[160];
  lg_status s = lg_json_parse((const char *)buf + 8, (size_t)n, &st->header, jerr, sizeof jerr);
  if (s == LG_ERR_NOMEM)
    return st_fail(st, s, "header: %s", jerr);
  if (s != LG_OK)
    return st_fail(st, s, "header is not valid JSON: %s of the header", jerr);
  const lg_json *root = st->header;
  if (root->type != LG_JSON_OBJECT)
    return st_fail(st, LG_ERR_FORMAT, "header must be a JSON object, got %s", a_type(root->type));

  const lg_json *meta = NULL;
  size_t n_tensors = 0;
  for (size_t i = 0; i < root->n_items; i++) {
    const lg_json *m = &root->items[i];
    if (has_nul(m->key, m->key_len))
      return st_fail(st, LG_ERR_FORMAT, "tensor name %s contains a NUL byte", qname(m->key).s);
    if (!key_is(m, "__metadata__"))
      n_tensors++;
    else if (meta)
      return st_fail(st, LG_ERR_FORMAT, "duplicate \"__metadata__\" key");
    else
      meta = m;
  }
  if (meta && (s = parse_metadata(st, meta)) != LG_OK)
    return s;

  st->tensors = calloc(n_tensors ? n_tensors : 1, sizeof *st->tensors);
  if (!st->tensors)
    return st_fail(st, LG_ERR_NOMEM, "out of memory for %zu tensors", n_tensors);
  for (size_t i = 0; i < root->n_items; i++) {
    const lg_json *m = &root->items[i];
    if (m == meta)
      continue;
    if ((s = parse_tensor(st, m, &st->tensors[st->n_tensors])) != LG_OK)
      return s;
    st->tensors[st->n_tensors].data = st->data + st->tensors[st->n_tensors].begin;
    st->n_tensors++;
  }
  /* names first: a duplicate would otherwise surface as a confusing overlap */
  qsort(st->tensors, st->n_tensors, sizeof *st->tensors, cmp_by_name);
  for (size_t i = 1; i < st->n_tensors; i++)
    if (strcmp(st->tensors[i - 1].name, st->tensors[i].name) == 0)
      return st_fail(st, LG_ERR_FORMAT, "duplicate tensor name %s", qname(st->tensors[i].name).s);
  return check_layout(st);
}

/* ---- open / close -------------------------------------------------------- */

/* Frees everything but the message, so a failed open still explains itself. */
static void release(lg_safetensors *st) {
  char err[sizeof st->err];
  memcpy(err, st->err, sizeof err);
  lg_json_free(st->header);
  free(st->tensors);
  free(st->meta);
  free(st->path);
  if (st->file && st->mapped)
    munmap(st->file, st->file_size);
  else
    free(st->file);
  memset(st, 0, sizeof *st);
  memcpy(st->err, err, sizeof err);
}

lg_status lg_st_parse(lg_safetensors *st, const void *buf, size_t size) {
  memset(st, 0, sizeof *st);
  if (!buf && size)
    return st_fail(st, LG_ERR_ARG, "NULL buffer of %zu bytes", size);
  lg_status s = parse_buffer(st, buf ? buf : (const void *)"", size);
  if (s != LG_OK)
    release(st);
  return s;
}

/* read(2) the whole file when it cannot be mapped. */
static lg_status read_all(lg_safetensors *st, int fd, size_t size) {
  unsigned char *b = malloc(size ? size : 1);
  if (!b)
    return st_fail(st, LG_ERR_NOMEM, "out of memory reading %zu bytes", size);
  st->file = b;
  st->mapped = 0;
  size_t got = 0;
  while (got < size) {
    ssize_t r = read(fd, b + got, size - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return st_fail(st, LG_ERR_IO, "read failed: %s", strerror(errno));
    if (r == 0)
      return st_fail(st, LG_ERR_IO, "file shrank while reading (%zu of %zu bytes)", got, size);
    got += (size_t)r;
  }
  return LG_OK;
}

lg_status lg_st_open(lg_safetensors *st, const char *path) {
  memset(st, 0, sizeof *st);
  if (!path)
    return st_fail(st, LG_ERR_ARG, "NULL path");
  size_t len = strlen(path);
  st->path = malloc(len + 1);
  if (!st->path) {
    snprintf(st->err, sizeof st->err, "%s: out of memory", path);
    return LG_ERR_NOMEM;
  }
  memcpy(st->path, path, len + 1);

  lg_status s = LG_OK;
  /* non-blocking: a FIFO would block open() until a writer came; fstat refuses it below */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    s = st_fail(st, errno == ENOENT ? LG_ERR_NOT_FOUND : LG_ERR_IO, "cannot open: %s", strerror(errno));
    release(st);
    return s;
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0)
    s = st_fail(st, LG_ERR_IO, "cannot stat: %s", strerror(errno));
  else if (!S_ISREG(sb.st_mode))
    s = st_fail(st, LG_ERR_IO, "not a regular file (a FIFO, device or socket is not read)");
  else if (fcntl(fd, F_SETFL, 0) != 0)
    s = st_fail(st, LG_ERR_IO, "cannot read: %s", strerror(errno));
  else if ((uint64_t)sb.st_size > SIZE_MAX)
    s = st_fail(st, LG_ERR_IO, "file too large for memory");
  if (s == LG_OK) {
    st->file_size = (size_t)sb.st_size;
    void *m = st->file_size ? mmap(NULL, st->file_size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    if (m != MAP_FAILED) {
      st->file = m;
      st->mapped = 1;
    } else {
      s = read_all(st, fd, st->file_size);
    }
  }
  close(fd);
  if (s == LG_OK)
    s = parse_buffer(st, st->file, st->file_size);
  if (s != LG_OK)
    release(st);
  return s;
}

void lg_st_close(lg_safetensors *st) {
  if (!st)
    return;
  release(st);
  st->err[0] = '\0';
}

/* ---- queries --------------------------------------------------------------- */

const lg_st_tensor *lg_st_find(const lg_safetensors *st, const char *name) {
  size_t lo = 0, hi = st && name ? st->n_tensors : 0;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(st->tensors[mid].name, name);
    if (c == 0)
      return &st->tensors[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

int64_t lg_st_numel(const lg_st_tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++)
    n *= t->shape[i];
  return n;
}

const char *lg_st_meta(const lg_safetensors *st, const char *key) {
  size_t lo = 0, hi = st && key ? st->n_meta : 0;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(st->meta[mid].key, key);
    if (c == 0)
      return st->meta[mid].value;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

const char *lg_st_errmsg(const lg_safetensors *st) { return st ? st->err : "NULL lg_safetensors"; }

/* ---- float32 conversion ---------------------------------------------------- */

lg_status lg_st_read_f32(lg_safetensors *st, const lg_st_tensor *t, float *dst) {
  if (!st)
    return LG_ERR_ARG;
  if (!t || !dst)
    return st_fail(st, LG_ERR_ARG, "lg_st_read_f32 needs a tensor and a buffer");
  size_t n = (size_t)lg_st_numel(t);
  const unsigned char *p = t->data;
  switch (t->dtype) {
  case LG_DT_F32:
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n)
      memcpy(dst, p, n * 4);
#else
    for (size_t i = 0; i < n; i++, p += 4)
      dst[i] = lg_f32_from_bits((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
#endif
    return LG_OK;
  case LG_DT_F16:
    for (size_t i = 0; i < n; i++, p += 2)
      dst[i] = lg_f16_to_f32((uint16_t)(p[0] | p[1] << 8));
    return LG_OK;
  case LG_DT_BF16: /* the top half of a float32 */
    for (size_t i = 0; i < n; i++, p += 2)
      dst[i] = lg_bf16_to_f32((uint16_t)(p[0] | p[1] << 8));
    return LG_OK;
  case LG_DT_F64:
    for (size_t i = 0; i < n; i++, p += 8) {
      uint64_t b = le64(p);
      double d;
      memcpy(&d, &b, sizeof d);
      dst[i] = (float)d;
    }
    return LG_OK;
  default:
    return st_fail(
        st,
        LG_ERR_UNSUPPORTED,
        "tensor %s has dtype %s; only F32, F16, BF16 and F64 can be read as float32",
        qname(t->name).s,
        lg_dtype_name(t->dtype));
  }
}
