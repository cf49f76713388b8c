/* hub_http: libcurl requests for hub.c (see hub_http.h). */
#include "hub_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#ifndef LUCIDGEN_VERSION
#error "LUCIDGEN_VERSION must be defined by the build (CMakeLists.txt passes the project version)"
#endif

enum {
  HUB_MAX_RELATIVE_REDIRECTS = 10, /* HEAD follows relative redirects (renamed repos) */
  HUB_MAX_COMMIT_CHARS = 64 /* X-Repo-Commit: a 40-hex commit (64 for sha256 repos) */
};

/* The response headers we use, from the last response of a transfer (the
 * header callback starts over at each status line, so redirect hops drop out). */
typedef struct hub_headers {
  long status;
  char repo_commit[HUB_MAX_COMMIT_CHARS + 1];
  size_t repo_commit_len; /* as sent, before any truncation */
  char linked_etag[256];
  char etag[256];
  char location[LUCIDGEN_PATH_MAX];
  char error_code[64];
  long long linked_size; /* X-Linked-Size, -1 when absent */
  long long content_length; /* -1 when absent */
  long long range_start; /* first byte of Content-Range, -1 when absent */
} hub_headers;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

void lucidgen_hub_backoff(const lucidgen_hub_job *job, int tries) {
  long ms = job->retry_base_ms;
  for (int i = 1; i < tries && ms < 8 * job->retry_base_ms; i++)
    ms *= 2;
  sleep_ms(ms < 8 * job->retry_base_ms ? ms : 8 * job->retry_base_ms);
}

/* huggingface_hub's _normalize_etag: lstrip("W/") then strip('"'). */
static void normalize_etag(const char *raw, char *out, size_t n) {
  while (*raw == 'W' || *raw == '/')
    raw++;
  while (*raw == '"')
    raw++;
  size_t len = strlen(raw);
  while (len && raw[len - 1] == '"')
    len--;
  snprintf(out, n, "%.*s", (int)len, raw);
}

/* "host:port" of a URL (default port filled in); "" when unparsable. */
static void url_netloc(const char *url, char *out, size_t n) {
  CURLU *u = curl_url();
  char *host = NULL, *port = NULL;
  out[0] = '\0';
  if (u && !curl_url_set(u, CURLUPART_URL, url, 0) && !curl_url_get(u, CURLUPART_HOST, &host, 0) &&
      !curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT)) {
    snprintf(out, n, "%s:%s", host, port);
  }
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
}

lg_status lucidgen_hub_http_init(char *err, size_t errn) {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    return lg_fail(err, errn, LG_ERR_NETWORK, "cannot initialise libcurl");
  }
  return LG_OK;
}

void lucidgen_hub_http_cleanup(void) { curl_global_cleanup(); }

/* --- libcurl plumbing ------------------------------------------------------ */

static void copy_value(char *dst, size_t n, const char *v, size_t len) {
  if (len >= n)
    len = n - 1;
  memcpy(dst, v, len);
  dst[len] = '\0';
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud) {
  hub_headers *h = ud;
  size_t n = size * nitems, len = n;
  if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
    memset(h, 0, sizeof *h);
    h->linked_size = h->content_length = h->range_start = -1;
    /* libcurl's buffer is not NUL-terminated: parse a bounded copy */
    char line[64];
    copy_value(line, sizeof line, buf, n);
    const char *sp = strchr(line, ' ');
    if (sp)
      h->status = strtol(sp + 1, NULL, 10);
    return n;
  }
  const char *colon = memchr(buf, ':', n);
  if (!colon)
    return n;
  size_t name_len = (size_t)(colon - buf);
  const char *v = colon + 1;
  while (v < buf + n && (*v == ' ' || *v == '\t'))
    v++;
  while (len > 0 && (buf[len - 1] == '\r' || buf[len - 1] == '\n' || buf[len - 1] == ' '))
    len--;
  size_t vlen = buf + len > v ? (size_t)(buf + len - v) : 0;
  char value[LUCIDGEN_PATH_MAX];
  copy_value(value, sizeof value, v, vlen);
