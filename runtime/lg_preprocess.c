#include "lg_preprocess.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- PIL-compatible resampling (Pillow src/libImaging/Resample.c) ---------
 * Semantics reproduced from Pillow 9.4 (the same through Pillow 11 for 8-bit
 * images). Exactness needs the same double arithmetic in the same order: keep
 * the expressions below as they are and never build this file with
 * -ffast-math. (FMA contraction, e.g. -march=native in GNU C mode, could in
 * principle flip a rare fixed-point weight by one; the PIL comparison test
 * passes bit-exact with it too.) */

/* 8 bits of result, 2 bits of headroom for filter overshoot. */
#define PRECISION_BITS (32 - 8 - 2)

/* Largest resized side we accept. Only the crop window is materialized, but
 * the nearest-neighbour walk and the int arithmetic scale with the side. */
#define MAX_RESIZED_SIDE (1 << 28)

static double bilinear_filter(double x) {
  if (x < 0.0)
    x = -x;
  if (x < 1.0)
    return 1.0 - x;
  return 0.0;
}

/* Keys cubic convolution with a = -0.5. */
static double bicubic_filter(double x) {
  const double a = -0.5;
  if (x < 0.0)
    x = -x;
  if (x < 1.0)
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0)
    return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

/* Fixed-point weights of one 1-D pass, for output positions [o0, o1).
 * Row j (= output o0 + j) reads count[j] input samples from first[j] with
 * weights k[j * ksize + 0 .. count[j]). */
typedef struct resample_pass {
  int ksize;
  int *first, *count;
  int32_t *k;
} resample_pass;

static void resample_pass_free(resample_pass *p) {
  free(p->first);
  free(p->count);
  free(p->k);
  memset(p, 0, sizeof *p);
}

