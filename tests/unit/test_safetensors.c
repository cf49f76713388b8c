/* Unit tests for lg_safetensors: every file is built in memory (headers are
 * written with ' for " to stay readable), one function per behaviour; a
 * failing check prints the message or numbers that differ (the runner is
 * check.h). */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "lg_safetensors.h"

/* ---- building files --------------------------------------------------------- */

typedef struct {
  unsigned char *p;
  size_t n;
} blob;

static void put_le64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

/* [u64 header_len][header with ' -> "][data]; data may be NULL (zeros).
 * Exact-size heap buffer so sanitizers catch reads past the end. */
static blob make_file_len(uint64_t header_len, const char *header, const void *data, size_t data_len) {
  size_t h = strlen(header);
  blob b = {malloc(8 + h + data_len + 1), 8 + h + data_len};
  put_le64(b.p, header_len);
  for (size_t i = 0; i < h; i++)
    b.p[8 + i] = header[i] == '\'' ? '"' : (unsigned char)header[i];
  if (data)
    memcpy(b.p + 8 + h, data, data_len);
  else
    memset(b.p + 8 + h, 0, data_len);
  return b;
}

static blob make_file(const char *header, const void *data, size_t data_len) {
  return make_file_len(strlen(header), header, data, data_len);
}

/* 1 when the file is rejected with `want` status and a message containing
 * `substr`; else prints what came back. Frees the blob. */
static int rejects(blob b, lg_status want, const char *substr) {
  lg_safetensors st;
  lg_status s = lg_st_parse(&st, b.p, b.n);
  int ok = s == want && strstr(lg_st_errmsg(&st), substr) != NULL;
  if (!ok)
    fprintf(
        stderr,
        "    got %s \"%s\"\n    want %s containing \"%s\"\n",
        lg_status_name(s),
        lg_st_errmsg(&st),
        lg_status_name(want),
        substr);
  if (s == LG_OK)
    lg_st_close(&st);
  free(b.p);
  return ok;
}

static int rejects_header(const char *header, size_t data_len, const char *substr) {
  return rejects(make_file(header, NULL, data_len), LG_ERR_FORMAT, substr);
}

static int parse_ok(lg_safetensors *st, blob b) {
  lg_status s = lg_st_parse(st, b.p, b.n);
  if (s != LG_OK)
    fprintf(stderr, "    parse failed: %s\n", lg_st_errmsg(st));
  return s == LG_OK;
}

static uint32_t f32_bits(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  return b;
}

/* ---- accepted files ----------------------------------------------------------- */

static void parses_valid_file_and_sorts_tensors_by_name(void) {
  /* JSON order z, a, m; data order m, z, a */
  blob b = make_file(
      "{'z':{'dtype':'F16','shape':[2,2],'data_offsets':[24,32]},"
      "'a':{'dtype':'F32','shape':[3],'data_offsets':[32,44]},"
      "'m':{'dtype':'F64','shape':[3,1],'data_offsets':[0,24]}}",
      NULL,
      44);
  lg_safetensors st;
  CHECK(parse_ok(&st, b), "valid file rejected");
  CHECK(st.n_tensors == 3, "n_tensors %zu", st.n_tensors);
  CHECK(
      strcmp(st.tensors[0].name, "a") == 0 && strcmp(st.tensors[1].name, "m") == 0 &&
          strcmp(st.tensors[2].name, "z") == 0,
      "order %s %s %s, want a m z",
      st.tensors[0].name,
      st.tensors[1].name,
      st.tensors[2].name);
  const lg_st_tensor *m = &st.tensors[1];
  CHECK(
      m->dtype == LG_DT_F64 && m->ndim == 2 && m->shape[0] == 3 && m->shape[1] == 1,
      "m: dtype %s ndim %d",
      lg_dtype_name(m->dtype),
      m->ndim);
  CHECK(m->begin == 0 && m->end == 24 && m->data == b.p + 8 + st.header_size, "m offsets");
  CHECK(st.tensors[0].data == st.data + 32 && lg_st_numel(&st.tensors[0]) == 3, "a data");
  CHECK(st.data_size == 44, "data_size %llu", (unsigned long long)st.data_size);
  lg_st_close(&st);
  free(b.p);
}