#define HEADER_IS(name) (name_len == sizeof(name) - 1 && strncasecmp(buf, name, name_len) == 0)
  if (HEADER_IS("X-Repo-Commit")) {
    h->repo_commit_len = vlen;
    copy_value(h->repo_commit, sizeof h->repo_commit, v, vlen);
  } else if (HEADER_IS("X-Linked-Etag"))
    copy_value(h->linked_etag, sizeof h->linked_etag, v, vlen);
  else if (HEADER_IS("ETag"))
    copy_value(h->etag, sizeof h->etag, v, vlen);
  else if (HEADER_IS("Location"))
    copy_value(h->location, sizeof h->location, v, vlen);
  else if (HEADER_IS("X-Error-Code"))
    copy_value(h->error_code, sizeof h->error_code, v, vlen);
  else if (HEADER_IS("X-Linked-Size"))
    h->linked_size = strtoll(value, NULL, 10);
  else if (HEADER_IS("Content-Length"))
    h->content_length = strtoll(value, NULL, 10);
  else if (HEADER_IS("Content-Range")) {
    /* "bytes START-END/TOTAL" */
    const char *p = strncasecmp(value, "bytes ", 6) == 0 ? value + 6 : value;
    h->range_start = strtoll(p, NULL, 10);
  }
#undef HEADER_IS
  return n;
}

/* A handle with what every request shares: user agent, token (only when
 * `send_auth`), timeouts, http(s) only, headers into `h`. */
static CURL *hub_easy(
    const lucidgen_hub_job *job,
    const char *url,
    int send_auth,
    int head,
    struct curl_slist **hdrs,
    hub_headers *h,
    char *curl_err) {
  CURL *c = curl_easy_init();
  if (!c)
    return NULL;
  char auth[8192];
  *hdrs = NULL;
  if (send_auth && job->token) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", job->token);
    *hdrs = curl_slist_append(*hdrs, auth);
  }
  /* We want the real size of the file, never a compressed body. */
  *hdrs = curl_slist_append(*hdrs, "Accept-Encoding: identity");
  memset(h, 0, sizeof *h);
  h->linked_size = h->content_length = h->range_start = -1;
  curl_err[0] = '\0';
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "lucidgen/" LUCIDGEN_VERSION);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, job->etag_timeout_s);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  if (head) {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, job->etag_timeout_s);
  } else {
    /* Follow the CDN's own redirects; libcurl drops our Authorization header
     * if one of them leaves the host. Stalls are caught in on_tick. */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  }
  return c;
}

/* Failures worth another try: the network, not the request. */
static int curl_is_transient(CURLcode res) {
  switch (res) {
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_CONNECT:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_PARTIAL_FILE:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
    return 1;
  default:
    return 0;
  }
}

static int http_is_transient(long status) { return status == 408 || status == 429 || (status >= 500 && status <= 599); }

/* One line for an HTTP error status; sets *transient for 408/429/5xx. */
static lg_status http_error(
    const lucidgen_hub_job *job,
    const hub_headers *h,
    const char *url,
    int *transient,
    char *err,
    size_t errn) {
  char detail[128] = "";
  if (h->error_code[0])
    snprintf(detail, sizeof detail, ", %s", h->error_code);
  *transient = http_is_transient(h->status);
  if (h->status == 401 || h->status == 403) {
    if (job->token) {
      return lg_fail(
          err,
          errn,
          LG_ERR_ARG,
          "%s is gated or private and the HF_TOKEN sent was refused (HTTP %ld from %s%s): "
          "request access on the model page or use a token that has it",
          job->repo_id,
          h->status,
          url,
          detail);
    }
    return lg_fail(
        err,
        errn,
        LG_ERR_ARG,
        "%s is gated or private (HTTP %ld from %s%s): set HF_TOKEN to a token with access",
        job->repo_id,
        h->status,
        url,
        detail);
  }
  if (h->status == 404) {
    return lg_fail(
        err,
        errn,
        LG_ERR_NOT_FOUND,
        "no such repo/revision/file on the hub: repo '%s', revision '%s', file '%s' "
        "(HTTP 404 from %s%s)",
        job->repo_id,
        job->revision,
        job->filename,
        url,
        detail);
  }
  return lg_fail(err, errn, LG_ERR_NETWORK, "HTTP %ld from %s%s", h->status, url, detail);
}

/* --- step 3: metadata ------------------------------------------------------ */

/* The file's metadata from the final HEAD response: commit, etag, size.
 * Everything here came from a server: checked before it names a path. */
