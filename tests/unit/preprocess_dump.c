/* lg_preprocess_dump: runs one stage of the runtime's image side on a file
 * and writes the raw result, for tests/unit/preprocess_vs_pil.py to compare
 * against PIL + torchvision stage by stage.
 *
 *   lg_preprocess_dump decode IMAGE OUT
 *       OUT = decoded pixels, (h, w, 3) uint8; prints "W H"
 *   lg_preprocess_dump resize IMAGE OUT W H INTERP
 *       OUT = lg_image_resize result, (H, W, 3) uint8
 *   lg_preprocess_dump preprocess IMAGE OUT H W CROP_PCT CROP_MODE INTERP M0 M1 M2 S0 S1 S2 [grey]
 *       OUT = lg_preprocess_image result, (3, H, W) float32 native-endian;
 *       prints the plan "resize RW RH INTERP crop LEFT TOP"
 *
 * Exit status: 0 ok, 2 bad usage or input, 1 internal failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_image.h"
#include "lg_preprocess.h"

static int usage(void) {
  fprintf(
      stderr,
      "usage: lg_preprocess_dump decode IMAGE OUT\n"
      "       lg_preprocess_dump resize IMAGE OUT W H INTERP\n"
      "       lg_preprocess_dump preprocess IMAGE OUT H W CROP_PCT CROP_MODE "
      "INTERP M0 M1 M2 S0 S1 S2 [grey]\n");
  return 2;
}

static int fail(lg_status st, const char *err) {
  fprintf(stderr, "lg_preprocess_dump: %s: %s\n", lg_status_name(st), err);
  return st == LG_ERR_NOMEM ? 1 : 2;
}

static int write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "lg_preprocess_dump: cannot write '%s'\n", path);
    return 2;
  }
  return 0;
}

static lg_status parse_interp(const char *name, lg_interp *out, char *err, size_t errn) {
  if (lg_interp_from_name(name, out) != LG_OK)
    return lg_fail(err, errn, LG_ERR_ARG, "unknown interpolation '%s'", name);
  return LG_OK;
}

int main(int argc, char **argv) {
  char err[512];
  lg_image img;
  lg_status st;
  int rc;

  if (argc < 4)
    return usage();
  const char *mode = argv[1], *in = argv[2], *out = argv[3];
  if ((st = lg_image_load(in, &img, err, sizeof err)) != LG_OK)
    return fail(st, err);

  if (strcmp(mode, "decode") == 0 && argc == 4) {
    printf("%d %d\n", img.w, img.h);
    rc = write_file(out, img.rgb, (size_t)img.w * img.h * 3);
  } else if (strcmp(mode, "resize") == 0 && argc == 7) {
    lg_image dst;
    lg_interp interp;
    if ((st = parse_interp(argv[6], &interp, err, sizeof err)) != LG_OK ||
        (st = lg_image_resize(&img, atoi(argv[4]), atoi(argv[5]), interp, &dst, err, sizeof err)) != LG_OK) {
      lg_image_free(&img);
      return fail(st, err);
    }
    rc = write_file(out, dst.rgb, (size_t)dst.w * dst.h * 3);
    lg_image_free(&dst);
  } else if (strcmp(mode, "preprocess") == 0 && (argc == 15 || argc == 16)) {
    lg_preprocess_cfg cfg = {.out_h = atoi(argv[4]), .out_w = atoi(argv[5]), .crop_pct = strtof(argv[6], NULL)};
    lg_preprocess_plan plan;
    for (int c = 0; c < 3; c++) {
      cfg.mean[c] = strtof(argv[9 + c], NULL);
      cfg.std[c] = strtof(argv[12 + c], NULL);
    }
    if (lg_crop_mode_from_name(argv[7], &cfg.crop_mode) != LG_OK) {
      lg_image_free(&img);
      return fail(LG_ERR_ARG, "unknown crop mode");
    }
    if (argc == 16 && strcmp(argv[15], "grey") == 0)
      lg_image_to_grey(&img);
    size_t n = 3 * (size_t)(cfg.out_h > 0 ? cfg.out_h : 0) * (cfg.out_w > 0 ? cfg.out_w : 0);
    float *chw = malloc(n * sizeof *chw + 1);
    if (!chw) {
      lg_image_free(&img);
      return fail(LG_ERR_NOMEM, "no memory for the output tensor");
    }
    if ((st = parse_interp(argv[8], &cfg.interp, err, sizeof err)) != LG_OK ||
        (st = lg_preprocess_plan_for(img.w, img.h, &cfg, &plan, err, sizeof err)) != LG_OK ||
        (st = lg_preprocess_image(&img, &cfg, chw, err, sizeof err)) != LG_OK) {
      free(chw);
      lg_image_free(&img);
      return fail(st, err);
    }
    printf(
        "resize %d %d %s crop %d %d\n",
        plan.resize_w,
        plan.resize_h,
        lg_interp_name(plan.interp),
        plan.crop_left,
        plan.crop_top);
    rc = write_file(out, chw, n * sizeof *chw);
    free(chw);
  } else {
    rc = usage();
  }
  lg_image_free(&img);
  return rc;
}
