/* lg.pack: weights into the layouts the kernels read.
 *
 * Each layout is owned by one kernel descriptor in generator/kernels/, which
 * documents it, computes its size and passes that size here; a packer that
 * would write a different number of floats is a bug and says so. */
#include "lua_tensor.h"

#include <lauxlib.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* The packed tensor of `floats` floats, after checking the layout's own size agrees. */
static lg_tensor *push_packed(lua_State *L, int64_t floats, int64_t expected, const char *layout) {
  if (floats != expected)
    luaL_error(L, "pack %s: layout has %I floats, the kernel descriptor planned %I", layout, (lua_Integer)floats,
               (lua_Integer)expected);
  return lg_tensor_push(L, 1, &floats);
}

/* P.gemm(w [OC, IC/g, KH, KW] or [OC, IC], bias|nil, groups, NR, floats) -> packed
 * (kernels/gemm.lua): per group, per panel of NR output channels,
 *   float bias[NR];  float b[KH*KW][IC/g][NR]
 * zero past the group's last output channel. */
static int p_gemm(lua_State *L) {
  lg_tensor *w = lg_tensor_check(L, 1);
  lg_tensor *b = lua_isnil(L, 2) ? NULL : lg_tensor_check(L, 2);
  int64_t groups = luaL_checkinteger(L, 3), nr = luaL_checkinteger(L, 4);
  int64_t oc = w->shape[0], cin = w->ndim >= 2 ? w->shape[1] : 1;
  int64_t taps = w->ndim == 4 ? w->shape[2] * w->shape[3] : 1;
  if (groups < 1 || nr < 1 || oc % groups)
    luaL_error(L, "pack gemm: %I outputs, %I groups, panel %I", (lua_Integer)oc, (lua_Integer)groups, (lua_Integer)nr);
  int64_t cout = oc / groups, panels = (cout + nr - 1) / nr;
  int64_t panel_floats = nr + taps * cin * nr;
  lg_tensor *p = push_packed(L, groups * panels * panel_floats, luaL_checkinteger(L, 5), "gemm");
  for (int64_t g = 0; g < groups; g++)
    for (int64_t pn = 0; pn < panels; pn++) {
      float *dst = p->data + (g * panels + pn) * panel_floats;
      for (int64_t j = 0; j < nr && pn * nr + j < cout; j++) {
        int64_t og = g * cout + pn * nr + j;
        dst[j] = b ? b->data[og] : 0.0f;
        for (int64_t t = 0; t < taps; t++)
          for (int64_t c = 0; c < cin; c++) dst[nr + (t * cin + c) * nr + j] = w->data[(og * cin + c) * taps + t];
      }
    }
  return 1;
}

/* P.depthwise(w [C, 1, KH, KW], bias|nil, floats) -> packed (kernels/dwconv.lua):
 *   float bias[C]; float w[KH*KW][C]   (channels innermost: a pixel's taps vectorize over C) */
static int p_depthwise(lua_State *L) {
  lg_tensor *w = lg_tensor_check(L, 1);
  lg_tensor *b = lua_isnil(L, 2) ? NULL : lg_tensor_check(L, 2);
  if (w->ndim != 4 || w->shape[1] != 1) luaL_error(L, "pack depthwise: expected [C,1,KH,KW]");
  int64_t C = w->shape[0], taps = w->shape[2] * w->shape[3];
  lg_tensor *p = push_packed(L, C + taps * C, luaL_checkinteger(L, 3), "depthwise");
  for (int64_t c = 0; c < C; c++) {
    p->data[c] = b ? b->data[c] : 0.0f;
    for (int64_t t = 0; t < taps; t++) p->data[C + t * C + c] = w->data[c * taps + t];
  }
  return 1;
}