static lg_status job_from_headers(
    lucidgen_hub_job *job,
    const hub_headers *h,
    const char *url,
    char *err,
    size_t errn) {
  if (!h->repo_commit[0]) {
    return lg_fail(
        err,
        errn,
        LG_ERR_NETWORK,
        "%s did not answer like the Hugging Face hub (no X-Repo-Commit header): "
        "check HF_ENDPOINT and proxy settings",
        url);
  }
  /* A commit names a cache directory: never a truncated or odd string. */
  int commit_ok = h->repo_commit_len <= HUB_MAX_COMMIT_CHARS;
  for (const char *p = h->repo_commit; commit_ok && *p; p++)
    commit_ok = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '-' ||
        *p == '_' || *p == '.';
  if (!commit_ok) {
    return lg_fail(
        err,
        errn,
        LG_ERR_NETWORK,
        "%s sent an X-Repo-Commit of %zu characters that is not a commit (at most %d letters, digits, "
        "'-', '_', '.'): check HF_ENDPOINT and proxy settings",
        url,
        h->repo_commit_len,
        HUB_MAX_COMMIT_CHARS);
  }
  normalize_etag(h->linked_etag[0] ? h->linked_etag : h->etag, job->etag, sizeof job->etag);
  job->size = h->linked_size >= 0 ? h->linked_size : h->status >= 300 ? -1 : h->content_length;
  snprintf(job->commit, sizeof job->commit, "%s", h->repo_commit);
  if (!lucidgen_hf_safe_relpath(job->commit, 0) || !job->etag[0] || !lucidgen_hf_safe_relpath(job->etag, 0) ||
      job->size < 0) {
    return lg_fail(
        err,
        errn,
        LG_ERR_NETWORK,
        "unusable metadata from %s (commit '%s', etag '%s', size %lld): "
        "check HF_ENDPOINT and proxy settings",
        url,
        h->repo_commit,
        job->etag,
        job->size);
  }
  return LG_OK;
}

lg_status lucidgen_hub_head(lucidgen_hub_job *job, int *transient, char *err, size_t errn) {
  char url[LUCIDGEN_PATH_MAX], curl_err[CURL_ERROR_SIZE];
  hub_headers h;
  snprintf(url, sizeof url, "%s", job->resolve_url);
  *transient = 0;
  for (int hops = 0;; hops++) {
    struct curl_slist *hdrs;
    CURL *c = hub_easy(job, url, 1, 1, &hdrs, &h, curl_err);
    if (!c)
      return lg_fail(err, errn, LG_ERR_NOMEM, "cannot create a libcurl handle");
    CURLcode res = curl_easy_perform(c);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    if (res != CURLE_OK) {
      *transient = curl_is_transient(res);
      return lg_fail(
          err,
          errn,
          LG_ERR_NETWORK,
          "cannot reach %s: %s",
          url,
          curl_err[0] ? curl_err : curl_easy_strerror(res));
    }
    int redirect = h.status >= 300 && h.status <= 399 && h.location[0];
    int relative = redirect && !strstr(h.location, "://") && strncmp(h.location, "//", 2) != 0;
    if (relative && hops < HUB_MAX_RELATIVE_REDIRECTS) {
      CURLU *u = curl_url();
      char *next = NULL;
      int ok = u && !curl_url_set(u, CURLUPART_URL, url, 0) && !curl_url_set(u, CURLUPART_URL, h.location, 0) &&
          !curl_url_get(u, CURLUPART_URL, &next, 0);
      if (ok)
        snprintf(url, sizeof url, "%s", next);
      curl_free(next);
      curl_url_cleanup(u);
      if (!ok) {
        return lg_fail(err, errn, LG_ERR_NETWORK, "cannot follow redirect from %s to %s", url, h.location);
      }
      continue;
    }
    if (h.status < 200 || (h.status > 299 && !redirect)) {
      return http_error(job, &h, url, transient, err, errn);
    }
    snprintf(job->download_url, sizeof job->download_url, "%s", redirect ? h.location : url);
    break;
  }
  return job_from_headers(job, &h, url, err, errn);
}

/* --- step 5: the download -------------------------------------------------- */

typedef struct hub_transfer {
  const lucidgen_hub_job *job;
  int fd;
  long long have; /* bytes in the .incomplete file */
  hub_headers h;
  int body_started, overflow, bad_range, write_errno, stalled;
  double last_data; /* when bytes last arrived, for the read timeout */
  double t0, last_draw; /* progress bar */
  long long run_bytes; /* bytes received by this process, for the rate */
} hub_transfer;

static void human_bytes(double b, char *out, size_t n) {
  static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    u++;
  }
  snprintf(out, n, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
}

/* "timm/convnext_tiny.fb_in1k/model.safetensors  42%  45.8 MiB / 109.1 MiB  12.3 MiB/s  ETA 0:05"
 */
