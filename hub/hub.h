/* hub: fetch a file of a Hugging Face hub repo into the huggingface_hub cache
 * (see hf_cache.h), the way timm.create_model(pretrained=True) does through
 * hf_hub_download:
 *
 *   1. revision is a full commit hash and its snapshot exists -> done, no request.
 *   2. offline (flag or HF_HUB_OFFLINE) -> refs/<revision> or the commit's
 *      snapshot, or an error naming the path that is missing.
 *   3. HEAD $HF_ENDPOINT/<repo>/resolve/<revision>/<file>, redirects not
 *      followed (relative ones are, as for renamed repos): X-Repo-Commit gives
 *      the commit, X-Linked-Etag or ETag the blob name, X-Linked-Size or
 *      Content-Length the size, Location the CDN URL. A failed HEAD (network,
 *      5xx, 401/403) falls back to the cached copy with a warning; 404 does not.
 *   4. snapshot already present -> done (exactly one HEAD, no GET).
 *   5. under an flock on .locks/<repo>/<etag>.lock: if blobs/<etag> appeared
 *      meanwhile skip the download; else GET the CDN URL (redirects followed)
 *      into blobs/<etag>.incomplete, resuming with Range, retrying 5xx and
 *      dropped connections with exponential backoff; check size and, for a
 *      sha256 etag, the checksum; rename to blobs/<etag>.
 *   6. snapshots/<commit>/<file> -> ../../blobs/<etag>, then refs/<revision>.
 *
 * The token is $HF_TOKEN, else the file `hf auth login` writes
 * ($HF_TOKEN_PATH, default <HF home>/token), none if
 * HF_HUB_DISABLE_IMPLICIT_TOKEN; it goes to the hub host only, never to a
 * CDN on another host.
 *
 * Environment: HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, HF_HUB_CACHE/HF_HOME,
 * HF_HUB_ETAG_TIMEOUT, HF_HUB_DOWNLOAD_TIMEOUT (seconds, default 10),
 * LUCIDGEN_RETRY_BASE_MS (first backoff delay, default 1000). */
#ifndef LUCIDGEN_HUB_H
#define LUCIDGEN_HUB_H

#include <stddef.h>

#include "lg_status.h"

/* Characters of a revision: it is quoted whole into the URL, 3 bytes each at most. */
#define LUCIDGEN_REVISION_MAX 128

typedef struct {
  const char *repo_id; /* "timm/convnext_tiny.fb_in1k" */
  const char *filename; /* "model.safetensors" */
  const char *revision; /* NULL -> "main"; branch, tag or 40-hex commit */
  const char *cache_dir; /* NULL -> env resolution (lucidgen_cache_dir) */
  int offline; /* OR'ed with HF_HUB_OFFLINE */
  int quiet; /* no progress bar (it is also off when stderr is not a tty) */
} lucidgen_hub_request;

/* On success writes the snapshot path (.../snapshots/<commit>/<filename>)
 * into `path`. Errors: LG_ERR_NOT_FOUND (404, offline cache miss),
 * LG_ERR_ARG (bad request, 401/403 gated or private), LG_ERR_MISMATCH
 * (checksum or size), LG_ERR_NETWORK (unreachable after retries),
 * LG_ERR_IO (cache not writable). */
lg_status lucidgen_hub_fetch(const lucidgen_hub_request *req, char *path, size_t path_size, char *err, size_t errn);

/* 1 when `value` is one of huggingface_hub's true values: 1, ON, YES, TRUE
 * (any case). */
int lucidgen_env_is_true(const char *value);

#endif
