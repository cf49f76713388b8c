/* FIPS 180-2 appendix B / NIST CAVS examples for SHA-256, through the
 * one-shot, streaming (odd chunk sizes across block borders) and file APIs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_sha256.h"

static int failures;

static void expect(const char *what, const char *got, const char *want) {
  int ok = strcmp(got, want) == 0;
  printf("%-44s %s\n", what, ok ? "OK" : "NOT OK");
  if (!ok) {
    printf("  expected %s\n  got      %s\n", want, got);
    failures++;
  }
}

int main(void) {
  static const struct {
    const char *name, *msg, *hex;
  } vectors[] = {
      {"empty message", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"\"abc\"", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"448-bit message (two blocks)",
       "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {"896-bit message",
       "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmn"
       "opqrsmnopqrstnopqrstu",
       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
  };
  char hex[65], what[96];
  for (size_t i = 0; i < sizeof vectors / sizeof *vectors; i++) {
    lg_sha256_hex(vectors[i].msg, strlen(vectors[i].msg), hex);
    snprintf(what, sizeof what, "one-shot %s", vectors[i].name);
    expect(what, hex, vectors[i].hex);
  }

  /* One million 'a', fed in chunks of 1..97 bytes so partial blocks carry over. */
  static const char million_a[] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
  char *a = malloc(1000000);
  if (!a)
    return 1;
  memset(a, 'a', 1000000);
  lg_sha256_hex(a, 1000000, hex);
  expect("one-shot one million 'a'", hex, million_a);
  lg_sha256_ctx ctx;
  uint8_t digest[32];
  lg_sha256_init(&ctx);
  for (size_t off = 0, step = 1; off < 1000000; off += step, step = step % 97 + 1) {
    lg_sha256_update(&ctx, a + off, off + step > 1000000 ? 1000000 - off : step);
  }
  lg_sha256_final(&ctx, digest);
  lg_sha256_digest_hex(digest, hex);
  expect("streaming one million 'a' in 1..97-byte chunks", hex, million_a);

  /* Lengths 55, 56, 63, 64: the padding edge cases around one block. */
  static const struct {
    size_t n;
    const char *hex;
  } edges[] = {
      {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
      {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
      {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
      {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
  };
  for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
    lg_sha256_hex(a, edges[i].n, hex);
    snprintf(what, sizeof what, "one-shot %zu x 'a' (padding edge)", edges[i].n);
    expect(what, hex, edges[i].hex);
  }

  /* File API on the million 'a'. */
  char path[] = "/tmp/lg_sha256_vectors_XXXXXX";
  FILE *f = NULL;
  int fd = mkstemp(path);
  if (fd >= 0)
    f = fdopen(fd, "wb");
  if (!f || fwrite(a, 1, 1000000, f) != 1000000 || fclose(f) != 0) {
    printf("cannot write %s\n", path);
    return 1;
  }
  char err[256];
  if (lg_sha256_file(path, hex, err, sizeof err) != LG_OK)
    snprintf(hex, sizeof hex, "error");
  expect("file of one million 'a'", hex, million_a);
  remove(path);
  if (lg_sha256_file("/nonexistent/lg_sha256", hex, err, sizeof err) != LG_ERR_IO ||
      !strstr(err, "/nonexistent/lg_sha256")) {
    printf("missing file: expected LG_ERR_IO naming the path, got '%s'\n", err);
    failures++;
  }
  free(a);
  printf("%s\n", failures ? "FAILED" : "all SHA-256 vectors OK");
  return failures ? 1 : 0;
}
