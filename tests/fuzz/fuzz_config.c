/* libFuzzer target for the --config sandbox (host/lua_sandbox.c; host/lua_args.c raises its errors): Lua
 * source in (with lua.dict, a dictionary of Lua tokens), under the limits
 * of generator/limits.lua. Every input must end, within the limits, either
 * in a table of plain data (no table twice, at most config_values values)
 * or in a one-line user error; never in a Lua error string (a bug) or a
 * crash. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>

#include "fuzz_check.h"
#include "lua_host.h"

#ifndef LG_LIMITS_LUA
#error "LG_LIMITS_LUA must name generator/limits.lua (tests/fuzz/fuzz.cmake passes it)"
#endif

/* Counts keys and values like the sandbox's copy and checks they are plain. */
static lua_Integer count_plain(lua_State *L, int idx, int depth) {
  int t = lua_type(L, idx);
  REQUIRE(t == LUA_TNUMBER || t == LUA_TSTRING || t == LUA_TBOOLEAN || t == LUA_TTABLE);
  if (t != LUA_TTABLE)
    return 1;
  REQUIRE(depth <= 9 && lua_getmetatable(L, idx) == 0);
  lua_Integer n = 1;
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    n += count_plain(L, -2, depth + 1) + count_plain(L, -1, depth + 1);
    lua_pop(L, 1);
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = luaL_newstate();
  REQUIRE(L);
  luaL_openlibs(L);
  REQUIRE(luaL_dofile(L, LG_LIMITS_LUA) == LUA_OK && lua_istable(L, -1));
  int limits = lua_gettop(L);
  lua_getfield(L, limits, "config_values");
  lua_Integer max_values = lua_tointeger(L, -1);
  lua_pop(L, 1);
  luaopen_lg_sandbox(L);
  lua_getfield(L, -1, "eval");
  lua_pushlstring(L, (const char *)data, size);
  lua_pushliteral(L, "fuzz.lua");
  lua_pushvalue(L, limits);
  if (lua_pcall(L, 3, 1, 0) == LUA_OK) {
    REQUIRE(lua_istable(L, -1));
    REQUIRE(count_plain(L, -1, 0) <= max_values);
  } else {
    REQUIRE(lua_istable(L, -1)); /* a string would be a bug in the sandbox */
    lua_getfield(L, -1, "code");
    REQUIRE(lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "user") == 0);
    lua_getfield(L, -2, "msg");
    REQUIRE(lua_isstring(L, -1));
    REQUIRE_ONE_LINE(lua_tostring(L, -1));
  }
  lua_close(L);
  return 0;
}
