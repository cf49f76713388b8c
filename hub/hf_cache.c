/* hf_cache: paths, refs, snapshot links, locks, list and verify for the
 * huggingface_hub cache layout described in hf_cache.h. */
#include "hf_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lg_sha256.h"

/* --- small string helpers --------------------------------------------------- */

static int is_lower_hex(const char *s, size_t len) {
  if (strlen(s) != len)
    return 0;
  for (size_t i = 0; i < len; i++) {
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  }
  return 1;
}

int lucidgen_is_commit_hash(const char *s) { return s && is_lower_hex(s, 40); }
int lucidgen_is_sha256_hex(const char *s) { return s && is_lower_hex(s, 64); }

int lucidgen_hf_safe_relpath(const char *s, int allow_slash) {
  if (!s || !*s || *s == '/')
    return 0;
  const char *p = s;
  for (;;) {
    const char *slash = strchr(p, '/');
    size_t len = slash ? (size_t)(slash - p) : strlen(p);
    if (len == 0)
      return 0;
    if (len == 1 && p[0] == '.')
      return 0;
    if (len == 2 && p[0] == '.' && p[1] == '.')
      return 0;
    if (!slash)
      return 1;
    if (!allow_slash)
      return 0;
    p = slash + 1;
  }
}

lg_status lucidgen_pathf(char *out, size_t n, char *err, size_t errn, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(out, n, fmt, ap);
  va_end(ap);
  if (w >= 0 && (size_t)w < n)
    return LG_OK;
  return lg_fail(err, errn, LG_ERR_ARG, "path too long (over %zu bytes): %.200s...", n, out);
}

/* "<path>.<pid>.<counter><nsec>.tmp": unique per process and call, next to `path`
 * so the final rename stays on one filesystem. */
static void temp_name_for(const char *path, char *out, size_t n) {
  static unsigned counter;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  snprintf(out, n, "%s.%ld.%u%06ld.tmp", path, (long)getpid(), ++counter, ts.tv_nsec / 1000);
}

static void dirname_of(const char *path, char *out, size_t n) {
  snprintf(out, n, "%s", path);
  char *slash = strrchr(out, '/');
  if (slash && slash != out)
    *slash = '\0';
  else if (slash)
    slash[1] = '\0';
  else
    snprintf(out, n, ".");
}

/* --- cache root ------------------------------------------------------------ */

