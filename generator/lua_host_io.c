/* lg.host: what the Lua generator needs from the outside world — embedded
 * files, safetensors checkpoints, the hub cache, file writes and renames, the
 * streaming blob writer, running the C compiler and CPU features. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "hub.h"
#include "hf_cache.h"
#include "lua_host.h"
#include "lua_tensor.h"

#include "lg_blob.h"
#include "lg_safetensors.h"
#include "lg_sha256.h"

#include <lauxlib.h>
#include <lualib.h>

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int user_error(lua_State *L, const char *msg) { return lucidgen_raise(L, "user", msg); }

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
  FILE *f = fopen(path, "wb");
  char msg[4400];
  if (!f) {
    snprintf(msg, sizeof msg, "cannot write %s: %s", name, strerror(errno));
    return user_error(L, msg);
  }
  int ok = fwrite(data, 1, len, f) == len;
  ok = (fflush(f) == 0) && ok;
  ok = (fsync(fileno(f)) == 0) && ok;
  ok = (fclose(f) == 0) && ok;
  if (!ok) {
    snprintf(msg, sizeof msg, "cannot write %s: %s", name, strerror(errno));
    remove(path);
    return user_error(L, msg);
  }
  return 0;
}

/* host.read_file(path, max_bytes) -> contents, or nil and why (a
 * directory, more than max_bytes, unreadable). /dev/zero ends at the bound. */
