#include "temporaries.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

/* Fixed storage: the handler may only touch memory that is already there. An
 * output set has at most 5 files open at once (OUT.c, .h, .bin, .json and the
 * weights as C or assembly); more are created, not remembered. */
enum { SLOTS = 16, PATH_BYTES = 4096 };
static char paths[SLOTS][PATH_BYTES];
static volatile sig_atomic_t used[SLOTS];

FILE *lucidgen_create_file(const char *path) {
  /* Remembered before it exists: a signal between open() and the remembering
   * left the file behind (a SIGTERM in CI's ASan build landed there). Unlinking a
   * name not created yet is harmless. The fence keeps the path's bytes before the
   * flag the handler reads. */
  size_t n = strlen(path);
  int slot = -1;
  for (int i = 0; i < SLOTS && n < PATH_BYTES; i++)
    if (!used[i]) {
      memcpy(paths[i], path, n + 1);
      atomic_signal_fence(memory_order_seq_cst);
      used[i] = 1;
      slot = i;
      break;
    }
  int fd = unlink(path) != 0 && errno != ENOENT
      ? -1
      : open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  FILE *f = fd < 0 ? NULL : fdopen(fd, "wb");
  if (!f) {
    int e = errno;
    if (fd >= 0) {
      close(fd);
      unlink(path);
    }
    if (slot >= 0)
      used[slot] = 0;
    errno = e;
    return NULL;
  }
  return f;
}

void lucidgen_forget_file(const char *path) {
  for (int i = 0; i < SLOTS; i++)
    if (used[i] && strcmp(paths[i], path) == 0)
      used[i] = 0;
}

static void remove_and_die(int sig) {
  for (int i = 0; i < SLOTS; i++)
    if (used[i])
      unlink(paths[i]); /* async-signal-safe */
  signal(sig, SIG_DFL);
  raise(sig);
}

void lucidgen_remove_files_on_signals(void) {
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction old;
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
      continue; /* nohup: stays ignored */
    struct sigaction sa = {.sa_handler = remove_and_die};
    sigemptyset(&sa.sa_mask);
    sigaction(sigs[i], &sa, NULL);
  }
}