static const char *env_nonempty(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

static lg_status expand_home(const char *path, const char *suffix, char *out, size_t n, char *err, size_t errn) {
  const char *rest = NULL;
  if (path[0] == '~' && (path[1] == '/' || path[1] == '\0'))
    rest = path + 1;
  int w;
  if (rest) {
    const char *home = env_nonempty("HOME");
    if (!home) {
      struct passwd *pw = getpwuid(getuid());
      home = pw ? pw->pw_dir : NULL;
    }
    if (!home) {
      return lg_fail(
          err,
          errn,
          LG_ERR_ARG,
          "cannot expand '~' in cache path %s: HOME is not set; set HF_HUB_CACHE",
          path);
    }
    w = snprintf(out, n, "%s%s%s", home, rest, suffix);
  } else {
    w = snprintf(out, n, "%s%s", path, suffix);
  }
  if (w < 0 || (size_t)w >= n) {
    return lg_fail(err, errn, LG_ERR_ARG, "cache path too long: %s%s", path, suffix);
  }
  return LG_OK;
}

lg_status lucidgen_hf_home(char *out, size_t n, char *err, size_t errn) {
  const char *v;
  if ((v = env_nonempty("HF_HOME")))
    return expand_home(v, "", out, n, err, errn);
  if ((v = env_nonempty("XDG_CACHE_HOME")))
    return expand_home(v, "/huggingface", out, n, err, errn);
  return expand_home("~/.cache/huggingface", "", out, n, err, errn);
}

lg_status lucidgen_cache_dir(const char *explicit_dir, char *out, size_t n, char *err, size_t errn) {
  const char *v;
  char home[LUCIDGEN_PATH_MAX];
  if (explicit_dir && *explicit_dir)
    return expand_home(explicit_dir, "", out, n, err, errn);
  if ((v = env_nonempty("HF_HUB_CACHE")))
    return expand_home(v, "", out, n, err, errn);
  if ((v = env_nonempty("HUGGINGFACE_HUB_CACHE")))
    return expand_home(v, "", out, n, err, errn);
  lg_status s = lucidgen_hf_home(home, sizeof home, err, errn);
  return s ? s : lucidgen_pathf(out, n, err, errn, "%s/hub", home);
}

/* --- repo paths ------------------------------------------------------------ */

lg_status lucidgen_hf_repo_init(
    lucidgen_hf_repo *repo,
    const char *cache_dir,
    const char *repo_id,
    char *err,
    size_t errn) {
  /* huggingface_hub's validate_repo_id: [A-Za-z0-9._-], at most one '/', no
   * "--" or "..", at most 96 characters. */
  size_t len = repo_id ? strlen(repo_id) : 0;
  int slashes = 0, ok = len > 0 && len <= 96;
  for (size_t i = 0; ok && i < len; i++) {
    char c = repo_id[i];
    if (c == '/')
      slashes++;
    else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
               c == '-'))
      ok = 0;
  }
  if (!ok || slashes > 1 || strstr(repo_id, "--") || strstr(repo_id, "..") || !lucidgen_hf_safe_relpath(repo_id, 1)) {
    return lg_fail(
        err,
        errn,
        LG_ERR_ARG,
        "invalid hub repo id '%s': expected owner/name of letters, digits, '.', '_', '-'",
        repo_id ? repo_id : "");
  }
  memset(repo, 0, sizeof *repo);
  snprintf(repo->cache_dir, sizeof repo->cache_dir, "%s", cache_dir);
  /* repo_folder_name: "models" + "--" + repo_id with '/' -> "--". */
  char *f = repo->folder;
  f += sprintf(f, "models--");
  for (const char *p = repo_id; *p; p++) {
    if (*p == '/')
      f += sprintf(f, "--");
    else
      *f++ = *p;
  }
  *f = '\0';
  lg_status s = lucidgen_pathf(repo->storage, sizeof repo->storage, err, errn, "%s/%s", cache_dir, repo->folder);
  if (!s) {
    s = lucidgen_pathf(repo->locks, sizeof repo->locks, err, errn, "%s/.locks/%s", cache_dir, repo->folder);
  }
  return s;
}

lg_status lucidgen_hf_pointer_path(
    const lucidgen_hf_repo *repo,
    const char *commit,
    const char *filename,
    char *out,
    size_t n) {
  return lucidgen_pathf(out, n, NULL, 0, "%s/snapshots/%s/%s", repo->storage, commit, filename);
}

lg_status lucidgen_hf_ref_path(const lucidgen_hf_repo *repo, const char *revision, char *out, size_t n) {
  return lucidgen_pathf(out, n, NULL, 0, "%s/refs/%s", repo->storage, revision);
}

static lg_status lock_path(const lucidgen_hf_repo *repo, const char *etag, char *out, size_t n) {
  return lucidgen_pathf(out, n, NULL, 0, "%s/%s.lock", repo->locks, etag);
}

/* --- refs ------------------------------------------------------------------ */

/* Reads a ref file: the commit hash, trailing whitespace tolerated (Python
 * writes none, a hand-edited file may have a newline). Only a regular file:
 * the open is non-blocking (a FIFO planted at refs/main blocked open() for
 * ever), and anything else is LG_ERR_ARG. */