static int h_read_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer max_bytes = luaL_checkinteger(L, 2);
  FILE *f = fopen(path, "rb");
  struct stat st;
  const char *why = NULL;
  if (!f)
    why = strerror(errno);
  else if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode))
    why = "it is a directory";
  if (why) {
    if (f)
      fclose(f);
    lua_pushnil(L);
    lua_pushstring(L, why);
    return 2;
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  char chunk[65536];
  size_t r;
  lua_Integer total = 0;
  while (total <= max_bytes && (r = fread(chunk, 1, sizeof chunk, f)) > 0) {
    luaL_addlstring(&b, chunk, r);
    total += (lua_Integer)r;
  }
  int failed = ferror(f);
  fclose(f);
  if (failed || total > max_bytes) {
    lua_pushnil(L);
    if (failed)
      lua_pushstring(L, strerror(errno));
    else
      lua_pushfstring(L, "it is larger than %I bytes", max_bytes);
    return 2;
  }
  luaL_pushresult(&b);
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

static int h_remove(lua_State *L) {
  lua_pushboolean(L, remove(luaL_checkstring(L, 1)) == 0);
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
    return user_error(L, err);
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
#endif
#if defined(__aarch64__)
  lua_pushboolean(L, 1); /* Advanced SIMD is part of the AArch64 base ISA */
  lua_setfield(L, -2, "neon");
#endif
  return 1;
}

/* host.run({argv...}) -> exit status; stdout/stderr go to ours. */
static int h_run(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int n = (int)luaL_len(L, 1);
  char **argv = calloc((size_t)n + 1, sizeof *argv);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    argv[i] = (char *)luaL_checkstring(L, -1);
    lua_pop(L, 1); /* strings stay alive: the table holds them */
  }
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
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

/* --- safetensors --------------------------------------------------------- */

#define CHECKPOINT_MT "lg.Checkpoint"

static lg_safetensors *check_ckpt(lua_State *L) {
  lg_safetensors *st = luaL_checkudata(L, 1, CHECKPOINT_MT);
  return st;
}

static int ck_gc(lua_State *L) {
  lg_st_close(check_ckpt(L));
  return 0;
}

/* host.safetensors(path) -> checkpoint; a bad file is a user error naming it. */
static int h_safetensors(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lg_safetensors *st = lua_newuserdatauv(L, sizeof *st, 0);
  memset(st, 0, sizeof *st);
  if (lg_st_open(st, path) != LG_OK) {
    char msg[600];
    snprintf(msg, sizeof msg, "%s", lg_st_errmsg(st));
    lg_st_close(st);
    return user_error(L, msg);
  }
  luaL_setmetatable(L, CHECKPOINT_MT);
  return 1;
}

/* ck:names() -> sorted array of tensor names */
static int ck_names(lua_State *L) {
  lg_safetensors *st = check_ckpt(L);
  lua_createtable(L, (int)st->n_tensors, 0);
  for (size_t i = 0; i < st->n_tensors; i++) {
    lua_pushstring(L, st->tensors[i].name);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* ck:shape(name) -> {dims} or nil */
static int ck_shape(lua_State *L) {
  lg_safetensors *st = check_ckpt(L);
  const lg_st_tensor *t = lg_st_find(st, luaL_checkstring(L, 2));
  if (!t)
    return 0;
  lg_push_shape(L, t->ndim, t->shape);
  return 1;
}

/* ck:tensor(name) -> float32 tensor (F16/BF16 converted) */
static int ck_tensor(lua_State *L) {
  lg_safetensors *st = check_ckpt(L);
  const char *name = luaL_checkstring(L, 2);
  const lg_st_tensor *t = lg_st_find(st, name);
  if (!t)
    return luaL_error(L, "checkpoint has no tensor '%s'", name);
  lg_tensor *out = lg_tensor_push(L, t->ndim, t->shape);
  if (lg_st_read_f32(st, t, out->data) != LG_OK) {
    char msg[600];
    snprintf(msg, sizeof msg, "%s", lg_st_errmsg(st));
    return user_error(L, msg);
  }
  return 1;
}

/* --- hub ------------------------------------------------------------------ */

static const char *opt_field(lua_State *L, int idx, const char *key) {
  lua_getfield(L, idx, key);
  const char *v = lua_isnil(L, -1) ? NULL : lua_tostring(L, -1);
  lua_pop(L, 1); /* the request table keeps the string alive */
  return v;
}

static int bool_field(lua_State *L, int idx, const char *key) {
  lua_getfield(L, idx, key);
  int v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* host.hub_fetch{repo=, filename=, revision=, cache_dir=, offline=, quiet=} -> path */
static int h_hub_fetch(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lucidgen_hub_request req = {
      .repo_id = opt_field(L, 1, "repo"),
      .filename = opt_field(L, 1, "filename"),
      .revision = opt_field(L, 1, "revision"),
      .cache_dir = opt_field(L, 1, "cache_dir"),
      .offline = bool_field(L, 1, "offline"),
      .quiet = bool_field(L, 1, "quiet"),
  };
  if (!req.filename)
    req.filename = "model.safetensors";
  char path[LUCIDGEN_PATH_MAX], err[4096];
  lg_status s = lucidgen_hub_fetch(&req, path, sizeof path, err, sizeof err);
  if (s == LG_ERR_NETWORK || s == LG_ERR_IO)
    return lucidgen_raise(L, "failure", err);
  if (s != LG_OK)
    return user_error(L, err);
  lua_pushstring(L, path);
  return 1;
}

static int h_cache_dir(lua_State *L) {
  char out[LUCIDGEN_PATH_MAX], err[512];
  if (lucidgen_cache_dir(luaL_optstring(L, 1, NULL), out, sizeof out, err, sizeof err) != LG_OK)
    return user_error(L, err);
  lua_pushstring(L, out);
  return 1;
}

static int h_cache_list(lua_State *L) {
  char err[512];
  if (lucidgen_cache_list(luaL_checkstring(L, 1), stdout, err, sizeof err) != LG_OK)
    return user_error(L, err);
  return 0;
}

static int h_cache_verify(lua_State *L) {
  char err[512];
  lg_status s = lucidgen_cache_verify(luaL_checkstring(L, 1), stdout, err, sizeof err);
  lua_pushboolean(L, s == LG_OK);
  return 1;
}

/* --- blob writer ----------------------------------------------------------- */

static void put_u32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

/* host.write_blob{path=, name=, variant=, target=, generator=, byte_order="little"|"big",
 *                 payload_bytes=, items=} -> payload sha256 hex
 *
 * Lua plans the layout (generator/blob.lua); this streams it to `path`: the
 * 512-byte header, then each item at its payload offset with zero padding
 * between, its floats in the target's byte order (swapped here when that is
 * not this host's), hashed as it is written, and finally the header again
 * with the payload's sha256 and byte-order mark. An item is {offset=, bytes=, tensor=} or {offset=,
 * bytes=, make=function() return tensor end}: a `make` item is built while
 * the blob is written and dropped right after, so packed weights never all
 * live at once. Items come in increasing offset order. On any failure the
 * file is removed and the error raised. */
typedef struct {
  FILE *f;
  const char *path, *name; /* the file written; what messages call it */
  int swap; /* payload floats in the other byte order than this host's */
  lg_sha256_ctx sha;
} blob_out;

static int blob_put(blob_out *b, const void *data, size_t n) {
  lg_sha256_update(&b->sha, data, n);
  return fwrite(data, 1, n, b->f) == n;
}

/* n bytes of floats, each byte-swapped when b->swap, a chunk at a time */
static int blob_put_floats(blob_out *b, const unsigned char *data, size_t n) {
  if (!b->swap)
    return blob_put(b, data, n);
  unsigned char chunk[4096];
  for (size_t at = 0; at < n; at += sizeof chunk) {
    const size_t len = n - at < sizeof chunk ? n - at : sizeof chunk;
    for (size_t i = 0; i < len; i += 4) {
      chunk[i] = data[at + i + 3], chunk[i + 1] = data[at + i + 2];
      chunk[i + 2] = data[at + i + 1], chunk[i + 3] = data[at + i];
    }
    if (!blob_put(b, chunk, len))
      return 0;
  }
  return 1;
}

static int blob_zeros(blob_out *b, uint64_t n) {
  static const unsigned char zero[4096];
  for (; n > 0; n -= n < sizeof zero ? n : sizeof zero)
    if (!blob_put(b, zero, n < sizeof zero ? (size_t)n : sizeof zero))
      return 0;
  return 1;
}

/* Closes and removes the partial blob, then raises: a user error for I/O,
 * the error object at the top of the stack when `rethrow`. */
static int blob_fail(lua_State *L, blob_out *b, int rethrow, const char *fmt, ...) {
  char msg[4400];
  if (!rethrow) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
  }
  if (b->f)
    fclose(b->f);
  remove(b->path);
  if (rethrow)
    return lua_error(L);
  return luaL_error(L, "%s", msg);
}

static int blob_io_fail(lua_State *L, blob_out *b) {
  char msg[4400];
  snprintf(msg, sizeof msg, "cannot write %s: %s", b->name, strerror(errno));
  if (b->f)
    fclose(b->f);
  remove(b->path);
  return user_error(L, msg);
}

static lua_Integer int_field(lua_State *L, int idx, const char *key, int *ok) {
  lua_getfield(L, idx, key);
  int isnum;
  lua_Integer v = lua_tointegerx(L, -1, &isnum);
  lua_pop(L, 1);
  *ok = *ok && isnum;
  return v;
}

/* Is this host's float byte order big-endian? */
static int host_big_endian(void) {
  const uint32_t one = 1;
  return *(const unsigned char *)&one == 0;
}

static int h_write_blob(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const char *path = opt_field(L, 1, "path");
  const char *name = opt_field(L, 1, "name");
  const char *variant = opt_field(L, 1, "variant");
  const char *target = opt_field(L, 1, "target");
  const char *generator = opt_field(L, 1, "generator");
  int ok = path != NULL;
  uint64_t payload = (uint64_t)int_field(L, 1, "payload_bytes", &ok);
  if (!ok)
    return luaL_error(L, "write_blob: needs path and payload_bytes");
  const char *order = opt_field(L, 1, "byte_order");
  const int big = order && strcmp(order, "big") == 0;
  lua_getfield(L, 1, "items");
  luaL_checktype(L, -1, LUA_TTABLE);
  int items = lua_gettop(L);
  lua_Integer n = luaL_len(L, items);

  unsigned char header[LG_BLOB_HEADER_BYTES] = {0};
  blob_out b = {.f = fopen(path, "wb"), .path = path, .name = name ? name : path, .swap = big != host_big_endian()};
  if (!b.f) {
    char msg[4400];
    snprintf(msg, sizeof msg, "cannot write %s: %s", b.name, strerror(errno));
    return user_error(L, msg);
  }
  if (fwrite(header, 1, sizeof header, b.f) != sizeof header)
    return blob_io_fail(L, &b);
  lg_sha256_init(&b.sha);
  uint64_t at = 0; /* payload bytes written so far */
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, items, i);
    int item = lua_gettop(L);
    ok = lua_istable(L, item);
    uint64_t off = ok ? (uint64_t)int_field(L, item, "offset", &ok) : 0;
    uint64_t bytes = ok ? (uint64_t)int_field(L, item, "bytes", &ok) : 0;
    if (!ok)
      return blob_fail(L, &b, 0, "blob item %d: needs integer offset and bytes", (int)i);
    if (off % LG_BLOB_ALIGN || off < at || off + bytes > payload)
      return blob_fail(
          L,
          &b,
          0,
          "blob item %d at %llu (+%llu bytes) breaks the plan",
          (int)i,
          (unsigned long long)off,
          (unsigned long long)bytes);
    lua_getfield(L, item, "tensor");
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      if (lua_getfield(L, item, "make") == LUA_TFUNCTION && lua_pcall(L, 0, 1, 0) != LUA_OK)
        return blob_fail(L, &b, 1, NULL);
    }
    lg_tensor *t = luaL_testudata(L, -1, "lg.Tensor");
    if (!t || (uint64_t)t->numel * sizeof(float) != bytes)
      return blob_fail(
          L,
          &b,
          0,
          "blob item %d: %s, the plan says %llu bytes",
          (int)i,
          t ? "the tensor has another size" : "no tensor (give tensor= or make=)",
          (unsigned long long)bytes);
    if (!blob_zeros(&b, off - at) || !blob_put_floats(&b, (const unsigned char *)t->data, (size_t)bytes))
      return blob_io_fail(L, &b);
    at = off + bytes;
    lua_settop(L, items); /* a made tensor is garbage from here on */
  }
  if (!blob_zeros(&b, payload - at))
    return blob_io_fail(L, &b);

  uint8_t digest[32];
  char sha[65];
  lg_sha256_final(&b.sha, digest);
  lg_sha256_digest_hex(digest, sha);
  memcpy(header + LG_BLOB_OFF_MAGIC, LG_BLOB_MAGIC, 8);
  put_u32(header + LG_BLOB_OFF_VERSION, LG_BLOB_VERSION);
  put_u32(header + LG_BLOB_OFF_HEADER_BYTES, LG_BLOB_HEADER_BYTES);
  put_u64(header + LG_BLOB_OFF_TOTAL, payload + LG_BLOB_HEADER_BYTES);
  put_u64(header + LG_BLOB_OFF_PAYLOAD, payload);
  memcpy(header + LG_BLOB_OFF_SHA256, sha, 64);
  strncpy((char *)header + LG_BLOB_OFF_VARIANT, variant ? variant : "", 127);
  strncpy((char *)header + LG_BLOB_OFF_TARGET, target ? target : "", 31);
  strncpy((char *)header + LG_BLOB_OFF_GENERATOR, generator ? generator : "", 31);
  for (int i = 0; i < 4; i++) /* 0x01020304 in the payload's order */
    header[LG_BLOB_OFF_BYTE_ORDER + i] = (unsigned char)(big ? i + 1 : 4 - i);
  if (fseek(b.f, 0, SEEK_SET) != 0 || fwrite(header, 1, sizeof header, b.f) != sizeof header || fflush(b.f) != 0 ||
      fsync(fileno(b.f)) != 0)
    return blob_io_fail(L, &b);
  int closed = fclose(b.f) == 0;
  b.f = NULL;
  if (!closed)
    return blob_io_fail(L, &b);
  lua_pushstring(L, sha);
  return 1;
}

