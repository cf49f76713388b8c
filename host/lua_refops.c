/* lg.refops: naive reference kernels over NCHW tensors.
 *
 * The generator runs these on the graph *before* any pass (BatchNorm, layer
 * scale and weight standardization still separate) to compute the golden
 * output stored in the blob, so `EXE --selftest` checks folding, fusion,
 * packing and the kernels at once. Written for obviousness, not speed:
 * double accumulators, one OpenMP loop over the outermost dimensions. */
#include "lg_half.h"
#include "lua_tensor.h"

#include <lauxlib.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static lg_tensor *opt_tensor(lua_State *L, int idx) { return lua_isnoneornil(L, idx) ? NULL : lg_tensor_check(L, idx); }

static void check4(lua_State *L, const lg_tensor *x, const char *op) {
  if (x->ndim != 4)
    luaL_error(L, "%s: expected an NCHW tensor, got rank %d", op, x->ndim);
}

/* conv2d(x [N,C,H,W], w [OC,C/g,KH,KW], b|nil, stride, pad, groups)
 * Each output element is the textbook sum in doubles: the bias, then every
 * input channel c, tap kh, tap kw in that order (taps over the padding
 * skipped). For speed, OB output channels share each input value and a row
 * of their sums stays in L1 while the terms stream past; the order of the
 * terms, and so every bit of the result, is that of the plain loop. An AVX2
 * clone only widens the vectors (no FMA: the products stay rounded alone). */
enum { OB = 8 };
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void
conv2d_rows(
    const float *x,
    const float *w,
    const float *bias,
    float *y,
    int64_t nb,
    int64_t H,
    int64_t W,
    int64_t CG,
    int64_t KH,
    int64_t KW,
    int64_t s,
    int64_t p,
    int64_t OH,
    int64_t OW,
    double (*acc)[OW]) {
  for (int64_t oh = 0; oh < OH; oh++) {
    for (int64_t b = 0; b < OB; b++)
      for (int64_t ow = 0; ow < OW; ow++)
        acc[b][ow] = bias && b < nb ? bias[b] : 0.0;
    for (int64_t c = 0; c < CG; c++)
      for (int64_t kh = 0; kh < KH; kh++) {
        int64_t ih = oh * s - p + kh;
        if (ih < 0 || ih >= H)
          continue;
        for (int64_t kw = 0; kw < KW; kw++) {
          /* output columns whose input column ow*s - p + kw is inside the row */
          int64_t first = p - kw, last = W - 1 + p - kw;
          int64_t ow0 = first > 0 ? (first + s - 1) / s : 0, ow1 = last < 0 ? 0 : last / s + 1;
          if (ow1 > OW)
            ow1 = OW;
          const float *in = x + (c * H + ih) * W - p + kw;
          double wv[OB]; /* channels past nb multiply by 0 into sums never stored */
          for (int64_t b = 0; b < OB; b++)
            wv[b] = b < nb ? w[((b * CG + c) * KH + kh) * KW + kw] : 0.0;
          if (s == 1) {
            for (int64_t ow = ow0; ow < ow1; ow++) {
              double v = in[ow];
              for (int b = 0; b < OB; b++)
                acc[b][ow] += wv[b] * v;
            }
          } else {
            for (int64_t ow = ow0; ow < ow1; ow++) {
              double v = in[ow * s];
              for (int b = 0; b < OB; b++)
                acc[b][ow] += wv[b] * v;
            }
          }
        }
      }
    for (int64_t b = 0; b < nb; b++)
      for (int64_t ow = 0; ow < OW; ow++)
        y[(b * OH + oh) * OW + ow] = (float)acc[b][ow];
  }
}

static int r_conv2d(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1), *w = lg_tensor_check(L, 2), *b = opt_tensor(L, 3);
  int s = (int)luaL_checkinteger(L, 4), p = (int)luaL_checkinteger(L, 5), g = (int)luaL_checkinteger(L, 6);
  check4(L, x, "conv2d");
  int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  int64_t OC = w->shape[0], CG = w->shape[1], KH = w->shape[2], KW = w->shape[3];
  if (CG * g != C || OC % g)
    luaL_error(
        L,
        "conv2d: weight [%I,%I,..] does not fit %I input channels in %d groups",
        (lua_Integer)OC,
        (lua_Integer)CG,
        (lua_Integer)C,
        g);
  int64_t OH = (H + 2 * p - KH) / s + 1, OW = (W + 2 * p - KW) / s + 1, OG = OC / g;
  int64_t shape[4] = {N, OC, OH, OW};
  lg_tensor *y = lg_tensor_push(L, 4, shape);
  int64_t blocks = (OG + OB - 1) / OB; /* per group: a block never straddles two groups */
  int failed = 0;