static void finds_tensors_by_name(void) {
  blob b = make_file(
      "{'b.weight':{'dtype':'F32','shape':[1],'data_offsets':[4,8]},"
      "'b':{'dtype':'F32','shape':[1],'data_offsets':[0,4]},"
      "'c':{'dtype':'U8','shape':[2],'data_offsets':[8,10]}}",
      NULL,
      10);
  lg_safetensors st;
  CHECK(parse_ok(&st, b), "valid file rejected");
  const char *names[] = {"b", "b.weight", "c"};
  for (int i = 0; i < 3; i++) {
    const lg_st_tensor *t = lg_st_find(&st, names[i]);
    CHECK(t && strcmp(t->name, names[i]) == 0, "%s not found", names[i]);
  }
  CHECK(
      !lg_st_find(&st, "a") && !lg_st_find(&st, "b.") && !lg_st_find(&st, "d") && !lg_st_find(&st, ""),
      "found a tensor that does not exist");
  lg_st_close(&st);
  free(b.p);
}

static void reads_metadata(void) {
  blob b = make_file(
      "{'__metadata__':{'format':'pt','note':'caf\\u00e9'},"
      "'w':{'dtype':'F32','shape':[],'data_offsets':[0,4]}}",
      NULL,
      4);
  lg_safetensors st;
  CHECK(parse_ok(&st, b), "valid file rejected");
  CHECK(st.n_meta == 2 && st.n_tensors == 1, "n_meta %zu n_tensors %zu", st.n_meta, st.n_tensors);
  CHECK(lg_st_meta(&st, "format") && strcmp(lg_st_meta(&st, "format"), "pt") == 0, "format");
  CHECK(lg_st_meta(&st, "note") && strcmp(lg_st_meta(&st, "note"), "caf\xC3\xA9") == 0, "note");
  CHECK(lg_st_meta(&st, "missing") == NULL, "missing key");
  CHECK(lg_st_find(&st, "__metadata__") == NULL, "__metadata__ is not a tensor");
  lg_st_close(&st);
  free(b.p);

  b = make_file("{'__metadata__':null}", NULL, 0);
  CHECK(parse_ok(&st, b) && st.n_meta == 0, "null __metadata__ means none");
  lg_st_close(&st);
  free(b.p);
}

static void accepts_space_padded_header(void) {
  blob b = make_file("{'w':{'dtype':'F32','shape':[1],'data_offsets':[0,4]}}      ", NULL, 4);
  lg_safetensors st;
  CHECK(parse_ok(&st, b), "trailing spaces rejected");
  CHECK(st.n_tensors == 1 && st.data == b.p + b.n - 4, "data section misplaced");
  lg_st_close(&st);
  free(b.p);
}

static void accepts_file_without_tensors(void) {
  blob b = make_file("{}", NULL, 0);
  lg_safetensors st;
  CHECK(parse_ok(&st, b) && st.n_tensors == 0 && st.data_size == 0, "empty file");
  lg_st_close(&st);
  free(b.p);
}

static void accepts_zero_sized_and_scalar_tensors(void) {
  blob b = make_file(
      "{'e':{'dtype':'F32','shape':[0,3],'data_offsets':[0,0]},"
      "'w':{'dtype':'F32','shape':[],'data_offsets':[0,4]},"
      "'z':{'dtype':'BF16','shape':[2,0],'data_offsets':[4,4]}}",
      NULL,
      4);
  lg_safetensors st;
  CHECK(parse_ok(&st, b), "zero-sized tensors rejected");
  CHECK(lg_st_numel(lg_st_find(&st, "e")) == 0 && lg_st_numel(lg_st_find(&st, "z")) == 0, "zero numel");
  CHECK(lg_st_numel(lg_st_find(&st, "w")) == 1 && lg_st_find(&st, "w")->ndim == 0, "scalar");
  float f = 7;
  CHECK(lg_st_read_f32(&st, lg_st_find(&st, "z"), &f) == LG_OK && f == 7, "empty read");
  lg_st_close(&st);
  free(b.p);
}

static void ignores_unknown_fields_in_entries(void) {
  blob b = make_file(
      "{'w':{'extra':{'x':[1,2]},'dtype':'I8','shape':[2],'data_offsets':[0,2],"
      "'note':null}}",
      NULL,
      2);
  lg_safetensors st;
  CHECK(parse_ok(&st, b), "unknown fields should be ignored");
  lg_st_close(&st);
  free(b.p);
}

