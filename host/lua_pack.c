/* lg.pack: weights into the layouts and dtypes the kernels read.
 *
 * Each layout is owned by one kernel descriptor in generator/kernels/, which
 * documents it, computes its size in bytes and passes that size here; a
 * packer that would write a different number of bytes is a bug and says so.
 * A packed tensor is a container of bytes (bytes/4 "floats"): the blob writer
 * copies it as it is, whatever dtype its weights are in.
 *
 * Weight dtypes (--weights-dtype): f32; bf16 and f16 rounded to nearest even
 * (runtime/lg_half.h); int8 symmetric, one scale per output channel,
 * scale = max|w| / 127, q = round(w / scale). Bias and int8 scales stay f32. */
#include "lg_half.h"
#include "lua_tensor.h"

#include <lauxlib.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef enum { WT_F32, WT_BF16, WT_F16, WT_INT8 } wtype;
static const char *const WT_NAMES[] = {"f32", "bf16", "f16", "int8", NULL};
static const int64_t WT_BYTES[] = {4, 2, 2, 1};

static wtype check_wtype(lua_State *L, int idx) { return (wtype)luaL_checkoption(L, idx, NULL, WT_NAMES); }

/* The packed container of `bytes` bytes, after checking the layout's own size agrees. */
static unsigned char *push_packed(lua_State *L, int64_t bytes, int64_t expected, const char *layout) {
  if (bytes != expected || bytes % 4)
    luaL_error(
        L,
        "pack %s: layout has %I bytes, the kernel descriptor planned %I",
        layout,
        (lua_Integer)bytes,
        (lua_Integer)expected);
  int64_t floats = bytes / 4;
  return (unsigned char *)lg_tensor_push(L, 1, &floats)->data;
}

/* int8: the scale of one output channel's n weights */
static float int8_scale(const float *w, int64_t n) {
  float m = 0.0f;
  for (int64_t i = 0; i < n; i++)
    m = fmaxf(m, fabsf(w[i]));
  return m / 127.0f;
}

