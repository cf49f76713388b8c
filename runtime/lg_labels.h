/* lg_labels: class-index -> name table parsed from text the classifier
 * embeds. One class per line, in class-index order; a line is either
 * "wnid<TAB>lemma" (timm's imagenet_synset_to_lemma.txt style: the key is
 * the synset before the first TAB, the name the text after it) or just the
 * name (no key). A UTF-8 BOM, "\r\n" line
 * ends and a final newline are accepted; blank lines in the middle are kept
 * as empty names so later indices do not shift. */
#ifndef LG_LABELS_H
#define LG_LABELS_H

#include <stddef.h>

#include "lg_status.h"

typedef struct lg_labels {
  int n; /* number of classes named */
  const char **name; /* name[i] points into storage */
  const char **key; /* key[i]: the synset (n01440764), "" when the line has no TAB */
  char *storage; /* one copy of the text, lines NUL-terminated in place */
} lg_labels;

/* Parse `len` bytes of `text` (need not be NUL-terminated). Empty text gives
 * an empty table (n = 0), not an error; NUL bytes are LG_ERR_FORMAT. */
lg_status lg_labels_parse(const char *text, size_t len, lg_labels *labels, char *err, size_t errn);

/* Name of class idx, or NULL when there is none (no labels, out of range). */
const char *lg_labels_get(const lg_labels *labels, int idx);

/* Index of the class whose key is `key` (an ImageNet folder name), or -1. */
int lg_labels_find_key(const lg_labels *labels, const char *key);

/* Name of class idx for printing: the label, or "class <idx>" when there is
 * none (written into buf). Returns a string valid while labels and buf are. */
const char *lg_labels_format(const lg_labels *labels, int idx, char *buf, size_t bufn);

void lg_labels_free(lg_labels *labels);

#endif