static void accepts_every_format_dtype(void) {
  const char *names[] = {"BOOL",    "F4",          "F6_E2M3",     "F6_E3M2", "U8",  "I8",  "F8_E5M2", "F8_E4M3",
                         "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16",     "U16", "F16", "BF16",    "I32",
                         "U32",     "F32",         "C64",         "F64",     "I64", "U64"};
  CHECK(sizeof names / sizeof names[0] == LG_DT_COUNT, "dtype list out of date");
  for (int k = 0; k < LG_DT_COUNT; k++) {
    char header[160];
    int bytes = lg_dtype_bits((lg_dtype)k); /* 8 elements -> bits bytes */
    snprintf(header, sizeof header, "{'t':{'dtype':'%s','shape':[2,4],'data_offsets':[0,%d]}}", names[k], bytes);
    blob b = make_file(header, NULL, (size_t)bytes);
    lg_safetensors st;
    int ok = parse_ok(&st, b);
    free(b.p);
    CHECK(ok, "dtype %s rejected", names[k]);
    CHECK(
        st.tensors[0].dtype == (lg_dtype)k && strcmp(lg_dtype_name((lg_dtype)k), names[k]) == 0,
        "dtype %s parsed as %s",
        names[k],
        lg_dtype_name(st.tensors[0].dtype));
    lg_st_close(&st);
  }
}

/* ---- rejected files ------------------------------------------------------------- */

static void rejects_file_shorter_than_8_bytes(void) {
  blob b = {malloc(5), 5};
  memset(b.p, 0, 5);
  CHECK(rejects(b, LG_ERR_FORMAT, "<memory>: file is 5 bytes, too short for the 8-byte header"), "5-byte file");
  lg_safetensors st;
  CHECK(lg_st_parse(&st, NULL, 0) == LG_ERR_FORMAT, "empty buffer");
}

static void rejects_header_longer_than_file(void) {
  CHECK(
      rejects(
          make_file_len(100, "{}", NULL, 8),
          LG_ERR_FORMAT,
          "header length 100 runs past the end of the file (10 bytes follow the length)"),
      "N = 100 in a 18-byte file");
}

static void rejects_header_over_100mb(void) {
  CHECK(
      rejects(
          make_file_len(100000001, "{}", NULL, 0),
          LG_ERR_FORMAT,
          "header length 100000001 exceeds the 100000000-byte limit"),
      "N just over the limit");
  CHECK(
      rejects(make_file_len(UINT64_MAX, "{}", NULL, 0), LG_ERR_FORMAT, "header length 18446744073709551615 exceeds"),
      "N = 2^64-1");
}

static void rejects_malformed_json(void) {
  CHECK(
      rejects_header("{'a':", 0, "header is not valid JSON: unexpected end of input at byte 5 of the header"),
      "truncated JSON");
  CHECK(rejects_header("{'a':1} x", 0, "unexpected characters after the JSON value at byte 8"), "trailing garbage");
  blob b = make_file("{}   ", NULL, 0); /* pad with NULs instead of spaces */
  memset(b.p + 10, 0, 3);
  CHECK(rejects(b, LG_ERR_FORMAT, "unexpected characters after the JSON value at byte 2"), "NUL padding");
}

static void rejects_header_that_is_not_an_object(void) {
  CHECK(rejects_header("[1,2]", 0, "header must be a JSON object, got an array"), "array");
  CHECK(rejects_header("'x'", 0, "header must be a JSON object, got a string"), "string");
}

static void rejects_entry_missing_a_field(void) {
  CHECK(rejects_header("{'w':{'shape':[1],'data_offsets':[0,4]}}", 4, "tensor 'w' is missing \"dtype\""), "no dtype");
  CHECK(rejects_header("{'w':{'dtype':'F32','data_offsets':[0,4]}}", 4, "tensor 'w' is missing \"shape\""), "no shape");
  CHECK(
      rejects_header("{'w':{'dtype':'F32','shape':[1]}}", 4, "tensor 'w' is missing \"data_offsets\""),
      "no data_offsets");
}

static void rejects_fields_with_wrong_types(void) {
  CHECK(rejects_header("{'w':[0,4]}", 4, "tensor 'w': entry must be an object, got an array"), "entry");
  CHECK(
      rejects_header(
          "{'w':{'dtype':5,'shape':[1],'data_offsets':[0,4]}}",
          4,
          "tensor 'w': dtype must be a string, got a number"),
      "dtype");
  CHECK(
      rejects_header(
          "{'w':{'dtype':'F32','shape':'1','data_offsets':[0,4]}}",
          4,
          "tensor 'w': shape must be an array of integers, got a string"),
      "shape");
  CHECK(
      rejects_header(
          "{'w':{'dtype':'F32','shape':[1],'data_offsets':{}}}",
          4,
          "tensor 'w': data_offsets must be [begin, end], got an object"),
      "data_offsets object");
  CHECK(
      rejects_header(
          "{'w':{'dtype':'F32','shape':[1],'data_offsets':[0,4,8]}}",
          4,
          "tensor 'w': data_offsets must be [begin, end], got 3 elements"),
      "data_offsets length");
  CHECK(
      rejects_header(
          "{'w':{'dtype':'F32','shape':[1],'data_offsets':[0,'4']}}",
          4,
          "tensor 'w': data_offsets[1] is a string"),
      "data_offsets element");
  CHECK(
      rejects_header("{'w':{'dtype':'F32','shape':[1],'data_offsets':[-4,4]}}", 4, "tensor 'w': data_offsets[0] is -4"),
      "negative offset");
}