static int8_t int8_quantize(float x, float scale) {
  if (scale == 0.0f)
    return 0;
  double q = nearbyint((double)x / scale);
  return (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
}

/* Stores x as element i of an array of dtype t (int8: with its channel's scale). */
static void put(unsigned char *dst, int64_t i, wtype t, float x, float scale) {
  switch (t) {
  case WT_F32:
    memcpy(dst + 4 * i, &x, 4);
    break;
  case WT_BF16: {
    uint16_t h = lg_f32_to_bf16(x);
    memcpy(dst + 2 * i, &h, 2);
    break;
  }
  case WT_F16: {
    uint16_t h = lg_f32_to_f16(x);
    memcpy(dst + 2 * i, &h, 2);
    break;
  }
  case WT_INT8:
    ((int8_t *)dst)[i] = int8_quantize(x, scale);
    break;
  }
}

/* What a kernel multiplies by when it reads x stored as dtype t. */
static float rounded(float x, wtype t, float scale) {
  switch (t) {
  case WT_BF16:
    return lg_bf16_to_f32(lg_f32_to_bf16(x));
  case WT_F16:
    return lg_f16_to_f32(lg_f32_to_f16(x));
  case WT_INT8:
    return (float)((double)int8_quantize(x, scale) * scale);
  default:
    return x;
  }
}

/* P.rounded(w [OC, ...], dtype) -> (tensor, max|w|): w as the kernels see it
 * stored in dtype (int8 scales per output channel = per slice along dim 0),
 * and the largest magnitude (for the caller's range checks). */
static int p_rounded(lua_State *L) {
  lg_tensor *w = lg_tensor_check(L, 1);
  wtype t = check_wtype(L, 2);
  lg_tensor *r = lg_tensor_push(L, w->ndim, w->shape);
  int64_t oc = w->ndim ? w->shape[0] : 1, per = oc ? w->numel / oc : 0;
  float big = 0.0f;
  for (int64_t o = 0; o < oc; o++) {
    const float *src = w->data + o * per;
    float scale = t == WT_INT8 ? int8_scale(src, per) : 0.0f;
    for (int64_t i = 0; i < per; i++) {
      r->data[o * per + i] = rounded(src[i], t, scale);
      big = fmaxf(big, fabsf(src[i]));
    }
  }
  lua_pushnumber(L, big);
  return 2;
}

/* P.gemm(w [OC, IC/g, KH, KW] or [OC, IC], bias|nil, groups, NR, bytes, dtype, KC, pairs) -> packed
 * (kernels/gemm.lua): per group, per panel of NR output channels,
 *   float bias[NR]; int8 only: float scale[NR]; then the weights of K = taps x IC/g,
 *   split in runs of KC (a tap's channels, or all of K at once):
 *     dtype b[K/KC][KC][NR]                          (multiply-adds in fp32)
 *     bf16 b[K/KC][ceil(KC/2)][NR][2]  when pairs    (bf16 dot products: K pairs side by side)
 * zero past the group's last output channel and past an odd KC. */
static int p_gemm(lua_State *L) {
  lg_tensor *w = lg_tensor_check(L, 1);
  lg_tensor *b = lua_isnil(L, 2) ? NULL : lg_tensor_check(L, 2);
  int64_t groups = luaL_checkinteger(L, 3), nr = luaL_checkinteger(L, 4);
  wtype t = check_wtype(L, 6);
  int64_t kc = luaL_checkinteger(L, 7);
  int pairs = lua_toboolean(L, 8);
  int64_t oc = w->shape[0], cin = w->ndim >= 2 ? w->shape[1] : 1;
  int64_t taps = w->ndim == 4 ? w->shape[2] * w->shape[3] : 1, k = taps * cin;
  if (groups < 1 || nr < 1 || oc % groups || kc < 1 || k % kc || (pairs && t != WT_BF16))
    luaL_error(
        L,
        "pack gemm: %I outputs, %I groups, panel %I, K %I in runs of %I",
        (lua_Integer)oc,
        (lua_Integer)groups,
        (lua_Integer)nr,
        (lua_Integer)k,
        (lua_Integer)kc);
  int64_t cout = oc / groups, panels = (cout + nr - 1) / nr;
  int64_t head = nr * 4 * (t == WT_INT8 ? 2 : 1), run = pairs ? (kc + 1) / 2 * 2 : kc;
  int64_t panel_bytes = head + k / kc * run * nr * WT_BYTES[t];
  unsigned char *p = push_packed(L, groups * panels * panel_bytes, luaL_checkinteger(L, 5), "gemm");
  for (int64_t g = 0; g < groups; g++)
    for (int64_t pn = 0; pn < panels; pn++) {
      unsigned char *dst = p + (g * panels + pn) * panel_bytes;
      for (int64_t j = 0; j < nr && pn * nr + j < cout; j++) {
        int64_t og = g * cout + pn * nr + j;
        const float *wo = w->data + og * k;
        float scale = t == WT_INT8 ? int8_scale(wo, k) : 0.0f;
        put(dst, j, WT_F32, b ? b->data[og] : 0.0f, 0);
        if (t == WT_INT8)
          put(dst, nr + j, WT_F32, scale, 0);
        for (int64_t tap = 0; tap < taps; tap++)
          for (int64_t c = 0; c < cin; c++) {
            int64_t kk = tap * cin + c, r = kk / kc, i = kk % kc; /* run r, its i-th element */
            int64_t at = pairs ? ((r * run / 2 + i / 2) * nr + j) * 2 + i % 2 : (r * kc + i) * nr + j;
            put(dst + head, at, t, wo[c * taps + tap], scale);
          }
      }
    }
  return 1;
}

/* P.dwconv(w [C, 1, KH, KW], bias|nil, bytes, dtype) -> packed (kernels/dwconv.lua):
 *   float bias[C]; int8 only: float scale[C]; dtype w[KH*KW][C]; zeros to a whole float
 * (channels innermost: a pixel's taps vectorize over C) */
static int p_dwconv(lua_State *L) {
  lg_tensor *w = lg_tensor_check(L, 1);
  lg_tensor *b = lua_isnil(L, 2) ? NULL : lg_tensor_check(L, 2);
  wtype t = check_wtype(L, 4);
  if (w->ndim != 4 || w->shape[1] != 1)
    luaL_error(L, "pack depthwise: expected [C,1,KH,KW]");
  int64_t C = w->shape[0], taps = w->shape[2] * w->shape[3], head = C * 4 * (t == WT_INT8 ? 2 : 1);
  unsigned char *p = push_packed(L, (head + taps * C * WT_BYTES[t] + 3) / 4 * 4, luaL_checkinteger(L, 3), "dwconv");
  for (int64_t c = 0; c < C; c++) {
    float scale = t == WT_INT8 ? int8_scale(w->data + c * taps, taps) : 0.0f;
    put(p, c, WT_F32, b ? b->data[c] : 0.0f, 0);
    if (t == WT_INT8)
      put(p, C + c, WT_F32, scale, 0);
    for (int64_t tap = 0; tap < taps; tap++)
      put(p + head, tap * C + c, t, w->data[c * taps + tap], scale);
  }
  return 1;
}

/* Winograd F(4x4, 3x3) with points 0, +-1, +-2, inf (Lavin & Gray): Y = A^T [(G g G^T) . (B^T d B)] A */
static const double WINO_G[6][3] = {
    {1.0 / 4, 0, 0},
    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6},
    {1.0 / 24, -1.0 / 12, 1.0 / 6},
    {0, 0, 1}};
