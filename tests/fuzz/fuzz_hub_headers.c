/* libFuzzer target for how the hub client reads a server's response
 * headers (hub/hub_http.c: on_header, then job_from_headers). The
 * input is a header block, one header per line. Whatever a server sends,
 * the commit and etag that come out must be safe to name cache paths with,
 * the commit at most 64 characters, the size known; or the response is
 * refused in one line. hub_http.c is included to reach its static parser. */
#include "../../hub/hub_http.c"

#include <stdint.h>

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hub_headers h;
  memset(&h, 0, sizeof h);
  h.linked_size = h.content_length = h.range_start = -1;
  /* libcurl hands the callback one line at a time, terminator included */
  char *copy = malloc(size + 1);
  REQUIRE(copy);
  memcpy(copy, data, size);
  for (size_t start = 0; start < size;) {
    const char *nl = memchr(copy + start, '\n', size - start);
    size_t len = nl ? (size_t)(nl - (copy + start)) + 1 : size - start;
    char *line = malloc(len); /* exact size: ASan sees any read past the line */
    REQUIRE(line);
    memcpy(line, copy + start, len);
    REQUIRE(on_header(line, 1, len, &h) == len);
    free(line);
    start += len;
  }
  free(copy);

  lucidgen_hub_job job;
  memset(&job, 0, sizeof job);
  char err[LUCIDGEN_PATH_MAX + 1024];
  if (job_from_headers(&job, &h, "http://127.0.0.1/timm/x/resolve/main/model.safetensors", err, sizeof err) == LG_OK) {
    REQUIRE(strlen(job.commit) <= HUB_MAX_COMMIT_CHARS && lucidgen_hf_safe_relpath(job.commit, 0));
    REQUIRE(job.etag[0] && lucidgen_hf_safe_relpath(job.etag, 0));
    REQUIRE(job.size >= 0);
  } else {
    REQUIRE_ONE_LINE(err);
  }
  return 0;
}
