/* hub: fetch one hub file into the huggingface_hub cache: the request and
 * its environment, the cache and offline decisions, the lock, the checksum.
 * The steps are listed in hub.h; the cache layout is in hf_cache.h; the
 * HTTP requests are in hub_http.c. */
#include "hub.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hf_cache.h"
#include "hub_http.h"
#include "lg_sha256.h"

int lucidgen_env_is_true(const char *value) {
  static const char *const truthy[] = {"1", "ON", "YES", "TRUE"};
  if (!value)
    return 0;
  for (size_t i = 0; i < sizeof truthy / sizeof *truthy; i++) {
    if (strcasecmp(value, truthy[i]) == 0)
      return 1;
  }
  return 0;
}

static long env_long(const char *name, long fallback) {
  const char *v = getenv(name);
  char *end;
  long x = v && *v ? strtol(v, &end, 10) : 0;
  return v && *v && !*end && x > 0 ? x : fallback;
}

/* Python's urllib.parse.quote: keep A-Z a-z 0-9 _.-~ (and '/' if asked). */
static int url_quote(char *out, size_t n, const char *s, int keep_slash) {
  static const char hex[] = "0123456789ABCDEF";
  size_t used = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    int keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
        *p == '.' || *p == '-' || *p == '~' || (keep_slash && *p == '/');
    if (used + (keep ? 1 : 3) >= n)
      return -1;
    if (keep) {
      out[used++] = (char)*p;
    } else {
      out[used++] = '%';
      out[used++] = hex[*p >> 4];
      out[used++] = hex[*p & 15];
    }
  }
  out[used] = '\0';
  return 0;
}

/* --- steps 5-6: download, verify, store ------------------------------------ */

/* lucidgen_hub_download, then the checksum when the etag is a sha256. A bad
 * file is deleted; if it grew from a partial file of an earlier run, that
 * prefix may be the culprit, so it is downloaded once more from byte 0. */
static lg_status hub_download_verified(const lucidgen_hub_job *job, const char *incomplete, char *err, size_t errn) {
  char got[65];
  for (int attempt = 0;; attempt++) {
    int resumed = 0;
    lg_status s = lucidgen_hub_download(job, incomplete, &resumed, err, errn);
    if (s || !lucidgen_is_sha256_hex(job->etag))
      return s;
    if ((s = lg_sha256_file(incomplete, got, err, errn)))
      return s;
    if (strcmp(got, job->etag) == 0)
      return LG_OK;
    unlink(incomplete);
    if (!resumed || attempt > 0) {
      return lg_fail(
          err,
          errn,
          LG_ERR_MISMATCH,
          "checksum mismatch for %s/%s@%s: expected %s got %s (download discarded)",
          job->repo_id,
          job->filename,
          job->commit,
          job->etag,
          got);
    }
    fprintf(
        stderr,
        "lucidgen: warning: %s/%s resumed from an earlier partial download does not match its "
        "sha256; downloading it again from the start\n",
        job->repo_id,
        job->filename);
  }
}

/* Steps 5-6 under the blob's lock: download unless another process finished
 * it meanwhile, verify, rename into blobs/, link the snapshot, write the ref. */
static lg_status hub_store(const lucidgen_hub_job *job, int quiet, char *err, size_t errn) {
  char blob[LUCIDGEN_PATH_MAX], incomplete[LUCIDGEN_PATH_MAX + 16], dir[LUCIDGEN_PATH_MAX];
  struct stat st;
  lg_status s = lucidgen_pathf(blob, sizeof blob, err, errn, "%s/blobs/%s", job->repo.storage, job->etag);
  if (!s)
    s = lucidgen_pathf(incomplete, sizeof incomplete, err, errn, "%s.incomplete", blob);
  if (!s)
    s = lucidgen_pathf(dir, sizeof dir, err, errn, "%s/blobs", job->repo.storage);
  if (!s)
    s = lucidgen_mkdirs(dir, err, errn);
  if (s)
    return s;
  lucidgen_hf_tag_cache_dir(job->repo.cache_dir);
  int lock = -1;
  if ((s = lucidgen_hf_lock(&job->repo, job->etag, quiet, &lock, err, errn)))
    return s;
  if (stat(blob, &st) != 0) {
    s = hub_download_verified(job, incomplete, err, errn);
    if (!s && rename(incomplete, blob) != 0) {
      s = lg_fail(err, errn, LG_ERR_IO, "cannot rename %s to %s: %s", incomplete, blob, strerror(errno));
    }
  }
  if (!s)
    s = lucidgen_hf_link_snapshot(&job->repo, job->commit, job->filename, job->etag, err, errn);
  lucidgen_hf_unlock(lock);
  if (!s)
    s = lucidgen_hf_write_ref(&job->repo, job->revision, job->commit, err, errn);
  return s;
}

