/* lg.pack: weights into the layouts the kernels read.
 *
 * Each layout is owned by one kernel descriptor in generator/kernels/, which
 * documents it, computes its size and passes that size here; a packer that
 * would write a different number of floats is a bug and says so. */
#include "lua_tensor.h"

#include <lauxlib.h>

#include <stdint.h>

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

/* P.winograd_f4x3(w [OC, IC, 3, 3], bias|nil, NR, floats) -> packed (kernels/winograd.lua):
 * per panel of NR output channels, float bias[NR]; float U[36][IC][NR] with
 * U = G g G^T (6x6) of each 3x3 kernel g, in double, rounded once. */
static int p_winograd_f4x3(lua_State *L) {
  static const double G[6][3] = {{1.0 / 4, 0, 0},
                                 {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                 {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                 {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                 {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                 {0, 0, 1}};
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
      const float *g = w->data + (o * ic + c) * 9;
      double tmp[6][3]; /* G g */
      for (int i = 0; i < 6; i++)
        for (int k = 0; k < 3; k++) tmp[i][k] = G[i][0] * g[k] + G[i][1] * g[3 + k] + G[i][2] * g[6 + k];
      for (int i = 0; i < 6; i++)
        for (int k = 0; k < 6; k++)
          dst[nr + ((int64_t)(i * 6 + k) * ic + c) * nr + j] =
              (float)(tmp[i][0] * G[k][0] + tmp[i][1] * G[k][1] + tmp[i][2] * G[k][2]);
    }
  }
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
      {"gemm", p_gemm}, {"depthwise", p_depthwise}, {"winograd_f4x3", p_winograd_f4x3}, {"grouped", p_grouped},
      {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}