#pragma omp parallel for collapse(3) schedule(dynamic)
  for (int64_t n = 0; n < N; n++)
    for (int64_t gi = 0; gi < g; gi++)
      for (int64_t blk = 0; blk < blocks; blk++) {
        double(*acc)[OW] = malloc(sizeof(double) * OB * (size_t)OW);
        if (!acc) {
          failed = 1;
          continue;
        }
        int64_t o = gi * OG + blk * OB, nb = OG - blk * OB < OB ? OG - blk * OB : OB;
        conv2d_rows(
            x->data + (n * C + gi * CG) * H * W,
            w->data + o * CG * KH * KW,
            b ? b->data + o : NULL,
            y->data + (n * OC + o) * OH * OW,
            nb,
            H,
            W,
            CG,
            KH,
            KW,
            s,
            p,
            OH,
            OW,
            acc);
        free(acc);
      }
  if (failed)
    luaL_error(L, "conv2d: out of memory");
  return 1;
}

/* batchnorm(x, gamma, beta, mean, var, eps): eval mode. */
static int r_batchnorm(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1), *g = lg_tensor_check(L, 2), *b = lg_tensor_check(L, 3);
  lg_tensor *m = lg_tensor_check(L, 4), *v = lg_tensor_check(L, 5);
  double eps = luaL_checknumber(L, 6);
  check4(L, x, "batchnorm");
  lg_tensor *y = lg_tensor_push(L, 4, x->shape);
  int64_t C = x->shape[1], HW = x->shape[2] * x->shape[3];
  for (int64_t i = 0; i < x->numel; i++) {
    int64_t c = (i / HW) % C;
    y->data[i] = (float)((x->data[i] - m->data[c]) / sqrt((double)v->data[c] + eps) * g->data[c] + b->data[c]);
  }
  return 1;
}

static int r_relu(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1);
  lg_tensor *y = lg_tensor_push(L, x->ndim, x->shape);
  for (int64_t i = 0; i < x->numel; i++)
    y->data[i] = x->data[i] > 0 ? x->data[i] : 0.0f;
  return 1;
}

/* Exact GELU: x * Phi(x) with the C library's erf. */
static int r_gelu(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1);
  lg_tensor *y = lg_tensor_push(L, x->ndim, x->shape);
  for (int64_t i = 0; i < x->numel; i++)
    y->data[i] = (float)(0.5 * x->data[i] * (1.0 + erf(x->data[i] / sqrt(2.0))));
  return 1;
}

static int r_add(lua_State *L) {
  lg_tensor *a = lg_tensor_check(L, 1), *b = lg_tensor_check(L, 2);
  if (a->numel != b->numel)
    luaL_error(L, "add: sizes differ");
  lg_tensor *y = lg_tensor_push(L, a->ndim, a->shape);
  for (int64_t i = 0; i < a->numel; i++)
    y->data[i] = a->data[i] + b->data[i];
  return 1;
}

/* maxpool(x, k, stride, pad, pad_value|nil): nil pads with -inf (PyTorch's
 * MaxPool2d padding); BiT pads explicitly with 0 before a pad-0 pool. */
static int r_maxpool(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1);
  int k = (int)luaL_checkinteger(L, 2), s = (int)luaL_checkinteger(L, 3), p = (int)luaL_checkinteger(L, 4);
  double padv = lua_isnoneornil(L, 5) ? -INFINITY : luaL_checknumber(L, 5);
  check4(L, x, "maxpool");
  int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  int64_t OH = (H + 2 * p - k) / s + 1, OW = (W + 2 * p - k) / s + 1;
  int64_t shape[4] = {N, C, OH, OW};
  lg_tensor *y = lg_tensor_push(L, 4, shape);
  for (int64_t nc = 0; nc < N * C; nc++)
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        double m = -INFINITY;
        for (int kh = 0; kh < k; kh++)
          for (int kw = 0; kw < k; kw++) {
            int64_t ih = oh * s - p + kh, iw = ow * s - p + kw;
            double v = (ih < 0 || ih >= H || iw < 0 || iw >= W) ? padv : x->data[(nc * H + ih) * W + iw];
            if (v > m)
              m = v;
          }
        y->data[(nc * OH + oh) * OW + ow] = (float)m;
      }
  return 1;
}