static void rejects_unknown_dtype(void) {
  CHECK(
      rejects_header(
          "{'w':{'dtype':'F128','shape':[1],'data_offsets':[0,16]}}",
          16,
          "tensor 'w' has unknown dtype 'F128'"),
      "F128");
  CHECK(
      rejects_header("{'w':{'dtype':'f32','shape':[1],'data_offsets':[0,4]}}", 4, "tensor 'w' has unknown dtype 'f32'"),
      "dtypes are case-sensitive");
}

static void rejects_negative_shape_dims(void) {
  CHECK(
      rejects_header(
          "{'w':{'dtype':'F32','shape':[2,-3],'data_offsets':[0,4]}}",
          4,
          "tensor 'w': shape[1] is -3, expected a non-negative integer"),
      "-3");
}

static void rejects_non_integer_shape_dims(void) {
  CHECK(
      rejects_header(
          "{'w':{'dtype':'F32','shape':[2.5],'data_offsets':[0,4]}}",
          4,
          "tensor 'w': shape[0] is 2.5, expected a non-negative integer"),
      "2.5");
  CHECK(
      rejects_header(
          "{'w':{'dtype':'F32','shape':[1.0],'data_offsets':[0,4]}}",
          4,
          "tensor 'w': shape[0] is 1, expected"),
      "1.0 is not an integer literal");
  CHECK(
      rejects_header("{'w':{'dtype':'F32','shape':[null],'data_offsets':[0,4]}}", 4, "tensor 'w': shape[0] is null"),
      "null");
  CHECK(
      rejects_header(
          "{'w':{'dtype':'F32','shape':[9223372036854775808],'data_offsets':[0,4]}}",
          4,
          "shape[0] is 9223372036854775808, expected a non-negative integer below 2^63"),
      "2^63");
}

static void rejects_more_than_8_dims(void) {
  CHECK(
      rejects(
          make_file("{'w':{'dtype':'F32','shape':[1,1,1,1,1,1,1,1,1],'data_offsets':[0,4]}}", NULL, 4),
          LG_ERR_UNSUPPORTED,
          "tensor 'w' has 9 dimensions; at most 8 are supported"),
      "9 dims");
}

static void rejects_begin_after_end(void) {
  CHECK(
      rejects_header(
          "{'w':{'dtype':'F32','shape':[4],'data_offsets':[16,0]}}",
          16,
          "tensor 'w' has data_offsets [16, 0] with begin > end"),
      "[16, 0]");
}

static void rejects_offsets_beyond_data_section(void) {
  CHECK(
      rejects_header(
          "{'w':{'dtype':'F32','shape':[4],'data_offsets':[0,16]}}",
          8,
          "tensor 'w': data_offsets [0, 16] go past the end of the 8-byte data section"),
      "end 16 > 8");
}

static void rejects_huge_offsets_exactly(void) {
  /* 2^53 + 1 has no double: the message proves the integer was kept exact */
  CHECK(
      rejects_header(
          "{'w':{'dtype':'U8','shape':[9007199254740993],"
          "'data_offsets':[0,9007199254740993]}}",
          8,
          "data_offsets [0, 9007199254740993] go past the end"),
      "2^53+1");
  CHECK(
      rejects_header(
          "{'w':{'dtype':'U8','shape':[1],'data_offsets':[0,18446744073709551616]}}",
          8,
          "data_offsets[1] is 1.8446744073709552e+19"),
      "2^64 does not fit");
}

static void rejects_overlapping_offsets(void) {
  CHECK(
      rejects_header(
          "{'a':{'dtype':'F32','shape':[12],'data_offsets':[0,48]},"
          "'b':{'dtype':'F32','shape':[4],'data_offsets':[40,56]}}",
          56,
          "<memory>: tensor 'b' starts at 40 but previous tensor 'a' ends at 48 (overlap)"),
      "b inside a");
  CHECK(
      rejects_header(
          "{'a':{'dtype':'F32','shape':[4],'data_offsets':[0,16]},"
          "'z':{'dtype':'F32','shape':[0],'data_offsets':[8,8]}}",
          16,
          "tensor 'z' starts at 8 but previous tensor 'a' ends at 16 (overlap)"),
      "empty tensor inside another");
}

