#include "lg_outfile.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int lg_outfile_open(lg_outfile *o, const char *path) {
  struct stat st;
  o->path = path;
  o->tmp[0] = '\0';
  if (stat(path, &st) != 0 || S_ISREG(st.st_mode)) {
    if (snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof o->tmp)
      return ENAMETOOLONG;
  }
  o->f = fopen(o->tmp[0] ? o->tmp : path, "wb");
  return o->f ? 0 : errno;
}

int lg_outfile_close(lg_outfile *o, int ok) {
  int e = ferror(o->f) ? EIO : 0;
  if (fclose(o->f) != 0 && !e)
    e = errno;
  o->f = NULL;
  if (!o->tmp[0])
    return e;
  if (ok && !e && rename(o->tmp, o->path) != 0)
    e = errno;
  if (!ok || e)
    remove(o->tmp);
  return e;
}