/* avgpool(x, k, stride, ceil_mode): padding 0, count_include_pad=False (the
 * ResNet-D shortcut); with ceil_mode the last window may hang over the edge
 * and averages only the pixels inside. */
static int r_avgpool(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1);
  int k = (int)luaL_checkinteger(L, 2), s = (int)luaL_checkinteger(L, 3), ceil_mode = lua_toboolean(L, 4);
  check4(L, x, "avgpool");
  int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  int64_t OH = lg_pool_out(H, k, s, ceil_mode), OW = lg_pool_out(W, k, s, ceil_mode);
  int64_t shape[4] = {N, C, OH, OW};
  lg_tensor *y = lg_tensor_push(L, 4, shape);
  for (int64_t nc = 0; nc < N * C; nc++)
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        double acc = 0;
        int cnt = 0;
        for (int kh = 0; kh < k; kh++)
          for (int kw = 0; kw < k; kw++) {
            int64_t ih = oh * s + kh, iw = ow * s + kw;
            if (ih >= H || iw >= W)
              continue;
            acc += x->data[(nc * H + ih) * W + iw];
            cnt++;
          }
        y->data[(nc * OH + oh) * OW + ow] = (float)(acc / cnt);
      }
  return 1;
}

/* global_avgpool(x [N,C,H,W]) -> [N,C] */
static int r_global_avgpool(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1);
  check4(L, x, "global_avgpool");
  int64_t shape[2] = {x->shape[0], x->shape[1]}, HW = x->shape[2] * x->shape[3];
  lg_tensor *y = lg_tensor_push(L, 2, shape);
  for (int64_t nc = 0; nc < shape[0] * shape[1]; nc++) {
    double acc = 0;
    for (int64_t i = 0; i < HW; i++)
      acc += x->data[nc * HW + i];
    y->data[nc] = (float)(acc / HW);
  }
  return 1;
}

/* linear(x [N,IN], w [OUT,IN] (or [OUT,IN,1,1]), b|nil) -> [N,OUT] */
static int r_linear(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1), *w = lg_tensor_check(L, 2), *b = opt_tensor(L, 3);
  int64_t N = x->shape[0], IN = x->numel / N, OUT = w->shape[0];
  if (w->numel != OUT * IN)
    luaL_error(L, "linear: weight does not match %I inputs", (lua_Integer)IN);
  int64_t shape[2] = {N, OUT};
  lg_tensor *y = lg_tensor_push(L, 2, shape);
#pragma omp parallel for collapse(2)
  for (int64_t n = 0; n < N; n++)
    for (int64_t o = 0; o < OUT; o++) {
      double acc = b ? b->data[o] : 0.0;
      for (int64_t i = 0; i < IN; i++)
        acc += (double)x->data[n * IN + i] * w->data[o * IN + i];
      y->data[n * OUT + o] = (float)acc;
    }
  return 1;
}

/* layernorm_channels(x [N,C,...], gamma, beta, eps): normalizes over C at
 * every position (ConvNeXt's LayerNorm2d and channels-last LayerNorm alike). */
static int r_layernorm_channels(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1), *g = lg_tensor_check(L, 2), *b = lg_tensor_check(L, 3);
  double eps = luaL_checknumber(L, 4);
  int64_t N = x->shape[0], C = x->shape[1], HW = x->numel / (N * C);
  lg_tensor *y = lg_tensor_push(L, x->ndim, x->shape);
  for (int64_t n = 0; n < N; n++)
    for (int64_t i = 0; i < HW; i++) {
      double mean = 0, var = 0;
      for (int64_t c = 0; c < C; c++)
        mean += x->data[(n * C + c) * HW + i];
      mean /= C;
      for (int64_t c = 0; c < C; c++) {
        double d = x->data[(n * C + c) * HW + i] - mean;
        var += d * d;
      }
      var /= C;
      double inv = 1.0 / sqrt(var + eps);
      for (int64_t c = 0; c < C; c++) {
        int64_t at = (n * C + c) * HW + i;
        y->data[at] = (float)((x->data[at] - mean) * inv * g->data[c] + b->data[c]);
      }
    }
  return 1;
}

