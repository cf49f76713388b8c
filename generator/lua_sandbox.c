/* lg.sandbox: evaluates a --config file written by a stranger.
 *
 * The file runs in a Lua state of its own with string/table/math and a safe
 * part of base only (no os, io, require, load, debug, metatables), memory
 * capped at 8 MiB and execution at ~1M instructions. Only plain data comes
 * back: tables, strings, numbers and booleans are copied into the
 * generator's state, so nothing from the sandbox (functions, userdata) can
 * run later. */
#include "lua_host.h"

#include <lauxlib.h>
#include <lualib.h>

#include <stdio.h>
#include <stdlib.h>

/* A bad config is the caller's input: exit 2. */
static int user_error(lua_State *L, const char *msg) { return lucidgen_raise(L, "user", msg); }


typedef struct {
  size_t used, limit;
} sandbox_alloc_state;

static void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  sandbox_alloc_state *s = ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    s->used -= old;
    free(ptr);
    return NULL;
  }
  if (nsize > old && s->used + (nsize - old) > s->limit) return NULL;
  void *p = realloc(ptr, nsize);
  if (p) s->used = s->used - old + nsize;
  return p;
}

static void sandbox_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  luaL_error(L, "ran over the instruction limit (1M); a config must be a plain table of values");
}

/* Copies plain data (tables of strings/numbers/booleans, depth-bounded)
 * from the sandbox state onto L. */
static int copy_plain(lua_State *from, int idx, lua_State *to, int depth, char *err, size_t errn) {
  switch (lua_type(from, idx)) {
  case LUA_TNUMBER:
    if (lua_isinteger(from, idx)) lua_pushinteger(to, lua_tointeger(from, idx));
    else lua_pushnumber(to, lua_tonumber(from, idx));
    return 1;
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(from, idx, &len);
    lua_pushlstring(to, s, len);
    return 1;
  }
  case LUA_TBOOLEAN: lua_pushboolean(to, lua_toboolean(from, idx)); return 1;
  case LUA_TTABLE: {
    if (depth > 8) {
      snprintf(err, errn, "config nests tables deeper than 8 levels");
      return 0;
    }
    idx = lua_absindex(from, idx);
    lua_newtable(to);
    lua_pushnil(from);
    while (lua_next(from, idx)) {
      if (!copy_plain(from, -2, to, depth + 1, err, errn) || !copy_plain(from, -1, to, depth + 1, err, errn)) {
        lua_pop(from, 2);
        return 0;
      }
      lua_rawset(to, -3);
      lua_pop(from, 1);
    }
    return 1;
  }
  default:
    snprintf(err, errn, "config values must be tables, strings, numbers or booleans (found a %s)", luaL_typename(from, idx));
    return 0;
  }
}

/* sandbox.eval(source, name) -> table
 * A config file from a stranger runs in its own Lua state with only
 * string/table/math and a safe subset of base: no os, io, require, load,
 * debug; memory capped at 8 MiB and execution at ~1M instructions. */
static int sandbox_eval(lua_State *L) {
  size_t len;
  const char *src = luaL_checklstring(L, 1, &len);
  const char *name = luaL_checkstring(L, 2);
  sandbox_alloc_state as = {0, 8u << 20};
  lua_State *S = lua_newstate(sandbox_alloc, &as);
  if (!S) return luaL_error(L, "cannot create the config sandbox");
  luaL_requiref(S, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(S, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(S, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(S, LUA_MATHLIBNAME, luaopen_math, 1);
  lua_settop(S, 0);
  static const char *const unsafe[] = {"dofile", "loadfile", "load", "require", "collectgarbage",
                                       "rawset", "rawget", "setmetatable", "getmetatable", "print", NULL};
  for (int i = 0; unsafe[i]; i++) {
    lua_pushnil(S);
    lua_setglobal(S, unsafe[i]);
  }
  lua_getglobal(S, "string");
  lua_pushnil(S);
  lua_setfield(S, -2, "dump");
  lua_pop(S, 1);
  lua_sethook(S, sandbox_hook, LUA_MASKCOUNT, 1000000);
  char chunk[300], err[512] = {0};
  snprintf(chunk, sizeof chunk, "=%s", name);
  int rc = luaL_loadbufferx(S, src, len, chunk, "t");
  if (rc == LUA_OK) rc = lua_pcall(S, 0, 1, 0);
  if (rc == LUA_ERRMEM) {
    snprintf(err, sizeof err, "config %s: ran over the 8 MiB memory limit; a config must be a plain table of values", name);
    lua_close(S);
    return user_error(L, err);
  }
  if (rc != LUA_OK) {
    snprintf(err, sizeof err, "config %s: %s", name, lua_tostring(S, -1) ? lua_tostring(S, -1) : "error");
    lua_close(S);
    return user_error(L, err);
  }
  if (!lua_istable(S, -1)) {
    lua_close(S);
    snprintf(err, sizeof err, "config %s must return a table (e.g. `return { layers = {3, 4, 6, 3}, ... }`)", name);
    return user_error(L, err);
  }
  if (!copy_plain(S, -1, L, 0, err, sizeof err)) {
    lua_close(S);
    char msg[700];
    snprintf(msg, sizeof msg, "config %s: %s", name, err);
    return user_error(L, msg);
  }
  lua_close(S);
  return 1;
}

int luaopen_lg_sandbox(lua_State *L) {
  static const luaL_Reg funcs[] = {{"eval", sandbox_eval}, {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}
