/* libFuzzer target for lg_safetensors and, through the same input, lg_json.
 * Each input is parsed as a whole safetensors file; accepted files must obey
 * the documented invariants and every tensor must convert or be refused as
 * unsupported; rejected files must explain themselves in one line. The bytes
 * after the 8-byte prefix (header and data, ignoring the declared length) are
 * also fed to lg_json_parse and the resulting tree walked.
 *
 * Built with -DLG_FUZZ_SEED_MAIN this file is instead a small program that
 * writes the seed corpus (tests/fuzz/fuzz.cmake does both). */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "lg_json.h"
#include "lg_safetensors.h"

/* Touches every node so ASan sees any bad pointer in the tree. */
static size_t walk_json(const lg_json *j) {
  size_t n = 1;
  if (j->type == LG_JSON_STRING)
    REQUIRE(j->str[j->str_len] == '\0');
  if (j->key)
    REQUIRE(j->key[j->key_len] == '\0');
  for (size_t i = 0; i < lg_json_len(j); i++)
    n += walk_json(lg_json_at(j, i));
  return n;
}

static void check_accepted(lg_safetensors *st, const uint8_t *buf, size_t size) {
  uint64_t covered = 0;
  REQUIRE(st->data == buf + 8 + st->header_size && st->data_size == size - 8 - st->header_size);
  for (size_t i = 0; i < st->n_tensors; i++) {
    const lg_st_tensor *t = &st->tensors[i];
    if (i)
      REQUIRE(strcmp(st->tensors[i - 1].name, t->name) < 0);
    REQUIRE(lg_st_find(st, t->name) == t);
    REQUIRE(t->begin <= t->end && t->end <= st->data_size && t->data == st->data + t->begin);
    int64_t numel = lg_st_numel(t);
    REQUIRE(numel >= 0);
    REQUIRE((uint64_t)numel * (uint64_t)lg_dtype_bits(t->dtype) == 8 * (t->end - t->begin));
    covered += t->end - t->begin;
    float *out = malloc((size_t)numel * sizeof *out + 1);
    REQUIRE(out);
    lg_status s = lg_st_read_f32(st, t, out);
    REQUIRE(s == LG_OK || s == LG_ERR_UNSUPPORTED);
    free(out);
  }
  REQUIRE(covered == st->data_size); /* no holes, no overlaps */
  for (size_t i = 0; i < st->n_meta; i++) {
    if (i)
      REQUIRE(strcmp(st->meta[i - 1].key, st->meta[i].key) < 0);
    REQUIRE(lg_st_meta(st, st->meta[i].key) == st->meta[i].value);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lg_safetensors st;
  lg_status s = lg_st_parse(&st, data, size);
  if (s == LG_OK) {
    check_accepted(&st, data, size);
  } else {
    REQUIRE(s == LG_ERR_FORMAT || s == LG_ERR_UNSUPPORTED || s == LG_ERR_NOMEM);
    REQUIRE(strncmp(st.err, "<memory>: ", 10) == 0 && !strchr(st.err, '\n'));
    REQUIRE(st.n_tensors == 0 && st.tensors == NULL && st.header == NULL);
  }
  lg_st_close(&st);

  lg_json *root = NULL;
  char err[200];
  size_t skip = size < 8 ? size : 8;
  if (lg_json_parse((const char *)data + skip, size - skip, &root, err, sizeof err) == LG_OK) {
    walk_json(root);
    lg_json_free(root);
  } else {
    REQUIRE(root == NULL && strstr(err, "at byte"));
  }
  return 0;
}

#ifdef LG_FUZZ_SEED_MAIN
#include <errno.h>
#include <sys/stat.h>

/* Seeds: one valid file per interesting shape of input, plus near misses.
 * Headers use ' for " to stay readable. */
static const struct {
  const char *header;
  size_t data_len;
} lg_fuzz_seeds[] = {
    {"{'__metadata__':{'format':'pt'},'a':{'dtype':'F32','shape':[2,2],'data_offsets':[0,16]},"
     "'b':{'dtype':'F16','shape':[4],'data_offsets':[16,24]},"
     "'c':{'dtype':'BF16','shape':[4],'data_offsets':[24,32]},"
     "'d':{'dtype':'F64','shape':[1],'data_offsets':[32,40]}}",
     40},
    {"{}", 0},
    {"{}      ", 0},
    {"{'ids':{'dtype':'I64','shape':[2],'data_offsets':[0,16]}}", 16},
    {"{'s':{'dtype':'F32','shape':[],'data_offsets':[0,4]},"
     "'e':{'dtype':'F32','shape':[0,3],'data_offsets':[4,4]}}",
     4},
    {"{'caf\\u00e9 \\ud83d\\ude00':{'dtype':'U8','shape':[3],'data_offsets':[0,3]}}", 3},
    {"{'q':{'dtype':'F4','shape':[4],'data_offsets':[0,2]}}", 2},
    {"{'a':{'dtype':'F32','shape':[12],'data_offsets':[0,48]},"
     "'b':{'dtype':'F32','shape':[4],'data_offsets':[40,56]}}",
     56},
    {"{'w':{'dtype':'F32','shape':[2,3],'data_offsets':[0,20]}}", 20},
    {"{'w':{'dtype':'U8','shape':[9007199254740993],'data_offsets':[0,9007199254740993]}}", 8},
};

static int write_seed(const char *dir, size_t i, const unsigned char *p, size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/seed_%02zu.safetensors", dir, i);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "fuzz_safetensors_seeds: cannot write %s\n", path);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: fuzz_safetensors_seeds SEED_DIR [EMPTY_DIR...]\n");
    return 2;
  }
  for (int a = 1; a < argc; a++)
    if (mkdir(argv[a], 0777) != 0 && errno != EEXIST) {
      fprintf(stderr, "fuzz_safetensors_seeds: cannot create %s\n", argv[a]);
      return 1;
    }
  for (size_t i = 0; i < sizeof lg_fuzz_seeds / sizeof lg_fuzz_seeds[0]; i++) {
    size_t h = strlen(lg_fuzz_seeds[i].header), n = 8 + h + lg_fuzz_seeds[i].data_len;
    unsigned char *p = malloc(n);
    if (!p)
      return 1;
    for (int k = 0; k < 8; k++)
      p[k] = (unsigned char)((uint64_t)h >> (8 * k));
    for (size_t k = 0; k < h; k++)
      p[8 + k] = lg_fuzz_seeds[i].header[k] == '\'' ? '"' : (unsigned char)lg_fuzz_seeds[i].header[k];
    for (size_t k = 8 + h; k < n; k++)
      p[k] = (unsigned char)(k * 37); /* some non-zero data */
    LLVMFuzzerTestOneInput(p, n); /* the seeds themselves must hold the invariants */
    int rc = write_seed(argv[1], i, p, n);
    free(p);
    if (rc)
      return rc;
  }
  return 0;
}
#endif
