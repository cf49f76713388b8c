/* lg.hub: the Hugging Face hub client (hub/) for Lua: fetch a checkpoint into
 * the huggingface_hub cache, list and verify the cache. Network and disk
 * failures raise "failure" (exit 1), anything the user can fix "user". */
#include "hf_cache.h"
#include "hub.h"
#include "lua_host.h"

#include <lauxlib.h>

#include <stdio.h>

/* hub.fetch{repo=, filename=, revision=, cache_dir=, offline=, quiet=} -> path */
static int h_fetch(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lucidgen_hub_request req = {
      .repo_id = lucidgen_opt_string(L, 1, "repo"),
      .filename = lucidgen_opt_string(L, 1, "filename"),
      .revision = lucidgen_opt_string(L, 1, "revision"),
      .cache_dir = lucidgen_opt_string(L, 1, "cache_dir"),
      .offline = lucidgen_opt_bool(L, 1, "offline"),
      .quiet = lucidgen_opt_bool(L, 1, "quiet"),
  };
  if (!req.filename)
    req.filename = "model.safetensors";
  char path[LUCIDGEN_PATH_MAX], err[4096];
  lg_status s = lucidgen_hub_fetch(&req, path, sizeof path, err, sizeof err);
  if (s == LG_ERR_NETWORK || s == LG_ERR_IO)
    return lucidgen_raise(L, "failure", err);
  if (s != LG_OK)
    return lucidgen_user_error(L, err);
  lua_pushstring(L, path);
  return 1;
}

static int h_cache_dir(lua_State *L) {
  char out[LUCIDGEN_PATH_MAX], err[512];
  if (lucidgen_cache_dir(luaL_optstring(L, 1, NULL), out, sizeof out, err, sizeof err) != LG_OK)
    return lucidgen_user_error(L, err);
  lua_pushstring(L, out);
  return 1;
}

static int h_cache_list(lua_State *L) {
  char err[512];
  if (lucidgen_cache_list(luaL_checkstring(L, 1), stdout, err, sizeof err) != LG_OK)
    return lucidgen_user_error(L, err);
  return 0;
}

static int h_cache_verify(lua_State *L) {
  char err[512];
  lg_status s = lucidgen_cache_verify(luaL_checkstring(L, 1), stdout, err, sizeof err);
  /* problems found are on stdout (exit 1); any other failure was dropped
   * unsaid, with the same exit 1 */
  if (s != LG_OK && s != LG_ERR_MISMATCH)
    return lucidgen_user_error(L, err);
  lua_pushboolean(L, s == LG_OK);
  return 1;
}

int luaopen_lg_hub(lua_State *L) {
  static const luaL_Reg funcs[] = {
      {"fetch", h_fetch},
      {"cache_dir", h_cache_dir},
      {"cache_list", h_cache_list},
      {"cache_verify", h_cache_verify},
      {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}
