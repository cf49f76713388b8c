/* lg.checkpoint: a safetensors checkpoint (checkpoint/lg_safetensors.c),
 * mapped while Lua holds it and read a tensor at a time as float32. */
#include "lua_host.h"
#include "lua_tensor.h"

#include "lg_safetensors.h"

#include <lauxlib.h>

#include <string.h>

#define CHECKPOINT_MT "lg.Checkpoint"

static lg_safetensors *check_ckpt(lua_State *L) {
  lg_safetensors *st = luaL_checkudata(L, 1, CHECKPOINT_MT);
  return st;
}

static int ck_gc(lua_State *L) {
  lg_st_close(check_ckpt(L));
  return 0;
}

/* checkpoint.open(path) -> checkpoint; a bad file is a user error naming it. */
static int ck_open(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lg_safetensors *st = lua_newuserdatauv(L, sizeof *st, 0);
  memset(st, 0, sizeof *st);
  if (lg_st_open(st, path) != LG_OK) {
    char msg[600];
    snprintf(msg, sizeof msg, "%s", lg_st_errmsg(st));
    lg_st_close(st);
    return lucidgen_user_error(L, msg);
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
    return lucidgen_user_error(L, msg);
  }
  return 1;
}

int luaopen_lg_checkpoint(lua_State *L) {
  static const luaL_Reg methods[] = {{"names", ck_names}, {"shape", ck_shape}, {"tensor", ck_tensor}, {NULL, NULL}};
  static const luaL_Reg funcs[] = {{"open", ck_open}, {NULL, NULL}};
  luaL_newmetatable(L, CHECKPOINT_MT);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, ck_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, ck_gc); /* `local ck <close> = ...` unmaps the file at scope end */
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  return 1;
}
