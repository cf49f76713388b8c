/* lg.host: what the Lua generator needs of the operating system — embedded
 * files, file writes and renames, directories, the environment, the clock,
 * CPU features and running the C compiler. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "hf_cache.h"
#include "lua_host.h"
#include "temporaries.h"

#include "lg_file.h"
#include "lg_sha256.h"

#include <lauxlib.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <omp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

extern char **environ;

/* host.embedded(path) -> contents or nil */
static int h_embedded(lua_State *L) {
  const lucidgen_embedded_file *f = lucidgen_embedded(luaL_checkstring(L, 1));
  if (!f)
    return 0;
  lua_pushlstring(L, (const char *)f->data, f->size);
  return 1;
}

/* host.write_file(path, data[, name]): write + fsync; a failure removes what
 * was written. Outputs go through generator/output_set.lua, which picks the
 * temporary `path` and passes the target's `name` for messages. */
static int h_write_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  const char *name = luaL_optstring(L, 3, path);
  const int temporary = lua_toboolean(L, 4);
  FILE *f = lucidgen_create_file(path);
  char msg[4400];
  if (!f) {
    snprintf(msg, sizeof msg, "cannot write %s: %s", name, strerror(errno));
    return lucidgen_user_error(L, msg);
  }
  int ok = fwrite(data, 1, len, f) == len;
  ok = (fflush(f) == 0) && ok;
  ok = (fsync(fileno(f)) == 0) && ok;
  ok = (fclose(f) == 0) && ok;
  if (!ok) {
    snprintf(msg, sizeof msg, "cannot write %s: %s", name, strerror(errno));
    remove(path);
    lucidgen_forget_file(path);
    return lucidgen_user_error(L, msg);
  }
  if (!temporary)
    lucidgen_forget_file(path);
  return 0;
}

/* host.forget_file(path): an output set's temporary is committed or removed;
 * a signal no longer unlinks the name. */
static int h_forget_file(lua_State *L) {
  lucidgen_forget_file(luaL_checkstring(L, 1));
  return 0;
}

/* host.lock_dirs({dir, ...}) -> a handle: waits for, then holds, an exclusive
 * flock on each directory, so two runs committing output sets there take
 * turns (each set lands whole). Directories are told apart by device and
 * inode, not by name ("o" and "./o" are one: a second flock of it from this
 * process would wait for ever), and locked in that order (two runs cannot
 * each hold one and wait for the other's). host.unlock(handle) lets go. */
typedef struct {
  int fd;
  dev_t dev;
  ino_t ino;
} dir_lock;

static int dir_lock_order(const void *a, const void *b) {
  const dir_lock *x = a, *y = b;
  if (x->dev != y->dev)
    return x->dev < y->dev ? -1 : 1;
  return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int h_lock_dirs(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int n = (int)luaL_len(L, 1), kept = 0;
  dir_lock *locks = lua_newuserdatauv(L, sizeof *locks * (size_t)(n > 0 ? n : 1), 0);
  const char *failed = NULL;
  int why = 0;
  for (int i = 0; i < n && !failed; i++) {
    lua_rawgeti(L, 1, i + 1);
    const char *dir = luaL_checkstring(L, -1);
    lua_pop(L, 1); /* the table keeps the string */
    struct stat st;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
      failed = dir, why = errno;
      if (fd >= 0)
        close(fd);
      break;
    }
    int dup = 0;
    for (int j = 0; j < kept && !dup; j++)
      dup = locks[j].dev == st.st_dev && locks[j].ino == st.st_ino;
    if (dup)
      close(fd);
    else
      locks[kept++] = (dir_lock){fd, st.st_dev, st.st_ino};
  }
  if (!failed) {
    qsort(locks, (size_t)kept, sizeof *locks, dir_lock_order);
    for (int i = 0; i < kept && !failed; i++)
      if (flock(locks[i].fd, LOCK_EX) != 0)
        failed = "an output directory", why = errno;
  }
  if (failed) {
    char msg[4400];
    snprintf(msg, sizeof msg, "cannot lock %s for writing the outputs: %s", failed, strerror(why));
    for (int i = 0; i < kept; i++)
      close(locks[i].fd);
    return lucidgen_user_error(L, msg);
  }
  lua_createtable(L, kept, 0);
  for (int i = 0; i < kept; i++) {
    lua_pushinteger(L, locks[i].fd);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int h_unlock(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  for (lua_Integer i = 1; i <= luaL_len(L, 1); i++) {
    lua_rawgeti(L, 1, i);
    close((int)luaL_checkinteger(L, -1)); /* releases the flock */
    lua_pop(L, 1);
  }
  return 0;
}

/* host.pid_alive(pid): whether a process of that id exists (a temporary named
 * after a dead one is stale). */
static int h_pid_alive(lua_State *L) {
  pid_t pid = (pid_t)luaL_checkinteger(L, 1);
  lua_pushboolean(L, pid > 0 && (kill(pid, 0) == 0 || errno == EPERM));
  return 1;
}

/* host.dir_entries(dir) -> the names in dir (not . and ..), or an empty table */
static int h_dir_entries(lua_State *L) {
  DIR *d = opendir(luaL_checkstring(L, 1));
  lua_newtable(L);
  if (!d)
    return 1;
  struct dirent *e;
  lua_Integer n = 0;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
      lua_pushstring(L, e->d_name);
      lua_rawseti(L, -2, ++n);
    }
  closedir(d);
  return 1;
}

/* host.read_file(path, max_bytes, what) -> contents, or nil and one line
 * naming `what` and path: a directory, not a regular file (a FIFO would
 * block the open, /dev/zero never end), more than max_bytes, unreadable. */
static int h_read_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer max_bytes = luaL_checkinteger(L, 2);
  const char *what = luaL_optstring(L, 3, "file");
  unsigned char *data;
  size_t len;
  char err[4400];
  if (lg_file_read(path, what, max_bytes < 0 ? 0 : (uint64_t)max_bytes, &data, &len, err, sizeof err) != LG_OK) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  lua_pushlstring(L, (const char *)data, len);
  free(data);
  return 1;
}

