/* lg.tensor: dense float32 tensors for the generator.
 *
 * Lua decides what to fold, fuse and pack; the bulk arithmetic over weights
 * happens here so a 100M-parameter checkpoint folds in seconds. Shapes follow
 * PyTorch (conv weight [OC, IC/groups, KH, KW], linear [OUT, IN]). Packing into
 * the kernels' layouts is lg.pack's (lua_pack.c). */
#include "lua_tensor.h"

#include <lauxlib.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TENSOR_MT "lg.Tensor"

lg_tensor *lg_tensor_check(lua_State *L, int idx) { return luaL_checkudata(L, idx, TENSOR_MT); }

/* The floats live in the userdata block itself, right after the header, so
 * Lua's collector counts every byte of a tensor and frees it with the
 * userdata: a weight a pass replaced goes away in the next collection cycle
 * without a forced collectgarbage(). */
lg_tensor *lg_tensor_push(lua_State *L, int ndim, const int64_t *shape) {
  int64_t numel = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0 || (shape[i] && numel > INT64_MAX / shape[i]))
      luaL_error(L, "tensor shape overflow");
    numel *= shape[i];
  }
  if ((uint64_t)numel > (SIZE_MAX - sizeof(lg_tensor)) / sizeof(float))
    luaL_error(L, "tensor of %I floats does not fit in memory", (lua_Integer)numel);
  size_t bytes = (size_t)numel * sizeof(float);
  lg_tensor *t = lua_newuserdatauv(L, sizeof *t + bytes, 0);
  memset(t, 0, sizeof *t + bytes);
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++)
    t->shape[i] = shape[i];
  t->numel = numel;
  t->data = (float *)(t + 1);
  luaL_setmetatable(L, TENSOR_MT);
  return t;
}

static int read_shape(lua_State *L, int idx, int64_t *shape) {
  luaL_checktype(L, idx, LUA_TTABLE);
  int n = (int)luaL_len(L, idx);
  if (n > LG_TENSOR_MAX_DIMS)
    luaL_error(L, "tensor rank %d exceeds %d", n, LG_TENSOR_MAX_DIMS);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, idx, i + 1);
    shape[i] = (int64_t)luaL_checkinteger(L, -1);
    lua_pop(L, 1);
  }
  return n;
}

static int t_zeros(lua_State *L) {
  int64_t shape[LG_TENSOR_MAX_DIMS];
  int n = read_shape(L, 1, shape);
  lg_tensor_push(L, n, shape);
  return 1;
}

/* splitmix64: a tiny, well-mixed, reproducible generator; the same seed gives
 * the same weights on every machine. */
static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double uniform01(uint64_t *s) { return (double)(splitmix64(s) >> 11) * (1.0 / 9007199254740992.0); }

/* T.normal(shape, seed, mean, std) */
static int t_normal(lua_State *L) {
  int64_t shape[LG_TENSOR_MAX_DIMS];
  int n = read_shape(L, 1, shape);
  uint64_t seed = (uint64_t)luaL_checkinteger(L, 2);
  double mean = luaL_optnumber(L, 3, 0.0), std = luaL_optnumber(L, 4, 1.0);
  lg_tensor *t = lg_tensor_push(L, n, shape);
  for (int64_t i = 0; i < t->numel; i += 2) {
    double u1 = uniform01(&seed), u2 = uniform01(&seed);
    if (u1 < 1e-300)
      u1 = 1e-300;
    double r = sqrt(-2.0 * log(u1));
    t->data[i] = (float)(mean + std * r * cos(2 * M_PI * u2));
    if (i + 1 < t->numel)
      t->data[i + 1] = (float)(mean + std * r * sin(2 * M_PI * u2));
  }
  return 1;
}

/* T.uniform(shape, seed, lo, hi) */
static int t_uniform(lua_State *L) {
  int64_t shape[LG_TENSOR_MAX_DIMS];
  int n = read_shape(L, 1, shape);
  uint64_t seed = (uint64_t)luaL_checkinteger(L, 2);
  double lo = luaL_checknumber(L, 3), hi = luaL_checknumber(L, 4);
  lg_tensor *t = lg_tensor_push(L, n, shape);
  for (int64_t i = 0; i < t->numel; i++)
    t->data[i] = (float)(lo + (hi - lo) * uniform01(&seed));
  return 1;
}

