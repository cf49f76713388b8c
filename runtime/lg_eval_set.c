#include "lg_eval_set.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "lg_file.h"

/* A list file larger than this is not a list of images (50,000 lines of
 * ImageNet val paths take about 3 MB). */
#define MAX_LIST_BYTES ((uint64_t)256 << 20)

/* The one header line a list may start with. */
#define HEADER "path,label"

/* what lg_image decodes */
static const char *const IMAGE_EXTENSIONS[] = {".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".pnm"};

static int is_image_file(const char *name) {
  const char *dot = strrchr(name, '.');
  for (size_t i = 0; dot && i < sizeof IMAGE_EXTENSIONS / sizeof *IMAGE_EXTENSIONS; i++)
    if (strcasecmp(dot, IMAGE_EXTENSIONS[i]) == 0)
      return 1;
  return 0;
}

/* The class a folder name or list label names: an index below num_classes or
 * a synset key of the label set. 1 and *idx, *is_key set when it names one. */
static int class_of(const char *name, const lg_labels *labels, int num_classes, int *idx, int *is_key) {
  size_t len = strlen(name);
  if (len > 0 && len <= 9 && strspn(name, "0123456789") == len) {
    long v = strtol(name, NULL, 10);
    if (v >= num_classes)
      return 0;
    *idx = (int)v, *is_key = 0;
    return 1;
  }
  int k = lg_labels_find_key(labels, name);
  if (k < 0 || k >= num_classes)
    return 0;
  *idx = k, *is_key = 1;
  return 1;
}

/* first_line: a list's line 1, which may instead be the header */
static lg_status unknown_class(
    const char *what,
    const char *name,
    const lg_labels *labels,
    int num_classes,
    int first_line,
    char *err,
    size_t errn) {
  int has_keys = labels && labels->n > 0 && labels->key[0][0];
  return lg_fail(
      err,
      errn,
      LG_ERR_ARG,
      "%s: '%s' is not a class of this model: use a class index 0..%d%s%s",
      what,
      name,
      num_classes - 1,
      has_keys ? " or a synset of its label set (e.g. n01440764)" : " (its classes have no synset names)",
      first_line ? "; a header line is exactly 'path,label'" : "");
}

static lg_status add_image(lg_eval_set *set, const char *path, int label, int is_key, char *err, size_t errn) {
  if (set->n >= LG_EVAL_MAX_IMAGES)
    return lg_fail(err, errn, LG_ERR_UNSUPPORTED, "eval set: more than %d images; split it", LG_EVAL_MAX_IMAGES);
  if ((set->n & (set->n - 1)) == 0) { /* grow at 0, 1, 2, 4, ... */
    size_t cap = set->n ? 2 * (size_t)set->n : 1;
    char **p = realloc(set->path, cap * sizeof *p);
    if (p)
      set->path = p;
    int *l = realloc(set->label, cap * sizeof *l);
    if (l)
      set->label = l;
    if (!p || !l)
      return lg_fail(err, errn, LG_ERR_NOMEM, "eval set: out of memory at %d images", set->n);
  }
  if (!(set->path[set->n] = strdup(path)))
    return lg_fail(err, errn, LG_ERR_NOMEM, "eval set: out of memory at %d images", set->n);
  set->label[set->n++] = label;
  set->synset_labels = set->synset_labels && is_key;
  return LG_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void free_names(char **names, int n) {
  for (int i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

/* The entries of `dir` but hidden ones, sorted bytewise. */
static lg_status sorted_entries(const char *dir, char ***out, int *n_out, int *hidden, char *err, size_t errn) {
  *out = NULL, *n_out = 0;
  DIR *d = opendir(dir);
  if (!d)
    return lg_fail(
        err,
        errn,
        errno == ENOENT ? LG_ERR_NOT_FOUND : LG_ERR_IO,
        "cannot open folder %s: %s",
        dir,
        strerror(errno));
  char **names = NULL;
  int n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') {
      *hidden += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
      continue;
    }
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      char **grown = cap <= LG_EVAL_MAX_IMAGES ? realloc(names, (size_t)cap * sizeof *names) : NULL;
      if (!grown)
        break;
      names = grown;
    }
    if (!(names[n] = strdup(e->d_name)))
      break;
    n++;
  }
  int failed = e != NULL;
  closedir(d);
  if (failed) {
    free_names(names, n);
    return lg_fail(err, errn, LG_ERR_NOMEM, "out of memory listing %s", dir);
  }
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  *out = names, *n_out = n;
  return LG_OK;
}

/* n_classes: distinct labels, counted once the set is complete. */
static lg_status finish(lg_eval_set *set, const char *what, int num_classes, char *err, size_t errn) {
  if (set->n == 0)
    return lg_fail(
        err,
        errn,
        LG_ERR_ARG,
        "%s holds no images (JPEG, PNG or PNM files%s)",
        what,
        set->skipped ? "; other files were skipped" : "");
  unsigned char *seen = calloc((size_t)num_classes, 1);
  if (!seen)
    return lg_fail(err, errn, LG_ERR_NOMEM, "eval set: out of memory");
  for (int i = 0; i < set->n; i++) {
    set->n_classes += !seen[set->label[i]];
    seen[set->label[i]] = 1;
  }
  free(seen);
  return LG_OK;
}

lg_status lg_eval_set_from_dir(
    const char *dir,
    const lg_labels *labels,
    int num_classes,
    lg_eval_set *set,
    char *err,
    size_t errn) {
  memset(set, 0, sizeof *set);
  set->synset_labels = 1;
  char **classes;
  int n_classes, hidden = 0;
  lg_status st = sorted_entries(dir, &classes, &n_classes, &hidden, err, errn);
  if (st != LG_OK)
    return st;
  char path[8192];
  for (int c = 0; c < n_classes && st == LG_OK; c++) {
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, classes[c]);
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
      set->skipped++; /* ImageFolder reads classes from sub-folders only */
      continue;
    }
    int label, is_key;
    if (!class_of(classes[c], labels, num_classes, &label, &is_key)) {
      st = unknown_class(path, classes[c], labels, num_classes, 0, err, errn);
      break;
    }
    char **files;
    int n_files;
    if ((st = sorted_entries(path, &files, &n_files, &set->skipped, err, errn)) != LG_OK)
      break;
    for (int f = 0; f < n_files && st == LG_OK; f++) {
      char file[8192];
      if (snprintf(file, sizeof file, "%s/%s", path, files[f]) >= (int)sizeof file) {
        st = lg_fail(err, errn, LG_ERR_ARG, "%s/%s: path too long", path, files[f]);
      } else if (stat(file, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        st = lg_fail(
            err,
            errn,
            LG_ERR_ARG,
            "%s is a folder; class folders hold image files only (ImageFolder layout)",
            file);
      } else if (!is_image_file(files[f])) {
        set->skipped++;
      } else {
        st = add_image(set, file, label, is_key, err, errn);
      }
    }
    free_names(files, n_files);
  }
  free_names(classes, n_classes);
  set->skipped += hidden;
  if (st == LG_OK)
    st = finish(set, dir, num_classes, err, errn);
  if (st != LG_OK)
    lg_eval_set_free(set);
  return st;
}