static const float WINO_BT[6][6] = {
    {4, 0, -5, 0, 1, 0},
    {0, -4, -4, 1, 1, 0},
    {0, 4, -4, -1, 1, 0},
    {0, -2, -1, 2, 1, 0},
    {0, 2, -1, -2, 1, 0},
    {0, 4, 0, -5, 0, 1}};
static const float WINO_AT[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};

/* U = G g G^T of one 3x3 kernel, in double, rounded once */
static void wino_kernel(const float *g, float u[6][6]) {
  double t[6][3];
  for (int i = 0; i < 6; i++)
    for (int k = 0; k < 3; k++)
      t[i][k] = WINO_G[i][0] * g[k] + WINO_G[i][1] * g[3 + k] + WINO_G[i][2] * g[6 + k];
  for (int i = 0; i < 6; i++)
    for (int k = 0; k < 6; k++)
      u[i][k] = (float)(t[i][0] * WINO_G[k][0] + t[i][1] * WINO_G[k][1] + t[i][2] * WINO_G[k][2]);
}

/* P.winograd_f4x3(w [OC, IC, 3, 3], bias|nil, NR, bytes) -> packed (kernels/winograd.lua):
 * per panel of NR output channels, float bias[NR]; float U[36][IC][NR] (f32 only). */
static int p_winograd_f4x3(lua_State *L) {
  lg_tensor *w = lg_tensor_check(L, 1);
  lg_tensor *b = lua_isnil(L, 2) ? NULL : lg_tensor_check(L, 2);
  int64_t nr = luaL_checkinteger(L, 3);
  if (w->ndim != 4 || w->shape[2] != 3 || w->shape[3] != 3 || nr < 1)
    luaL_error(L, "pack winograd: expected [OC,IC,3,3]");
  int64_t oc = w->shape[0], ic = w->shape[1], panels = (oc + nr - 1) / nr;
  int64_t panel_floats = nr + 36 * ic * nr;
  float *p = (float *)push_packed(L, panels * panel_floats * 4, luaL_checkinteger(L, 4), "winograd");
  for (int64_t o = 0; o < oc; o++) {
    float *dst = p + (o / nr) * panel_floats;
    int64_t j = o % nr;
    dst[j] = b ? b->data[o] : 0.0f;
    for (int64_t c = 0; c < ic; c++) {
      float u[6][6];
      wino_kernel(w->data + (o * ic + c) * 9, u);
      for (int i = 0; i < 6; i++)
        for (int k = 0; k < 6; k++)
          dst[nr + ((int64_t)(i * 6 + k) * ic + c) * nr + j] = u[i][k];
    }
  }
  return 1;
}

/* P.winograd_f4x3_error(w [OC, IC, 3, 3]) -> what F(4x4, 3x3) in float adds to this
 * layer: max |Y_winograd - Y_direct| / max |Y_direct| over 4 seeded N(0,1) input
 * patches and (up to) the first 32 output channels, the direct conv in double. */
