/* lg_eval_set: the labelled images an accuracy gate runs over.
 *
 * Two layouts:
 *   ImageFolder  DIR/<class>/<image>: <class> is a class index (0..N-1) or a
 *                synset key of the model's label set (n01440764, the folder
 *                names of ImageNet's val set). Classes and files come in
 *                byte order like torchvision's ImageFolder (sorted names).
 *                Files whose extension is not one lg_image decodes (.jpg
 *                .jpeg .png .ppm .pgm .pnm, any case) and hidden entries are
 *                skipped and counted; a sub-folder inside a class is an error.
 *   List         a CSV file of `path,label` lines, label an index or a synset
 *                key; the line is split at its last comma, so paths may hold
 *                commas; relative paths are relative to the list's folder;
 *                blank lines are skipped; the first line may be the header
 *                `path,label`, exactly (any other first line is read as an
 *                image and a label that is no class is refused, so a typo
 *                cannot pass for a header); a UTF-8 byte-order mark before it
 *                is skipped; a NUL byte is refused with its line.
 * At most LG_EVAL_MAX_IMAGES images. */
#ifndef LG_EVAL_SET_H
#define LG_EVAL_SET_H

#include <stddef.h>

#include "lg_labels.h"
#include "lg_status.h"

#define LG_EVAL_MAX_IMAGES (1 << 24)

typedef struct lg_eval_set {
  int n; /* images */
  char **path; /* path[i]: the image file (owned) */
  int *label; /* label[i]: its class index */
  int n_classes; /* distinct classes among the labels */
  int synset_labels; /* 1: every class was named by its synset key */
  int skipped; /* ImageFolder files skipped (not a decodable type, hidden) */
} lg_eval_set;

/* labels: the model's label set (keys name synset folders; may be empty);
 * num_classes: the model's head width, the bound for index labels. */
lg_status lg_eval_set_from_dir(
    const char *dir,
    const lg_labels *labels,
    int num_classes,
    lg_eval_set *set,
    char *err,
    size_t errn);
lg_status lg_eval_set_from_list(
    const char *csv,
    const lg_labels *labels,
    int num_classes,
    lg_eval_set *set,
    char *err,
    size_t errn);
void lg_eval_set_free(lg_eval_set *set);

#endif
