#include "lg_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "256 MiB" or "1048576 bytes", for the limit in a message */
static void size_text(uint64_t n, char *out, size_t outn) {
  if (n >= (1u << 20) && n % (1u << 20) == 0)
    snprintf(out, outn, "%llu MiB", (unsigned long long)(n >> 20));
  else
    snprintf(out, outn, "%llu bytes", (unsigned long long)n);
}

lg_status lg_file_open(
    const char *path,
    const char *what,
    uint64_t max_bytes,
    int *fd,
    size_t *size,
    char *err,
    size_t errn) {
  *fd = -1;
  *size = 0;
  int f = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (f < 0)
    return lg_fail(
        err,
        errn,
        errno == ENOENT ? LG_ERR_NOT_FOUND : LG_ERR_IO,
        "cannot open %s %s: %s",
        what,
        path,
        strerror(errno));
  struct stat st;
  lg_status s = LG_OK;
  char limit[32];
  if (fstat(f, &st) != 0)
    s = lg_fail(err, errn, LG_ERR_IO, "cannot stat %s %s: %s", what, path, strerror(errno));
  else if (S_ISDIR(st.st_mode))
    s = lg_fail(err, errn, LG_ERR_ARG, "%s %s is a directory; pass a file", what, path);
  else if (!S_ISREG(st.st_mode))
    s = lg_fail(
        err,
        errn,
        LG_ERR_ARG,
        "%s %s is not a regular file (a FIFO, device or socket is not read); pass a file",
        what,
        path);
  else if ((uint64_t)st.st_size > max_bytes || (uint64_t)st.st_size > SIZE_MAX - 1) {
    size_text(max_bytes, limit, sizeof limit);
    s = lg_fail(
        err,
        errn,
        LG_ERR_UNSUPPORTED,
        "%s %s is larger than %s, lucidgen's limit for a%s %s",
        what,
        path,
        limit,
        strchr("aeiou", what[0]) ? "n" : "",
        what);
  }
  /* reads from here on block as usual (a regular file never waits anyway) */
  if (s == LG_OK && fcntl(f, F_SETFL, 0) != 0)
    s = lg_fail(err, errn, LG_ERR_IO, "cannot read %s %s: %s", what, path, strerror(errno));
  if (s != LG_OK) {
    close(f);
    return s;
  }
  *fd = f;
  *size = (size_t)st.st_size;
  return LG_OK;
}

lg_status lg_file_read(
    const char *path,
    const char *what,
    uint64_t max_bytes,
    unsigned char **data,
    size_t *len,
    char *err,
    size_t errn) {
  *data = NULL;
  *len = 0;
  int fd;
  size_t size;
  lg_status s = lg_file_open(path, what, max_bytes, &fd, &size, err, errn);
  if (s != LG_OK)
    return s;
  unsigned char *buf = malloc(size + 1);
  if (!buf) {
    close(fd);
    return lg_fail(err, errn, LG_ERR_NOMEM, "out of memory reading %s %s (%zu bytes)", what, path, size);
  }
  size_t got = 0;
  while (got < size) {
    ssize_t r = read(fd, buf + got, size - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      s = r < 0 ? lg_fail(err, errn, LG_ERR_IO, "cannot read %s %s: %s", what, path, strerror(errno))
                : lg_fail(err, errn, LG_ERR_IO, "%s %s shrank while it was read; read it again", what, path);
      break;
    }
    got += (size_t)r;
  }
  close(fd);
  if (s != LG_OK) {
    free(buf);
    return s;
  }
  buf[size] = '\0';
  *data = buf;
  *len = size;
  return LG_OK;
}

/* The temporaries of open outfiles, for lg_outfile_remove_temporaries. */
#define MAX_OPEN_OUTFILES 4
static const char *volatile open_temporaries[MAX_OPEN_OUTFILES];

static void track(const char *tmp, int on) {
  for (int i = 0; i < MAX_OPEN_OUTFILES; i++)
    if (on ? open_temporaries[i] == NULL : open_temporaries[i] == tmp) {
      open_temporaries[i] = on ? tmp : NULL;
      return;
    }
}

void lg_outfile_remove_temporaries(void) {
  for (int i = 0; i < MAX_OPEN_OUTFILES; i++)
    if (open_temporaries[i])
      unlink(open_temporaries[i]);
}

int lg_outfile_open(lg_outfile *o, const char *path) {
  struct stat st;
  o->path = path;
  o->tmp[0] = '\0';
  o->f = NULL;
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
    o->f = fopen(path, "wb");
    return o->f ? 0 : errno;
  }
  if (snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld.XXXXXX", path, (long)getpid()) >= (int)sizeof o->tmp)
    return ENAMETOOLONG;
  int fd = mkstemp(o->tmp);
  if (fd < 0) {
    int e = errno;
    o->tmp[0] = '\0';
    return e;
  }
  /* mkstemp's 0600, widened to what a new file gets (the umask's) */
  mode_t mask = umask(0);
  umask(mask);
  if (fchmod(fd, 0666 & ~mask) != 0 || !(o->f = fdopen(fd, "wb"))) {
    int e = errno;
    close(fd);
    unlink(o->tmp);
    o->tmp[0] = '\0';
    return e;
  }
  track(o->tmp, 1);
  return 0;
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
    unlink(o->tmp);
  track(o->tmp, 0);
  return e;
}
