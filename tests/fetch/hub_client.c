/* hub_client: a thin driver over hub/hub.c and hub/hf_cache.c
 * for the fetch tests (the lucidgen CLI wires the same calls).
 *
 *   hub_client REPO_ID [--file F] [--revision R] [--cache-dir D] [--offline] [--quiet]
 *   hub_client list   [--cache-dir D]
 *   hub_client verify [--cache-dir D]
 *
 * Prints the snapshot path (or the listing) on stdout, one error line on
 * stderr; exits 0, 2 for user-visible errors (404, 401, offline miss,
 * checksum) or 1 for network and I/O trouble. */
#include <stdio.h>
#include <string.h>

#include "hf_cache.h"
#include "hub.h"

static int exit_code(lg_status s) {
  if (s == LG_OK)
    return 0;
  return s == LG_ERR_NETWORK || s == LG_ERR_IO || s == LG_ERR_NOMEM ? 1 : 2;
}

static int usage(void) {
  fprintf(
      stderr,
      "usage: hub_client REPO_ID [--file F] [--revision R] [--cache-dir D] [--offline] [--quiet]\n"
      "       hub_client list|verify [--cache-dir D]\n");
  return 2;
}

int main(int argc, char **argv) {
  lucidgen_hub_request req = {.filename = "model.safetensors"};
  char err[8192] = "", path[LUCIDGEN_PATH_MAX], cache[LUCIDGEN_PATH_MAX];
  if (argc < 2)
    return usage();
  req.repo_id = argv[1];
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--offline"))
      req.offline = 1;
    else if (!strcmp(a, "--quiet"))
      req.quiet = 1;
    else if (i + 1 < argc && !strcmp(a, "--revision"))
      req.revision = argv[++i];
    else if (i + 1 < argc && !strcmp(a, "--cache-dir"))
      req.cache_dir = argv[++i];
    else if (i + 1 < argc && !strcmp(a, "--file"))
      req.filename = argv[++i];
    else
      return usage();
  }
  lg_status s;
  int listing = !strcmp(argv[1], "list"), verifying = !strcmp(argv[1], "verify");
  if (listing || verifying) {
    s = lucidgen_cache_dir(req.cache_dir, cache, sizeof cache, err, sizeof err);
    if (!s) {
      s = listing ? lucidgen_cache_list(cache, stdout, err, sizeof err)
                  : lucidgen_cache_verify(cache, stdout, err, sizeof err);
    }
  } else {
    s = lucidgen_hub_fetch(&req, path, sizeof path, err, sizeof err);
    if (!s)
      printf("%s\n", path);
  }
  if (s)
    fprintf(stderr, "hub_client: %s: %s\n", lg_status_name(s), err);
  return exit_code(s);
}
