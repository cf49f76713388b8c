/* lg_preprocess: timm's evaluation transform, reproduced bit for bit.
 *
 * timm.data.transforms_factory.transforms_imagenet_eval, scale = floor(out /
 * crop_pct) per dim, then by crop_mode:
 *   center (default)
 *     square target  : torchvision Resize(scale_h, interp)  -- shorter side to
 *                      scale_h, longer side int(scale_h * long / short)
 *     non-square     : timm ResizeKeepRatio(scale)           -- both sides by
 *                      min(h / scale_h, w / scale_w), Python round(); NOTE timm
 *                      builds it without passing `interpolation`, so it is
 *                      always BILINEAR there, whatever the model's config says
 *     CenterCrop(out)                                        -- offset
 *                      int(round((H - out_h) / 2.0)), zero padding if smaller
 *   squash: Resize((scale_h, scale_w), interp)               -- both sides, the
 *                      aspect ratio is not kept; then CenterCrop(out)
 *   border: ResizeKeepRatio(scale, interp, longest=1)        -- both sides by
 *                      max(h / scale_h, w / scale_w), Python round(); then
 *           CenterCropOrPad(out, fill=round(255 * mean))     -- CenterCrop's
 *                      offsets, padding with the mean colour instead of 0
 *   ToTensor (/255), Normalize(mean, std)                    -- float32 math
 *
 * The resize is PIL's Image.resize on an RGB image (ImagingResample): a
 * separable filter whose support grows with the downscale factor
 * (antialiasing), horizontal pass then vertical, 8-bit fixed-point
 * coefficients and an 8-bit rounded, clipped intermediate. Only the pixels
 * inside the crop window are computed; they equal PIL's pixel for pixel.
 *
 * Output layout: CHW float32, 3 x out_h x out_w, channel order R, G, B. A
 * batch slot n of an NCHW tensor is simply out + n * 3 * out_h * out_w. */
#ifndef LG_PREPROCESS_H
#define LG_PREPROCESS_H

#include <stddef.h>

#include "lg_image.h"
#include "lg_status.h"

typedef enum lg_interp {
  LG_INTERP_NEAREST, /* PIL NEAREST: affine nearest, no antialiasing */
  LG_INTERP_BILINEAR, /* PIL BILINEAR: triangle filter, support 1 */
  LG_INTERP_BICUBIC /* PIL BICUBIC: Keys cubic a = -0.5, support 2 */
} lg_interp;

typedef enum lg_crop_mode {
  LG_CROP_CENTER, /* timm's default: keep the aspect ratio, crop the centre */
  LG_CROP_SQUASH, /* resize both sides to the scale size, then crop */
  LG_CROP_BORDER /* fit the longer side, pad with the mean colour */
} lg_crop_mode;

typedef struct lg_preprocess_cfg {
  int out_h, out_w; /* model input size (timm input_size[1:]) */
  float crop_pct; /* timm crop_pct, e.g. 0.875; read back as the shortest
                             decimal that round-trips, so 0.95f means 0.95 */
  lg_crop_mode crop_mode; /* timm crop_mode; 0 = center */
  lg_interp interp; /* timm `interpolation` (not for center + non-square, see above) */
  float mean[3], std[3];
} lg_preprocess_cfg;

/* Where the output window comes from, for a given source image size. */
typedef struct lg_preprocess_plan {
  int resize_w, resize_h; /* size the whole image is resized to */
  lg_interp interp; /* filter actually used for that resize */
  int crop_left, crop_top; /* top-left of the out_w x out_h window inside the
                              resized image; negative = padding */
  unsigned char fill[3]; /* RGB of that padding: 0, or the mean colour (border) */
} lg_preprocess_plan;

/* The geometry of timm's transform for an img_w x img_h source. */
lg_status lg_preprocess_plan_for(
    int img_w,
    int img_h,
    const lg_preprocess_cfg *cfg,
    lg_preprocess_plan *plan,
    char *err,
    size_t errn);

/* img (h, w, 3) uint8 -> out_chw (3, out_h, out_w) float32, normalized. */
lg_status lg_preprocess_image(
    const lg_image *img,
    const lg_preprocess_cfg *cfg,
    float *out_chw,
    char *err,
    size_t errn);

/* PIL-exact Image.resize((dst_w, dst_h), interp) of a whole RGB image; the
 * result is malloc'ed and released with lg_image_free. Used by tests to
 * localize a divergence to the resampler. */
lg_status lg_image_resize(
    const lg_image *src,
    int dst_w,
    int dst_h,
    lg_interp interp,
    lg_image *dst,
    char *err,
    size_t errn);

/* "center" | "squash" | "border" (timm's names); anything else is
 * LG_ERR_UNSUPPORTED. */
lg_status lg_crop_mode_from_name(const char *name, lg_crop_mode *out);
const char *lg_crop_mode_name(lg_crop_mode mode);

/* "nearest" | "bilinear" | "bicubic" (timm's names). Anything else, including
 * timm's "lanczos", "box", "hamming" and "random", is LG_ERR_UNSUPPORTED. */
lg_status lg_interp_from_name(const char *name, lg_interp *out);
const char *lg_interp_name(lg_interp interp);

/* Adapt a preprocessed (3, h, w) tensor to a model with in_chans channels:
 *   in_chans == 3: copy;
 *   in_chans == 1: per-pixel mean of the three channels (computed in double);
 *   otherwise    : channel c is input channel c % 3 (cyclic repeat).
 * To match timm for in_chans == 1 exactly (it opens images in PIL mode 'L'),
 * call lg_image_to_grey() on the image first and set mean[0..2] and
 * std[0..2] all to the model's single mean/std: the three channels are then
 * identical and their mean is exactly timm's single channel. */
void lg_preprocess_to_channels(const float *chw3, int h, int w, int in_chans, float *out);

/* An image file as one batch slot of a model's input: lg_image_load, then
 * (in_chans == 1) lg_image_to_grey, lg_preprocess_image and
 * lg_preprocess_to_channels, as above. out: (in_chans, out_h, out_w) float32.
 * Errors name the file. Safe to call from several threads at once. */
lg_status lg_preprocess_file(
    const char *path,
    const lg_preprocess_cfg *cfg,
    int in_chans,
    float *out,
    char *err,
    size_t errn);

#endif