void lg_push_shape(lua_State *L, int ndim, const int64_t *shape) {
  lua_createtable(L, ndim, 0);
  for (int i = 0; i < ndim; i++) {
    lua_pushinteger(L, shape[i]);
    lua_rawseti(L, -2, i + 1);
  }
}

static int t_shape(lua_State *L) {
  lg_tensor *t = lg_tensor_check(L, 1);
  lg_push_shape(L, t->ndim, t->shape);
  return 1;
}

static int t_numel(lua_State *L) {
  lua_pushinteger(L, lg_tensor_check(L, 1)->numel);
  return 1;
}

static int t_clone(lua_State *L) {
  lg_tensor *t = lg_tensor_check(L, 1);
  int64_t shape[LG_TENSOR_MAX_DIMS];
  int n = t->ndim;
  memcpy(shape, t->shape, sizeof shape);
  if (!lua_isnoneornil(L, 2))
    n = read_shape(L, 2, shape);
  lg_tensor *c = lg_tensor_push(L, n, shape);
  if (c->numel != t->numel)
    luaL_error(L, "reshape: %I elements into %I", (lua_Integer)t->numel, (lua_Integer)c->numel);
  memcpy(c->data, t->data, (size_t)t->numel * sizeof(float));
  return 1;
}

static int t_bytes(lua_State *L) {
  lg_tensor *t = lg_tensor_check(L, 1);
  lua_pushlstring(L, (const char *)t->data, (size_t)t->numel * sizeof(float));
  return 1;
}

/* T.from_bytes(bytes, shape) -> the tensor whose float32 (this host's order) those bytes are */
static int t_from_bytes(lua_State *L) {
  size_t len;
  const char *bytes = luaL_checklstring(L, 1, &len);
  int64_t shape[LG_TENSOR_MAX_DIMS];
  int n = read_shape(L, 2, shape);
  lg_tensor *t = lg_tensor_push(L, n, shape);
  if ((size_t)t->numel * sizeof(float) != len)
    luaL_error(L, "from_bytes: %I bytes are not %I floats", (lua_Integer)len, (lua_Integer)t->numel);
  memcpy(t->data, bytes, len);
  return 1;
}

/* t:minmax() -> the smallest and largest value (NaN left out; 0, 0 when none) */
static int t_minmax(lua_State *L) {
  lg_tensor *t = lg_tensor_check(L, 1);
  float lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < t->numel; i++) {
    lo = fminf(lo, t->data[i]);
    hi = fmaxf(hi, t->data[i]);
  }
  lua_pushnumber(L, lo <= hi ? lo : 0.0);
  lua_pushnumber(L, lo <= hi ? hi : 0.0);
  return 2;
}

/* t:histogram(lo, hi, bins) -> {counts}: bins equal bins over [lo, hi], values
 * outside counted in the first and last (calibration's range observers) */
static int t_histogram(lua_State *L) {
  lg_tensor *t = lg_tensor_check(L, 1);
  double lo = luaL_checknumber(L, 2), hi = luaL_checknumber(L, 3);
  int bins = (int)luaL_checkinteger(L, 4);
  if (bins < 1 || bins > 1 << 20 || !(hi > lo))
    return luaL_error(L, "histogram: bad bins or range");
  lua_Integer *count = lua_newuserdatauv(L, sizeof *count * (size_t)bins, 0);
  memset(count, 0, sizeof *count * (size_t)bins);
  const double scale = bins / (hi - lo);
  for (int64_t i = 0; i < t->numel; i++) {
    double b = (t->data[i] - lo) * scale;
    int k = b < 0 ? 0 : b >= bins ? bins - 1 : (int)b;
    count[k] += t->data[i] == t->data[i];
  }
  lua_createtable(L, bins, 0);
  for (int k = 0; k < bins; k++) {
    lua_pushinteger(L, count[k]);
    lua_rawseti(L, -2, k + 1);
  }
  return 1;
}

/* T.error_sums(test, ref) -> sum ref^2, sum (test - ref)^2, sum test*ref, sum test^2
 * (in double): SQNR and cosine of a reduced path against its reference */
