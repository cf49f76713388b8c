#include "lg_labels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lg_status lg_labels_parse(const char *text, size_t len, lg_labels *labels, char *err, size_t errn) {
  memset(labels, 0, sizeof *labels);
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
    text += 3, len -= 3;
  if (len == 0)
    return LG_OK;
  if (memchr(text, '\0', len))
    return lg_fail(
        err,
        errn,
        LG_ERR_FORMAT,
        "labels: text contains a NUL byte at %zu",
        (size_t)((const char *)memchr(text, '\0', len) - text));

  /* A final '\n' ends, not starts, a line. memchr rather than a counting
   * loop: clang 14 crashes vectorizing `lines += text[i] == '\n'` for
   * AVX-512 (a backend bug on PCMPEQ), and `lucidgen build` compiles this. */
  size_t lines = 1;
  const char *last = text + len - 1;
  for (const char *p = text; (p = memchr(p, '\n', (size_t)(last - p))) != NULL; p++)
    lines++;
  if (lines > (size_t)(1 << 30))
    return lg_fail(err, errn, LG_ERR_UNSUPPORTED, "labels: %zu lines is too many", lines);

  labels->storage = malloc(len + 1);
  labels->name = malloc(lines * sizeof *labels->name);
  labels->key = malloc(lines * sizeof *labels->key);
  if (!labels->storage || !labels->name || !labels->key) {
    lg_labels_free(labels);
    return lg_fail(err, errn, LG_ERR_NOMEM, "labels: out of memory for %zu lines", lines);
  }
  memcpy(labels->storage, text, len);
  labels->storage[len] = '\0';

  char *line = labels->storage;
  for (size_t i = 0; i < lines; i++) {
    char *end = strchr(line, '\n');
    char *next = end ? end + 1 : line + strlen(line);
    if (!end)
      end = next;
    if (end > line && end[-1] == '\r')
      end--;
    *end = '\0';
    char *tab = strchr(line, '\t');
    labels->name[i] = tab ? tab + 1 : line;
    labels->key[i] = tab ? line : end; /* end: the empty string at the line's NUL */
    if (tab)
      *tab = '\0';
    line = next;
  }
  labels->n = (int)lines;
  return LG_OK;
}

const char *lg_labels_get(const lg_labels *labels, int idx) {
  if (!labels || idx < 0 || idx >= labels->n)
    return NULL;
  return labels->name[idx];
}

int lg_labels_find_key(const lg_labels *labels, const char *key) {
  for (int i = 0; labels && key[0] && i < labels->n; i++)
    if (strcmp(labels->key[i], key) == 0)
      return i;
  return -1;
}

const char *lg_labels_format(const lg_labels *labels, int idx, char *buf, size_t bufn) {
  const char *name = lg_labels_get(labels, idx);
  if (name && name[0])
    return name;
  if (buf && bufn)
    snprintf(buf, bufn, "class %d", idx);
  return buf;
}

void lg_labels_free(lg_labels *labels) {
  if (!labels)
    return;
  free(labels->storage);
  free(labels->name);
  free(labels->key);
  memset(labels, 0, sizeof *labels);
}
