/* lg.qref: the scalar reference of the int8 scheme (docs/int8.md).
 *
 * Every int8 kernel of every target is tested against these functions bit for
 * bit, and the golden output of an int8 model is theirs. They are written for
 * obviousness: NCHW, one plain loop per formula of docs/int8.md, the integer
 * arithmetic of templates/int8_scheme.c.in (included below, so the reference
 * and the generated code share one definition of requantization and
 * rounding). Activations are lg.Tensor floats holding the uint8 values (exact);
 * integer weights likewise; per-channel integers (biases, multipliers, shifts)
 * and float constants come as Lua arrays, computed once by generator/quantize.lua
 * for the reference and the packers alike. */
#include "lua_host.h"
#include "lua_tensor.h"

#include <lauxlib.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "int8_scheme.c.in"

/* --- arguments ------------------------------------------------------------ */

/* Field `key` of the table at idx as an array of n int32 (NULL when absent).
 * The array is a userdata left on the stack: it lives until the call returns. */
static int32_t *int_array(lua_State *L, int idx, const char *key, int64_t n) {
  luaL_checkstack(L, 4, "qref");
  if (lua_getfield(L, idx, key) == LUA_TNIL) {
    lua_pop(L, 1);
    return NULL;
  }
  luaL_checktype(L, -1, LUA_TTABLE);
  if ((int64_t)luaL_len(L, -1) != n)
    luaL_error(L, "qref: %s has %I entries, expected %I", key, (lua_Integer)luaL_len(L, -1), (lua_Integer)n);
  int32_t *a = lua_newuserdatauv(L, sizeof(int32_t) * (size_t)(n ? n : 1), 0); /* freed with the call */
  lua_insert(L, -2);
  for (int64_t i = 0; i < n; i++) {
    lua_rawgeti(L, -1, i + 1);
    a[i] = (int32_t)luaL_checkinteger(L, -1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return a;
}

static float *float_array(lua_State *L, int idx, const char *key, int64_t n) {
  luaL_checkstack(L, 4, "qref");
  if (lua_getfield(L, idx, key) == LUA_TNIL) {
    lua_pop(L, 1);
    return NULL;
  }
  luaL_checktype(L, -1, LUA_TTABLE);
  if ((int64_t)luaL_len(L, -1) != n)
    luaL_error(L, "qref: %s has %I entries, expected %I", key, (lua_Integer)luaL_len(L, -1), (lua_Integer)n);
  float *a = lua_newuserdatauv(L, sizeof(float) * (size_t)(n ? n : 1), 0);
  lua_insert(L, -2);
  for (int64_t i = 0; i < n; i++) {
    lua_rawgeti(L, -1, i + 1);
    a[i] = (float)luaL_checknumber(L, -1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return a;
}

static lua_Integer int_field(lua_State *L, int idx, const char *key) {
  lua_getfield(L, idx, key);
  int ok;
  lua_Integer v = lua_tointegerx(L, -1, &ok);
  if (!ok)
    luaL_error(L, "qref: field %s must be an integer", key);
  lua_pop(L, 1);
  return v;
}

static double num_field(lua_State *L, int idx, const char *key) {
  lua_getfield(L, idx, key);
  if (!lua_isnumber(L, -1))
    luaL_error(L, "qref: field %s must be a number", key);
  double v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  return v;
}

static int opt_int_field(lua_State *L, int idx, const char *key, int dflt) {
  lua_getfield(L, idx, key);
  int v = lua_isnil(L, -1) ? dflt : (int)luaL_checkinteger(L, -1);
  lua_pop(L, 1);
  return v;
}

/* The integer value of element i (u8 activations, int8 weights: exact in float). */
static int32_t ival(const lg_tensor *t, int64_t i) { return (int32_t)t->data[i]; }

/* --- scheme helpers -------------------------------------------------------- */

/* qref.multiplier(M) -> m, n: M = m * 2^-31 * 2^-n, m in [2^30, 2^31), n in
 * [1, 31]; M must be in (0, 0.5); below 2^-32: m = 0, n = 1. */
static int q_multiplier(lua_State *L) {
  double M = luaL_checknumber(L, 1);
  if (!(M >= 0.0 && M < 0.5))
    return luaL_error(L, "qref.multiplier: %f is not in [0, 0.5)", M);
  int e;
  double f = frexp(M, &e);
  int64_t m = (int64_t)llround(f * 2147483648.0);
  if (m == ((int64_t)1 << 31)) {
    m >>= 1;
    e += 1;
  }
  if (M == 0.0 || -e > 31) {
    m = 0;
    e = -1;
  }
  if (-e < 1)
    return luaL_error(L, "qref.multiplier: %f rounds to a shift of %d", M, -e);
  lua_pushinteger(L, (lua_Integer)m);
  lua_pushinteger(L, -e);
  return 2;
}

/* qref.f32(x) -> the float nearest x (as a Lua number) */
static int q_f32(lua_State *L) {
  lua_pushnumber(L, (double)(float)luaL_checknumber(L, 1));
  return 1;
}

/* qref.quantize_weights(w [OC, ...]) -> q (same shape, integers in [-127, 127]), scales {OC doubles}:
 * s = max|w| / 127 per output channel (1 for a channel of zeros), q = round(w / s), halves away from zero */
static int q_quantize_weights(lua_State *L) {
  lg_tensor *w = lg_tensor_check(L, 1);
  lg_tensor *q = lg_tensor_push(L, w->ndim, w->shape);
  int64_t oc = w->shape[0], per = oc ? w->numel / oc : 0;
  lua_createtable(L, (int)oc, 0);
  for (int64_t o = 0; o < oc; o++) {
    double m = 0.0;
    for (int64_t i = 0; i < per; i++)
      m = fmax(m, fabs((double)w->data[o * per + i]));
    double s = m > 0.0 ? m / 127.0 : 1.0;
    for (int64_t i = 0; i < per; i++) {
      double v = round((double)w->data[o * per + i] / s);
      q->data[o * per + i] = (float)(v > 127 ? 127 : v < -127 ? -127 : v);
    }
    lua_pushnumber(L, s);
    lua_rawseti(L, -2, o + 1);
  }
  return 2;
}

/* qref.gelu_table(s_g, zu_g, s_o, zu_o) -> {256}: table[t] = clamp(round(gelu(s_g (t - zu_g)) / s_o) + zu_o, 0, 255),
 * gelu with erf in double, halves away from zero (docs/int8.md) */
static int q_gelu_table(lua_State *L) {
  double sg = luaL_checknumber(L, 1), sg_zu = (double)luaL_checkinteger(L, 2);
  double so = luaL_checknumber(L, 3), zo = (double)luaL_checkinteger(L, 4);
  lua_createtable(L, 256, 0);
  for (int t = 0; t < 256; t++) {
    double x = sg * (t - sg_zu), y = 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    double q = round(y / so) + zo;
    lua_pushinteger(L, q < 0 ? 0 : q > 255 ? 255 : (lua_Integer)q);
    lua_rawseti(L, -2, t + 1);
  }
  return 1;
}

/* qref.quantize(x, inv_s, zu) -> u */
static int q_quantize(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1);
  float inv_s = (float)luaL_checknumber(L, 2);
  int32_t zu = (int32_t)luaL_checkinteger(L, 3);
  lg_tensor *u = lg_tensor_push(L, x->ndim, x->shape);
  for (int64_t i = 0; i < x->numel; i++)
    u->data[i] = (float)lg_q_quantize(x->data[i], inv_s, zu);
  return 1;
}

/* qref.dequantize(u, s, zu) -> x = (float)(u - zu) * s */
static int q_dequantize(lua_State *L) {
  lg_tensor *u = lg_tensor_check(L, 1);
  float s = (float)luaL_checknumber(L, 2);
  int32_t zu = (int32_t)luaL_checkinteger(L, 3);
  lg_tensor *x = lg_tensor_push(L, u->ndim, u->shape);
  for (int64_t i = 0; i < u->numel; i++)
    x->data[i] = (float)(ival(u, i) - zu) * s;
  return 1;
}

/* --- convolution ---------------------------------------------------------- */

/* qref.conv(u [N,C,H,W] or [N,C], q [OC,CG,KH,KW] or [OC,C], p) -> output.
 * p: stride, pad, groups, zu_in, bias {OC} (int32), and the epilogue `out`:
 *   {kind = "u8", m, n {OC}, zu, lo}             u = clamp(R(acc) + zu, lo, 255)
 *   {kind = "int16", m, n}                       v = clamp(R(acc), -32767, 32767)
 *   {kind = "gelu", m, n, zu_g, table {256}}     u = table[clamp(R(acc) + zu_g, 0, 255)]
 *   {kind = "float", sc {OC}, b {OC}}            y = fma((float)acc, sc, b), bias not in acc
 * and p.res = {u = shortcut tensor, zu, L, m, n {OC}}: acc += R((u_r - zu) << L, m, n) first. */
static int q_conv(lua_State *L) {
  lg_tensor *u = lg_tensor_check(L, 1), *q = lg_tensor_check(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  const int P = 3;
  int linear = u->ndim == 2;
  int64_t N = u->shape[0], C = u->shape[1], H = linear ? 1 : u->shape[2], W = linear ? 1 : u->shape[3];
  int64_t OC = q->shape[0], CG = q->shape[1], KH = q->ndim == 4 ? q->shape[2] : 1, KW = q->ndim == 4 ? q->shape[3] : 1;
  int s = opt_int_field(L, P, "stride", 1), pad = opt_int_field(L, P, "pad", 0), g = opt_int_field(L, P, "groups", 1);
  int32_t zu_in = (int32_t)int_field(L, P, "zu_in");
  if (CG * g != C || OC % g)
    return luaL_error(L, "qref.conv: weight does not fit %I channels in %d groups", (lua_Integer)C, g);
  int64_t OH = (H + 2 * pad - KH) / s + 1, OW = (W + 2 * pad - KW) / s + 1, OG = OC / g;
  int32_t *bias = int_array(L, P, "bias", OC);
  lua_getfield(L, P, "out");
  luaL_checktype(L, -1, LUA_TTABLE);
  const int O = lua_gettop(L);
  lua_getfield(L, O, "kind");
  const char *kind = luaL_checkstring(L, -1);
  lua_pop(L, 1);
  int k_u8 = strcmp(kind, "u8") == 0, k_i16 = strcmp(kind, "int16") == 0, k_gelu = strcmp(kind, "gelu") == 0;
  int k_float = strcmp(kind, "float") == 0;
  if (!(k_u8 || k_i16 || k_gelu || k_float))
    return luaL_error(L, "qref.conv: unknown epilogue %s", kind);
  int32_t *m = k_float ? NULL : int_array(L, O, "m", OC), *n = k_float ? NULL : int_array(L, O, "n", OC);
  int32_t zu = k_u8 ? (int32_t)int_field(L, O, "zu") : k_gelu ? (int32_t)int_field(L, O, "zu_g") : 0;
  int32_t lo = k_u8 ? (int32_t)int_field(L, O, "lo") : 0;
  int32_t *table = k_gelu ? int_array(L, O, "table", 256) : NULL;
  float *sc = k_float ? float_array(L, O, "sc", OC) : NULL, *fb = k_float ? float_array(L, O, "b", OC) : NULL;
  if ((!k_float && (!m || !n)) || (k_float && (!sc || !fb)))
    return luaL_error(L, "qref.conv: epilogue %s lacks its parameters", kind);
  lg_tensor *r = NULL;
  int32_t zr = 0, Lr = 0, *mr = NULL, *nr = NULL;
  if (lua_getfield(L, P, "res") != LUA_TNIL) {
    int R = lua_gettop(L);
    lua_getfield(L, R, "u");
    r = lg_tensor_check(L, -1);
    lua_pop(L, 1); /* the params table keeps it */
    zr = (int32_t)int_field(L, R, "zu");
    Lr = (int32_t)int_field(L, R, "L");
    mr = int_array(L, R, "m", OC);
    nr = int_array(L, R, "n", OC);
    if (r->numel != N * OC * OH * OW || !mr || !nr)
      return luaL_error(L, "qref.conv: the shortcut does not match the output");
  }

  int64_t shape4[4] = {N, OC, OH, OW}, shape2[2] = {N, OC};
  lg_tensor *y = linear ? lg_tensor_push(L, 2, shape2) : lg_tensor_push(L, 4, shape4);
  /* d = u - zu_in once, as int16; then each output row's sums in int32, a tap at a time
   * over the columns it reaches (the sums are exact: their order does not matter) */
  int16_t *d = malloc(sizeof(int16_t) * (size_t)(u->numel ? u->numel : 1));
  if (!d)
    return luaL_error(L, "qref.conv: out of memory");
  for (int64_t i = 0; i < u->numel; i++)
    d[i] = (int16_t)(ival(u, i) - zu_in);
  int failed = 0;
#pragma omp parallel for collapse(2) schedule(dynamic)
  for (int64_t nn = 0; nn < N; nn++)
    for (int64_t o = 0; o < OC; o++) {
      int32_t *acc = malloc(sizeof(int32_t) * (size_t)OW);
      if (!acc) {
        failed = 1;
        continue;
      }
      const int64_t gi = o / OG;
      for (int64_t oh = 0; oh < OH; oh++) {
        for (int64_t ow = 0; ow < OW; ow++)
          acc[ow] = k_float ? 0 : bias[o];
        for (int64_t c = 0; c < CG; c++)
          for (int64_t kh = 0; kh < KH; kh++) {
            const int64_t ih = oh * s - pad + kh;
            if (ih < 0 || ih >= H)
              continue;
            const int16_t *row = d + ((nn * C + gi * CG + c) * H + ih) * W;
            for (int64_t kw = 0; kw < KW; kw++) {
              /* the output columns whose input column ow*s - pad + kw is inside the row */
              const int64_t first = pad - kw, last = W - 1 + pad - kw;
              const int64_t ow0 = first > 0 ? (first + s - 1) / s : 0;
              const int64_t ow1 = last < 0 ? 0 : (last / s + 1 < OW ? last / s + 1 : OW);
              const int32_t wv = ival(q, ((o * CG + c) * KH + kh) * KW + kw);
              for (int64_t ow = ow0; ow < ow1; ow++)
                acc[ow] += row[ow * s - pad + kw] * wv;
            }
          }
        for (int64_t ow = 0; ow < OW; ow++) {
          const int64_t at = ((nn * OC + o) * OH + oh) * OW + ow;
          int32_t a = acc[ow];
          if (r)
            a += lg_q_requant((ival(r, at) - zr) * (1 << Lr), mr[o], nr[o]);
          float out;
          if (k_float)
            out = fmaf((float)a, sc[o], fb[o]);
          else if (k_i16)
            out = (float)lg_q_clamp(lg_q_requant(a, m[o], n[o]), -32767, 32767);
          else if (k_gelu)
            out = (float)table[lg_q_clamp(lg_q_requant(a, m[o], n[o]) + zu, 0, 255)];
          else
            out = (float)lg_q_clamp(lg_q_requant(a, m[o], n[o]) + zu, lo, 255);
          y->data[at] = out;
        }
      }
      free(acc);
    }
  free(d);
  if (failed)
    return luaL_error(L, "qref.conv: out of memory");
  return 1;
}

/* --- norms ---------------------------------------------------------------- */

/* The affine tail every norm shares: y = fma((float)a, k * g, beta), rne, clamp. */
static float norm_out(int64_t a, float k, float g, float beta, int32_t lo) {
  float y = fmaf((float)a, k * g, beta);
  return (float)lg_q_clamp((int32_t)lg_q_rne(lg_q_fclamp(y)), lo, 255);
}

/* Norm parameters: Q = C^2 / s^2 and P = s / (C s_o) as floats, eps, g, beta = b / s_o + zu_o, lo. */
typedef struct {
  float Q, P, eps;
  float *g, *beta;
  int32_t lo;
} norm_params;

static norm_params read_norm(lua_State *L, int idx, int64_t C) {
  norm_params p = {
      (float)num_field(L, idx, "Q"),
      (float)num_field(L, idx, "P"),
      (float)num_field(L, idx, "eps"),
      float_array(L, idx, "g", C),
      float_array(L, idx, "beta", C),
      (int32_t)int_field(L, idx, "lo")};
  if (!p.g || !p.beta)
    luaL_error(L, "qref: a norm needs g and beta");
  return p;
}

/* k = P / sqrtf(var + eps), var = (float)(cnt * S2 - S1^2) / Q */
static float norm_k(const norm_params *p, int64_t cnt, int64_t S1, int64_t S2) {
  float var = (float)(cnt * S2 - S1 * S1) / p->Q;
  return p->P / sqrtf(var + p->eps);
}

/* qref.layernorm(x [N,C,H,W] or [N,C], zu_in, p {Q, P, eps, g, beta, lo}) -> u:
 * over the channels of each pixel; x holds integers d + zu_in (u8, or int16 with zu_in 0) */
static int q_layernorm(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1);
  int32_t zu = (int32_t)luaL_checkinteger(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  int64_t N = x->shape[0], C = x->shape[1], HW = x->ndim == 4 ? x->shape[2] * x->shape[3] : 1;
  norm_params p = read_norm(L, 3, C);
  lg_tensor *y = lg_tensor_push(L, x->ndim, x->shape);
  for (int64_t nn = 0; nn < N; nn++)
    for (int64_t i = 0; i < HW; i++) {
      const int64_t base = nn * C * HW + i;
      int64_t S1 = 0, S2 = 0;
      for (int64_t c = 0; c < C; c++) {
        int64_t d = ival(x, base + c * HW) - zu;
        S1 += d, S2 += d * d;
      }
      float k = norm_k(&p, C, S1, S2);
      for (int64_t c = 0; c < C; c++) {
        int64_t d = ival(x, base + c * HW) - zu;
        y->data[base + c * HW] = norm_out(C * d - S1, k, p.g[c], p.beta[c], p.lo);
      }
    }
  return 1;
}

/* qref.groupnorm(x [N,C,H,W], zu_in, groups, p {Q, P, eps, g, beta, lo}) -> u (Q and P with cnt = HW * C/G) */
static int q_groupnorm(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1);
  int32_t zu = (int32_t)luaL_checkinteger(L, 2);
  int64_t G = luaL_checkinteger(L, 3);
  luaL_checktype(L, 4, LUA_TTABLE);
  int64_t N = x->shape[0], C = x->shape[1], HW = x->shape[2] * x->shape[3], CG = C / G;
  norm_params p = read_norm(L, 4, C);
  lg_tensor *y = lg_tensor_push(L, x->ndim, x->shape);
  for (int64_t nn = 0; nn < N; nn++)
    for (int64_t gi = 0; gi < G; gi++) {
      const int64_t base = (nn * C + gi * CG) * HW;
      int64_t S1 = 0, S2 = 0;
      for (int64_t i = 0; i < CG * HW; i++) {
        int64_t d = ival(x, base + i) - zu;
        S1 += d, S2 += d * d;
      }
      float k = norm_k(&p, CG * HW, S1, S2);
      for (int64_t i = 0; i < CG * HW; i++) {
        int64_t c = gi * CG + i / HW, d = ival(x, base + i) - zu;
        y->data[base + i] = norm_out(CG * HW * d - S1, k, p.g[c], p.beta[c], p.lo);
      }
    }
  return 1;
}

/* qref.grn(x [N,C,H,W], zu_in, p {s, eps, gamma, Ps = s / s_o, beta}) -> u */
static int q_grn(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1);
  int32_t zu = (int32_t)luaL_checkinteger(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  int64_t N = x->shape[0], C = x->shape[1], HW = x->shape[2] * x->shape[3];
  float s = (float)num_field(L, 3, "s"), eps = (float)num_field(L, 3, "eps"), Ps = (float)num_field(L, 3, "Ps");
  float *gamma = float_array(L, 3, "gamma", C), *beta = float_array(L, 3, "beta", C);
  if (!gamma || !beta)
    return luaL_error(L, "qref.grn needs gamma and beta");
  float *G = lua_newuserdatauv(L, sizeof(float) * (size_t)C, 0);
  lg_tensor *y = lg_tensor_push(L, x->ndim, x->shape);
  for (int64_t nn = 0; nn < N; nn++) {
    float Gs = 0.0f;
    for (int64_t c = 0; c < C; c++) {
      int64_t S2 = 0;
      for (int64_t i = 0; i < HW; i++) {
        int64_t d = ival(x, (nn * C + c) * HW + i) - zu;
        S2 += d * d;
      }
      G[c] = sqrtf((float)S2);
      Gs += G[c];
    }
    float den = fmaf(Gs / (float)C, s, eps);
    for (int64_t c = 0; c < C; c++) {
      float f = fmaf(gamma[c], (G[c] * s) / den, 1.0f);
      float mc = f * Ps;
      for (int64_t i = 0; i < HW; i++) {
        int64_t at = (nn * C + c) * HW + i;
        float v = fmaf((float)(ival(x, at) - zu), mc, beta[c]);
        y->data[at] = (float)lg_q_clamp((int32_t)lg_q_rne(lg_q_fclamp(v)), 0, 255);
      }
    }
  }
  return 1;
}

/* --- element-wise and pools ----------------------------------------------- */

/* qref.lut(u, table {256}) -> table[u] */
static int q_lut(lua_State *L) {
  lg_tensor *u = lg_tensor_check(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_createtable(L, 0, 1);
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "t");
  int32_t *t = int_array(L, lua_gettop(L), "t", 256);
  lg_tensor *y = lg_tensor_push(L, u->ndim, u->shape);
  for (int64_t i = 0; i < u->numel; i++)
    y->data[i] = (float)t[ival(u, i)];
  return 1;
}

/* qref.add(ua, ub, p {za, zb, ma, na, mb, nb, mo, no, zu, lo}) -> u */
static int q_add(lua_State *L) {
  lg_tensor *a = lg_tensor_check(L, 1), *b = lg_tensor_check(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  if (a->numel != b->numel)
    return luaL_error(L, "qref.add: sizes differ");
  int32_t za = (int32_t)int_field(L, 3, "za"), zb = (int32_t)int_field(L, 3, "zb");
  int32_t ma = (int32_t)int_field(L, 3, "ma"), na = (int32_t)int_field(L, 3, "na");
  int32_t mb = (int32_t)int_field(L, 3, "mb"), nb = (int32_t)int_field(L, 3, "nb");
  int32_t mo = (int32_t)int_field(L, 3, "mo"), no = (int32_t)int_field(L, 3, "no");
  int32_t zu = (int32_t)int_field(L, 3, "zu"), lo = (int32_t)int_field(L, 3, "lo");
  lg_tensor *y = lg_tensor_push(L, a->ndim, a->shape);
  for (int64_t i = 0; i < a->numel; i++) {
    int32_t t =
        lg_q_requant((ival(a, i) - za) * (1 << 20), ma, na) + lg_q_requant((ival(b, i) - zb) * (1 << 20), mb, nb);
    y->data[i] = (float)lg_q_clamp(lg_q_requant(t, mo, no) + zu, lo, 255);
  }
  return 1;
}

/* qref.maxpool(u, k, stride, pad, pad_u|nil): the max over the window; nil leaves
 * the padding out, pad_u pads with that value (BiT's constant 0 = its zero point) */
static int q_maxpool(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1);
  int k = (int)luaL_checkinteger(L, 2), s = (int)luaL_checkinteger(L, 3), p = (int)luaL_checkinteger(L, 4);
  int padded = !lua_isnoneornil(L, 5);
  int32_t padv = padded ? (int32_t)luaL_checkinteger(L, 5) : 0;
  int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  int64_t OH = (H + 2 * p - k) / s + 1, OW = (W + 2 * p - k) / s + 1;
  int64_t shape[4] = {N, C, OH, OW};
  lg_tensor *y = lg_tensor_push(L, 4, shape);
  for (int64_t nc = 0; nc < N * C; nc++)
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        int32_t m = -1;
        for (int kh = 0; kh < k; kh++)
          for (int kw = 0; kw < k; kw++) {
            int64_t ih = oh * s - p + kh, iw = ow * s - p + kw;
            int inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
            int32_t v = inside ? ival(x, (nc * H + ih) * W + iw) : padded ? padv : -1;
            m = v > m ? v : m;
          }
        y->data[(nc * OH + oh) * OW + ow] = (float)m;
      }
  return 1;
}

/* qref.avgpool(u, k, stride, ceil_mode): (sum + cnt/2) / cnt over the cnt values inside */
static int q_avgpool(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1);
  int k = (int)luaL_checkinteger(L, 2), s = (int)luaL_checkinteger(L, 3), ceil_mode = lua_toboolean(L, 4);
  int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  int64_t OH = lg_pool_out(H, k, s, ceil_mode), OW = lg_pool_out(W, k, s, ceil_mode);
  int64_t shape[4] = {N, C, OH, OW};
  lg_tensor *y = lg_tensor_push(L, 4, shape);
  for (int64_t nc = 0; nc < N * C; nc++)
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        int32_t sum = 0, cnt = 0;
        for (int kh = 0; kh < k; kh++)
          for (int kw = 0; kw < k; kw++) {
            int64_t ih = oh * s + kh, iw = ow * s + kw;
            if (ih < H && iw < W)
              sum += ival(x, (nc * H + ih) * W + iw), cnt++;
          }
        y->data[(nc * OH + oh) * OW + ow] = (float)((sum + cnt / 2) / cnt);
      }
  return 1;
}