static lg_status read_ref(const char *ref_path, char *commit, size_t n, char *err, size_t errn) {
  int fd = open(ref_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return LG_ERR_NOT_FOUND;
    return lg_fail(err, errn, LG_ERR_IO, "cannot read %s: %s", ref_path, strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return lg_fail(err, errn, LG_ERR_ARG, "ref file %s is not a regular file", ref_path);
  }
  ssize_t got = read(fd, commit, n - 1);
  close(fd);
  commit[got > 0 ? got : 0] = '\0';
  while (got > 0 && (commit[got - 1] == '\n' || commit[got - 1] == '\r' || commit[got - 1] == ' ')) {
    commit[--got] = '\0';
  }
  if (!lucidgen_hf_safe_relpath(commit, 0)) {
    return lg_fail(err, errn, LG_ERR_FORMAT, "ref file %s does not hold a commit hash", ref_path);
  }
  return LG_OK;
}

lg_status lucidgen_hf_resolve_cached(
    const lucidgen_hf_repo *repo,
    const char *revision,
    const char *filename,
    char *path,
    size_t path_size,
    char *looked_for,
    size_t looked_size) {
  char commit[256], pointer[LUCIDGEN_PATH_MAX], ref[LUCIDGEN_PATH_MAX];
  if (lucidgen_is_commit_hash(revision)) {
    snprintf(commit, sizeof commit, "%s", revision);
  } else {
    if (lucidgen_hf_ref_path(repo, revision, ref, sizeof ref))
      return LG_ERR_ARG;
    lg_status r = read_ref(ref, commit, sizeof commit, NULL, 0);
    if (r != LG_OK) {
      snprintf(looked_for, looked_size, r == LG_ERR_ARG ? "%s (what is there is not a regular file)" : "%s", ref);
      return LG_ERR_NOT_FOUND;
    }
  }
  if (lucidgen_hf_pointer_path(repo, commit, filename, pointer, sizeof pointer))
    return LG_ERR_ARG;
  struct stat st;
  if (stat(pointer, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(looked_for, looked_size, "%s", pointer);
    return LG_ERR_NOT_FOUND;
  }
  snprintf(path, path_size, "%s", pointer);
  return LG_OK;
}

lg_status lucidgen_mkdirs(const char *path, char *err, size_t errn) {
  char buf[LUCIDGEN_PATH_MAX];
  if (!*path)
    return LG_OK;
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
    return lg_fail(err, errn, LG_ERR_ARG, "path too long: %s", path);
  }
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char saved = *p;
      *p = '\0';
      if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
        return lg_fail(err, errn, LG_ERR_IO, "cannot create directory %s: %s", buf, strerror(errno));
      }
      *p = saved;
      if (!saved)
        break;
    }
  }
  return LG_OK;
}

static lg_status write_file_atomic(const char *path, const char *data, size_t n, char *err, size_t errn) {
  char tmp[LUCIDGEN_PATH_MAX + 64];
  temp_name_for(path, tmp, sizeof tmp);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0)
    return lg_fail(err, errn, LG_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
  ssize_t w = write(fd, data, n);
  int e = errno;
  if (w == (ssize_t)n && fsync(fd) != 0) {
    w = -1;
    e = errno;
  }
  if (close(fd) != 0 && w == (ssize_t)n) {
    w = -1;
    e = errno;
  }
  if (w != (ssize_t)n) {
    unlink(tmp);
    return lg_fail(err, errn, LG_ERR_IO, "cannot write %s: %s", tmp, strerror(e));
  }
  if (rename(tmp, path) != 0) {
    e = errno;
    unlink(tmp);
    return lg_fail(err, errn, LG_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(e));
  }
  return LG_OK;
}

lg_status lucidgen_hf_write_ref(
    const lucidgen_hf_repo *repo,
    const char *revision,
    const char *commit,
    char *err,
    size_t errn) {
  if (strcmp(revision, commit) == 0)
    return LG_OK;
  char ref[LUCIDGEN_PATH_MAX], dir[LUCIDGEN_PATH_MAX], old[256];
  if (lucidgen_hf_ref_path(repo, revision, ref, sizeof ref)) {
    return lg_fail(err, errn, LG_ERR_ARG, "ref path too long for revision %s", revision);
  }
  if (read_ref(ref, old, sizeof old, NULL, 0) == LG_OK && strcmp(old, commit) == 0)
    return LG_OK;
  dirname_of(ref, dir, sizeof dir);
  lg_status s = lucidgen_mkdirs(dir, err, errn);
  if (s)
    return s;
  return write_file_atomic(ref, commit, strlen(commit), err, errn);
}