static void draw_progress(hub_transfer *t, int final) {
  double now = now_s();
  if (!t->job->progress || (!final && now - t->last_draw < 0.1))
    return;
  t->last_draw = now;
  double elapsed = now - t->t0 > 1e-3 ? now - t->t0 : 1e-3;
  double rate = (double)t->run_bytes / elapsed;
  long long size = t->job->size;
  long eta = rate > 0 ? (long)((double)(size - t->have) / rate) : 0;
  char have[32], total[32], speed[32];
  human_bytes((double)t->have, have, sizeof have);
  human_bytes((double)size, total, sizeof total);
  human_bytes(rate, speed, sizeof speed);
  fprintf(
      stderr,
      "\r%s/%s  %3d%%  %s / %s  %s/s  ETA %ld:%02ld\033[K",
      t->job->repo_id,
      t->job->filename,
      size ? (int)(100 * t->have / size) : 100,
      have,
      total,
      speed,
      eta / 60,
      eta % 60);
  if (final)
    fputc('\n', stderr);
}

static size_t on_body(char *buf, size_t size, size_t nmemb, void *ud) {
  hub_transfer *t = ud;
  size_t n = size * nmemb;
  if (t->h.status != 200 && t->h.status != 206)
    return n; /* error page: not file content */
  if (!t->body_started) {
    t->body_started = 1;
    if (t->h.status == 200 && t->have > 0) {
      /* The server ignored our Range: start the file over. */
      if (ftruncate(t->fd, 0) != 0) {
        t->write_errno = errno;
        return 0;
      }
      t->have = 0;
    } else if (t->h.status == 206 && t->h.range_start != t->have) {
      t->bad_range = 1;
      return 0;
    }
  }
  if (t->have + (long long)n > t->job->size) {
    t->overflow = 1;
    return 0;
  }
  for (size_t done = 0; done < n;) {
    ssize_t w = pwrite(t->fd, buf + done, n - done, (off_t)(t->have + (long long)done));
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      t->write_errno = w < 0 ? errno : EIO;
      return 0;
    }
    done += (size_t)w;
  }
  t->have += (long long)n;
  t->run_bytes += (long long)n;
  t->last_data = now_s();
  draw_progress(t, 0);
  return n;
}

/* libcurl calls this about once a second even when nothing arrives: abort
 * when no byte came for HF_HUB_DOWNLOAD_TIMEOUT seconds (huggingface_hub's
 * read timeout; libcurl's LOW_SPEED_* averages over a window and would wait
 * much longer after a fast start). */
static int on_tick(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  hub_transfer *t = ud;
  if (now_s() - t->last_data < (double)t->job->download_timeout_s)
    return 0;
  t->stalled = 1;
  return 1;
}

static lg_status check_disk_space(const char *dir, long long need, char *err, size_t errn) {
  struct statvfs vfs;
  if (need <= 0 || statvfs(dir, &vfs) != 0)
    return LG_OK;
  long long avail = (long long)vfs.f_bavail * (long long)vfs.f_frsize;
  if (avail >= need)
    return LG_OK;
  return lg_fail(err, errn, LG_ERR_IO, "not enough free space in %s: need %lld bytes, have %lld", dir, need, avail);
}

/* The .incomplete file, kept across runs to resume from: opened without
 * following a symlink (one planted at the predictable BLOB.incomplete made
 * the download write into the file it pointed to), and only a regular file;
 * anything else at the name is removed and the file made afresh, O_EXCL. */
static int open_incomplete(const char *path, struct stat *st) {
  int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd >= 0 && fstat(fd, st) == 0 && S_ISREG(st->st_mode))
    return fd;
  if (fd >= 0)
    close(fd);
  else if (errno != ELOOP && errno != ENXIO)
    return -1;
  if (unlink(path) != 0 && errno != ENOENT)
    return -1;
  fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd >= 0 && fstat(fd, st) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

