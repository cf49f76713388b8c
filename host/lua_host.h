/* The embedded Lua 5.4 generator: one state, one protected entry point. */
#ifndef LUCIDGEN_LUA_HOST_H
#define LUCIDGEN_LUA_HOST_H

#include <lua.h>

#include <stddef.h>

/* Files compiled into the binary by cmake/embed.c (path relative to the repo root). */
typedef struct {
  const char *path;
  const unsigned char *data;
  size_t size;
} lucidgen_embedded_file;
extern const lucidgen_embedded_file lucidgen_embedded_files[];

/* Looks up an embedded file by repo-relative path; NULL if absent. */
const lucidgen_embedded_file *lucidgen_embedded(const char *path);

/* Runs generator/cli.lua's main(argv) under lua_pcall and returns the
 * process exit code: 0 ok, 2 user error (one line printed), 1 internal error
 * (with the Lua traceback when verbose). */
int lucidgen_lua_main(int argc, char **argv);

/* Creates the generator's Lua state: the standard libraries and every lg.*
 * module below, registered for require(). NULL when out of memory. lucidgen,
 * tests/unit/lua_unit_main.c and the fuzz targets all start from here. */
lua_State *lucidgen_new_state(void);

/* Errors and arguments from C (lua_args.c). lucidgen_raise raises {code=, msg=},
 * the shape errors.user makes in Lua: "user" (the caller's input: exit 2) or
 * "failure" (network, disk: exit 1); lucidgen_user_error is the "user" one. */
int lucidgen_raise(lua_State *L, const char *code, const char *msg);
int lucidgen_user_error(lua_State *L, const char *msg);
/* Field `key` of the table at idx: a string (NULL when nil; the table keeps it
 * alive), a boolean. */
const char *lucidgen_opt_string(lua_State *L, int idx, const char *key);
int lucidgen_opt_bool(lua_State *L, int idx, const char *key);

/* The C modules the generator uses (each in its own file). */
int luaopen_lg_host(lua_State *L); /* lua_files.c: files, environment, CPU features, the compiler */
int luaopen_lg_checkpoint(lua_State *L); /* lua_checkpoint.c: safetensors checkpoints */
int luaopen_lg_hub(lua_State *L); /* lua_hub.c: the hub client and its cache (hub/) */
int luaopen_lg_tensor(lua_State *L); /* lua_tensor.c: float tensors + weight transforms */
int luaopen_lg_pack(lua_State *L); /* lua_pack.c: weights into the kernels' layouts */
int luaopen_lg_refops(lua_State *L); /* lua_refops.c: naive reference kernels (golden output) */
int luaopen_lg_qref(lua_State *L); /* lua_qref.c: the int8 scheme's scalar reference */
int luaopen_lg_images(lua_State *L); /* lua_images.c: calibration images through the classifier's transform */
int luaopen_lg_blob_writer(lua_State *L); /* lua_blob_writer.c: the blob file, and as C source */
int luaopen_lg_sandbox(lua_State *L); /* lua_sandbox.c: --config files from strangers */

#endif
