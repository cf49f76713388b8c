/* lg.sandbox: evaluates a --config file written by a stranger.
 *
 * The file runs in a Lua state of its own with string/table/math and a safe
 * part of base only: no os, io, require, load, debug or metatables; no
 * xpcall, whose message handler would run inside the limit hook with hooks
 * off; no pattern matching, whose backtracking runs in C where no hook can
 * stop it. Memory, VM instructions and wall time are capped (limits.lua);
 * once a cap is hit every further instruction raises again, so no pcall or
 * error handler can catch its way past it. Only plain data comes back:
 * tables, strings, numbers and booleans are copied into the generator's
 * state, each table once (shared or cyclic subtables are refused) and at
 * most a bounded number of values, so nothing from the sandbox (functions,
 * userdata) can run later and a small file cannot expand into a huge one. */
#include "lua_host.h"

#include <lauxlib.h>
#include <lualib.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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
  if (nsize > old && s->used + (nsize - old) > s->limit)
    return NULL;
  void *p = realloc(ptr, nsize);
  if (p)
    s->used = s->used - old + nsize;
  return p;
}

/* The hook runs every HOOK_EVERY instructions until a limit is hit, then on
 * every instruction, raising each time. */
#define HOOK_EVERY 1000

typedef struct {
  long long instructions, max_instructions;
  double deadline, seconds;
  int exceeded;
} sandbox_budget;

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sandbox_hook(lua_State *S, lua_Debug *ar) {
  (void)ar;
  sandbox_budget *b = *(sandbox_budget **)lua_getextraspace(S);
  if (!b->exceeded) {
    b->instructions += HOOK_EVERY;
    if (b->instructions <= b->max_instructions && now_seconds() <= b->deadline)
      return;
    b->exceeded = 1;
    lua_sethook(S, sandbox_hook, LUA_MASKCOUNT, 1);
  }
  luaL_error(
      S,
      "ran over the limit of %I instructions or %d s; a config must be a plain table of values",
      (lua_Integer)b->max_instructions,
      (int)b->seconds);
}

typedef struct {
  lua_Integer values, max_values;
  char err[512];
} copy_state;

/* Copies plain data (tables of strings/numbers/booleans, depth-bounded)
 * from the sandbox state onto L. `seen` (an index on L) holds every table
 * copied so far, keyed by its address in the sandbox. */
static int copy_plain(lua_State *from, int idx, lua_State *to, int seen, int depth, copy_state *cs) {
  if (++cs->values > cs->max_values) {
    snprintf(
        cs->err,
        sizeof cs->err,
        "config holds more than %lld keys and values; a config is a small table",
        (long long)cs->max_values);
    return 0;
  }
  switch (lua_type(from, idx)) {
  case LUA_TNUMBER:
    if (lua_isinteger(from, idx))
      lua_pushinteger(to, lua_tointeger(from, idx));
    else
      lua_pushnumber(to, lua_tonumber(from, idx));
    return 1;
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(from, idx, &len);
    lua_pushlstring(to, s, len);
    return 1;
  }
  case LUA_TBOOLEAN:
    lua_pushboolean(to, lua_toboolean(from, idx));
    return 1;
  case LUA_TTABLE: {
    if (depth > 8) {
      snprintf(cs->err, sizeof cs->err, "config nests tables deeper than 8 levels");
      return 0;
    }
    /* each level holds a key, a value and a table on the stacks */
    if (!lua_checkstack(from, 3) || !lua_checkstack(to, 4)) {
      snprintf(cs->err, sizeof cs->err, "config is too large to copy; a config is a small table");
      return 0;
    }
    const void *address = lua_topointer(from, idx);
    if (lua_rawgetp(to, seen, address) != LUA_TNIL) {
      lua_pop(to, 1);
      snprintf(
          cs->err,
          sizeof cs->err,
          "config uses one table in two places (shared or cyclic subtables); "
          "write each table out where it is used");
      return 0;
    }
    lua_pop(to, 1);
    lua_pushboolean(to, 1);
    lua_rawsetp(to, seen, address);
    idx = lua_absindex(from, idx);
    lua_newtable(to);
    lua_pushnil(from);
    while (lua_next(from, idx)) {
      if (!copy_plain(from, -2, to, seen, depth + 1, cs) || !copy_plain(from, -1, to, seen, depth + 1, cs)) {
        lua_pop(from, 2);
        return 0;
      }
      lua_rawset(to, -3);
      lua_pop(from, 1);
    }
    return 1;
  }
  default:
    snprintf(
        cs->err,
        sizeof cs->err,
        "config values must be tables, strings, numbers or booleans (found a %s)",
        luaL_typename(from, idx));
    return 0;
  }
}