static void rejects_hole_between_tensors(void) {
  CHECK(
      rejects_header(
          "{'a':{'dtype':'F32','shape':[12],'data_offsets':[0,48]},"
          "'b':{'dtype':'F32','shape':[4],'data_offsets':[56,72]}}",
          72,
          "tensor 'b' starts at 56 but previous tensor 'a' ends at 48 (hole of 8 bytes)"),
      "gap 48..56");
}

static void rejects_hole_at_start_of_data(void) {
  CHECK(
      rejects_header(
          "{'a':{'dtype':'F32','shape':[4],'data_offsets':[8,24]}}",
          24,
          "first tensor 'a' starts at 8, not 0"),
      "starts at 8");
}

static void rejects_trailing_bytes_not_covered(void) {
  CHECK(
      rejects_header(
          "{'a':{'dtype':'F32','shape':[4],'data_offsets':[0,16]}}",
          24,
          "tensors end at byte 16 of the 24-byte data section (8 trailing bytes"),
      "8 extra bytes");
  CHECK(rejects_header("{}", 8, "tensors end at byte 0 of the 8-byte data section"), "no tensors, 8 bytes");
}

static void rejects_byte_length_that_does_not_match_shape(void) {
  CHECK(
      rejects_header(
          "{'w':{'dtype':'F32','shape':[2,3],'data_offsets':[0,20]}}",
          20,
          "tensor 'w': shape [2, 3] in F32 needs 24 bytes but data_offsets [0, 20] "
          "hold 20"),
      "F32 [2,3] in 20 bytes");
  CHECK(
      rejects_header(
          "{'w':{'dtype':'F4','shape':[3],'data_offsets':[0,2]}}",
          2,
          "shape [3] in F4 is 12 bits, not a whole number of bytes"),
      "odd F4 count");
}

static void rejects_shape_product_overflow(void) {
  CHECK(
      rejects_header(
          "{'w':{'dtype':'U8','shape':[4294967296,4294967296],'data_offsets':[0,8]}}",
          8,
          "tensor 'w': shape [4294967296, 4294967296] has more than 2^63-1 elements"),
      "2^64 elements");
  CHECK(
      rejects_header(
          "{'w':{'dtype':'F64','shape':[2305843009213693952],'data_offsets':[0,8]}}",
          8,
          "tensor 'w': size of shape [2305843009213693952] in F64 overflows 64 bits"),
      "2^61 * 64 bits");
  /* the running product overflows before the 0 is reached; the reference
   * reader (checked_mul fold) rejects this too */
  CHECK(
      rejects_header(
          "{'w':{'dtype':'F32','shape':[4294967296,4294967296,0],"
          "'data_offsets':[0,0]}}",
          0,
          "has more than 2^63-1 elements"),
      "[2^32, 2^32, 0]");
}

static void rejects_duplicate_tensor_names(void) {
  CHECK(
      rejects_header(
          "{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4]},"
          "'a':{'dtype':'F32','shape':[1],'data_offsets':[4,8]}}",
          8,
          "duplicate tensor name 'a'"),
      "a twice");
}

static void rejects_duplicate_fields_in_entry(void) {
  CHECK(
      rejects_header(
          "{'w':{'dtype':'F32','dtype':'F16','shape':[1],'data_offsets':[0,4]}}",
          4,
          "tensor 'w' has a duplicate \"dtype\" field"),
      "dtype twice");
}

static void rejects_metadata_that_is_not_a_string_map(void) {
  CHECK(
      rejects_header("{'__metadata__':['pt']}", 0, "__metadata__ must be an object of strings, got an array"),
      "array");
  CHECK(
      rejects_header("{'__metadata__':{'format':1}}", 0, "__metadata__ 'format' must map to a string, got a number"),
      "number value");
  CHECK(
      rejects_header("{'__metadata__':{'format':'pt','format':'tf'}}", 0, "duplicate __metadata__ key 'format'"),
      "duplicate key");
  CHECK(
      rejects_header("{'__metadata__':{},'__metadata__':{}}", 0, "duplicate \"__metadata__\" key"),
      "__metadata__ twice");
  CHECK(rejects_header("{'__metadata__':{'k':'a\\u0000b'}}", 0, "has a value containing a NUL"), "NUL in value");
}