/* --- snapshot links -------------------------------------------------------- */

lg_status lucidgen_hf_link_snapshot(
    const lucidgen_hf_repo *repo,
    const char *commit,
    const char *filename,
    const char *etag,
    char *err,
    size_t errn) {
  char pointer[LUCIDGEN_PATH_MAX], dir[LUCIDGEN_PATH_MAX], tmp[LUCIDGEN_PATH_MAX + 64];
  char target[LUCIDGEN_PATH_MAX];
  if (lucidgen_hf_pointer_path(repo, commit, filename, pointer, sizeof pointer)) {
    return lg_fail(err, errn, LG_ERR_ARG, "snapshot path too long for %s", filename);
  }
  dirname_of(pointer, dir, sizeof dir);
  lg_status s = lucidgen_mkdirs(dir, err, errn);
  if (s)
    return s;
  /* From snapshots/<commit>/<a>/<b> up to the repo folder: 2 + one per '/'. */
  size_t used = 0;
  for (const char *p = filename;; p = strchr(p, '/') + 1) {
    used += (size_t)snprintf(target + used, sizeof target - used, "../");
    if (!strchr(p, '/'))
      break;
  }
  int w = snprintf(target + used, sizeof target - used, "../blobs/%s", etag);
  if (w < 0 || (size_t)w >= sizeof target - used) {
    return lg_fail(err, errn, LG_ERR_ARG, "link target too long for %s", filename);
  }
  temp_name_for(pointer, tmp, sizeof tmp);
  if (symlink(target, tmp) != 0) {
    return lg_fail(err, errn, LG_ERR_IO, "cannot create symlink %s: %s", tmp, strerror(errno));
  }
  if (rename(tmp, pointer) != 0) {
    int e = errno;
    unlink(tmp);
    return lg_fail(err, errn, LG_ERR_IO, "cannot rename %s to %s: %s", tmp, pointer, strerror(e));
  }
  return LG_OK;
}

/* --- locks ----------------------------------------------------------------- */

lg_status lucidgen_hf_lock(const lucidgen_hf_repo *repo, const char *etag, int quiet, int *fd, char *err, size_t errn) {
  char path[LUCIDGEN_PATH_MAX];
  if (lock_path(repo, etag, path, sizeof path)) {
    return lg_fail(err, errn, LG_ERR_ARG, "lock path too long for %s", etag);
  }
  lg_status s = lucidgen_mkdirs(repo->locks, err, errn);
  if (s)
    return s;
  /* 0664 like huggingface_hub, so users sharing a cache can wait on each
   * other; a symlink there is not followed (O_CREAT would make its target). */
  *fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0664);
  if (*fd < 0 && errno == ELOOP)
    return lg_fail(err, errn, LG_ERR_IO, "lock %s is a symbolic link, not a lock file; remove it", path);
  if (*fd < 0)
    return lg_fail(err, errn, LG_ERR_IO, "cannot open lock %s: %s", path, strerror(errno));
  if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
    return LG_OK;
  if (errno == EWOULDBLOCK) {
    if (!quiet)
      fprintf(stderr, "lucidgen: waiting for another process holding %s\n", path);
    int r;
    while ((r = flock(*fd, LOCK_EX)) != 0 && errno == EINTR) {
    }
    if (r == 0)
      return LG_OK;
  }
  /* Filesystems without flock (some NFS): go on unlocked, as huggingface_hub
   * falls back to a soft lock; the blob is still renamed into place atomically
   * and, for sha256 etags, verified first. */
  fprintf(stderr, "lucidgen: warning: cannot lock %s (%s); continuing without a lock\n", path, strerror(errno));
  return LG_OK;
}

void lucidgen_hf_unlock(int fd) {
  if (fd >= 0)
    close(fd); /* closing releases the flock; the lock file stays, as in huggingface_hub */
}

