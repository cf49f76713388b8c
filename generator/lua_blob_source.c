/* lg.blob_source: a weight blob as C source (--weights-format c), so a
 * bare-metal build links it as a const array in flash instead of reading a file.
 *
 * The bytes become one string literal in lines of 64 bytes: compilers parse a
 * string far faster and in far less memory than an initializer list of
 * integers. Every byte that is not a letter, digit or space is a 3-digit octal
 * escape (never a hex one, which would swallow the digits after it; `?` is
 * escaped too, so no trigraph can form). Streams from the finished .bin, both
 * files staged by the generator's output set (generator/output_set.lua): a
 * failure leaves nothing half-written, and the blob is never held in memory. */
#include "lua_host.h"

#include <lauxlib.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* blob_source.write(bin_path, out_path, name, prolog, epilog): writes to
 * out_path prolog, the bytes of bin_path as a string literal, epilog; errors
 * call the file `name`. On failure out_path is removed. */
static int bs_write(lua_State *L) {
  const char *bin = luaL_checkstring(L, 1), *path = luaL_checkstring(L, 2), *name = luaL_checkstring(L, 3);
  size_t prolog_len, epilog_len;
  const char *prolog = luaL_checklstring(L, 4, &prolog_len), *epilog = luaL_checklstring(L, 5, &epilog_len);
  char msg[4600];
  FILE *in = fopen(bin, "rb");
  if (!in) {
    snprintf(msg, sizeof msg, "cannot read %s: %s", bin, strerror(errno));
    return lucidgen_raise(L, "user", msg);
  }
  FILE *out = fopen(path, "wb");
  if (!out) {
    fclose(in);
    snprintf(msg, sizeof msg, "cannot write %s: %s", name, strerror(errno));
    return lucidgen_raise(L, "user", msg);
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
    return lucidgen_raise(L, "user", msg);
  }
  return 0;
}

int luaopen_lg_blob_source(lua_State *L) {
  static const luaL_Reg funcs[] = {{"write", bs_write}, {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}