static void rejects_nul_in_tensor_name(void) {
  CHECK(
      rejects_header(
          "{'a\\u0000b':{'dtype':'F32','shape':[1],'data_offsets':[0,4]}}",
          4,
          "tensor name 'a' contains a NUL byte"),
      "a\\0b");
}

static void quotes_hostile_names_on_one_line(void) {
  blob b = make_file("{'bad\\nname\\u001b':{'dtype':'X','shape':[],'data_offsets':[0,0]}}", NULL, 0);
  lg_safetensors st;
  lg_status s = lg_st_parse(&st, b.p, b.n);
  free(b.p);
  CHECK(s == LG_ERR_FORMAT && strstr(st.err, "'bad\\x0aname\\x1b'") && !strchr(st.err, '\n'), "got \"%s\"", st.err);
  char header[600];
  int o = snprintf(header, sizeof header, "{'");
  for (int i = 0; i < 300; i++)
    header[o++] = 'n';
  snprintf(header + o, sizeof header - (size_t)o, "':{'dtype':'X','shape':[],'data_offsets':[0,0]}}");
  b = make_file(header, NULL, 0);
  s = lg_st_parse(&st, b.p, b.n);
  free(b.p);
  CHECK(s == LG_ERR_FORMAT && strstr(st.err, "nnn...' has unknown dtype 'X'"), "got \"%s\"", st.err);
}

/* ---- float32 conversion --------------------------------------------------------- */

/* IEEE binary16 decoded from its definition, independently of the reader. */
static double half_reference(unsigned h) {
  int sign = h >> 15, exp = h >> 10 & 31, mant = h & 1023;
  double v = exp == 0 ? ldexp(mant, -24) : ldexp(1024 + mant, exp - 25);
  return sign ? -v : v;
}

static void converts_bf16_and_f16_exactly(void) {
  /* every 16-bit pattern, as F16 then as BF16 */
  unsigned char data[2 * 65536 * 2];
  for (unsigned i = 0; i < 65536; i++) {
    data[2 * i] = data[131072 + 2 * i] = (unsigned char)i;
    data[2 * i + 1] = data[131072 + 2 * i + 1] = (unsigned char)(i >> 8);
  }
  blob b = make_file(
      "{'h':{'dtype':'F16','shape':[256,256],'data_offsets':[0,131072]},"
      "'b':{'dtype':'BF16','shape':[65536],'data_offsets':[131072,262144]}}",
      data,
      sizeof data);
  lg_safetensors st;
  CHECK(parse_ok(&st, b), "valid file rejected");
  float *out = malloc(65536 * sizeof *out);
  CHECK(lg_st_read_f32(&st, lg_st_find(&st, "h"), out) == LG_OK, "F16 read: %s", st.err);
  for (unsigned i = 0; i < 65536; i++) {
    int exp = i >> 10 & 31, mant = i & 1023;
    if (exp == 31 && mant) {
      CHECK(isnan(out[i]) && !signbit(out[i]) == !(i >> 15), "F16 0x%04x: NaN became %g", i, out[i]);
      continue;
    }
    double want = exp == 31 ? ((i >> 15) ? -INFINITY : INFINITY) : half_reference(i);
    CHECK(
        (double)out[i] == want && !signbit(out[i]) == !(i >> 15),
        "F16 0x%04x: got %.9g (bits 0x%08x) want %.9g",
        i,
        out[i],
        f32_bits(out[i]),
        want);
  }
  CHECK(out[0x0001] == ldexpf(1, -24) && out[0x03FF] == ldexpf(1023, -24) && out[0x7BFF] == 65504.0f, "F16 landmarks");
  CHECK(lg_st_read_f32(&st, lg_st_find(&st, "b"), out) == LG_OK, "BF16 read: %s", st.err);
  for (unsigned i = 0; i < 65536; i++)
    CHECK(
        f32_bits(out[i]) == (uint32_t)i << 16,
        "BF16 0x%04x: got bits 0x%08x want 0x%08x",
        i,
        f32_bits(out[i]),
        (uint32_t)i << 16);
  free(out);
  lg_st_close(&st);
  free(b.p);
}

