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

/* Raises {code=, msg=} from C, the shape errors.user makes in Lua:
 * "user" (the caller's input: exit 2) or "failure" (network, disk: exit 1). */
int lucidgen_raise(lua_State *L, const char *code, const char *msg);

/* Registration of the C modules the generator uses (each in its own file). */
int luaopen_lg_tensor(lua_State *L); /* lua_tensor.c: float tensors + weight transforms */
int luaopen_lg_pack(lua_State *L); /* lua_pack.c: weights into the kernels' layouts */
int luaopen_lg_refops(lua_State *L); /* lua_refops.c: naive reference kernels (golden output) */
int luaopen_lg_host(lua_State *L); /* lua_host_io.c: files, safetensors, sha256, hub, compiler */
int luaopen_lg_sandbox(lua_State *L); /* lua_sandbox.c: --config files from strangers */
int luaopen_lg_blob_source(lua_State *L); /* lua_blob_source.c: a blob as a C array (--weights-format c) */

#endif