/* --- the entry point ------------------------------------------------------- */

static int offline_from_env(void) {
  /* huggingface_hub: HF_HUB_OFFLINE, or TRANSFORMERS_OFFLINE when that is unset. */
  const char *v = getenv("HF_HUB_OFFLINE");
  return lucidgen_env_is_true(v && *v ? v : getenv("TRANSFORMERS_OFFLINE"));
}

/* The token huggingface_hub would send implicitly: $HF_TOKEN, else the file
 * `hf auth login` writes ($HF_TOKEN_PATH, default <HF home>/token); none when
 * HF_HUB_DISABLE_IMPLICIT_TOKEN is true. Surrounding whitespace is dropped. */
static void read_token(lucidgen_hub_job *job) {
  char path[LUCIDGEN_PATH_MAX], home[LUCIDGEN_PATH_MAX];
  const char *v = getenv("HF_TOKEN"), *p = getenv("HF_TOKEN_PATH");
  char *t = job->token_buf;
  job->token = NULL;
  if (lucidgen_env_is_true(getenv("HF_HUB_DISABLE_IMPLICIT_TOKEN")))
    return;
  if (v && *v) {
    snprintf(t, sizeof job->token_buf, "%s", v);
  } else {
    if (p && *p)
      snprintf(path, sizeof path, "%s", p);
    else if (
        lucidgen_hf_home(home, sizeof home, NULL, 0) || lucidgen_pathf(path, sizeof path, NULL, 0, "%s/token", home))
      return;
    FILE *f = fopen(path, "rb");
    if (!f)
      return;
    t[fread(t, 1, sizeof job->token_buf - 1, f)] = '\0';
    fclose(f);
  }
  while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
    t++;
  size_t len = strlen(t);
  while (len && (t[len - 1] == ' ' || t[len - 1] == '\t' || t[len - 1] == '\n' || t[len - 1] == '\r'))
    t[--len] = '\0';
  if (len)
    job->token = t;
}

static lg_status job_init(lucidgen_hub_job *job, const lucidgen_hub_request *req, char *err, size_t errn) {
  char cache[LUCIDGEN_PATH_MAX], qrev[3 * LUCIDGEN_REVISION_MAX + 1], qfile[2048];
  memset(job, 0, sizeof *job);
  job->repo_id = req->repo_id;
  job->filename = req->filename ? req->filename : "model.safetensors";
  job->revision = req->revision && *req->revision ? req->revision : "main";
  if (!lucidgen_hf_safe_relpath(job->filename, 1)) {
    return lg_fail(
        err,
        errn,
        LG_ERR_ARG,
        "invalid file name '%s' in repo %s",
        job->filename,
        req->repo_id ? req->repo_id : "");
  }
  if (strlen(job->revision) > LUCIDGEN_REVISION_MAX) {
    return lg_fail(
        err,
        errn,
        LG_ERR_ARG,
        "invalid revision: %zu characters, more than lucidgen's limit of %d (a branch, tag or commit hash)",
        strlen(job->revision),
        LUCIDGEN_REVISION_MAX);
  }
  if (!lucidgen_hf_safe_relpath(job->revision, 1)) {
    return lg_fail(
        err,
        errn,
        LG_ERR_ARG,
        "invalid revision '%s': expected a branch, tag or commit hash",
        job->revision);
  }
  lg_status s = lucidgen_cache_dir(req->cache_dir, cache, sizeof cache, err, errn);
  if (!s)
    s = lucidgen_hf_repo_init(&job->repo, cache, req->repo_id, err, errn);
  if (s)
    return s;

  const char *endpoint = getenv("HF_ENDPOINT");
  snprintf(job->endpoint, sizeof job->endpoint, "%s", endpoint && *endpoint ? endpoint : "https://huggingface.co");
  for (size_t len = strlen(job->endpoint); len && job->endpoint[len - 1] == '/';) {
    job->endpoint[--len] = '\0';
  }
  read_token(job);
  job->etag_timeout_s = env_long("HF_HUB_ETAG_TIMEOUT", 10);
  job->download_timeout_s = env_long("HF_HUB_DOWNLOAD_TIMEOUT", 10);
  job->retry_base_ms = env_long("LUCIDGEN_RETRY_BASE_MS", 1000);
  job->progress = !req->quiet && isatty(STDERR_FILENO);
  /* revision is quoted whole (refs/pr/1 -> refs%2Fpr%2F1), the filename keeps its slashes. */
  if (url_quote(qrev, sizeof qrev, job->revision, 0) || url_quote(qfile, sizeof qfile, job->filename, 1) ||
      snprintf(
          job->resolve_url,
          sizeof job->resolve_url,
          "%s/%s/resolve/%s/%s",
          job->endpoint,
          job->repo_id,
          qrev,
          qfile) >= (int)sizeof job->resolve_url) {
    return lg_fail(err, errn, LG_ERR_ARG, "hub URL too long for %s", job->repo_id);
  }
  return LG_OK;
}