static void converts_f64_by_rounding_to_nearest(void) {
  double in[7] = {1.0, 0.1, 1e300, -0.0, NAN, 4.9e-324, -3.4028235677973366e38};
  float want[7] = {1.0f, 0.1f, INFINITY, -0.0f, NAN, 0.0f, -INFINITY};
  blob b = make_file("{'d':{'dtype':'F64','shape':[7],'data_offsets':[0,56]}}", in, sizeof in);
  lg_safetensors st;
  CHECK(parse_ok(&st, b), "valid file rejected");
  float out[7];
  CHECK(lg_st_read_f32(&st, &st.tensors[0], out) == LG_OK, "F64 read: %s", st.err);
  for (int i = 0; i < 7; i++)
    CHECK(
        isnan(want[i]) ? isnan(out[i]) : f32_bits(out[i]) == f32_bits(want[i]),
        "F64 %.17g: got %.9g want %.9g",
        in[i],
        out[i],
        want[i]);
  lg_st_close(&st);
  free(b.p);
}

static void copies_f32_bit_exactly_even_unaligned(void) {
  uint32_t bits[5] = {0x3F800000u, 0x80000000u, 0x00000001u, 0x7FC12345u, 0xFF800000u};
  /* header of 57 bytes puts the data at file offset 65: not 4-aligned */
  char header[80];
  snprintf(header, sizeof header, "%-57s", "{'x':{'dtype':'F32','shape':[5],'data_offsets':[0,20]}}");
  blob b = make_file(header, bits, sizeof bits);
  lg_safetensors st;
  CHECK(parse_ok(&st, b), "valid file rejected");
  CHECK(((uintptr_t)st.tensors[0].data & 3) != 0, "test data should be misaligned");
  float out[5];
  CHECK(lg_st_read_f32(&st, &st.tensors[0], out) == LG_OK, "F32 read: %s", st.err);
  for (int i = 0; i < 5; i++)
    CHECK(f32_bits(out[i]) == bits[i], "F32[%d]: bits 0x%08x want 0x%08x", i, f32_bits(out[i]), bits[i]);
  lg_st_close(&st);
  free(b.p);
}

static void refuses_to_read_integer_dtypes_as_f32(void) {
  blob b = make_file("{'ids':{'dtype':'I64','shape':[2],'data_offsets':[0,16]}}", NULL, 16);
  lg_safetensors st;
  CHECK(parse_ok(&st, b), "I64 tensor rejected at parse time");
  float out[2];
  lg_status s = lg_st_read_f32(&st, &st.tensors[0], out);
  CHECK(
      s == LG_ERR_UNSUPPORTED && strstr(st.err, "<memory>: tensor 'ids' has dtype I64; only F32, F16, BF16 and F64"),
      "got %s \"%s\"",
      lg_status_name(s),
      st.err);
  CHECK(lg_st_read_f32(&st, NULL, out) == LG_ERR_ARG, "NULL tensor");
  lg_st_close(&st);
  free(b.p);
}

/* ---- files on disk ---------------------------------------------------------------- */

/* Writes b to a fresh temp file; returns its path (static buffer) or NULL. */
static const char *write_temp(blob b) {
  static char path[256];
  const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(path, sizeof path, "%s/lg_st_test_XXXXXX", dir);
  int fd = mkstemp(path);
  if (fd < 0)
    return NULL;
  ssize_t w = write(fd, b.p, b.n);
  close(fd);
  return w == (ssize_t)b.n ? path : NULL;
}

static void opens_file_from_disk_with_mmap(void) {
  float v[3] = {1.5f, -2.0f, 3.25f};
  blob b = make_file(
      "{'__metadata__':{'format':'pt'},'v':{'dtype':'F32','shape':[3],"
      "'data_offsets':[0,12]}}",
      v,
      sizeof v);
  const char *path = write_temp(b);
  free(b.p);
  CHECK(path, "cannot write a temp file");
  lg_safetensors st;
  lg_status s = lg_st_open(&st, path);
  unlink(path);
  CHECK(s == LG_OK, "open failed: %s", st.err);
  CHECK(st.mapped == 1, "expected an mmap");
  float out[3];
  CHECK(
      lg_st_read_f32(&st, lg_st_find(&st, "v"), out) == LG_OK && memcmp(out, v, sizeof v) == 0,
      "values %g %g %g",
      out[0],
      out[1],
      out[2]);
  CHECK(strcmp(lg_st_meta(&st, "format"), "pt") == 0, "metadata");
  lg_st_close(&st);
}

