/* lg_outfile: an output written whole or not at all.
 *
 * A regular file (or a new one) is written under a temporary name beside it
 * and renamed into place only when every byte is written, so a failed run
 * leaves the old file as it was. Anything else that exists under the name
 * (/dev/null, /dev/stdout, a FIFO) is written in place: renaming over a device
 * would replace it (as root, /dev/null would become a regular file). */
#ifndef LG_OUTFILE_H
#define LG_OUTFILE_H

#include <stdio.h>

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

#endif
