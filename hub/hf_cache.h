/* hf_cache: the huggingface_hub cache layout, read and written the way
 * huggingface_hub does it, so a cache filled by Python timm is reused by
 * lucidgen and the other way round.
 *
 *   <cache>/CACHEDIR.TAG
 *   <cache>/.locks/models--timm--convnext_tiny.fb_in1k/<etag>.lock
 *   <cache>/models--timm--convnext_tiny.fb_in1k/
 *     blobs/<etag>                      file content; etag = sha256 for LFS files
 *     blobs/<etag>.incomplete           partial download, resumed with Range
 *     refs/<revision>                   commit hash (no newline), branches/tags only
 *     snapshots/<commit>/<filename> ->  ../../blobs/<etag> (relative symlink)
 *
 * Every file is written to a temporary name and renamed into place, so a
 * reader never sees a half-written ref, link or blob. */
#ifndef LUCIDGEN_HF_CACHE_H
#define LUCIDGEN_HF_CACHE_H

#include <stdio.h>

#include "lg_status.h"

#define LUCIDGEN_PATH_MAX 4096

/* Cache root: `explicit_dir` if non-NULL/non-empty, else $HF_HUB_CACHE, else
 * $HUGGINGFACE_HUB_CACHE (legacy), else <HF home>/hub. A leading "~/" is
 * expanded. The directory need not exist. */
lg_status lucidgen_cache_dir(const char *explicit_dir, char *out, size_t n, char *err, size_t errn);
/* HF home: $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. */
lg_status lucidgen_hf_home(char *out, size_t n, char *err, size_t errn);

/* `lucidgen cache list`: one line per cached repo/revision/file,
 *   <repo_id>  <revision>  <commit>  <filename>  <bytes>
 * sorted; revision is the ref name (main, a tag) or the commit itself for a
 * snapshot no ref points at; bytes is "missing" for a link to a missing blob. */
lg_status lucidgen_cache_list(const char *cache_dir, FILE *out, char *err, size_t errn);

/* `lucidgen cache verify`: re-hash every blob whose name is a sha256 and
 * check every snapshot link resolves. Prints one line per problem and a
 * summary; returns LG_ERR_MISMATCH when anything is wrong. */
lg_status lucidgen_cache_verify(const char *cache_dir, FILE *out, char *err, size_t errn);

/* --- building blocks used by hub.c ----------------------------------------- */

/* One repo inside one cache. */
typedef struct lucidgen_hf_repo {
  char cache_dir[LUCIDGEN_PATH_MAX];
  char folder[512]; /* models--timm--convnext_tiny.fb_in1k */
  char storage[LUCIDGEN_PATH_MAX]; /* <cache>/<folder> */
  char locks[LUCIDGEN_PATH_MAX]; /* <cache>/.locks/<folder> */
} lucidgen_hf_repo;

/* Checks `repo_id` ("owner/name", safe as a path) and fills the paths. */
lg_status lucidgen_hf_repo_init(
    lucidgen_hf_repo *repo,
    const char *cache_dir,
    const char *repo_id,
    char *err,
    size_t errn);

/* 1 if `s` is a full 40-hex lower-case commit hash (huggingface_hub's REGEX_COMMIT_HASH). */
int lucidgen_is_commit_hash(const char *s);
/* 1 if `s` is 64 lower-case hex digits: an LFS etag we can check with sha256. */
int lucidgen_is_sha256_hex(const char *s);
/* 1 if `s` is safe as a relative path below a cache folder: non-empty, not
 * absolute, no "", "." or ".." component. `allow_slash` permits several
 * components (filenames in subfolders, revisions like refs/pr/1). */
int lucidgen_hf_safe_relpath(const char *s, int allow_slash);

/* Paths of the pieces; each fails only when the result does not fit. */
lg_status lucidgen_hf_pointer_path(
    const lucidgen_hf_repo *repo,
    const char *commit,
    const char *filename,
    char *out,
    size_t n);
lg_status lucidgen_hf_ref_path(const lucidgen_hf_repo *repo, const char *revision, char *out, size_t n);

/* Cache-only resolution, as huggingface_hub does without a HEAD call: a
 * commit-hash revision names its snapshot directly, anything else is looked
 * up in refs/<revision>. LG_OK fills `path` with the snapshot pointer;
 * LG_ERR_NOT_FOUND fills `looked_for` with the exact path that was missing
 * (the ref file or the pointer). */
lg_status lucidgen_hf_resolve_cached(
    const lucidgen_hf_repo *repo,
    const char *revision,
    const char *filename,
    char *path,
    size_t path_size,
    char *looked_for,
    size_t looked_size);

/* refs/<revision> := commit, atomically, only when it differs (a read-only
 * cache that is already right stays untouched). No-op when revision == commit. */
lg_status lucidgen_hf_write_ref(
    const lucidgen_hf_repo *repo,
    const char *revision,
    const char *commit,
    char *err,
    size_t errn);

/* snapshots/<commit>/<filename> -> ../../blobs/<etag>, via a temporary link
 * renamed over the pointer. */
lg_status lucidgen_hf_link_snapshot(
    const lucidgen_hf_repo *repo,
    const char *commit,
    const char *filename,
    const char *etag,
    char *err,
    size_t errn);

/* Exclusive flock on .locks/<folder>/<etag>.lock, blocking; says once on
 * stderr that it is waiting unless `quiet`. Returns the fd to pass to unlock. */
lg_status lucidgen_hf_lock(const lucidgen_hf_repo *repo, const char *etag, int quiet, int *fd, char *err, size_t errn);
void lucidgen_hf_unlock(int fd);

/* printf into a path buffer; LG_ERR_ARG ("path too long: ...") when it does not fit. */
lg_status lucidgen_pathf(char *out, size_t n, char *err, size_t errn, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* mkdir -p */
lg_status lucidgen_mkdirs(const char *path, char *err, size_t errn);
/* Writes CACHEDIR.TAG at the cache root if absent (best effort, as huggingface_hub). */
void lucidgen_hf_tag_cache_dir(const char *cache_dir);

#endif