static void reports_errors_with_the_file_path(void) {
  lg_safetensors st;
  lg_status s = lg_st_open(&st, "/nonexistent/dir/model.safetensors");
  CHECK(
      s == LG_ERR_NOT_FOUND &&
          strstr(st.err, "/nonexistent/dir/model.safetensors: cannot open: No such file") == st.err,
      "got %s \"%s\"",
      lg_status_name(s),
      st.err);
  s = lg_st_open(&st, "/");
  CHECK(s == LG_ERR_IO && strstr(st.err, "/: not a regular file"), "got %s \"%s\"", lg_status_name(s), st.err);

  blob b = make_file("{'a':{'dtype':'F32','shape':[4],'data_offsets':[0,16]}}", NULL, 8);
  const char *path = write_temp(b);
  free(b.p);
  CHECK(path, "cannot write a temp file");
  s = lg_st_open(&st, path);
  unlink(path);
  char want[512]; /* write_temp's path (< 256 bytes) and the message */
  snprintf(want, sizeof want, "%s: tensor 'a': data_offsets [0, 16] go past the end", path);
  CHECK(s == LG_ERR_FORMAT && strstr(st.err, want) == st.err, "got \"%s\"\n    want \"%s...\"", st.err, want);

  b = (blob){malloc(3), 3};
  memset(b.p, 0, 3);
  path = write_temp(b);
  free(b.p);
  CHECK(path, "cannot write a temp file");
  s = lg_st_open(&st, path);
  unlink(path);
  CHECK(s == LG_ERR_FORMAT && strstr(st.err, "file is 3 bytes"), "got \"%s\"", st.err);
}

static void close_is_safe_after_failure_and_twice(void) {
  lg_safetensors st;
  blob b = make_file("{'a':", NULL, 0);
  CHECK(lg_st_parse(&st, b.p, b.n) == LG_ERR_FORMAT, "malformed file accepted");
  free(b.p);
  CHECK(st.n_tensors == 0 && st.header == NULL && st.err[0], "failed parse leaves only the message");
  CHECK(lg_st_find(&st, "a") == NULL && lg_st_meta(&st, "a") == NULL, "queries on a failed parse");
  lg_st_close(&st);
  lg_st_close(&st);
  lg_st_close(NULL);
  CHECK(st.err[0] == '\0', "close clears the message");
}

int main(void) {
  static const check_test tests[] = {
      CHECK_TEST(parses_valid_file_and_sorts_tensors_by_name),
      CHECK_TEST(finds_tensors_by_name),
      CHECK_TEST(reads_metadata),
      CHECK_TEST(accepts_space_padded_header),
      CHECK_TEST(accepts_file_without_tensors),
      CHECK_TEST(accepts_zero_sized_and_scalar_tensors),
      CHECK_TEST(ignores_unknown_fields_in_entries),
      CHECK_TEST(accepts_every_format_dtype),
      CHECK_TEST(rejects_file_shorter_than_8_bytes),
      CHECK_TEST(rejects_header_longer_than_file),
      CHECK_TEST(rejects_header_over_100mb),
      CHECK_TEST(rejects_malformed_json),
      CHECK_TEST(rejects_header_that_is_not_an_object),
      CHECK_TEST(rejects_entry_missing_a_field),
      CHECK_TEST(rejects_fields_with_wrong_types),
      CHECK_TEST(rejects_unknown_dtype),
      CHECK_TEST(rejects_negative_shape_dims),
      CHECK_TEST(rejects_non_integer_shape_dims),
      CHECK_TEST(rejects_more_than_8_dims),
      CHECK_TEST(rejects_begin_after_end),
      CHECK_TEST(rejects_offsets_beyond_data_section),
      CHECK_TEST(rejects_huge_offsets_exactly),
      CHECK_TEST(rejects_overlapping_offsets),
      CHECK_TEST(rejects_hole_between_tensors),
      CHECK_TEST(rejects_hole_at_start_of_data),
      CHECK_TEST(rejects_trailing_bytes_not_covered),
      CHECK_TEST(rejects_byte_length_that_does_not_match_shape),
      CHECK_TEST(rejects_shape_product_overflow),
      CHECK_TEST(rejects_duplicate_tensor_names),
      CHECK_TEST(rejects_duplicate_fields_in_entry),
      CHECK_TEST(rejects_metadata_that_is_not_a_string_map),
      CHECK_TEST(rejects_nul_in_tensor_name),
      CHECK_TEST(quotes_hostile_names_on_one_line),
      CHECK_TEST(converts_bf16_and_f16_exactly),
      CHECK_TEST(converts_f64_by_rounding_to_nearest),
      CHECK_TEST(copies_f32_bit_exactly_even_unaligned),
      CHECK_TEST(refuses_to_read_integer_dtypes_as_f32),
      CHECK_TEST(opens_file_from_disk_with_mmap),
      CHECK_TEST(reports_errors_with_the_file_path),
      CHECK_TEST(close_is_safe_after_failure_and_twice),
  };
  return check_run(tests, sizeof tests / sizeof tests[0]);
}