/* grn(x [N,C,H,W], gamma, beta, eps): ConvNeXtV2 global response norm.
 * gx = ||x||_2 over H,W per channel; nx = gx / (mean_c gx + eps);
 * y = x + beta + gamma * x * nx. */
static int r_grn(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1), *g = lg_tensor_check(L, 2), *b = lg_tensor_check(L, 3);
  double eps = luaL_checknumber(L, 4);
  check4(L, x, "grn");
  int64_t N = x->shape[0], C = x->shape[1], HW = x->shape[2] * x->shape[3];
  lg_tensor *y = lg_tensor_push(L, 4, x->shape);
  for (int64_t n = 0; n < N; n++) {
    double gx_mean = 0;
    double gx[C > 0 ? C : 1];
    for (int64_t c = 0; c < C; c++) {
      double ss = 0;
      for (int64_t i = 0; i < HW; i++) {
        double v = x->data[(n * C + c) * HW + i];
        ss += v * v;
      }
      gx[c] = sqrt(ss);
      gx_mean += gx[c];
    }
    gx_mean /= C;
    for (int64_t c = 0; c < C; c++) {
      double nx = gx[c] / (gx_mean + eps);
      for (int64_t i = 0; i < HW; i++) {
        int64_t at = (n * C + c) * HW + i;
        y->data[at] = (float)(x->data[at] + b->data[c] + g->data[c] * x->data[at] * nx);
      }
    }
  }
  return 1;
}

/* groupnorm(x, groups, gamma, beta, eps) */
static int r_groupnorm(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1);
  int64_t G = luaL_checkinteger(L, 2);
  lg_tensor *g = lg_tensor_check(L, 3), *b = lg_tensor_check(L, 4);
  double eps = luaL_checknumber(L, 5);
  check4(L, x, "groupnorm");
  int64_t N = x->shape[0], C = x->shape[1], HW = x->shape[2] * x->shape[3], CG = C / G;
  if (C % G)
    luaL_error(L, "groupnorm: %I channels not divisible by %I groups", (lua_Integer)C, (lua_Integer)G);
  lg_tensor *y = lg_tensor_push(L, 4, x->shape);
#pragma omp parallel for collapse(2)
  for (int64_t n = 0; n < N; n++)
    for (int64_t gi = 0; gi < G; gi++) {
      const float *src = x->data + (n * C + gi * CG) * HW;
      double mean = 0, var = 0;
      for (int64_t i = 0; i < CG * HW; i++)
        mean += src[i];
      mean /= (double)(CG * HW);
      for (int64_t i = 0; i < CG * HW; i++)
        var += (src[i] - mean) * (src[i] - mean);
      var /= (double)(CG * HW);
      double inv = 1.0 / sqrt(var + eps);
      for (int64_t c = 0; c < CG; c++)
        for (int64_t i = 0; i < HW; i++) {
          int64_t ch = gi * CG + c;
          y->data[(n * C + ch) * HW + i] = (float)((src[c * HW + i] - mean) * inv * g->data[ch] + b->data[ch]);
        }
    }
  return 1;
}

/* scale_channels(x [N,C,...], s [C]): ConvNeXt layer scale. */
static int r_scale_channels(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1), *s = lg_tensor_check(L, 2);
  int64_t N = x->shape[0], C = x->shape[1], HW = x->numel / (N * C);
  lg_tensor *y = lg_tensor_push(L, x->ndim, x->shape);
  for (int64_t i = 0; i < x->numel; i++)
    y->data[i] = x->data[i] * s->data[(i / HW) % C];
  return 1;
}

/* pad(x, p, value): constant padding of H and W on both sides. */
static int r_pad(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1);
  int64_t p = luaL_checkinteger(L, 2);
  float v = (float)luaL_checknumber(L, 3);
  check4(L, x, "pad");
  int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  int64_t shape[4] = {N, C, H + 2 * p, W + 2 * p};
  lg_tensor *y = lg_tensor_push(L, 4, shape);
  for (int64_t i = 0; i < y->numel; i++)
    y->data[i] = v;
  for (int64_t nc = 0; nc < N * C; nc++)
    for (int64_t h = 0; h < H; h++)
      memcpy(y->data + (nc * shape[2] + h + p) * shape[3] + p, x->data + (nc * H + h) * W, (size_t)W * sizeof(float));
  return 1;
}