/* Winograd F(4x4, 3x3) with points 0, +-1, +-2, inf (Lavin & Gray): Y = A^T [(G g G^T) . (B^T d B)] A */
static const double WINO_G[6][3] = {{1.0 / 4, 0, 0},          {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                    {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6},  {0, 0, 1}};
static const float WINO_BT[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                    {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
static const float WINO_AT[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};

/* U = G g G^T of one 3x3 kernel, in double, rounded once */
static void wino_kernel(const float *g, float u[6][6]) {
  double t[6][3];
  for (int i = 0; i < 6; i++)
    for (int k = 0; k < 3; k++) t[i][k] = WINO_G[i][0] * g[k] + WINO_G[i][1] * g[3 + k] + WINO_G[i][2] * g[6 + k];
  for (int i = 0; i < 6; i++)
    for (int k = 0; k < 6; k++) u[i][k] = (float)(t[i][0] * WINO_G[k][0] + t[i][1] * WINO_G[k][1] + t[i][2] * WINO_G[k][2]);
}

/* P.winograd_f4x3(w [OC, IC, 3, 3], bias|nil, NR, floats) -> packed (kernels/winograd.lua):
 * per panel of NR output channels, float bias[NR]; float U[36][IC][NR]. */
static int p_winograd_f4x3(lua_State *L) {
  lg_tensor *w = lg_tensor_check(L, 1);
  lg_tensor *b = lua_isnil(L, 2) ? NULL : lg_tensor_check(L, 2);
  int64_t nr = luaL_checkinteger(L, 3);
  if (w->ndim != 4 || w->shape[2] != 3 || w->shape[3] != 3 || nr < 1) luaL_error(L, "pack winograd: expected [OC,IC,3,3]");
  int64_t oc = w->shape[0], ic = w->shape[1], panels = (oc + nr - 1) / nr;
  int64_t panel_floats = nr + 36 * ic * nr;
  lg_tensor *p = push_packed(L, panels * panel_floats, luaL_checkinteger(L, 4), "winograd");
  for (int64_t o = 0; o < oc; o++) {
    float *dst = p->data + (o / nr) * panel_floats;
    int64_t j = o % nr;
    dst[j] = b ? b->data[o] : 0.0f;
    for (int64_t c = 0; c < ic; c++) {
      float u[6][6];
      wino_kernel(w->data + (o * ic + c) * 9, u);
      for (int i = 0; i < 6; i++)
        for (int k = 0; k < 6; k++) dst[nr + ((int64_t)(i * 6 + k) * ic + c) * nr + j] = u[i][k];
    }
  }
  return 1;
}

/* P.winograd_f4x3_error(w [OC, IC, 3, 3]) -> what F(4x4, 3x3) in float adds to this
 * layer: max |Y_winograd - Y_direct| / max |Y_direct| over 4 seeded N(0,1) input
 * patches and (up to) the first 32 output channels, the direct conv in double. */
static int p_winograd_f4x3_error(lua_State *L) {
  lg_tensor *w = lg_tensor_check(L, 1);
  if (w->ndim != 4 || w->shape[2] != 3 || w->shape[3] != 3) luaL_error(L, "winograd error: expected [OC,IC,3,3]");
  int64_t oc = w->shape[0] < 32 ? w->shape[0] : 32, ic = w->shape[1];
  float *d = malloc(sizeof(float) * 36 * (size_t)ic), *v = malloc(sizeof(float) * 36 * (size_t)ic);
  if (!d || !v) luaL_error(L, "out of memory");
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
          for (int k = 0; k < 6; k++) s += WINO_BT[i][k] * dc[k * 6 + j];
          t[i][j] = s;
        }
      for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
          float s = 0;
          for (int k = 0; k < 6; k++) s += t[i][k] * WINO_BT[j][k];
          v[c * 36 + i * 6 + j] = s;
        }
    }
    for (int64_t o = 0; o < oc; o++) {
      float m[36] = {0};
      for (int64_t c = 0; c < ic; c++) {
        float u[6][6];
        wino_kernel(w->data + (o * ic + c) * 9, u);
        for (int k = 0; k < 36; k++) m[k] += u[k / 6][k % 6] * v[c * 36 + k];
      }
      for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) {
          float s = 0;
          for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++) s += WINO_AT[y][i] * m[i * 6 + j] * WINO_AT[x][j];
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

/* P.grouped(w [OC, CG, KH, KW], bias|nil, VW, floats) -> packed (kernels/grouped.lua):
 * per block of VW output channels, float bias[VW]; float w[KH*KW][CG][VW]. */
static int p_grouped(lua_State *L) {
  lg_tensor *w = lg_tensor_check(L, 1);
  lg_tensor *b = lua_isnil(L, 2) ? NULL : lg_tensor_check(L, 2);
  int64_t vw = luaL_checkinteger(L, 3);
  if (w->ndim != 4 || vw < 1 || w->shape[0] % vw) luaL_error(L, "pack grouped: expected [OC,CG,KH,KW], OC %% %I == 0", (lua_Integer)vw);
  int64_t oc = w->shape[0], cg = w->shape[1], taps = w->shape[2] * w->shape[3];
  int64_t block = vw + taps * cg * vw;
  lg_tensor *p = push_packed(L, oc / vw * block, luaL_checkinteger(L, 4), "grouped");
  for (int64_t o = 0; o < oc; o++) {
    float *dst = p->data + (o / vw) * block;
    int64_t l = o % vw;
    dst[l] = b ? b->data[o] : 0.0f;
    for (int64_t t = 0; t < taps; t++)
      for (int64_t c = 0; c < cg; c++) dst[vw + (t * cg + c) * vw + l] = w->data[(o * cg + c) * taps + t];
  }
  return 1;
}

int luaopen_lg_pack(lua_State *L) {
  static const luaL_Reg funcs[] = {
      {"gemm", p_gemm}, {"depthwise", p_depthwise}, {"winograd_f4x3", p_winograd_f4x3},
      {"winograd_f4x3_error", p_winograd_f4x3_error}, {"grouped", p_grouped},
      {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}