static int p_winograd_f4x3_error(lua_State *L) {
  lg_tensor *w = lg_tensor_check(L, 1);
  if (w->ndim != 4 || w->shape[2] != 3 || w->shape[3] != 3)
    luaL_error(L, "winograd error: expected [OC,IC,3,3]");
  int64_t oc = w->shape[0] < 32 ? w->shape[0] : 32, ic = w->shape[1];
  float *d = malloc(sizeof(float) * 36 * (size_t)ic), *v = malloc(sizeof(float) * 36 * (size_t)ic);
  if (!d || !v)
    luaL_error(L, "out of memory");
  uint64_t state = 0x9e3779b97f4a7c15ull;
  double err = 0, mag = 0;
  for (int sample = 0; sample < 4; sample++) {
    for (int64_t i = 0; i < 36 * ic; i++) { /* Box-Muller from a xorshift stream */
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;
      double u1 = ((state >> 11) + 1.0) / 9007199254740993.0;
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;
      double u2 = (state >> 11) / 9007199254740992.0;
      d[i] = (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
    }
    for (int64_t c = 0; c < ic; c++) { /* V = B^T d B, in float as the kernel does */
      const float *dc = d + c * 36;
      float t[6][6];
      for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
          float s = 0;
          for (int k = 0; k < 6; k++)
            s += WINO_BT[i][k] * dc[k * 6 + j];
          t[i][j] = s;
        }
      for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
          float s = 0;
          for (int k = 0; k < 6; k++)
            s += t[i][k] * WINO_BT[j][k];
          v[c * 36 + i * 6 + j] = s;
        }
    }
    for (int64_t o = 0; o < oc; o++) {
      float m[36] = {0};
      for (int64_t c = 0; c < ic; c++) {
        float u[6][6];
        wino_kernel(w->data + (o * ic + c) * 9, u);
        for (int k = 0; k < 36; k++)
          m[k] += u[k / 6][k % 6] * v[c * 36 + k];
      }
      for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) {
          float s = 0;
          for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++)
              s += WINO_AT[y][i] * m[i * 6 + j] * WINO_AT[x][j];
          double direct = 0;
          for (int64_t c = 0; c < ic; c++)
            for (int kh = 0; kh < 3; kh++)
              for (int kw = 0; kw < 3; kw++)
                direct += (double)w->data[((o * ic + c) * 3 + kh) * 3 + kw] * d[c * 36 + (y + kh) * 6 + x + kw];
          err = fmax(err, fabs(s - direct));
          mag = fmax(mag, fabs(direct));
        }
    }
  }
  free(d);
  free(v);
  lua_pushnumber(L, mag > 0 ? err / mag : err);
  return 1;
}

/* P.grouped(w [OC, CG, KH, KW], bias|nil, VW, bytes, dtype) -> packed (kernels/grouped.lua):
 * per block of VW output channels, float bias[VW]; int8 only: float scale[VW];
 * dtype w[KH*KW][CG][VW]. */
static int p_grouped(lua_State *L) {
  lg_tensor *w = lg_tensor_check(L, 1);
  lg_tensor *b = lua_isnil(L, 2) ? NULL : lg_tensor_check(L, 2);
  int64_t vw = luaL_checkinteger(L, 3);
  wtype t = check_wtype(L, 5);
  if (w->ndim != 4 || vw < 1 || w->shape[0] % vw)
    luaL_error(L, "pack grouped: expected [OC,CG,KH,KW], OC %% %I == 0", (lua_Integer)vw);
  int64_t oc = w->shape[0], cg = w->shape[1], taps = w->shape[2] * w->shape[3];
  int64_t head = vw * 4 * (t == WT_INT8 ? 2 : 1), block = head + taps * cg * vw * WT_BYTES[t];
  unsigned char *p = push_packed(L, oc / vw * block, luaL_checkinteger(L, 4), "grouped");
  for (int64_t o = 0; o < oc; o++) {
    unsigned char *dst = p + (o / vw) * block;
    int64_t l = o % vw;
    float scale = t == WT_INT8 ? int8_scale(w->data + o * cg * taps, cg * taps) : 0.0f;
    put(dst, l, WT_F32, b ? b->data[o] : 0.0f, 0);
    if (t == WT_INT8)
      put(dst, vw + l, WT_F32, scale, 0);
    for (int64_t tap = 0; tap < taps; tap++)
      for (int64_t c = 0; c < cg; c++)
        put(dst + head, (tap * cg + c) * vw + l, t, w->data[(o * cg + c) * taps + tap], scale);
  }
  return 1;
}

/* The n-th (1-based) array of the table at idx, element i (0-based) as a number. */
static double list_at(lua_State *L, int idx, int n, int64_t i) {
  lua_rawgeti(L, idx, n);
  lua_rawgeti(L, -1, (lua_Integer)i + 1);
  double v = luaL_checknumber(L, -1);
  lua_pop(L, 2);
  return v;
}