lg_status lucidgen_hub_fetch(const lucidgen_hub_request *req, char *path, size_t path_size, char *err, size_t errn) {
  lucidgen_hub_job job;
  char looked_for[LUCIDGEN_PATH_MAX], why[2048];
  lg_status s = job_init(&job, req, err, errn);
  if (s)
    return s;

  /* 1. A commit hash names its snapshot: no request at all. */
  if (lucidgen_is_commit_hash(job.revision) &&
      lucidgen_hf_resolve_cached(
          &job.repo,
          job.revision,
          job.filename,
          path,
          path_size,
          looked_for,
          sizeof looked_for) == LG_OK) {
    return LG_OK;
  }
  /* 2. Offline: the cache or an error naming what is missing. */
  if (req->offline || offline_from_env()) {
    s = lucidgen_hf_resolve_cached(
        &job.repo,
        job.revision,
        job.filename,
        path,
        path_size,
        looked_for,
        sizeof looked_for);
    if (s == LG_ERR_NOT_FOUND) {
      return lg_fail(
          err,
          errn,
          LG_ERR_NOT_FOUND,
          "offline mode (--offline or HF_HUB_OFFLINE) and %s@%s/%s is not cached: no %s",
          job.repo_id,
          job.revision,
          job.filename,
          looked_for);
    }
    return s ? lg_fail(err, errn, s, "cannot resolve %s in the cache", job.repo_id) : LG_OK;
  }

  if ((s = lucidgen_hub_http_init(err, errn)))
    return s;
  /* 3. HEAD once; on failure use the cache before retrying (huggingface_hub
   * does the same so a flaky network does not stall a cached model). A 404
   * is the hub's answer, not an outage: no fallback. */
  int transient = 0;
  s = lucidgen_hub_head(&job, &transient, why, sizeof why);
  if (s && s != LG_ERR_NOT_FOUND &&
      lucidgen_hf_resolve_cached(
          &job.repo,
          job.revision,
          job.filename,
          path,
          path_size,
          looked_for,
          sizeof looked_for) == LG_OK) {
    fprintf(stderr, "lucidgen: warning: %s; using the cached copy %s\n", why, path);
    lucidgen_hub_http_cleanup();
    return LG_OK;
  }
  for (int tries = 1; s && transient && tries < LUCIDGEN_HUB_MAX_TRIES; tries++) {
    fprintf(stderr, "lucidgen: warning: %s; retrying\n", why);
    lucidgen_hub_backoff(&job, tries);
    s = lucidgen_hub_head(&job, &transient, why, sizeof why);
  }
  if (s) {
    lucidgen_hub_http_cleanup();
    return lg_fail(err, errn, s, "%s", why);
  }

  /* 4. Already cached at this commit: exactly one HEAD, no download. */
  if (lucidgen_hf_pointer_path(&job.repo, job.commit, job.filename, path, path_size)) {
    lucidgen_hub_http_cleanup();
    return lg_fail(err, errn, LG_ERR_ARG, "snapshot path does not fit in %zu bytes", path_size);
  }
  struct stat st;
  if (stat(path, &st) == 0) {
    (void)lucidgen_hf_write_ref(&job.repo, job.revision, job.commit, NULL, 0); /* best effort */
  } else {
    s = hub_store(&job, req->quiet, err, errn); /* 5-6 */
  }
  lucidgen_hub_http_cleanup();
  return s;
}
