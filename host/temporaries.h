/* The files lucidgen writes: created afresh, never through a planted link,
 * and removed when a signal ends the run before they were committed. */
#ifndef LUCIDGEN_TEMPORARIES_H
#define LUCIDGEN_TEMPORARIES_H

#include <stdio.h>

/* Creates `path` for writing ("wb"): what was at the name is unlinked first
 * and the file is opened O_CREAT|O_EXCL|O_NOFOLLOW, so a symlink planted there
 * (the names of temporaries are predictable) is never followed. Remembered
 * until lucidgen_forget_file(path): a SIGINT, SIGTERM or SIGHUP meanwhile
 * unlinks it. NULL with errno set on failure. */
FILE *lucidgen_create_file(const char *path);

/* The file at `path` is complete or gone: a signal no longer removes it. */
void lucidgen_forget_file(const char *path);

/* Installs the handler that unlinks the remembered files, then lets the
 * signal end the process as it would have (a SIG_IGN'd signal stays ignored). */
void lucidgen_remove_files_on_signals(void);

#endif
