#include "lg_blob.h"

#include "lg_file.h"
#include "lg_sha256.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint64_t rd_u64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}
static uint32_t rd_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

lg_status lg_blob_load(const char *path, lg_blob *blob, char *err, size_t errn) {
  memset(blob, 0, sizeof *blob);
  int fd;
  size_t size;
  lg_status s = lg_file_open(path, "weight blob", UINT64_MAX, &fd, &size, err, errn);
  if (s != LG_OK)
    return s;
  if (size == 0) {
    close(fd);
    return lg_fail(err, errn, LG_ERR_FORMAT, "weight blob %s is empty; regenerate it with lucidgen", path);
  }
  void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (m != MAP_FAILED) {
    close(fd);
    blob->data = m;
    blob->size = size;
    blob->mapping = m;
    blob->mapping_size = size;
    return LG_OK;
  }
  /* No mmap (some embedded targets): read into 64-byte aligned memory. */
  void *buf = NULL;
  if (posix_memalign(&buf, LG_BLOB_ALIGN, size) != 0) {
    close(fd);
    return lg_fail(err, errn, LG_ERR_NOMEM, "cannot allocate %zu bytes for weight blob %s", size, path);
  }
  size_t got = 0;
  while (got < size) {
    ssize_t r = read(fd, (char *)buf + got, size - got);
    if (r <= 0) {
      free(buf);
      close(fd);
      return lg_fail(err, errn, LG_ERR_IO, "cannot read weight blob %s", path);
    }
    got += (size_t)r;
  }
  close(fd);
  blob->data = buf;
  blob->size = size;
  blob->heap = buf;
  return LG_OK;
}

void lg_blob_wrap(lg_blob *blob, const void *data, size_t size) {
  memset(blob, 0, sizeof *blob);
  blob->data = data;
  blob->size = size;
}

void lg_blob_free(lg_blob *blob) {
  if (blob->mapping)
    munmap(blob->mapping, blob->mapping_size);
  free(blob->heap);
  memset(blob, 0, sizeof *blob);
}

/* A NUL-padded text field of the header, for messages: bytes outside
 * printable ASCII become '?', so a hostile blob cannot forge a second line. */
static void header_text(const unsigned char *field, size_t n, char *out) {
  size_t i = 0;
  for (; i < n && field[i]; i++)
    out[i] = field[i] >= 0x20 && field[i] < 0x7f ? (char)field[i] : '?';
  out[i] = '\0';
}

lg_status lg_blob_check(
    const lg_blob *blob,
    const char *what,
    const char *expect_variant,
    const char *expect_sha256,
    int verify_hash,
    char *err,
    size_t errn) {
  const unsigned char *h = blob->data;
  if (blob->size < LG_BLOB_HEADER_BYTES || memcmp(h + LG_BLOB_OFF_MAGIC, LG_BLOB_MAGIC, 8) != 0)
    return lg_fail(
        err,
        errn,
        LG_ERR_FORMAT,
        "%s is not a lucidgen weight blob (bad magic); pass the .bin written next to the generated code",
        what);
  if (((uintptr_t)h % LG_BLOB_ALIGN) != 0)
    return lg_fail(
        err,
        errn,
        LG_ERR_ARG,
        "%s is not %u-byte aligned in memory; align the buffer that holds it",
        what,
        LG_BLOB_ALIGN);
  uint32_t version = rd_u32(h + LG_BLOB_OFF_VERSION);
  if (version != LG_BLOB_VERSION)
    return lg_fail(
        err,
        errn,
        LG_ERR_UNSUPPORTED,
        "%s has blob format version %u, this runtime reads version %u; regenerate with a matching lucidgen",
        what,
        version,
        LG_BLOB_VERSION);
  uint32_t mark;
  memcpy(&mark, h + LG_BLOB_OFF_BYTE_ORDER, 4);
  if (mark == 0x04030201u) {
    const uint32_t one = 1;
    const int cpu_little = *(const unsigned char *)&one == 1;
    return lg_fail(
        err,
        errn,
        LG_ERR_MISMATCH,
        "%s holds %s-endian floats but this CPU is %s-endian; regenerate it for this CPU's target",
        what,
        cpu_little ? "big" : "little",
        cpu_little ? "little" : "big");
  }
  if (mark != LG_BLOB_BYTE_ORDER_MARK)
    return lg_fail(err, errn, LG_ERR_FORMAT, "%s has no valid byte-order mark; regenerate it with lucidgen", what);
  uint64_t total = rd_u64(h + LG_BLOB_OFF_TOTAL), payload = rd_u64(h + LG_BLOB_OFF_PAYLOAD);
  const uint32_t header_bytes = rd_u32(h + LG_BLOB_OFF_HEADER_BYTES);
  if (header_bytes != LG_BLOB_HEADER_BYTES || payload != total - LG_BLOB_HEADER_BYTES)
    return lg_fail(
        err,
        errn,
        LG_ERR_FORMAT,
        "%s has a damaged header: header size %u (want %u), payload %llu bytes of %llu in all; regenerate it with "
        "lucidgen",
        what,
        header_bytes,
        LG_BLOB_HEADER_BYTES,
        (unsigned long long)payload,
        (unsigned long long)total);
  if (total != blob->size)
    return lg_fail(
        err,
        errn,
        LG_ERR_FORMAT,
        "%s is truncated or padded: header says %llu bytes, file has %zu; copy it again",
        what,
        (unsigned long long)total,
        blob->size);
  char variant[129];
  header_text(h + LG_BLOB_OFF_VARIANT, 128, variant);
  if (expect_variant && strcmp(variant, expect_variant) != 0)
    return lg_fail(
        err,
        errn,
        LG_ERR_MISMATCH,
        "%s holds weights for '%s' but this code was generated for '%s'",
        what,
        variant,
        expect_variant);
  char sha[65];
  header_text(h + LG_BLOB_OFF_SHA256, 64, sha);
  if (expect_sha256 && strcmp(sha, expect_sha256) != 0)
    return lg_fail(
        err,
        errn,
        LG_ERR_MISMATCH,
        "%s is from another generation: blob sha256 %s, code expects %s; use the .bin generated with this code",
        what,
        sha,
        expect_sha256);
  if (verify_hash) {
    char actual[65];
    lg_sha256_hex(h + LG_BLOB_HEADER_BYTES, (size_t)payload, actual);
    if (strcmp(actual, sha) != 0)
      return lg_fail(err, errn, LG_ERR_MISMATCH, "%s is corrupt: payload sha256 %s, header says %s", what, actual, sha);
  }
  return LG_OK;
}