/* The list's text: no NUL byte inside (it would end the list early), the
 * UTF-8 byte-order mark an editor may put first left out. */
static lg_status read_list(const char *path, char **out, char *err, size_t errn) {
  unsigned char *text;
  size_t len;
  lg_status st = lg_file_read(path, "list", MAX_LIST_BYTES, &text, &len, err, errn);
  if (st != LG_OK)
    return st;
  const unsigned char *nul = memchr(text, '\0', len);
  if (nul) {
    int line = 1;
    for (const unsigned char *p = text; p < nul; p++)
      line += *p == '\n';
    free(text);
    return lg_fail(err, errn, LG_ERR_FORMAT, "list %s line %d holds a NUL byte; a list is text", path, line);
  }
  size_t bom = len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
  memmove(text, text + bom, len - bom + 1);
  *out = (char *)text;
  return LG_OK;
}

lg_status lg_eval_set_from_list(
    const char *csv,
    const lg_labels *labels,
    int num_classes,
    lg_eval_set *set,
    char *err,
    size_t errn) {
  memset(set, 0, sizeof *set);
  set->synset_labels = 1;
  char *text = NULL;
  lg_status st = read_list(csv, &text, err, errn);
  if (st != LG_OK)
    return st;
  const char *slash = strrchr(csv, '/');
  int base_len = slash ? (int)(slash - csv) : 1;
  const char *base = slash ? csv : ".";
  int line_no = 0;
  for (char *line = text, *next; line && st == LG_OK; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    line_no++;
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
      line[--len] = '\0';
    if (len == 0 || (line_no == 1 && strcmp(line, HEADER) == 0))
      continue;
    char *comma = strrchr(line, ',');
    int label = 0, is_key = 0;
    if (comma) {
      *comma = '\0';
      char *name = comma + 1;
      while (*name == ' ')
        name++;
      if (!class_of(name, labels, num_classes, &label, &is_key)) {
        char where[8300];
        snprintf(where, sizeof where, "%s line %d", csv, line_no);
        st = unknown_class(where, name, labels, num_classes, line_no == 1, err, errn);
        break;
      }
    }
    if (!comma || !line[0]) {
      st = lg_fail(err, errn, LG_ERR_ARG, "%s line %d: expected 'path,label', got '%s'", csv, line_no, line);
      break;
    }
    char path[8192];
    if (snprintf(path, sizeof path, "%.*s%s%s", line[0] == '/' ? 0 : base_len, base, line[0] == '/' ? "" : "/", line) >=
        (int)sizeof path)
      st = lg_fail(err, errn, LG_ERR_ARG, "%s line %d: path too long", csv, line_no);
    else
      st = add_image(set, path, label, is_key, err, errn);
  }
  free(text);
  if (st == LG_OK)
    st = finish(set, csv, num_classes, err, errn);
  if (st != LG_OK)
    lg_eval_set_free(set);
  return st;
}

void lg_eval_set_free(lg_eval_set *set) {
  for (int i = 0; i < set->n; i++)
    free(set->path[i]);
  free(set->path);
  free(set->label);
  memset(set, 0, sizeof *set);
}
