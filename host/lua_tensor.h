/* lg.Tensor: the float32 tensor userdata shared by the generator's C modules. */
#ifndef LUCIDGEN_LUA_TENSOR_H
#define LUCIDGEN_LUA_TENSOR_H

#include <lua.h>

#include <stdint.h>

#define LG_TENSOR_MAX_DIMS 8

typedef struct {
  int ndim;
  int64_t shape[LG_TENSOR_MAX_DIMS];
  int64_t numel;
  float *data; /* contiguous, row-major; inside the userdata block, right after this header */
} lg_tensor;

/* Checks that argument idx is a tensor. */
lg_tensor *lg_tensor_check(lua_State *L, int idx);
/* Pushes a shape as a Lua array {d1, d2, ...}. */
void lg_push_shape(lua_State *L, int ndim, const int64_t *shape);
/* Pushes a new zero-filled tensor of the given shape. */
lg_tensor *lg_tensor_push(lua_State *L, int ndim, const int64_t *shape);

/* A pooling window's output length (timm/PyTorch rules: with ceil_mode the
 * last window must start inside the input). */
static inline int64_t lg_pool_out(int64_t n, int k, int s, int ceil_mode) {
  int64_t out = ceil_mode ? (n - k + s - 1) / s + 1 : (n - k) / s + 1;
  return ceil_mode && (out - 1) * s >= n ? out - 1 : out;
}

#endif
