/* lua_unit: runs a Lua test file against lucidgen's own C modules (the lg.*
 * modules of lucidgen_new_state), with the generator's Lua sources taken from
 * the source tree, so passes and writers can be tested alone on small
 * hand-built inputs.
 *
 *   lua_unit TEST.lua [ARGS...]     (run from the repository root)
 *
 * The test file's exit status is the result; an uncaught error prints its
 * message and traceback and exits 1. */
#include "lua_host.h"

#include <lauxlib.h>
#include <lualib.h>

#include <stdio.h>

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg && lua_istable(L, 1)) { /* errors.user / errors.internal tables */
    lua_getfield(L, 1, "msg");
    msg = lua_tostring(L, -1);
  }
  luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: lua_unit TEST.lua [ARGS...]\n");
    return 2;
  }
  lua_State *L = lucidgen_new_state();
  if (!L) {
    fprintf(stderr, "lua_unit: cannot create Lua state (out of memory)\n");
    return 1;
  }
  lua_gc(L, LUA_GCINC, 100, 0, 0); /* as lucidgen runs it */
  lua_getglobal(L, "package");
  lua_pushliteral(L, "generator/?.lua;./?.lua;tests/unit/?.lua");
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);

  lua_createtable(L, argc - 2, 0); /* arg, as lua.c sets it */
  for (int i = 2; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - 1);
  }
  lua_setglobal(L, "arg");

  lua_pushcfunction(L, traceback);
  int rc = 0;
  if (luaL_loadfile(L, argv[1]) != LUA_OK || lua_pcall(L, 0, 0, -2) != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    rc = 1;
  }
  lua_close(L);
  return rc;
}
