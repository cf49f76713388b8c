/* lg_file: the files a classifier opens by a user's name.
 *
 * Inputs (images, eval lists, weight blobs, raw tensors) are read only from
 * regular files. The open is non-blocking (a FIFO would block open() until a
 * writer came, which may be never) and fstat checks the kind and the size
 * before a byte is read, so a refused input costs neither time nor memory:
 * /dev/zero is refused as a device, not read up to a limit.
 *
 * Outputs (--output-raw, --eval-report) are written whole or not at all. A
 * regular file (or a new one) is written under a temporary name beside it,
 * PATH.tmp.PID.XXXXXX, made by mkstemp (unpredictable and O_EXCL: a symlink
 * planted at the name cannot redirect the write), and renamed into place
 * only when every byte is written, so a failed run leaves the old file as it
 * was. Anything else that exists under the name (/dev/null, /dev/stdout, a
 * FIFO) is written in place: renaming over a device would replace it (as
 * root, /dev/null would become a regular file). */
#ifndef LG_FILE_H
#define LG_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lg_status.h"

/* Opens `path` for reading if it is a regular file of at most max_bytes:
 * sets *fd (close it) and *size. `what` names the file in messages ("image",
 * "list", "weight blob"). LG_ERR_NOT_FOUND or LG_ERR_IO when it cannot be
 * opened, LG_ERR_ARG for a directory or anything else that is not a regular
 * file, LG_ERR_UNSUPPORTED past max_bytes. */
lg_status lg_file_open(
    const char *path,
    const char *what,
    uint64_t max_bytes,
    int *fd,
    size_t *size,
    char *err,
    size_t errn);

/* Reads a whole file that lg_file_open accepts: *data (free() it) holds its
 * *len bytes and a NUL after them. */
lg_status lg_file_read(
    const char *path,
    const char *what,
    uint64_t max_bytes,
    unsigned char **data,
    size_t *len,
    char *err,
    size_t errn);

typedef struct {
  FILE *f; /* write here */
  const char *path;
  char tmp[4200]; /* the temporary name, "" when written in place */
} lg_outfile;

/* Opens o->f for path; 0, or an errno value. */
int lg_outfile_open(lg_outfile *o, const char *path);

/* Closes o->f; if ok and every write succeeded, moves the file into place,
 * else removes the temporary. 0, or an errno value (EIO for a failed write). */
int lg_outfile_close(lg_outfile *o, int ok);

/* Removes the temporaries of every outfile still open; async-signal-safe, for
 * a handler of SIGINT/SIGTERM that then ends the process (lg_classifier.c). */
void lg_outfile_remove_temporaries(void);

#endif