static int t_error_sums(lua_State *L) {
  lg_tensor *a = lg_tensor_check(L, 1), *b = lg_tensor_check(L, 2);
  if (a->numel != b->numel)
    luaL_error(L, "error_sums: sizes differ");
  double rr = 0, ee = 0, tr = 0, tt = 0;
  for (int64_t i = 0; i < a->numel; i++) {
    double x = a->data[i], y = b->data[i];
    rr += y * y, ee += (x - y) * (x - y), tr += x * y, tt += x * x;
  }
  lua_pushnumber(L, rr);
  lua_pushnumber(L, ee);
  lua_pushnumber(L, tr);
  lua_pushnumber(L, tt);
  return 4;
}

/* Max |a-b| and max |b| over two equal-size tensors (self-test, debugging). */
static int t_max_abs_diff(lua_State *L) {
  lg_tensor *a = lg_tensor_check(L, 1), *b = lg_tensor_check(L, 2);
  if (a->numel != b->numel)
    luaL_error(L, "max_abs_diff: sizes differ");
  double d = 0, m = 0;
  for (int64_t i = 0; i < a->numel; i++) {
    double e = fabs((double)a->data[i] - b->data[i]);
    if (e > d || isnan(e))
      d = e;
    if (fabs(b->data[i]) > m)
      m = fabs(b->data[i]);
  }
  lua_pushnumber(L, d);
  lua_pushnumber(L, m);
  return 2;
}

/* t:nonfinite() -> how many values are NaN or +-Inf */
static int t_nonfinite(lua_State *L) {
  lg_tensor *t = lg_tensor_check(L, 1);
  lua_Integer n = 0;
  for (int64_t i = 0; i < t->numel; i++)
    n += !isfinite(t->data[i]);
  lua_pushinteger(L, n);
  return 1;
}

static int64_t out_channel_size(const lg_tensor *w) { return w->shape[0] ? w->numel / w->shape[0] : 0; }

/* T.fold_batchnorm(w, b|nil, gamma, beta, mean, var, eps) -> w', b'
 * Eval-mode BN after a conv/linear: y = (conv(x) + b - mean) * gamma / sqrt(var + eps) + beta. */
static int t_fold_batchnorm(lua_State *L) {
  lg_tensor *w = lg_tensor_check(L, 1);
  lg_tensor *b = lua_isnil(L, 2) ? NULL : lg_tensor_check(L, 2);
  lg_tensor *g = lg_tensor_check(L, 3), *beta = lg_tensor_check(L, 4);
  lg_tensor *mean = lg_tensor_check(L, 5), *var = lg_tensor_check(L, 6);
  double eps = luaL_checknumber(L, 7);
  int64_t oc = w->shape[0], k = out_channel_size(w);
  if (g->numel != oc || beta->numel != oc || mean->numel != oc || var->numel != oc || (b && b->numel != oc))
    luaL_error(
        L,
        "fold_batchnorm: batchnorm has %I channels, conv has %I outputs",
        (lua_Integer)g->numel,
        (lua_Integer)oc);
  lg_tensor *w2 = lg_tensor_push(L, w->ndim, w->shape);
  lg_tensor *b2 = lg_tensor_push(L, 1, &oc);
  for (int64_t o = 0; o < oc; o++) {
    double s = g->data[o] / sqrt((double)var->data[o] + eps);
    for (int64_t i = 0; i < k; i++)
      w2->data[o * k + i] = (float)(w->data[o * k + i] * s);
    b2->data[o] = (float)(((b ? b->data[o] : 0.0) - mean->data[o]) * s + beta->data[o]);
  }
  return 2;
}

/* T.scale_out_channels(w, b|nil, s) -> w', b': folds a per-channel scale
 * applied after the layer (ConvNeXt layer scale `gamma`). */
static int t_scale_out_channels(lua_State *L) {
  lg_tensor *w = lg_tensor_check(L, 1);
  lg_tensor *b = lua_isnil(L, 2) ? NULL : lg_tensor_check(L, 2);
  lg_tensor *s = lg_tensor_check(L, 3);
  int64_t oc = w->shape[0], k = out_channel_size(w);
  if (s->numel != oc)
    luaL_error(L, "scale_out_channels: %I scales for %I outputs", (lua_Integer)s->numel, (lua_Integer)oc);
  lg_tensor *w2 = lg_tensor_push(L, w->ndim, w->shape);
  lg_tensor *b2 = lg_tensor_push(L, 1, &oc);
  for (int64_t o = 0; o < oc; o++) {
    for (int64_t i = 0; i < k; i++)
      w2->data[o * k + i] = w->data[o * k + i] * s->data[o];
    b2->data[o] = (b ? b->data[o] : 0.0f) * s->data[o];
  }
  return 2;
}

