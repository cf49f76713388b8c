/* Embeds Lua 5.4: modules come from the binary (require "registry" ->
 * generator/registry.lua, require "variants.resnet" -> variants/resnet.lua),
 * everything runs inside one lua_pcall whose message handler keeps the
 * traceback, and errors reach main() once as an exit code. */
#include "lua_host.h"
#include "temporaries.h"

#include <lauxlib.h>
#include <lualib.h>

#include <stdio.h>
#include <string.h>

const lucidgen_embedded_file *lucidgen_embedded(const char *path) {
  for (const lucidgen_embedded_file *f = lucidgen_embedded_files; f->path; f++)
    if (strcmp(f->path, path) == 0)
      return f;
  return NULL;
}

/* package.searchers entry: module "a.b" is generator/a/b.lua, or a/b.lua
 * from the repo root (variants.*), in that order. */
static int search_embedded(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  char rel[512], path[600];
  snprintf(rel, sizeof rel, "%s", name);
  for (char *p = rel; *p; p++)
    if (*p == '.')
      *p = '/';
  const char *roots[] = {"generator/", ""};
  for (size_t i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s%s.lua", roots[i], rel);
    const lucidgen_embedded_file *f = lucidgen_embedded(path);
    if (!f)
      continue;
    char chunkname[640];
    snprintf(chunkname, sizeof chunkname, "@%s", path);
    if (luaL_loadbufferx(L, (const char *)f->data, f->size, chunkname, "t") != LUA_OK)
      return lua_error(L);
    lua_pushstring(L, path);
    return 2;
  }
  lua_pushfstring(L, "\n\tno embedded file 'generator/%s.lua' or '%s.lua'", rel, rel);
  return 1;
}

/* Keeps structured errors ({code=, msg=}) as they are; adds a traceback to
 * anything else (a bug in the generator). */
static int message_handler(lua_State *L) {
  if (lua_istable(L, 1)) {
    lua_getfield(L, 1, "traceback");
    int has = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (!has) {
      luaL_traceback(L, L, NULL, 1);
      lua_setfield(L, 1, "traceback");
    }
    return 1;
  }
  const char *msg = lua_tostring(L, 1);
  if (!msg)
    msg = luaL_tolstring(L, 1, NULL);
  lua_createtable(L, 0, 3);
  lua_pushliteral(L, "internal");
  lua_setfield(L, -2, "code");
  lua_pushstring(L, msg);
  lua_setfield(L, -2, "msg");
  luaL_traceback(L, L, NULL, 1);
  lua_setfield(L, -2, "traceback");
  return 1;
}

lua_State *lucidgen_new_state(void) {
  static const struct {
    const char *name;
    lua_CFunction open;
  } modules[] = {
      {"lg.host", luaopen_lg_host},
      {"lg.checkpoint", luaopen_lg_checkpoint},
      {"lg.hub", luaopen_lg_hub},
      {"lg.tensor", luaopen_lg_tensor},
      {"lg.pack", luaopen_lg_pack},
      {"lg.refops", luaopen_lg_refops},
      {"lg.qref", luaopen_lg_qref},
      {"lg.images", luaopen_lg_images},
      {"lg.blob_writer", luaopen_lg_blob_writer},
      {"lg.sandbox", luaopen_lg_sandbox}};
  lua_State *L = luaL_newstate();
  if (!L)
    return NULL;
  luaL_openlibs(L);
  for (size_t i = 0; i < sizeof modules / sizeof modules[0]; i++) {
    luaL_requiref(L, modules[i].name, modules[i].open, 0);
    lua_pop(L, 1);
  }
  return L;
}

int lucidgen_lua_main(int argc, char **argv) {
  lucidgen_remove_files_on_signals();
  lua_State *L = lucidgen_new_state();
  if (!L) {
    fprintf(stderr, "lucidgen: error: cannot create Lua state (out of memory)\n");
    return 1;
  }

  /* Only embedded modules: the generator never depends on files on disk. */
  lua_getglobal(L, "package");
  lua_createtable(L, 2, 0);
  lua_getfield(L, -2, "searchers");
  lua_rawgeti(L, -1, 1); /* preload searcher */
  lua_rawseti(L, -3, 1);
  lua_pop(L, 1);
  lua_pushcfunction(L, search_embedded);
  lua_rawseti(L, -2, 2);
  lua_setfield(L, -2, "searchers");
  lua_pop(L, 1);

  int verbose = 0;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--verbose") == 0)
      verbose = 1;

  lua_pushcfunction(L, message_handler);
  int handler = lua_gettop(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "cli");
  int rc = 1;
  if (lua_pcall(L, 1, 1, handler) == LUA_OK) {
    lua_getfield(L, -1, "main");
    lua_createtable(L, argc, 0);
    for (int i = 1; i < argc; i++) {
      lua_pushstring(L, argv[i]);
      lua_rawseti(L, -2, i);
    }
    if (lua_pcall(L, 1, 1, handler) == LUA_OK) {
      rc = (int)luaL_optinteger(L, -1, 0);
      lua_close(L);
      return rc;
    }
  }
  /* Error object from message_handler; a memory error skips the handler
   * and arrives as a string. */
  if (!lua_istable(L, -1)) {
    fprintf(stderr, "lucidgen: error: %s\n", lua_isstring(L, -1) ? lua_tostring(L, -1) : "(no message)");
    lua_close(L);
    return 1;
  }
  lua_getfield(L, -1, "code");
  const char *code = lua_tostring(L, -1);
  lua_getfield(L, -2, "msg");
  const char *msg = lua_tostring(L, -1);
  lua_getfield(L, -3, "traceback");
  const char *tb = lua_tostring(L, -1);
  int user = code && strcmp(code, "user") == 0;
  int internal = !code || strcmp(code, "internal") == 0;
  fprintf(stderr, "lucidgen: error: %s\n", msg ? msg : "(no message)");
  if (internal) {
    if (verbose && tb)
      fprintf(stderr, "%s\n", tb);
    else
      fprintf(stderr, "lucidgen: (internal error; rerun with --verbose for the Lua traceback)\n");
  } else if (verbose && tb) {
    fprintf(stderr, "%s\n", tb);
  }
  rc = user ? 2 : 1;
  lua_close(L);
  return rc;
}
