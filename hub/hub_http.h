/* hub_http: the libcurl side of a hub fetch; hub.c decides what to fetch and
 * where it goes in the cache. One HEAD that reads the hub's metadata headers
 * (relative redirects followed, as for renamed repos), and one GET into a
 * .incomplete file that resumes with Range, retries dropped connections and
 * 5xx with backoff, aborts a body that stalls for HF_HUB_DOWNLOAD_TIMEOUT
 * seconds and draws the progress bar. The token goes to the hub host only. */
#ifndef LUCIDGEN_HUB_HTTP_H
#define LUCIDGEN_HUB_HTTP_H

#include <stddef.h>

#include "hf_cache.h"
#include "lg_status.h"

enum { LUCIDGEN_HUB_MAX_TRIES = 5 /* failed download attempts, with or without progress */ };

/* Everything one fetch needs: the request, the environment, what the HEAD
 * call resolved, and where it lives in the cache. hub.c fills all but the
 * HEAD's part, which lucidgen_hub_head fills. */
typedef struct lucidgen_hub_job {
  const char *repo_id, *filename, *revision;
  int progress; /* draw a progress bar on stderr */
  char endpoint[1024];
  const char *token; /* NULL or token_buf */
  char token_buf[1024];
  long etag_timeout_s, download_timeout_s, retry_base_ms;
  char resolve_url[LUCIDGEN_PATH_MAX];
  /* from the HEAD response */
  char download_url[LUCIDGEN_PATH_MAX];
  char commit[128];
  char etag[256];
  long long size;
  lucidgen_hf_repo repo;
} lucidgen_hub_job;

/* curl_global_init / curl_global_cleanup around the requests of one fetch. */
lg_status lucidgen_hub_http_init(char *err, size_t errn);
void lucidgen_hub_http_cleanup(void);

/* One HEAD of job->resolve_url (plus relative redirects). Fills commit, etag,
 * size, download_url. *transient is 1 when trying again may help (network,
 * 408/429/5xx). */
lg_status lucidgen_hub_head(lucidgen_hub_job *job, int *transient, char *err, size_t errn);

/* GET job->download_url into `incomplete` until it holds job->size bytes,
 * resuming what an earlier run left (*resumed := 1) and retrying the
 * network. The partial file is kept on network failure (the next run
 * resumes) and removed when the server sent more than announced. */
lg_status lucidgen_hub_download(
    const lucidgen_hub_job *job,
    const char *incomplete,
    int *resumed,
    char *err,
    size_t errn);

/* Backoff before attempt `tries` + 1: base, 2*base, 4*base, capped at 8*base
 * (huggingface_hub: 1 s doubling up to 8 s). */
void lucidgen_hub_backoff(const lucidgen_hub_job *job, int tries);

#endif
