/* Errors and request-table fields for the C modules: every module raises the
 * same {code=, msg=} tables generator/errors.lua makes, so lua_host.c's
 * handler treats errors from C and from Lua alike. */
#include "lua_host.h"

int lucidgen_raise(lua_State *L, const char *code, const char *msg) {
  lua_createtable(L, 0, 2);
  lua_pushstring(L, code);
  lua_setfield(L, -2, "code");
  lua_pushstring(L, msg);
  lua_setfield(L, -2, "msg");
  return lua_error(L);
}

int lucidgen_user_error(lua_State *L, const char *msg) { return lucidgen_raise(L, "user", msg); }

const char *lucidgen_opt_string(lua_State *L, int idx, const char *key) {
  lua_getfield(L, idx, key);
  const char *v = lua_isnil(L, -1) ? NULL : lua_tostring(L, -1);
  lua_pop(L, 1);
  return v;
}

int lucidgen_opt_bool(lua_State *L, int idx, const char *key) {
  lua_getfield(L, idx, key);
  int v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}