static lua_Integer limit_field(lua_State *L, int t, const char *key) {
  lua_getfield(L, t, key);
  lua_Integer v = luaL_checkinteger(L, -1);
  lua_pop(L, 1);
  return v;
}

/* Removes `names` from the table on top of S (nil entries end the list). */
static void remove_fields(lua_State *S, const char *const *names) {
  for (int i = 0; names[i]; i++) {
    lua_pushnil(S);
    lua_setfield(S, -2, names[i]);
  }
}

/* sandbox.eval(source, name, limits) -> table
 * limits: limits.lua (config_memory, config_instructions, config_seconds,
 * config_values). */
static int sandbox_eval(lua_State *L) {
  size_t len;
  const char *src = luaL_checklstring(L, 1, &len);
  const char *name = luaL_checkstring(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  sandbox_alloc_state as = {0, (size_t)limit_field(L, 3, "config_memory")};
  sandbox_budget budget =
      {0, limit_field(L, 3, "config_instructions"), 0, (double)limit_field(L, 3, "config_seconds"), 0};
  copy_state cs = {0, limit_field(L, 3, "config_values"), {0}};
  lua_State *S = lua_newstate(sandbox_alloc, &as);
  if (!S)
    return luaL_error(L, "cannot create the config sandbox");
  *(sandbox_budget **)lua_getextraspace(S) = &budget;
  luaL_requiref(S, LUA_GNAME, luaopen_base, 1);
  static const char *const unsafe[] = {
      "dofile",
      "loadfile",
      "load",
      "require",
      "collectgarbage",
      "rawset",
      "rawget",
      "setmetatable",
      "getmetatable",
      "print",
      "xpcall",
      NULL};
  remove_fields(S, unsafe);
  lua_pop(S, 1);
  luaL_requiref(S, LUA_STRLIBNAME, luaopen_string, 1);
  static const char *const string_unsafe[] = {"dump", "find", "match", "gmatch", "gsub", NULL};
  remove_fields(S, string_unsafe);
  lua_pop(S, 1);
  luaL_requiref(S, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(S, LUA_MATHLIBNAME, luaopen_math, 1);
  lua_settop(S, 0);
  budget.deadline = now_seconds() + budget.seconds;
  lua_sethook(S, sandbox_hook, LUA_MASKCOUNT, HOOK_EVERY);
  char chunk[300], err[700] = {0};
  snprintf(chunk, sizeof chunk, "=%s", name);
  int rc = luaL_loadbufferx(S, src, len, chunk, "t");
  if (rc == LUA_OK)
    rc = lua_pcall(S, 0, 1, 0);
  if (rc == LUA_ERRMEM) {
    snprintf(
        err,
        sizeof err,
        "config %s: ran over the %zu MiB memory limit; a config must be a plain table of values",
        name,
        as.limit >> 20);
  } else if (rc != LUA_OK) {
    const char *why = lua_tostring(S, -1);
    snprintf(err, sizeof err, "config %s: %s", name, why ? why : "error");
  } else if (!lua_istable(S, -1)) {
    snprintf(err, sizeof err, "config %s must return a table (e.g. `return { layers = {3, 4, 6, 3}, ... }`)", name);
  } else {
    lua_sethook(S, NULL, 0, 0);
    lua_newtable(L);
    int seen = lua_gettop(L);
    if (copy_plain(S, -1, L, seen, 0, &cs)) {
      lua_close(S);
      return 1;
    }
    snprintf(err, sizeof err, "config %s: %s", name, cs.err);
  }
  lua_close(S);
  for (char *p = err; *p; p++) /* error("a\nb") in a config must still be one line */
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  return user_error(L, err);
}

int luaopen_lg_sandbox(lua_State *L) {
  static const luaL_Reg funcs[] = {{"eval", sandbox_eval}, {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}