static int h_exists(lua_State *L) {
  struct stat st;
  lua_pushboolean(L, stat(luaL_checkstring(L, 1), &st) == 0);
  return 1;
}

static int h_is_dir(lua_State *L) {
  struct stat st;
  lua_pushboolean(L, stat(luaL_checkstring(L, 1), &st) == 0 && S_ISDIR(st.st_mode));
  return 1;
}

static int h_is_file(lua_State *L) {
  struct stat st;
  lua_pushboolean(L, stat(luaL_checkstring(L, 1), &st) == 0 && S_ISREG(st.st_mode));
  return 1;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st, (void)type, (void)ftw;
  return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* host.remove_tree(path) -> true when nothing is left at path (a file, or a
 * directory and everything in it; symlinks are removed, not followed). Only
 * for lucidgen's own temporaries and backups. */
static int h_remove_tree(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  if (lstat(path, &st) != 0) {
    lua_pushboolean(L, errno == ENOENT);
    return 1;
  }
  lua_pushboolean(L, nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);
  return 1;
}

/* host.rename(from, to) -> true, or nil and the reason */
static int h_rename(lua_State *L) {
  if (rename(luaL_checkstring(L, 1), luaL_checkstring(L, 2)) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int h_pid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}

static int h_mkdir(lua_State *L) {
  char err[512];
  if (lucidgen_mkdirs(luaL_checkstring(L, 1), err, sizeof err) != LG_OK)
    return lucidgen_user_error(L, err);
  return 0;
}

static int h_sha256(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  char hex[65];
  lg_sha256_hex(s, len, hex);
  lua_pushstring(L, hex);
  return 1;
}

static int h_getenv(lua_State *L) {
  const char *v = getenv(luaL_checkstring(L, 1));
  if (!v)
    return 0;
  lua_pushstring(L, v);
  return 1;
}

static int h_clock(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + ts.tv_nsec * 1e-9);
  return 1;
}

static int h_cpu_features(lua_State *L) {
  lua_newtable(L);
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  lua_pushboolean(L, __builtin_cpu_supports("avx512f"));
  lua_setfield(L, -2, "avx512f");
  lua_pushboolean(L, __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16"));
  lua_setfield(L, -2, "avx512bf16");
  lua_pushboolean(L, __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
  lua_setfield(L, -2, "avx2");
  lua_pushboolean(L, __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni"));
  lua_setfield(L, -2, "avx512vnni");
  lua_pushboolean(L, __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni"));
  lua_setfield(L, -2, "avxvnni");
#endif
#if defined(__aarch64__)
  lua_pushboolean(L, 1); /* Advanced SIMD is part of the AArch64 base ISA */
  lua_setfield(L, -2, "neon");
  lua_pushboolean(L, (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0); /* sdot/udot: ARMv8.2-A's dot product */
  lua_setfield(L, -2, "dotprod");
#endif
  return 1;
}

/* host.run({argv...}, quiet) -> exit status; stdout/stderr go to ours, or
 * with quiet to /dev/null (a probe whose failure lucidgen explains itself). */
static int h_run(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const int quiet = lua_toboolean(L, 2);
  int n = (int)luaL_len(L, 1);
  char **argv = calloc((size_t)n + 1, sizeof *argv);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    argv[i] = (char *)luaL_checkstring(L, -1);
    lua_pop(L, 1); /* strings stay alive: the table holds them */
  }
  pid_t pid;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (quiet) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  }
  int rc = posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  free(argv);
  if (rc != 0) {
    lua_pushinteger(L, -1);
    lua_pushstring(L, strerror(rc));
    return 2;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  lua_pushinteger(L, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return 1;
}

int luaopen_lg_host(lua_State *L) {
  static const luaL_Reg funcs[] = {
      {"embedded", h_embedded},
      {"write_file", h_write_file},
      {"forget_file", h_forget_file},
      {"lock_dirs", h_lock_dirs},
      {"unlock", h_unlock},
      {"pid_alive", h_pid_alive},
      {"dir_entries", h_dir_entries},
      {"read_file", h_read_file},
      {"exists", h_exists},
      {"is_dir", h_is_dir},
      {"is_file", h_is_file},
      {"remove_tree", h_remove_tree},
      {"rename", h_rename},
      {"pid", h_pid},
      {"mkdir", h_mkdir},
      {"sha256", h_sha256},
      {"getenv", h_getenv},
      {"clock", h_clock},
      {"cpu_features", h_cpu_features},
      {"run", h_run},
      {NULL, NULL}};
  luaL_newlib(L, funcs);
  lua_pushstring(L, LUCIDGEN_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushstring(L, LUCIDGEN_C_COMPILER);
  lua_setfield(L, -2, "c_compiler");
  /* OpenMP threads the reference kernels would start (OMP_NUM_THREADS) and the
   * processors: checked against limits.threads before any parallel region */
  lua_pushinteger(L, omp_get_max_threads());
  lua_setfield(L, -2, "max_threads");
  lua_pushinteger(L, omp_get_num_procs());
  lua_setfield(L, -2, "processors");
  /* physical memory, for refusing a model that cannot fit before allocating it */
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  lua_pushnumber(L, pages > 0 && page > 0 ? (double)pages * (double)page : 0.0);
  lua_setfield(L, -2, "memory_bytes");
  return 1;
}
