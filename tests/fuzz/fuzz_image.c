/* libFuzzer target for the classifier's image side: lg_image_decode (JPEG
 * through libjpeg-turbo, PNG through libpng, PPM/PGM by hand), then timm's
 * eval preprocessing of whatever decoded. Accepted images must respect the
 * pixel limit and preprocess to finite values; refused ones must leave no
 * pixels behind and explain themselves in one line. */
#include <math.h>
#include <stdint.h>

#include "fuzz_check.h"
#include "lg_image.h"
#include "lg_preprocess.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lg_image img;
  char err[512];
  lg_status s = lg_image_decode(data, size, "fuzz", &img, err, sizeof err);
  if (s != LG_OK) {
    REQUIRE(s == LG_ERR_FORMAT || s == LG_ERR_UNSUPPORTED || s == LG_ERR_NOMEM);
    REQUIRE(img.rgb == NULL && img.w == 0 && img.h == 0);
    REQUIRE_ONE_LINE(err);
    REQUIRE(strstr(err, "'fuzz'"));
    return 0;
  }
  REQUIRE(img.rgb && img.w > 0 && img.h > 0 && (uint64_t)img.w * (uint64_t)img.h <= LG_IMAGE_MAX_PIXELS);
  unsigned sum = 0; /* every pixel readable: ASan checks the buffer's extent */
  for (size_t i = 0, n = (size_t)img.w * img.h * 3; i < n; i += 61)
    sum += img.rgb[i];
  (void)sum;

  lg_preprocess_cfg cfg = {
      .out_h = 12,
      .out_w = 10,
      .crop_pct = 0.875f,
      .interp = (lg_interp)(size % 3),
      .mean = {0.485f, 0.456f, 0.406f},
      .std = {0.229f, 0.224f, 0.225f}};
  float out[3 * 12 * 10];
  if (size & 8)
    lg_image_to_grey(&img);
  s = lg_preprocess_image(&img, &cfg, out, err, sizeof err);
  REQUIRE(s == LG_OK || s == LG_ERR_NOMEM);
  if (s == LG_OK)
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++)
      REQUIRE(isfinite(out[i]));
  lg_image_free(&img);
  return 0;
}