lg_status lucidgen_hub_download(
    const lucidgen_hub_job *job,
    const char *incomplete,
    int *resumed,
    char *err,
    size_t errn) {
  hub_transfer t = {.job = job, .fd = -1};
  char netloc_dl[512], netloc_ep[512], curl_err[CURL_ERROR_SIZE];
  struct stat st;
  if ((t.fd = open_incomplete(incomplete, &st)) < 0)
    return lg_fail(err, errn, LG_ERR_IO, "cannot open %s: %s", incomplete, strerror(errno));
  t.have = (long long)st.st_size;
  if (t.have > job->size && ftruncate(t.fd, 0) == 0)
    t.have = 0;
  *resumed = t.have > 0;
  lg_status s = check_disk_space(job->repo.storage, job->size - t.have, err, errn);
  /* Signed CDN URLs on another host must not see the token (huggingface_hub
   * drops it the same way). */
  url_netloc(job->download_url, netloc_dl, sizeof netloc_dl);
  url_netloc(job->endpoint, netloc_ep, sizeof netloc_ep);
  int send_auth = netloc_dl[0] && strcmp(netloc_dl, netloc_ep) == 0;
  t.t0 = now_s();
  /* Every failed attempt counts, progress or not: a server that announces
   * more bytes than it sends would otherwise be downloaded again and again. */
  for (int tries = 0; !s && t.have < job->size;) {
    char range[64];
    struct curl_slist *hdrs;
    CURL *c = hub_easy(job, job->download_url, send_auth, 0, &hdrs, &t.h, curl_err);
    if (!c) {
      s = lg_fail(err, errn, LG_ERR_NOMEM, "cannot create a libcurl handle");
      break;
    }
    if (t.have > 0) {
      snprintf(range, sizeof range, "%lld-", t.have);
      curl_easy_setopt(c, CURLOPT_RANGE, range);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_tick);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    t.body_started = t.bad_range = t.stalled = 0;
    t.last_data = now_s();
    long long before = t.have;
    CURLcode res = curl_easy_perform(c);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);

    int transient = 0;
    if (t.write_errno) {
      s = lg_fail(err, errn, LG_ERR_IO, "cannot write %s: %s", incomplete, strerror(t.write_errno));
    } else if (t.overflow) {
      unlink(incomplete);
      s = lg_fail(
          err,
          errn,
          LG_ERR_MISMATCH,
          "%s/%s: the server sent more than the %lld bytes it announced; download discarded",
          job->repo_id,
          job->filename,
          job->size);
    } else if (t.bad_range || t.h.status == 416) {
      /* The server resumed from the wrong offset or refused the range: start over. */
      if (ftruncate(t.fd, 0) != 0) {
        s = lg_fail(err, errn, LG_ERR_IO, "cannot truncate %s: %s", incomplete, strerror(errno));
      } else {
        t.have = 0;
        transient = 1;
        lg_fail(
            err,
            errn,
            LG_ERR_NETWORK,
            "%s answered the range request for byte %lld wrongly",
            job->download_url,
            before);
      }
    } else if (res == CURLE_OK && (t.h.status == 200 || t.h.status == 206)) {
      if (t.have < job->size) {
        transient = 1;
        lg_fail(err, errn, LG_ERR_NETWORK, "%s closed after %lld of %lld bytes", job->download_url, t.have, job->size);
      }
    } else if (t.stalled) {
      transient = 1;
      lg_fail(
          err,
          errn,
          LG_ERR_NETWORK,
          "no data from %s for %ld s at %lld of %lld bytes",
          job->download_url,
          job->download_timeout_s,
          t.have,
          job->size);
    } else if (res != CURLE_OK) {
      transient = curl_is_transient(res);
      s = lg_fail(
          err,
          errn,
          LG_ERR_NETWORK,
          "download of %s interrupted at %lld of %lld bytes: %s",
          job->download_url,
          t.have,
          job->size,
          curl_err[0] ? curl_err : curl_easy_strerror(res));
    } else {
      s = http_error(job, &t.h, job->download_url, &transient, err, errn);
    }
    if (!transient)
      break;
    s = LG_OK;
    if (t.have < job->size) {
      if (++tries >= LUCIDGEN_HUB_MAX_TRIES) {
        size_t len = strlen(err);
        snprintf(err + len, errn - len, " (gave up after %d tries; run again to resume from %s)", tries, incomplete);
        s = LG_ERR_NETWORK;
        break;
      }
      if (job->progress)
        fputc('\n', stderr);
      fprintf(stderr, "lucidgen: warning: %s; retrying\n", err);
      lucidgen_hub_backoff(job, tries);
    }
  }
  if (!s)
    draw_progress(&t, 1);
  if (s && t.have == 0)
    unlink(incomplete); /* nothing worth resuming */
  if (!s && fsync(t.fd) != 0) {
    s = lg_fail(err, errn, LG_ERR_IO, "cannot flush %s: %s", incomplete, strerror(errno));
  }
  close(t.fd);
  return s;
}
