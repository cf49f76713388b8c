/* lg.images: images for calibration, through the classifier's own decoder and
 * timm eval transform (runtime/lg_image.c, lg_preprocess.c), so an int8
 * model is calibrated on exactly the inputs it will see. */
#include "lua_host.h"
#include "lua_tensor.h"

#include "lg_preprocess.h"

#include <lauxlib.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* The extensions lg_image decodes. */
static int is_image(const char *name) {
  const char *dot = strrchr(name, '.');
  static const char *const exts[] = {".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".pnm"};
  for (size_t i = 0; dot && i < sizeof exts / sizeof exts[0]; i++)
    if (strcasecmp(dot, exts[i]) == 0)
      return 1;
  return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Appends the images under dir (sorted by name, sub-folders in place, hidden
 * entries and symlinked folders skipped) to the array at the stack top. */
static void list_into(lua_State *L, const char *dir, int depth) {
  if (depth > 8)
    return;
  DIR *d = opendir(dir);
  if (!d) {
    char msg[4400];
    snprintf(
        msg,
        sizeof msg,
        "cannot read the calibration folder %s; pass a folder of images, a list or a .f32 file",
        dir);
    lucidgen_user_error(L, msg);
  }
  size_t n = 0, cap = 64;
  char **names = malloc(cap * sizeof *names);
  struct dirent *e;
  while (names && (e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    if (n == cap)
      names = realloc(names, (cap *= 2) * sizeof *names);
    if (names)
      names[n++] = strdup(e->d_name);
  }
  closedir(d);
  if (!names)
    luaL_error(L, "out of memory listing %s", dir);
  qsort(names, n, sizeof *names, by_name);
  for (size_t i = 0; i < n; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    struct stat st, lst;
    if (stat(path, &st) == 0 && lstat(path, &lst) == 0) {
      if (S_ISDIR(st.st_mode) && !S_ISLNK(lst.st_mode))
        list_into(L, path, depth + 1);
      else if (S_ISREG(st.st_mode) && is_image(names[i])) {
        lua_pushstring(L, path);
        lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
      }
    }
    free(names[i]);
  }
  free(names);
}

/* images.list(dir) -> {paths}: every image file under dir, in name order */
static int i_list(lua_State *L) {
  const char *dir = luaL_checkstring(L, 1);
  lua_newtable(L);
  list_into(L, dir, 0);
  return 1;
}

static float num_at(lua_State *L, int idx, int i) {
  lua_rawgeti(L, idx, i);
  float v = (float)luaL_checknumber(L, -1);
  lua_pop(L, 1);
  return v;
}

/* images.load(path, cfg) -> tensor [in_chans, h, w]; cfg {h, w, in_chans, crop_pct,
 * crop_mode, interpolation, mean {3}, std {3}}; a file that does not decode is a
 * user error naming it */
static int i_load(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lg_preprocess_cfg cfg = {0};
  lua_getfield(L, 2, "h");
  cfg.out_h = (int)luaL_checkinteger(L, -1);
  lua_getfield(L, 2, "w");
  cfg.out_w = (int)luaL_checkinteger(L, -1);
  lua_getfield(L, 2, "in_chans");
  int in_chans = (int)luaL_checkinteger(L, -1);
  lua_getfield(L, 2, "crop_pct");
  cfg.crop_pct = (float)luaL_checknumber(L, -1);
  lua_getfield(L, 2, "crop_mode");
  const char *mode = luaL_checkstring(L, -1);
  lua_getfield(L, 2, "interpolation");
  const char *interp = luaL_checkstring(L, -1);
  if (lg_crop_mode_from_name(mode, &cfg.crop_mode) != LG_OK || lg_interp_from_name(interp, &cfg.interp) != LG_OK)
    return luaL_error(L, "images.load: crop mode %s or interpolation %s unknown", mode, interp);
  lua_getfield(L, 2, "mean");
  lua_getfield(L, 2, "std");
  for (int c = 0; c < 3; c++) {
    cfg.mean[c] = num_at(L, -2, c + 1);
    cfg.std[c] = num_at(L, -1, c + 1);
  }
  int64_t shape[3] = {in_chans, cfg.out_h, cfg.out_w};
  lg_tensor *t = lg_tensor_push(L, 3, shape);
  char err[4400];
  if (lg_preprocess_file(path, &cfg, in_chans, t->data, err, sizeof err) != LG_OK)
    return lucidgen_user_error(L, err);
  return 1;
}

int luaopen_lg_images(lua_State *L) {
  static const luaL_Reg funcs[] = {{"list", i_list}, {"load", i_load}, {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}