/* T.standardize(w, eps) -> w': BiT StdConv2d, per output channel
 * (w - mean) / sqrt(var + eps) with the biased variance, done once here. */
static int t_standardize(lua_State *L) {
  lg_tensor *w = lg_tensor_check(L, 1);
  double eps = luaL_checknumber(L, 2);
  int64_t oc = w->shape[0], k = out_channel_size(w);
  lg_tensor *w2 = lg_tensor_push(L, w->ndim, w->shape);
  for (int64_t o = 0; o < oc; o++) {
    const float *src = w->data + o * k;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < k; i++)
      mean += src[i];
    mean /= (double)k;
    for (int64_t i = 0; i < k; i++)
      var += (src[i] - mean) * (src[i] - mean);
    var /= (double)k;
    double inv = 1.0 / sqrt(var + eps);
    for (int64_t i = 0; i < k; i++)
      w2->data[o * k + i] = (float)((src[i] - mean) * inv);
  }
  return 1;
}

/* T.adapt_in_chans(w, in_chans) -> w': the first conv of a pretrained model
 * for another channel count, as timm's adapt_input_conv: 1 channel sums over
 * RGB; other counts repeat the RGB filters cyclically and rescale by 3/in. */
static int t_adapt_in_chans(lua_State *L) {
  lg_tensor *w = lg_tensor_check(L, 1);
  int64_t in = luaL_checkinteger(L, 2);
  if (w->ndim != 4)
    luaL_error(L, "adapt_in_chans: expected a 4-d conv weight");
  int64_t O = w->shape[0], I = w->shape[1], KK = w->shape[2] * w->shape[3];
  int64_t shape[4] = {O, in, w->shape[2], w->shape[3]};
  if (in == I) {
    lg_tensor *c = lg_tensor_push(L, 4, shape);
    memcpy(c->data, w->data, (size_t)w->numel * sizeof(float));
    return 1;
  }
  if (in == 1) {
    if (I > 3 && I % 3 != 0)
      luaL_error(L, "adapt_in_chans: %I input channels not a multiple of 3", (lua_Integer)I);
    int64_t groups = I > 3 ? I / 3 : 1, per = I > 3 ? 3 : I;
    shape[1] = groups;
    lg_tensor *c = lg_tensor_push(L, 4, shape);
    for (int64_t o = 0; o < O; o++)
      for (int64_t g = 0; g < groups; g++)
        for (int64_t j = 0; j < per; j++)
          for (int64_t k = 0; k < KK; k++)
            c->data[(o * groups + g) * KK + k] += w->data[(o * I + g * per + j) * KK + k];
    return 1;
  }
  if (I != 3)
    luaL_error(
        L,
        "adapt_in_chans: cannot adapt a %I-channel first conv to %I channels",
        (lua_Integer)I,
        (lua_Integer)in);
  lg_tensor *c = lg_tensor_push(L, 4, shape);
  float scale = 3.0f / (float)in;
  for (int64_t o = 0; o < O; o++)
    for (int64_t i = 0; i < in; i++)
      for (int64_t k = 0; k < KK; k++)
        c->data[(o * in + i) * KK + k] = w->data[(o * 3 + i % 3) * KK + k] * scale;
  return 1;
}

int luaopen_lg_tensor(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"shape", t_shape},
      {"numel", t_numel},
      {"clone", t_clone},
      {"bytes", t_bytes},
      {"nonfinite", t_nonfinite},
      {"minmax", t_minmax},
      {"histogram", t_histogram},
      {NULL, NULL}};
  static const luaL_Reg funcs[] = {
      {"zeros", t_zeros},
      {"normal", t_normal},
      {"uniform", t_uniform},
      {"max_abs_diff", t_max_abs_diff},
      {"from_bytes", t_from_bytes},
      {"error_sums", t_error_sums},
      {"fold_batchnorm", t_fold_batchnorm},
      {"scale_out_channels", t_scale_out_channels},
      {"standardize", t_standardize},
      {"adapt_in_chans", t_adapt_in_chans},
      {NULL, NULL}};
  luaL_newmetatable(L, TENSOR_MT);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  return 1;
}