int luaopen_lg_host(lua_State *L) {
  static const luaL_Reg ck_methods[] = {{"names", ck_names}, {"shape", ck_shape}, {"tensor", ck_tensor}, {NULL, NULL}};
  static const luaL_Reg funcs[] = {
      {"embedded", h_embedded},
      {"write_file", h_write_file},
      {"read_file", h_read_file},
      {"exists", h_exists},
      {"is_dir", h_is_dir},
      {"is_file", h_is_file},
      {"remove", h_remove},
      {"remove_tree", h_remove_tree},
      {"rename", h_rename},
      {"pid", h_pid},
      {"mkdir", h_mkdir},
      {"sha256", h_sha256},
      {"getenv", h_getenv},
      {"clock", h_clock},
      {"cpu_features", h_cpu_features},
      {"run", h_run},
      {"safetensors", h_safetensors},
      {"hub_fetch", h_hub_fetch},
      {"cache_dir", h_cache_dir},
      {"cache_list", h_cache_list},
      {"cache_verify", h_cache_verify},
      {"write_blob", h_write_blob},
      {NULL, NULL}};
  luaL_newmetatable(L, CHECKPOINT_MT);
  luaL_newlib(L, ck_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, ck_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, ck_gc); /* `local ck <close> = ...` unmaps the file at scope end */
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  lua_pushstring(L, LUCIDGEN_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushstring(L, LUCIDGEN_C_COMPILER);
  lua_setfield(L, -2, "c_compiler");
  /* physical memory, for refusing a model that cannot fit before allocating it */
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  lua_pushnumber(L, pages > 0 && page > 0 ? (double)pages * (double)page : 0.0);
  lua_setfield(L, -2, "memory_bytes");
  /* the blob layout (runtime/lg_blob.h owns it) for the generated blob check */
  static const struct {
    const char *name;
    lua_Integer value;
  } layout[] = {
      {"VERSION", LG_BLOB_VERSION},
      {"HEADER_BYTES", LG_BLOB_HEADER_BYTES},
      {"ALIGN", LG_BLOB_ALIGN},
      {"BYTE_ORDER_MARK", LG_BLOB_BYTE_ORDER_MARK},
      {"OFF_VERSION", LG_BLOB_OFF_VERSION},
      {"OFF_TOTAL", LG_BLOB_OFF_TOTAL},
      {"OFF_PAYLOAD", LG_BLOB_OFF_PAYLOAD},
      {"OFF_SHA256", LG_BLOB_OFF_SHA256},
      {"OFF_VARIANT", LG_BLOB_OFF_VARIANT},
      {"OFF_BYTE_ORDER", LG_BLOB_OFF_BYTE_ORDER}};
  lua_newtable(L);
  for (size_t i = 0; i < sizeof layout / sizeof layout[0]; i++) {
    lua_pushinteger(L, layout[i].value);
    lua_setfield(L, -2, layout[i].name);
  }
  lua_pushstring(L, LG_BLOB_MAGIC);
  lua_setfield(L, -2, "MAGIC");
  lua_setfield(L, -2, "blob_layout");
  return 1;
}
