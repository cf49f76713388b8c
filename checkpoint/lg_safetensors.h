/* lg_safetensors: reader for the safetensors weight format.
 *
 * Layout: [u64 little-endian N][N bytes JSON header][data section]. The header
 * is one object: an optional "__metadata__" map of strings to strings, and per
 * tensor {"dtype": "F32", "shape": [d0, ...], "data_offsets": [begin, end]}
 * with offsets relative to the start of the data section.
 *
 * Validation follows the reference reader (huggingface/safetensors,
 * Metadata::validate): header at most 100,000,000 bytes; tensors sorted by
 * data_offsets must tile the data section exactly (first begins at 0, each
 * begins where the previous ends, the last ends at the end of the file); every
 * byte length equals numel(shape) * dtype size, computed without overflow.
 * On top of that, duplicate tensor names, duplicate fields and duplicate
 * metadata keys are rejected instead of silently keeping one, and names may
 * not contain NUL bytes. Unknown fields in a tensor entry are ignored, as the
 * reference reader does.
 *
 * Data is not copied: tensors point into the mapping (lg_st_open) or into the
 * caller's buffer (lg_st_parse). Multi-byte values are little-endian and may
 * be unaligned; read them with lg_st_read_f32 or memcpy. */
#ifndef LG_SAFETENSORS_H
#define LG_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "lg_json.h"
#include "lg_status.h"

#define LG_ST_MAX_DIMS 8
#define LG_ST_MAX_HEADER 100000000u /* bytes, same limit as the reference reader */

/* Every dtype the format defines; sub-byte ones (F4, F6_*) are packed. */
typedef enum lg_dtype {
  LG_DT_BOOL,
  LG_DT_F4,
  LG_DT_F6_E2M3,
  LG_DT_F6_E3M2,
  LG_DT_U8,
  LG_DT_I8,
  LG_DT_F8_E5M2,
  LG_DT_F8_E4M3,
  LG_DT_F8_E8M0,
  LG_DT_F8_E4M3FNUZ,
  LG_DT_F8_E5M2FNUZ,
  LG_DT_I16,
  LG_DT_U16,
  LG_DT_F16,
  LG_DT_BF16,
  LG_DT_I32,
  LG_DT_U32,
  LG_DT_F32,
  LG_DT_C64,
  LG_DT_F64,
  LG_DT_I64,
  LG_DT_U64,
  LG_DT_COUNT
} lg_dtype;

typedef struct lg_st_tensor {
  const char *name; /* NUL-terminated, no embedded NUL */
  lg_dtype dtype;
  int ndim; /* 0 for a scalar */
  int64_t shape[LG_ST_MAX_DIMS];
  uint64_t begin, end; /* byte range in the data section */
  const unsigned char *data; /* data section + begin; end - begin bytes */
} lg_st_tensor;

typedef struct lg_st_meta_entry {
  const char *key, *value;
} lg_st_meta_entry;

typedef struct lg_safetensors {
  size_t n_tensors;
  lg_st_tensor *tensors; /* sorted by name (strcmp) */
  size_t n_meta;
  lg_st_meta_entry *meta; /* "__metadata__", sorted by key */
  uint64_t header_size; /* N */
  const unsigned char *data; /* start of the data section */
  uint64_t data_size;
  /* ownership */
  lg_json *header; /* parsed header; names and strings point into it */
  char *path; /* for messages; NULL means "<memory>" */
  void *file; /* mapping or malloc'd copy, NULL if borrowed */
  size_t file_size;
  int mapped; /* 1: file is an mmap, 0: malloc'd (read fallback) */
  char err[256]; /* last error, one line, starts with the file name */
} lg_safetensors;

/* Opens and validates a file: mmap, or read into memory if mmap fails.
 * *st is overwritten (do not pass an open one). On failure only st->err is
 * meaningful; lg_st_close is safe either way. Missing file: LG_ERR_NOT_FOUND;
 * other open/read failures: LG_ERR_IO; invalid content: LG_ERR_FORMAT;
 * valid but beyond our limits (more than 8 dims): LG_ERR_UNSUPPORTED. */
lg_status lg_st_open(lg_safetensors *st, const char *path);
/* Same validation on a whole file already in memory; buf is borrowed, not
 * copied, and must outlive st. Messages name the file "<memory>". */
lg_status lg_st_parse(lg_safetensors *st, const void *buf, size_t size);
void lg_st_close(lg_safetensors *st);

/* Binary search by name; NULL if absent. */
const lg_st_tensor *lg_st_find(const lg_safetensors *st, const char *name);
/* Product of the shape (1 for a scalar); validated to fit. */
int64_t lg_st_numel(const lg_st_tensor *t);
/* Converts the tensor to float32 into dst[0..numel): F32 copied, F16 and BF16
 * widened exactly (subnormals, signed zeros, inf and NaN included), F64
 * rounded to nearest. Other dtypes: LG_ERR_UNSUPPORTED naming the tensor. */
lg_status lg_st_read_f32(lg_safetensors *st, const lg_st_tensor *t, float *dst);
/* Value of a "__metadata__" key, or NULL. */
const char *lg_st_meta(const lg_safetensors *st, const char *key);
/* The last error: "<file>: <what is wrong>", one line. */
const char *lg_st_errmsg(const lg_safetensors *st);

/* "F32", "BF16", ... as written in headers. */
const char *lg_dtype_name(lg_dtype dt);
/* Element size in bits (4 for F4, 6 for F6_*, 32 for F32, ...). */
int lg_dtype_bits(lg_dtype dt);

#endif