void lucidgen_hf_tag_cache_dir(const char *cache_dir) {
  static const char tag[] = "Signature: 8a477f597d28d172789f06886806bc55\n"
                            "# This file is a cache directory tag created by huggingface_hub.\n"
                            "# For information about cache directory tags, see:\n"
                            "#\thttps://bford.info/cachedir/\n";
  char path[LUCIDGEN_PATH_MAX];
  struct stat st;
  if (lucidgen_pathf(path, sizeof path, NULL, 0, "%s/CACHEDIR.TAG", cache_dir))
    return;
  if (stat(path, &st) == 0)
    return;
  (void)write_file_atomic(path, tag, sizeof tag - 1, NULL, 0);
}

/* --- list and verify ------------------------------------------------------- */

typedef struct strlist {
  char **v;
  size_t n, cap;
} strlist;

static int strlist_push(strlist *l, const char *s) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 16;
    char **v = realloc(l->v, cap * sizeof *v);
    if (!v)
      return -1;
    l->v = v;
    l->cap = cap;
  }
  if (!(l->v[l->n] = strdup(s)))
    return -1;
  l->n++;
  return 0;
}

static void strlist_free(strlist *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Names in `dir` (no "." / ".."), sorted; a missing dir gives an empty list. */
static lg_status list_dir(const char *dir, strlist *out, char *err, size_t errn) {
  DIR *d = opendir(dir);
  if (!d) {
    if (errno == ENOENT || errno == ENOTDIR)
      return LG_OK;
    return lg_fail(err, errn, LG_ERR_IO, "cannot read directory %s: %s", dir, strerror(errno));
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    if (strlist_push(out, e->d_name)) {
      closedir(d);
      return lg_fail(err, errn, LG_ERR_NOMEM, "out of memory listing %s", dir);
    }
  }
  closedir(d);
  if (out->n > 1)
    qsort(out->v, out->n, sizeof *out->v, cmp_str); /* v is NULL when empty */
  return LG_OK;
}

/* Relative paths of every non-directory below `root` (symlinks count as
 * files), sorted. `rel` is the prefix walked so far ("" at the top). */
static lg_status walk_files(const char *root, const char *rel, strlist *out, char *err, size_t errn) {
  char dir[LUCIDGEN_PATH_MAX], child_rel[LUCIDGEN_PATH_MAX], child[LUCIDGEN_PATH_MAX];
  lg_status s = lucidgen_pathf(dir, sizeof dir, err, errn, "%s%s%s", root, *rel ? "/" : "", rel);
  strlist names = {0};
  if (!s)
    s = list_dir(dir, &names, err, errn);
  for (size_t i = 0; !s && i < names.n; i++) {
    struct stat st;
    s = lucidgen_pathf(child_rel, sizeof child_rel, err, errn, "%s%s%s", rel, *rel ? "/" : "", names.v[i]);
    if (!s)
      s = lucidgen_pathf(child, sizeof child, err, errn, "%s/%s", root, child_rel);
    if (s)
      break;
    if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
      s = walk_files(root, child_rel, out, err, errn);
    else if (strlist_push(out, child_rel))
      s = lg_fail(err, errn, LG_ERR_NOMEM, "out of memory");
  }
  strlist_free(&names);
  return s;
}

/* "models--timm--x" -> "timm/x"; other repo types keep their plural prefix
 * ("datasets/owner/name"). Returns 0 when `folder` is not a repo folder. */
static int repo_id_of(const char *folder, char *out, size_t n) {
  const char *sep = strstr(folder, "--");
  if (!sep || sep == folder || strlen(folder) >= n)
    return 0;
  size_t used = 0;
  if (strncmp(folder, "models--", 8) != 0) {
    memcpy(out, folder, (size_t)(sep - folder));
    used = (size_t)(sep - folder);
    out[used++] = '/';
  }
  for (const char *p = sep + 2; *p; p++) {
    if (p[0] == '-' && p[1] == '-') {
      out[used++] = '/';
      p++;
    } else {
      out[used++] = *p;
    }
  }
  out[used] = '\0';
  return 1;
}

/* One line per file of snapshots/<commit>, labelled with `revision`. */
static lg_status list_snapshot(
    FILE *out,
    const char *storage,
    const char *repo_id,
    const char *revision,
    const char *commit,
    char *err,
    size_t errn) {
  char dir[LUCIDGEN_PATH_MAX], path[LUCIDGEN_PATH_MAX];
  strlist files = {0};
  lg_status s = lucidgen_pathf(dir, sizeof dir, err, errn, "%s/snapshots/%s", storage, commit);
  if (!s)
    s = walk_files(dir, "", &files, err, errn);
  for (size_t i = 0; !s && i < files.n; i++) {
    struct stat st;
    if ((s = lucidgen_pathf(path, sizeof path, err, errn, "%s/%s", dir, files.v[i])))
      break;
    if (stat(path, &st) == 0) {
      fprintf(out, "%s  %s  %s  %s  %lld\n", repo_id, revision, commit, files.v[i], (long long)st.st_size);
    } else {
      fprintf(out, "%s  %s  %s  %s  missing\n", repo_id, revision, commit, files.v[i]);
    }
  }
  strlist_free(&files);
  return s;
}

/* refs first (main, tags: each with the snapshot it names), then the
 * snapshots no ref points at, labelled by their commit. */
static lg_status list_repo(const char *storage, const char *repo_id, FILE *out, char *err, size_t errn) {
  char dir[LUCIDGEN_PATH_MAX], ref_path[LUCIDGEN_PATH_MAX], commit[256];
  strlist refs = {0}, commits = {0};
  char *referenced = NULL;
  lg_status s = lucidgen_pathf(dir, sizeof dir, err, errn, "%s/refs", storage);
  if (!s)
    s = walk_files(dir, "", &refs, err, errn);
  if (!s)
    s = lucidgen_pathf(dir, sizeof dir, err, errn, "%s/snapshots", storage);
  if (!s)
    s = list_dir(dir, &commits, err, errn);
  if (!s && !(referenced = calloc(commits.n + 1, 1))) {
    s = lg_fail(err, errn, LG_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; !s && i < refs.n; i++) {
    if ((s = lucidgen_pathf(ref_path, sizeof ref_path, err, errn, "%s/refs/%s", storage, refs.v[i]))) {
      break;
    }
    if (read_ref(ref_path, commit, sizeof commit, NULL, 0) != LG_OK)
      continue;
    for (size_t j = 0; !s && j < commits.n; j++) {
      if (strcmp(commits.v[j], commit) != 0)
        continue;
      referenced[j] = 1;
      s = list_snapshot(out, storage, repo_id, refs.v[i], commit, err, errn);
    }
  }
  for (size_t j = 0; !s && j < commits.n; j++) {
    if (!referenced[j])
      s = list_snapshot(out, storage, repo_id, commits.v[j], commits.v[j], err, errn);
  }
  free(referenced);
  strlist_free(&refs);
  strlist_free(&commits);
  return s;
}

/* Calls `fn` for every repo folder (<type>s--owner--name) of the cache. */
typedef lg_status (*repo_fn)(const char *storage, const char *repo_id, FILE *out, void *ctx, char *err, size_t errn);

static lg_status for_each_repo(const char *cache_dir, repo_fn fn, FILE *out, void *ctx, char *err, size_t errn) {
  strlist folders = {0};
  char repo_id[512], storage[LUCIDGEN_PATH_MAX];
  /* a mistyped --cache-dir was listed as empty and verified with 0 problems */
  struct stat st;
  int missing = stat(cache_dir, &st) != 0;
  if (missing || !S_ISDIR(st.st_mode))
    return lg_fail(
        err,
        errn,
        LG_ERR_NOT_FOUND,
        "no hub cache at %s (%s); check --cache-dir, HF_HUB_CACHE and HF_HOME",
        cache_dir,
        missing ? strerror(errno) : "it is not a directory");
  lg_status s = list_dir(cache_dir, &folders, err, errn);
  for (size_t i = 0; !s && i < folders.n; i++) {
    if (!repo_id_of(folders.v[i], repo_id, sizeof repo_id))
      continue;
    s = lucidgen_pathf(storage, sizeof storage, err, errn, "%s/%s", cache_dir, folders.v[i]);
    if (!s)
      s = fn(storage, repo_id, out, ctx, err, errn);
  }
  strlist_free(&folders);
  return s;
}

static lg_status list_repo_fn(const char *storage, const char *repo_id, FILE *out, void *ctx, char *err, size_t errn) {
  return list_repo(storage, repo_id, out, err, errn);
}

lg_status lucidgen_cache_list(const char *cache_dir, FILE *out, char *err, size_t errn) {
  return for_each_repo(cache_dir, list_repo_fn, out, NULL, err, errn);
}

typedef struct verify_counts {
  long blobs, skipped, links, problems;
} verify_counts;

static lg_status verify_repo(const char *storage, const char *repo_id, FILE *out, void *ctx, char *err, size_t errn) {
  verify_counts *c = ctx;
  char dir[LUCIDGEN_PATH_MAX], path[LUCIDGEN_PATH_MAX], got[65], target[LUCIDGEN_PATH_MAX];
  char why[LUCIDGEN_PATH_MAX + 64];
  strlist blobs = {0}, links = {0};
  lg_status s = lucidgen_pathf(dir, sizeof dir, err, errn, "%s/blobs", storage);
  if (!s)
    s = list_dir(dir, &blobs, err, errn);
  for (size_t i = 0; !s && i < blobs.n; i++) {
    /* Names with a dot are partial downloads or temporaries, not blobs. */
    if (strchr(blobs.v[i], '.'))
      continue;
    if (!lucidgen_is_sha256_hex(blobs.v[i])) {
      c->skipped++;
      continue;
    }
    if ((s = lucidgen_pathf(path, sizeof path, err, errn, "%s/%s", dir, blobs.v[i])))
      break;
    c->blobs++;
    if (lg_sha256_file(path, got, why, sizeof why) != LG_OK) {
      fprintf(out, "UNREADABLE %s: %s\n", path, why);
      c->problems++;
    } else if (strcmp(got, blobs.v[i]) != 0) {
      fprintf(out, "MISMATCH %s: expected %s got %s\n", path, blobs.v[i], got);
      c->problems++;
    }
  }
  if (!s)
    s = lucidgen_pathf(dir, sizeof dir, err, errn, "%s/snapshots", storage);
  if (!s)
    s = walk_files(dir, "", &links, err, errn);
  for (size_t i = 0; !s && i < links.n; i++) {
    struct stat st;
    if ((s = lucidgen_pathf(path, sizeof path, err, errn, "%s/%s", dir, links.v[i])))
      break;
    c->links++;
    if (stat(path, &st) != 0) {
      ssize_t len = readlink(path, target, sizeof target - 1);
      target[len > 0 ? len : 0] = '\0';
      fprintf(out, "BROKEN %s: points to %s, which is missing\n", path, target);
      c->problems++;
    }
  }
  strlist_free(&blobs);
  strlist_free(&links);
  return s;
}

lg_status lucidgen_cache_verify(const char *cache_dir, FILE *out, char *err, size_t errn) {
  verify_counts c = {0};
  lg_status s = for_each_repo(cache_dir, verify_repo, out, &c, err, errn);
  if (s)
    return s;
  fprintf(
      out,
      "verified %ld blobs (%ld skipped: etag is not a sha256) and %ld snapshot links in %s: "
      "%ld problem%s\n",
      c.blobs,
      c.skipped,
      c.links,
      cache_dir,
      c.problems,
      c.problems == 1 ? "" : "s");
  if (c.problems) {
    return lg_fail(
        err,
        errn,
        LG_ERR_MISMATCH,
        "cache verify found %ld problem%s in %s",
        c.problems,
        c.problems == 1 ? "" : "s",
        cache_dir);
  }
  return LG_OK;
}