/* nhwc(x [N,C,H,W]) -> [N,H,W,C]: a reference output in the layout the kernels write. */
static int r_nhwc(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1);
  check4(L, x, "nhwc");
  int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  int64_t shape[4] = {N, H, W, C};
  lg_tensor *y = lg_tensor_push(L, 4, shape);
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t hw = 0; hw < H * W; hw++)
        y->data[(n * H * W + hw) * C + c] = x->data[(n * C + c) * H * W + hw];
  return 1;
}

/* round_bf16(x): x rounded to bfloat16 as --precision bf16 rounds a GEMM's input
 * (nearest even, denormals to zero: runtime/lg_half.h), back in float32. */
static int r_round_bf16(lua_State *L) {
  lg_tensor *x = lg_tensor_check(L, 1);
  lg_tensor *y = lg_tensor_push(L, x->ndim, x->shape);
  for (int64_t i = 0; i < x->numel; i++)
    y->data[i] = lg_bf16_to_f32(lg_f32_to_bf16(x->data[i]));
  return 1;
}

/* The k largest of n scores, highest first (ties: lower index first). */
static void top_k(const float *x, int64_t n, int k, int64_t *idx) {
  for (int j = 0; j < k; j++) {
    idx[j] = -1;
    for (int64_t i = 0; i < n; i++) {
      int taken = 0;
      for (int q = 0; q < j; q++)
        taken |= idx[q] == i;
      if (!taken && (idx[j] < 0 || x[i] > x[idx[j]]))
        idx[j] = i;
    }
  }
}

/* compare(got, want, rows) -> max|got - want|, max|want|, cosine[, top1, top5]:
 * with rows > 0 the tensors are `rows` rows of class scores, and top1/top5
 * count the rows whose best class, and whose set of 5 best, agree. */
static int r_compare(lua_State *L) {
  lg_tensor *a = lg_tensor_check(L, 1), *b = lg_tensor_check(L, 2);
  int64_t rows = luaL_checkinteger(L, 3);
  if (a->numel != b->numel)
    luaL_error(L, "compare: sizes differ");
  double err = 0, mag = 0, ab = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < a->numel; i++) {
    double x = a->data[i], y = b->data[i];
    err = fmax(err, fabs(x - y));
    mag = fmax(mag, fabs(y));
    ab += x * y, aa += x * x, bb += y * y;
  }
  lua_pushnumber(L, err);
  lua_pushnumber(L, mag);
  lua_pushnumber(L, aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0));
  if (rows <= 0)
    return 3;
  int64_t n = a->numel / rows, top1 = 0, top5 = 0, k = n < 5 ? n : 5;
  for (int64_t r = 0; r < rows; r++) {
    int64_t ia[5], ib[5];
    top_k(a->data + r * n, n, (int)k, ia);
    top_k(b->data + r * n, n, (int)k, ib);
    int same = 1;
    for (int j = 0; j < k; j++) {
      int found = 0;
      for (int q = 0; q < k; q++)
        found |= ia[j] == ib[q];
      same &= found;
    }
    top1 += ia[0] == ib[0];
    top5 += same;
  }
  lua_pushinteger(L, top1);
  lua_pushinteger(L, top5);
  return 5;
}

int luaopen_lg_refops(lua_State *L) {
  static const luaL_Reg funcs[] = {
      {"conv2d", r_conv2d},
      {"nhwc", r_nhwc},
      {"batchnorm", r_batchnorm},
      {"relu", r_relu},
      {"gelu", r_gelu},
      {"add", r_add},
      {"maxpool", r_maxpool},
      {"avgpool", r_avgpool},
      {"global_avgpool", r_global_avgpool},
      {"linear", r_linear},
      {"layernorm_channels", r_layernorm_channels},
      {"grn", r_grn},
      {"groupnorm", r_groupnorm},
      {"scale_channels", r_scale_channels},
      {"pad", r_pad},
      {"round_bf16", r_round_bf16},
      {"compare", r_compare},
      {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}