/* P.qgemm(q [OC, CG, KH, KW] | [OC, C] (int8 values), zu_in, ints {bias, m, n, ...}, floats {sc, b} | {},
 *         groups, nr, kg, packed, bytes) -> packed (kernels/qgemm.lua): per group and panel of nr
 * output channels the int32 arrays (bias first, with zu_in * the channel's weight sum taken
 * off), the float arrays, then int8 w[taps][kgn][nr][kg] (packed: one tap of taps x CG) */
static int p_qgemm(lua_State *L) {
  lg_tensor *q = lg_tensor_check(L, 1);
  int32_t zu = (int32_t)luaL_checkinteger(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  luaL_checktype(L, 4, LUA_TTABLE);
  int64_t groups = luaL_checkinteger(L, 5), nr = luaL_checkinteger(L, 6), kg = luaL_checkinteger(L, 7);
  int packed = lua_toboolean(L, 8);
  int64_t OC = q->shape[0], CG = q->shape[1], taps = q->ndim == 4 ? q->shape[2] * q->shape[3] : 1;
  int64_t OG = OC / groups, panels = (OG + nr - 1) / nr;
  int64_t uk_taps = packed ? 1 : taps, kc = packed ? taps * CG : CG, kgn = (kc + kg - 1) / kg;
  int n_ints = (int)luaL_len(L, 3), n_floats = (int)luaL_len(L, 4);
  int64_t head = nr * 4 * (n_ints + n_floats), panel_bytes = head + uk_taps * kgn * kg * nr;
  unsigned char *p = push_packed(L, groups * panels * panel_bytes, luaL_checkinteger(L, 9), "qgemm");
  for (int64_t g = 0; g < groups; g++)
    for (int64_t pn = 0; pn < panels; pn++) {
      unsigned char *dst = p + (g * panels + pn) * panel_bytes;
      for (int64_t j = 0; j < nr; j++) {
        int64_t lane = pn * nr + j, o = g * OG + lane;
        if (lane >= OG)
          continue; /* zero past the last channel */
        for (int a = 1; a <= n_ints; a++) {
          int64_t v = (int64_t)list_at(L, 3, a, o);
          if (a == 1)
            for (int64_t k = 0; k < CG * taps; k++)
              v -= (int64_t)zu * (int64_t)q->data[o * CG * taps + k];
          int32_t v32 = (int32_t)v;
          memcpy(dst + ((a - 1) * nr + j) * 4, &v32, 4);
        }
        for (int a = 1; a <= n_floats; a++) {
          float f = (float)list_at(L, 4, a, o);
          memcpy(dst + ((n_ints + a - 1) * nr + j) * 4, &f, 4);
        }
        int8_t *wdst = (int8_t *)(dst + head);
        for (int64_t t = 0; t < taps; t++)
          for (int64_t c = 0; c < CG; c++) {
            int64_t k = packed ? t * CG + c : c, tt = packed ? 0 : t;
            wdst[((tt * kgn + k / kg) * nr + j) * kg + k % kg] = (int8_t)q->data[(o * CG + c) * taps + t];
          }
      }
    }
  return 1;
}

/* P.qgrouped(q [OC, CG, KH, KW] (int8 values), zu_in, ints {bias, m, n, ...}, qw, kg, bytes) -> packed
 * (kernels/qgrouped.lua): per block of qw output channels the int32 arrays (bias with
 * zu_in * the channel's weight sum taken off), then int8 w[taps][CG / kg][qw][kg] */
static int p_qgrouped(lua_State *L) {
  lg_tensor *q = lg_tensor_check(L, 1);
  int32_t zu = (int32_t)luaL_checkinteger(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  int64_t qw = luaL_checkinteger(L, 4), kg = luaL_checkinteger(L, 5);
  int64_t OC = q->shape[0], CG = q->shape[1], taps = q->shape[2] * q->shape[3];
  int n_ints = (int)luaL_len(L, 3);
  int64_t head = n_ints * qw * 4, block = head + taps * CG * qw, blocks = OC / qw;
  unsigned char *p = push_packed(L, blocks * block, luaL_checkinteger(L, 6), "qgrouped");
  for (int64_t b = 0; b < blocks; b++)
    for (int64_t l = 0; l < qw; l++) {
      int64_t o = b * qw + l;
      unsigned char *dst = p + b * block;
      for (int a = 1; a <= n_ints; a++) {
        int64_t v = (int64_t)list_at(L, 3, a, o);
        if (a == 1)
          for (int64_t k = 0; k < CG * taps; k++)
            v -= (int64_t)zu * (int64_t)q->data[o * CG * taps + k];
        int32_t v32 = (int32_t)v;
        memcpy(dst + ((a - 1) * qw + l) * 4, &v32, 4);
      }
      int8_t *wdst = (int8_t *)(dst + head);
      for (int64_t t = 0; t < taps; t++)
        for (int64_t c = 0; c < CG; c++)
          wdst[((t * (CG / kg) + c / kg) * qw + l) * kg + c % kg] = (int8_t)q->data[(o * CG + c) * taps + t];
    }
  return 1;
}

/* The i-th (0-based) number of the array at idx. */
static double array_at(lua_State *L, int idx, int64_t i) {
  lua_rawgeti(L, idx, (lua_Integer)i + 1);
  double v = luaL_checknumber(L, -1);
  lua_pop(L, 1);
  return v;
}

/* P.qdwconv(q [C, 1, KH, KW] (int8 values), bias {C}, m {C}, n {C}, g {C}|nil, beta {C}|nil, bytes)
 * -> packed (kernels/qdwconv.lua): int32 bias, m, n [C], int8 taps[KH*KW][C], then at the next
 * 4-byte boundary float g, beta [C] */
static int p_qdwconv(lua_State *L) {
  lg_tensor *q = lg_tensor_check(L, 1);
  for (int i = 2; i <= 4; i++)
    luaL_checktype(L, i, LUA_TTABLE);
  int norm = !lua_isnoneornil(L, 5);
  int64_t C = q->shape[0], taps = q->shape[2] * q->shape[3];
  int64_t at = (12 * C + taps * C + 3) / 4 * 4;
  unsigned char *p = push_packed(L, at + (norm ? 8 * C : 0), luaL_checkinteger(L, 7), "qdwconv");
  for (int64_t c = 0; c < C; c++) {
    for (int a = 0; a < 3; a++) {
      int32_t v = (int32_t)array_at(L, 2 + a, c);
      memcpy(p + (a * C + c) * 4, &v, 4);
    }
    for (int64_t t = 0; t < taps; t++)
      ((int8_t *)(p + 12 * C))[t * C + c] = (int8_t)q->data[c * taps + t];
    if (norm)
      for (int a = 0; a < 2; a++) {
        float f = (float)array_at(L, 5 + a, c);
        memcpy(p + at + (a * C + c) * 4, &f, 4);
      }
  }
  return 1;
}

/* P.int32s({x1, x2, ...}) -> the integers as int32; P.floats -> the numbers as float32 */
static int pack_numbers(lua_State *L, int as_int32) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int64_t n = (int64_t)luaL_len(L, 1);
  unsigned char *p = push_packed(L, 4 * n, 4 * n, as_int32 ? "int32s" : "floats");
  for (int64_t i = 0; i < n; i++) {
    double x = array_at(L, 1, i);
    if (as_int32) {
      int32_t v = (int32_t)x;
      memcpy(p + 4 * i, &v, 4);
    } else {
      float f = (float)x;
      memcpy(p + 4 * i, &f, 4);
    }
  }
  return 1;
}
static int p_int32s(lua_State *L) { return pack_numbers(L, 1); }
static int p_floats(lua_State *L) { return pack_numbers(L, 0); }

/* P.bytes({b1, b2, ...}) -> the bytes packed (0..255 each), zero-padded to whole floats */
static int p_bytes(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int64_t n = (int64_t)luaL_len(L, 1);
  unsigned char *p = push_packed(L, (n + 3) / 4 * 4, (n + 3) / 4 * 4, "bytes");
  for (int64_t i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    p[i] = (unsigned char)luaL_checkinteger(L, -1);
    lua_pop(L, 1);
  }
  return 1;
}

int luaopen_lg_pack(lua_State *L) {
  static const luaL_Reg funcs[] = {
      {"gemm", p_gemm},
      {"dwconv", p_dwconv},
      {"winograd_f4x3", p_winograd_f4x3},
      {"winograd_f4x3_error", p_winograd_f4x3_error},
      {"grouped", p_grouped},
      {"qgemm", p_qgemm},
      {"qdwconv", p_qdwconv},
      {"qgrouped", p_qgrouped},
      {"bytes", p_bytes},
      {"floats", p_floats},
      {"int32s", p_int32s},
      {"rounded", p_rounded},
      {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}
