/* lg.blob_writer: the weight blob on disk. `write` streams the items
 * generator/blob.lua planned into a blob file (header, aligned tensors, the
 * payload sha256); `source` turns a finished blob into C source
 * (--weights-format c). `layout` is runtime/lg_blob.h's header layout, which
 * the generated blob check needs. */
#include "lua_host.h"
#include "temporaries.h"
#include "lua_tensor.h"

#include "lg_blob.h"
#include "lg_sha256.h"

#include <lauxlib.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void put_u32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

/* blob_writer.write{path=, name=, variant=, target=, generator=, byte_order="little"|"big",
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
  return lucidgen_user_error(L, msg);
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

static int bw_write(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const char *path = lucidgen_opt_string(L, 1, "path");
  const char *name = lucidgen_opt_string(L, 1, "name");
  const char *variant = lucidgen_opt_string(L, 1, "variant");
  const char *target = lucidgen_opt_string(L, 1, "target");
  const char *generator = lucidgen_opt_string(L, 1, "generator");
  int ok = path != NULL;
  uint64_t payload = (uint64_t)int_field(L, 1, "payload_bytes", &ok);
  if (!ok)
    return luaL_error(L, "write_blob: needs path and payload_bytes");
  const char *order = lucidgen_opt_string(L, 1, "byte_order");
  const int big = order && strcmp(order, "big") == 0;
  lua_getfield(L, 1, "items");
  luaL_checktype(L, -1, LUA_TTABLE);
  int items = lua_gettop(L);
  lua_Integer n = luaL_len(L, items);

  unsigned char header[LG_BLOB_HEADER_BYTES] = {0};
  /* an output set's temporary (generator/output_set.lua forgets it at commit) */
  blob_out b =
      {.f = lucidgen_create_file(path), .path = path, .name = name ? name : path, .swap = big != host_big_endian()};
  if (!b.f) {
    char msg[4400];
    snprintf(msg, sizeof msg, "cannot write %s: %s", b.name, strerror(errno));
    return lucidgen_user_error(L, msg);
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

/* A weight blob as C source (--weights-format c), so a bare-metal
 * build links it as a const array in flash instead of reading a file.
 *
 * The bytes become one string literal in lines of 64 bytes: compilers parse a
 * string far faster and in far less memory than an initializer list of
 * integers. Every byte that is not a letter, digit or space is a 3-digit octal
 * escape (never a hex one, which would swallow the digits after it; `?` is
 * escaped too, so no trigraph can form). Streams from the finished .bin, both
 * files staged by the generator's output set (generator/output_set.lua): a
 * failure leaves nothing half-written, and the blob is never held in memory.
 *
 * blob_writer.source(bin_path, out_path, name, prolog, epilog): writes to
 * out_path prolog, the bytes of bin_path as a string literal, epilog; errors
 * call the file `name`. On failure out_path is removed. */
static int bw_source(lua_State *L) {
  const char *bin = luaL_checkstring(L, 1), *path = luaL_checkstring(L, 2), *name = luaL_checkstring(L, 3);
  size_t prolog_len, epilog_len;
  const char *prolog = luaL_checklstring(L, 4, &prolog_len), *epilog = luaL_checklstring(L, 5, &epilog_len);
  char msg[4600];
  FILE *in = fopen(bin, "rb");
  if (!in) {
    snprintf(msg, sizeof msg, "cannot read %s: %s", bin, strerror(errno));
    return lucidgen_user_error(L, msg);
  }
  FILE *out = lucidgen_create_file(path); /* an output set's temporary, as the blob */
  if (!out) {
    fclose(in);
    snprintf(msg, sizeof msg, "cannot write %s: %s", name, strerror(errno));
    return lucidgen_user_error(L, msg);
  }
  int ok = fwrite(prolog, 1, prolog_len, out) == prolog_len;
  /* 28 bytes a line: 4 + 28 * 4 + 2 columns at most (every byte escaped), within .clang-format's 120 */
  unsigned char chunk[28];
  size_t n;
  char line[8 + 4 * sizeof chunk];
  while (ok && (n = fread(chunk, 1, sizeof chunk, in)) > 0) {
    size_t at = 6; /* each line starts with the newline, so the epilog's ";" ends the last */
    memcpy(line, "\n    \"", at);
    for (size_t i = 0; i < n; i++) {
      const unsigned char c = chunk[i];
      if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == ' ') {
        line[at++] = (char)c;
      } else {
        line[at++] = '\\';
        line[at++] = (char)('0' + (c >> 6));
        line[at++] = (char)('0' + ((c >> 3) & 7));
        line[at++] = (char)('0' + (c & 7));
      }
    }
    line[at++] = '"';
    ok = fwrite(line, 1, at, out) == at;
  }
  ok = ok && !ferror(in);
  ok = ok && fwrite(epilog, 1, epilog_len, out) == epilog_len;
  fclose(in);
  ok = (fflush(out) == 0) && ok;
  ok = (fsync(fileno(out)) == 0) && ok;
  ok = (fclose(out) == 0) && ok;
  if (!ok) {
    snprintf(msg, sizeof msg, "cannot write %s: %s", name, strerror(errno));
    remove(path);
    return lucidgen_user_error(L, msg);
  }
  return 0;
}

int luaopen_lg_blob_writer(lua_State *L) {
  static const luaL_Reg funcs[] = {{"write", bw_write}, {"source", bw_source}, {NULL, NULL}};
  luaL_newlib(L, funcs);
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
      {"OFF_HEADER_BYTES", LG_BLOB_OFF_HEADER_BYTES},
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
  lua_setfield(L, -2, "layout");
  return 1;
}