/* qref.global_avgpool(u [N,C,H,W], zu, m, n, zu_o) -> u [N,C]: clamp(R(sum (u - zu)) + zu_o) */
static int q_global_avgpool(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1);
  int32_t zu = (int32_t)luaL_checkinteger(L, 2), m = (int32_t)luaL_checkinteger(L, 3);
  int n = (int)luaL_checkinteger(L, 4);
  int32_t zo = (int32_t)luaL_checkinteger(L, 5);
  int64_t N = x->shape[0], C = x->shape[1], HW = x->shape[2] * x->shape[3];
  int64_t shape[2] = {N, C};
  lg_tensor *y = lg_tensor_push(L, 2, shape);
  for (int64_t nc = 0; nc < N * C; nc++) {
    int32_t sum = 0;
    for (int64_t i = 0; i < HW; i++)
      sum += ival(x, nc * HW + i) - zu;
    y->data[nc] = (float)lg_q_clamp(lg_q_requant(sum, m, n) + zo, 0, 255);
  }
  return 1;
}

int luaopen_lg_qref(lua_State *L) {
  static const luaL_Reg funcs[] = {
      {"multiplier", q_multiplier},
      {"f32", q_f32},
      {"quantize_weights", q_quantize_weights},
      {"gelu_table", q_gelu_table},
      {"quantize", q_quantize},
      {"dequantize", q_dequantize},
      {"conv", q_conv},
      {"layernorm", q_layernorm},
      {"groupnorm", q_groupnorm},
      {"grn", q_grn},
      {"lut", q_lut},
      {"add", q_add},
      {"maxpool", q_maxpool},
      {"avgpool", q_avgpool},
      {"global_avgpool", q_global_avgpool},
      {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}