/* PIL precompute_coeffs() + normalize_coeffs_8bpc() with box = (0, in_size). */
static lg_status resample_pass_init(resample_pass *p, int in_size, int out_size, lg_interp interp, int o0, int o1) {
  double (*filter)(double) = interp == LG_INTERP_BICUBIC ? bicubic_filter : bilinear_filter;
  double filter_support = interp == LG_INTERP_BICUBIC ? 2.0 : 1.0;
  /* PIL: (double)(in1 - in0) / outSize with float box edges. */
  double scale = (double)((float)in_size - 0.0f) / out_size;
  double filterscale = scale < 1.0 ? 1.0 : scale;
  double support = filter_support * filterscale;
  double ss = 1.0 / filterscale;
  int n = o1 - o0 > 0 ? o1 - o0 : 1;
  double *w;

  memset(p, 0, sizeof *p);
  p->ksize = (int)ceil(support) * 2 + 1;
  p->first = malloc((size_t)n * sizeof *p->first);
  p->count = malloc((size_t)n * sizeof *p->count);
  p->k = calloc((size_t)n * (size_t)p->ksize, sizeof *p->k);
  w = malloc((size_t)p->ksize * sizeof *w);
  if (!p->first || !p->count || !p->k || !w) {
    free(w);
    resample_pass_free(p);
    return LG_ERR_NOMEM;
  }
  for (int j = 0; j < o1 - o0; j++) {
    int xx = o0 + j;
    double center = 0.0f + (xx + 0.5) * scale;
    double ww = 0.0;
    int xmin = (int)(center - support + 0.5);
    int xmax = (int)(center + support + 0.5);
    if (xmin < 0)
      xmin = 0;
    if (xmax > in_size)
      xmax = in_size;
    xmax -= xmin;
    if (xmax > p->ksize) /* cannot happen (PIL relies on it); stay in bounds */
      xmax = p->ksize;
    for (int x = 0; x < xmax; x++) {
      w[x] = filter((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    for (int x = 0; x < xmax; x++) {
      double kx = ww != 0.0 ? w[x] / ww : w[x];
      int32_t *kf = &p->k[(size_t)j * p->ksize + x];
      *kf = kx < 0 ? (int32_t)(-0.5 + kx * (1 << PRECISION_BITS)) : (int32_t)(0.5 + kx * (1 << PRECISION_BITS));
    }
    p->first[j] = xmin;
    p->count[j] = xmax;
  }
  free(w);
  return LG_OK;
}

static inline uint8_t clip8(int32_t ss) {
  if (ss < 0)
    return 0;
  ss >>= PRECISION_BITS;
  return (uint8_t)(ss > 255 ? 255 : ss);
}

/* Horizontal pass. in: nrows rows of RGB pixels, row stride in_stride bytes;
 * out: (nrows, nout, 3) for the pass's output columns. */
static void resample_rows(
    const uint8_t *in,
    size_t in_stride,
    int nrows,
    const resample_pass *p,
    int nout,
    uint8_t *out) {
  for (int r = 0; r < nrows; r++) {
    const uint8_t *row = in + (size_t)r * in_stride;
    for (int j = 0; j < nout; j++) {
      const int32_t *k = &p->k[(size_t)j * p->ksize];
      const uint8_t *px = row + (size_t)p->first[j] * 3;
      int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
      for (int x = 0; x < p->count[j]; x++, px += 3) {
        s0 += px[0] * k[x];
        s1 += px[1] * k[x];
        s2 += px[2] * k[x];
      }
      uint8_t *o = out + ((size_t)r * nout + j) * 3;
      o[0] = clip8(s0);
      o[1] = clip8(s1);
      o[2] = clip8(s2);
    }
  }
}

/* Vertical pass. in: RGB rows of w pixels (stride in_stride), in[0] being
 * input row row0; out: (nout, w, 3) for the pass's output rows. */
static void resample_cols(
    const uint8_t *in,
    size_t in_stride,
    int row0,
    int w,
    const resample_pass *p,
    int nout,
    uint8_t *out) {
  for (int j = 0; j < nout; j++) {
    const int32_t *k = &p->k[(size_t)j * p->ksize];
    const uint8_t *base = in + (size_t)(p->first[j] - row0) * in_stride;
    uint8_t *o = out + (size_t)j * w * 3;
    for (int c = 0; c < w * 3; c++) {
      int32_t s = 1 << (PRECISION_BITS - 1);
      for (int y = 0; y < p->count[j]; y++)
        s += base[(size_t)y * in_stride + c] * k[y];
      o[c] = clip8(s);
    }
  }
}

/* PIL NEAREST resize goes through ImagingScaleAffine: the source coordinate
 * is accumulated (xo += step), not multiplied, so walk from 0 to keep its
 * rounding. idx[x - o0] = source index, or -1 outside the source. */
static void nearest_indices(int in_size, int out_size, int o0, int o1, int *idx) {
  double step = (double)((float)in_size - 0.0f) / out_size;
  double xo = 0.0 + step * 0.5;
  for (int x = 0; x < o1; x++, xo += step) {
    if (x >= o0) {
      int xin = xo < 0.0 ? -1 : (int)xo;
      idx[x - o0] = xin < in_size ? xin : -1;
    }
  }
}

/* out (y1 - y0, x1 - x0, 3) = window [x0, x1) x [y0, y1) of
 * PIL Image.resize((dw, dh), interp) applied to src. */
static lg_status resize_window(
    const lg_image *src,
    int dw,
    int dh,
    lg_interp interp,
    int x0,
    int x1,
    int y0,
    int y1,
    uint8_t *out) {
  const int sw = src->w, sh = src->h, ww = x1 - x0, wh = y1 - y0;
  const size_t sstride = (size_t)sw * 3;
  lg_status st = LG_OK;

  if (dw == sw && dh == sh) { /* torchvision and PIL return the image as is */
    for (int y = 0; y < wh; y++)
      memcpy(out + (size_t)y * ww * 3, src->rgb + (size_t)(y0 + y) * sstride + x0 * 3, (size_t)ww * 3);
    return LG_OK;
  }

  if (interp == LG_INTERP_NEAREST) {
    int *xi = malloc((size_t)ww * sizeof *xi), *yi = malloc((size_t)wh * sizeof *yi);
    if (!xi || !yi) {
      free(xi);
      free(yi);
      return LG_ERR_NOMEM;
    }
    nearest_indices(sw, dw, x0, x1, xi);
    nearest_indices(sh, dh, y0, y1, yi);
    for (int y = 0; y < wh; y++) {
      for (int x = 0; x < ww; x++) {
        uint8_t *o = out + ((size_t)y * ww + x) * 3;
        if (yi[y] < 0 || xi[x] < 0) {
          o[0] = o[1] = o[2] = 0;
        } else {
          const uint8_t *s = src->rgb + (size_t)yi[y] * sstride + (size_t)xi[x] * 3;
          o[0] = s[0], o[1] = s[1], o[2] = s[2];
        }
      }
    }
    free(xi);
    free(yi);
    return LG_OK;
  }

  /* Two passes like ImagingResampleInner: a pass whose size is unchanged is
   * skipped; the horizontal result is rounded to uint8 before the vertical. */
  const int need_h = dw != sw, need_v = dh != sh;
  resample_pass hp = {0}, vp = {0};
  int rmin = y0, rmax = y1; /* source rows the vertical pass reads */
  uint8_t *tmp = NULL;
  const uint8_t *mid;
  size_t mid_stride;

  if (need_v) {
    if ((st = resample_pass_init(&vp, sh, dh, interp, y0, y1)) != LG_OK)
      goto done;
    rmin = sh, rmax = 0;
    for (int j = 0; j < wh; j++) {
      if (vp.first[j] < rmin)
        rmin = vp.first[j];
      if (vp.first[j] + vp.count[j] > rmax)
        rmax = vp.first[j] + vp.count[j];
    }
    if (rmax < rmin)
      rmax = rmin;
  }
  if (need_h) {
    if ((st = resample_pass_init(&hp, sw, dw, interp, x0, x1)) != LG_OK)
      goto done;
    tmp = malloc((size_t)(rmax - rmin) * ww * 3 + 1);
    if (!tmp) {
      st = LG_ERR_NOMEM;
      goto done;
    }
    resample_rows(src->rgb + (size_t)rmin * sstride, sstride, rmax - rmin, &hp, ww, tmp);
    mid = tmp, mid_stride = (size_t)ww * 3;
  } else {
    mid = src->rgb + (size_t)rmin * sstride + (size_t)x0 * 3, mid_stride = sstride;
  }
  if (need_v) {
    resample_cols(mid, mid_stride, rmin, ww, &vp, wh, out);
  } else {
    for (int y = 0; y < wh; y++)
      memcpy(out + (size_t)y * ww * 3, mid + (size_t)y * mid_stride, (size_t)ww * 3);
  }
done:
  free(tmp);
  resample_pass_free(&hp);
  resample_pass_free(&vp);
  return st;
}

static lg_status check_image(const lg_image *img, char *err, size_t errn) {
  if (!img || !img->rgb || img->w <= 0 || img->h <= 0)
    return lg_fail(err, errn, LG_ERR_ARG, "preprocess: empty image");
  return LG_OK;
}

lg_status lg_image_resize(
    const lg_image *src,
    int dst_w,
    int dst_h,
    lg_interp interp,
    lg_image *dst,
    char *err,
    size_t errn) {
  lg_status st;
  memset(dst, 0, sizeof *dst);
  if ((st = check_image(src, err, errn)) != LG_OK)
    return st;
  if (dst_w <= 0 || dst_h <= 0 || (long long)dst_w * dst_h > LG_IMAGE_MAX_PIXELS)
    return lg_fail(err, errn, LG_ERR_ARG, "resize: bad target size %dx%d", dst_w, dst_h);
  if ((unsigned)interp > LG_INTERP_BICUBIC)
    return lg_fail(err, errn, LG_ERR_ARG, "resize: unknown interpolation %d", (int)interp);
  /* malloc'ed like lg_image_decode's pixels, so lg_image_free() releases both */
  dst->rgb = malloc((size_t)dst_w * dst_h * 3);
  if (!dst->rgb)
    return lg_fail(err, errn, LG_ERR_NOMEM, "resize: out of memory for %dx%d", dst_w, dst_h);
  st = resize_window(src, dst_w, dst_h, interp, 0, dst_w, 0, dst_h, dst->rgb);
  if (st != LG_OK) {
    free(dst->rgb);
    dst->rgb = NULL;
    return lg_fail(err, errn, st, "resize: out of memory for %dx%d", dst_w, dst_h);
  }
  dst->w = dst_w;
  dst->h = dst_h;
  return LG_OK;
}

/* --- timm's eval geometry -------------------------------------------------- */

/* The decimal a float was written as (shortest round-tripping form), so the
 * float 0.95f divides like Python's 0.95 does in floor(img_size / crop_pct). */
static double shortest_decimal(float f) {
  char buf[32];
  for (int p = 1; p <= 9; p++) {
    snprintf(buf, sizeof buf, "%.*g", p, (double)f);
    double d = strtod(buf, NULL);
    if ((float)d == f)
      return d;
  }
  return (double)f;
}

/* Python's round(): to nearest, ties to even. */
static double round_half_even(double x) {
  double r = floor(x), diff = x - r;
  if (diff > 0.5 || (diff == 0.5 && fmod(r, 2.0) != 0.0))
    r += 1.0;
  return r;
}

/* torchvision center_crop offset of an `out` window in a `size` extent:
 * int(round((size - out) / 2.0)), or minus the left/top zero padding
 * ((out - size) // 2) when the window is larger. */
static int crop_offset(int size, int out) {
  if (out > size)
    return -((out - size) / 2);
  int d = size - out, q = d / 2;
  if (d % 2 == 1 && q % 2 == 1) /* q + 0.5 rounds to the even neighbour */
    q += 1;
  return q;
}

lg_status lg_preprocess_plan_for(
    int img_w,
    int img_h,
    const lg_preprocess_cfg *cfg,
    lg_preprocess_plan *plan,
    char *err,
    size_t errn) {
  memset(plan, 0, sizeof *plan);
  if (img_w <= 0 || img_h <= 0)
    return lg_fail(err, errn, LG_ERR_ARG, "preprocess: empty %dx%d image", img_w, img_h);
  if (cfg->out_w <= 0 || cfg->out_h <= 0 || cfg->out_w > MAX_RESIZED_SIDE || cfg->out_h > MAX_RESIZED_SIDE)
    return lg_fail(err, errn, LG_ERR_ARG, "preprocess: bad input size %dx%d (w x h)", cfg->out_w, cfg->out_h);
  if (!(cfg->crop_pct > 0.0f) || !isfinite(cfg->crop_pct))
    return lg_fail(err, errn, LG_ERR_ARG, "preprocess: crop_pct must be > 0, got %g", (double)cfg->crop_pct);
  if ((unsigned)cfg->interp > LG_INTERP_BICUBIC)
    return lg_fail(err, errn, LG_ERR_ARG, "preprocess: unknown interpolation %d", (int)cfg->interp);
  if ((unsigned)cfg->crop_mode > LG_CROP_BORDER)
    return lg_fail(err, errn, LG_ERR_ARG, "preprocess: unknown crop mode %d", (int)cfg->crop_mode);

  double pct = shortest_decimal(cfg->crop_pct);
  double scale_h = floor(cfg->out_h / pct), scale_w = floor(cfg->out_w / pct);
  double rh, rw;
  if (scale_h < 1.0 || scale_w < 1.0)
    return lg_fail(
        err,
        errn,
        LG_ERR_ARG,
        "preprocess: crop_pct %g leaves nothing to resize to for %dx%d",
        pct,
        cfg->out_w,
        cfg->out_h);

  plan->interp = cfg->interp;
  if (cfg->crop_mode == LG_CROP_SQUASH) {
    /* torchvision Resize((h, w)): exactly the scale size */
    rh = scale_h, rw = scale_w;
  } else if (cfg->crop_mode == LG_CROP_CENTER && scale_h == scale_w) {
    /* torchvision Resize(int): shorter side to scale, longer side
     * int(scale * long / short), truncated (_compute_resized_output_size). */
    double s = scale_h;
    if (img_w <= img_h)
      rw = s, rh = floor(s * img_h / img_w);
    else
      rh = s, rw = floor(s * img_w / img_h);
  } else {
    /* timm ResizeKeepRatio(scale, longest): ratio = min (center) or max
     * (border, longest=1) of h/sh and w/sw, size = round(side / ratio). For
     * center timm leaves the interpolation at its default, bilinear. */
    double ratio_h = img_h / scale_h, ratio_w = img_w / scale_w;
    double ratio = cfg->crop_mode == LG_CROP_BORDER ? fmax(ratio_h, ratio_w) : fmin(ratio_h, ratio_w);
    rh = round_half_even((double)img_h / ratio);
    rw = round_half_even((double)img_w / ratio);
    if (cfg->crop_mode == LG_CROP_CENTER)
      plan->interp = LG_INTERP_BILINEAR;
  }
  if (!(rh >= 1.0 && rw >= 1.0 && rh <= MAX_RESIZED_SIDE && rw <= MAX_RESIZED_SIDE))
    return lg_fail(
        err,
        errn,
        LG_ERR_UNSUPPORTED,
        "preprocess: a %dx%d image would be resized to %.0fx%.0f, beyond "
        "what lucidgen handles",
        img_w,
        img_h,
        rw,
        rh);
  plan->resize_w = (int)rw;
  plan->resize_h = (int)rh;
  plan->crop_left = crop_offset(plan->resize_w, cfg->out_w);
  plan->crop_top = crop_offset(plan->resize_h, cfg->out_h);
  /* timm CenterCropOrPad(fill=[round(255 * v) for v in mean]) */
  for (int c = 0; c < 3 && cfg->crop_mode == LG_CROP_BORDER; c++) {
    double v = round_half_even(255.0 * shortest_decimal(cfg->mean[c]));
    plan->fill[c] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
  }
  return LG_OK;
}

lg_status lg_preprocess_image(
    const lg_image *img,
    const lg_preprocess_cfg *cfg,
    float *out_chw,
    char *err,
    size_t errn) {
  lg_preprocess_plan plan;
  lg_status st;
  float lut[3][256];

  if ((st = check_image(img, err, errn)) != LG_OK)
    return st;
  if ((st = lg_preprocess_plan_for(img->w, img->h, cfg, &plan, err, errn)) != LG_OK)
    return st;
  for (int c = 0; c < 3; c++) {
    if (!(cfg->std[c] != 0.0f) || !isfinite(cfg->std[c]) || !isfinite(cfg->mean[c]))
      return lg_fail(
          err,
          errn,
          LG_ERR_ARG,
          "preprocess: channel %d has mean %g, std %g; std must be a "
          "nonzero finite number",
          c,
          (double)cfg->mean[c],
          (double)cfg->std[c]);
    /* ToTensor then Normalize, in float32 and in torch's order. */
    for (int v = 0; v < 256; v++)
      lut[c][v] = ((float)v / 255.0f - cfg->mean[c]) / cfg->std[c];
  }

  /* The part of the crop window that lies inside the resized image. */
  const int oh = cfg->out_h, ow = cfg->out_w;
  int x0 = plan.crop_left > 0 ? plan.crop_left : 0;
  int y0 = plan.crop_top > 0 ? plan.crop_top : 0;
  int x1 = plan.crop_left + ow < plan.resize_w ? plan.crop_left + ow : plan.resize_w;
  int y1 = plan.crop_top + oh < plan.resize_h ? plan.crop_top + oh : plan.resize_h;
  uint8_t *win = malloc((size_t)(x1 - x0) * (size_t)(y1 - y0) * 3 + 1);
  if (!win)
    return lg_fail(err, errn, LG_ERR_NOMEM, "preprocess: out of memory");
  st = resize_window(img, plan.resize_w, plan.resize_h, plan.interp, x0, x1, y0, y1, win);
  if (st != LG_OK) {
    free(win);
    return lg_fail(
        err,
        errn,
        st,
        "preprocess: out of memory resizing %dx%d to %dx%d",
        img->w,
        img->h,
        plan.resize_w,
        plan.resize_h);
  }

  /* HWC uint8 window -> CHW float; outside the window is the padding colour
   * (torchvision's 0, or border's mean colour), normalized like any pixel. */
  const size_t plane = (size_t)oh * ow;
  for (int oy = 0; oy < oh; oy++) {
    int ry = oy + plan.crop_top;
    for (int ox = 0; ox < ow; ox++) {
      int rx = ox + plan.crop_left;
      const uint8_t *px = NULL;
      if (ry >= y0 && ry < y1 && rx >= x0 && rx < x1)
        px = win + ((size_t)(ry - y0) * (x1 - x0) + (rx - x0)) * 3;
      for (int c = 0; c < 3; c++)
        out_chw[c * plane + (size_t)oy * ow + ox] = lut[c][px ? px[c] : plan.fill[c]];
    }
  }
  free(win);
  return LG_OK;
}

lg_status lg_crop_mode_from_name(const char *name, lg_crop_mode *out) {
  for (lg_crop_mode m = LG_CROP_CENTER; m <= LG_CROP_BORDER; m++) {
    if (name && strcmp(name, lg_crop_mode_name(m)) == 0) {
      *out = m;
      return LG_OK;
    }
  }
  return LG_ERR_UNSUPPORTED;
}

const char *lg_crop_mode_name(lg_crop_mode mode) {
  switch (mode) {
  case LG_CROP_CENTER:
    return "center";
  case LG_CROP_SQUASH:
    return "squash";
  case LG_CROP_BORDER:
    return "border";
  }
  return "unknown";
}

lg_status lg_interp_from_name(const char *name, lg_interp *out) {
  static const struct {
    const char *name;
    lg_interp interp;
  } names[] = {{"nearest", LG_INTERP_NEAREST}, {"bilinear", LG_INTERP_BILINEAR}, {"bicubic", LG_INTERP_BICUBIC}};
  for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++) {
    if (strcmp(name, names[i].name) == 0) {
      *out = names[i].interp;
      return LG_OK;
    }
  }
  return LG_ERR_UNSUPPORTED;
}

const char *lg_interp_name(lg_interp interp) {
  switch (interp) {
  case LG_INTERP_NEAREST:
    return "nearest";
  case LG_INTERP_BILINEAR:
    return "bilinear";
  case LG_INTERP_BICUBIC:
    return "bicubic";
  }
  return "unknown";
}

void lg_preprocess_to_channels(const float *chw3, int h, int w, int in_chans, float *out) {
  const size_t plane = (size_t)h * w;
  if (in_chans == 1) {
    /* double: the mean of three equal floats is exactly that float */
    for (size_t i = 0; i < plane; i++)
      out[i] = (float)(((double)chw3[i] + chw3[plane + i] + chw3[2 * plane + i]) / 3.0);
    return;
  }
  for (int c = 0; c < in_chans; c++)
    memmove(out + (size_t)c * plane, chw3 + (size_t)(c % 3) * plane, plane * sizeof *out);
}

lg_status lg_preprocess_file(
    const char *path,
    const lg_preprocess_cfg *cfg,
    int in_chans,
    float *out,
    char *err,
    size_t errn) {
  lg_image img;
  lg_status st = lg_image_load(path, &img, err, errn);
  if (st != LG_OK)
    return st;
  if (in_chans == 1)
    lg_image_to_grey(&img);
  const size_t plane = (size_t)cfg->out_h * cfg->out_w;
  float *chw3 = in_chans == 3 ? out : malloc(3 * plane * sizeof *chw3);
  if (!chw3) {
    lg_image_free(&img);
    return lg_fail(err, errn, LG_ERR_NOMEM, "%s: out of memory", path);
  }
  char why[512];
  st = lg_preprocess_image(&img, cfg, chw3, why, sizeof why);
  lg_image_free(&img);
  if (st != LG_OK)
    lg_fail(err, errn, st, "%s: %s", path, why);
  else if (in_chans != 3)
    lg_preprocess_to_channels(chw3, cfg->out_h, cfg->out_w, in_chans, out);
  if (chw3 != out)
    free(chw3);
  return st;
}
