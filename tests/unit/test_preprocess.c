/* Unit tests for the runtime's image side: timm eval geometry, the PIL
 * resampler on hand-checked values, image decoding errors, labels, softmax
 * and top-k. Each test is named after the behaviour it pins and prints the
 * numbers that differ. Pixel-level agreement with PIL itself is
 * tests/unit/preprocess_vs_pil.py. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lg_image.h"
#include "lg_labels.h"
#include "lg_preprocess.h"
#include "lg_topk.h"

/* Checks here go on after a failure (EXPECT, not CHECK) so that a test
 * prints every value that differs. */
#define EXPECT_INT(got, want) EXPECT((got) == (want), "got %lld, want %lld", (long long)(got), (long long)(want))

static lg_preprocess_cfg imagenet_cfg(int h, int w, float crop_pct, lg_interp interp) {
  lg_preprocess_cfg c = {
      .out_h = h,
      .out_w = w,
      .crop_pct = crop_pct,
      .interp = interp,
      .mean = {0.485f, 0.456f, 0.406f},
      .std = {0.229f, 0.224f, 0.225f}};
  return c;
}

static lg_preprocess_plan plan_of(int img_w, int img_h, lg_preprocess_cfg cfg) {
  lg_preprocess_plan p;
  char err[256] = "";
  lg_status st = lg_preprocess_plan_for(img_w, img_h, &cfg, &p, err, sizeof err);
  EXPECT(st == LG_OK, "%s", err);
  return p;
}

/* ---- geometry ----------------------------------------------------------- */

static void square_target_resizes_shorter_side_and_truncates_longer(void) {
  /* 500x375, 224 @ 0.875: scale 256; long side int(256 * 500 / 375) = 341 */
  lg_preprocess_plan p = plan_of(500, 375, imagenet_cfg(224, 224, 0.875f, LG_INTERP_BICUBIC));
  EXPECT_INT(p.resize_w, 341);
  EXPECT_INT(p.resize_h, 256);
  EXPECT_INT(p.interp, LG_INTERP_BICUBIC);
  EXPECT_INT(p.crop_left, 58); /* round(58.5) = 58: Python rounds half to even */
  EXPECT_INT(p.crop_top, 16);
  /* portrait: the width is the shorter side */
  p = plan_of(301, 640, imagenet_cfg(288, 288, 0.95f, LG_INTERP_BILINEAR));
  EXPECT_INT(p.resize_w, 303); /* floor(288 / 0.95) = 303 */
  EXPECT_INT(p.resize_h, 644); /* int(303 * 640 / 301) = int(644.25) */
  EXPECT_INT(p.crop_left, 8); /* round(7.5) = 8 */
  EXPECT_INT(p.crop_top, 178);
}

static void crop_offset_rounds_half_to_even(void) {
  /* crop_pct 1.0, image w x 224: resize is identity, offset = round((w-224)/2) */
  static const int w[] = {224, 225, 226, 227, 229, 231};
  static const int want[] = {0, 0, 1, 2, 2, 4}; /* 0.5->0, 1.5->2, 2.5->2, 3.5->4 */
  for (int i = 0; i < 6; i++) {
    lg_preprocess_plan p = plan_of(w[i], 224, imagenet_cfg(224, 224, 1.0f, LG_INTERP_BICUBIC));
    EXPECT(
        p.resize_w == w[i] && p.crop_left == want[i],
        "width %d: resize %d left %d, want %d",
        w[i],
        p.resize_w,
        p.crop_left,
        want[i]);
  }
}

static void crop_pct_float_is_read_as_its_decimal(void) {
  /* Python: floor(224 / 0.8) = 280, but 224 / (double)0.8f = 279.99999... */
  lg_preprocess_plan p = plan_of(300, 300, imagenet_cfg(224, 224, 0.8f, LG_INTERP_BICUBIC));
  EXPECT_INT(p.resize_w, 280);
  p = plan_of(1000, 1000, imagenet_cfg(85, 85, 0.85f, LG_INTERP_BICUBIC));
  EXPECT_INT(p.resize_w, 100); /* floor(85 / 0.85) = 100 */
}

static void non_square_target_keeps_ratio_and_is_always_bilinear(void) {
  /* out 160x192 (h x w) @ 0.875: scale (182, 219); 640x480 image:
   * ratio = min(480/182, 640/219) = 480/182 -> (182, round(242.67) = 243) */
  lg_preprocess_plan p = plan_of(640, 480, imagenet_cfg(160, 192, 0.875f, LG_INTERP_BICUBIC));
  EXPECT_INT(p.resize_h, 182);
  EXPECT_INT(p.resize_w, 243);
  EXPECT_INT(p.interp, LG_INTERP_BILINEAR); /* timm's ResizeKeepRatio default */
  EXPECT_INT(p.crop_top, 11);
  EXPECT_INT(p.crop_left, 26); /* round(25.5) = 26 */
}

static void squash_resizes_both_sides_to_the_scale_size(void) {
  /* 500x375 @ 384, crop_pct 1.0 (the ConvNeXt _384 fine-tunes): 384x384,
   * aspect ratio dropped, nothing cropped; the model's filter is used */
  lg_preprocess_cfg cfg = imagenet_cfg(384, 384, 1.0f, LG_INTERP_BICUBIC);
  cfg.crop_mode = LG_CROP_SQUASH;
  lg_preprocess_plan p = plan_of(500, 375, cfg);
  EXPECT_INT(p.resize_w, 384);
  EXPECT_INT(p.resize_h, 384);
  EXPECT_INT(p.interp, LG_INTERP_BICUBIC);
  EXPECT_INT(p.crop_left, 0);
  EXPECT_INT(p.crop_top, 0);
  /* non-square target @ 0.875: scale (182, 219), centre crop 160x192 */
  cfg = imagenet_cfg(160, 192, 0.875f, LG_INTERP_BILINEAR);
  cfg.crop_mode = LG_CROP_SQUASH;
  p = plan_of(301, 640, cfg);
  EXPECT_INT(p.resize_w, 219);
  EXPECT_INT(p.resize_h, 182);
  EXPECT_INT(p.crop_left, 14); /* round(13.5) = 14 */
  EXPECT_INT(p.crop_top, 11);
}

static void border_fits_the_longer_side_and_pads_with_the_mean_colour(void) {
  /* 500x375 @ 224, crop_pct 1.0: ratio max(375/224, 500/224) -> 224x168,
   * padded top and bottom by 28 with round(255 * mean) */
  lg_preprocess_cfg cfg = imagenet_cfg(224, 224, 1.0f, LG_INTERP_BICUBIC);
  cfg.crop_mode = LG_CROP_BORDER;
  lg_preprocess_plan p = plan_of(500, 375, cfg);
  EXPECT_INT(p.resize_w, 224);
  EXPECT_INT(p.resize_h, 168);
  EXPECT_INT(p.interp, LG_INTERP_BICUBIC); /* border passes the model's filter */
  EXPECT_INT(p.crop_left, 0);
  EXPECT_INT(p.crop_top, -28);
  EXPECT_INT(p.fill[0], 124); /* round(123.675) */
  EXPECT_INT(p.fill[1], 116); /* round(116.28) */
  EXPECT_INT(p.fill[2], 104); /* round(103.53) */
  cfg.mean[0] = 0.5f; /* 127.5 rounds to even: 128 */
  EXPECT_INT(plan_of(500, 375, cfg).fill[0], 128);
  unsigned char px[500 * 375 * 3];
  memset(px, 0, sizeof px);
  lg_image img = {500, 375, px};
  float *out = malloc(3 * 224 * 224 * sizeof *out);
  char err[256];
  cfg = imagenet_cfg(224, 224, 1.0f, LG_INTERP_BICUBIC);
  cfg.crop_mode = LG_CROP_BORDER;
  EXPECT(lg_preprocess_image(&img, &cfg, out, err, sizeof err) == LG_OK, "%s", err);
  float pad = (124.0f / 255.0f - cfg.mean[0]) / cfg.std[0];
  float black = (0.0f - cfg.mean[0]) / cfg.std[0];
  EXPECT(out[0] == pad, "corner %.9g, want the mean colour %.9g", out[0], pad);
  EXPECT(out[27 * 224] == pad, "row 27 %.9g, want the mean colour", out[27 * 224]);
  EXPECT(out[28 * 224] == black, "row 28 %.9g, want the image's black %.9g", out[28 * 224], black);
  EXPECT(out[196 * 224] == pad, "row 196 %.9g, want the mean colour", out[196 * 224]);
  free(out);
  /* a center or squash plan never pads with anything but 0 */
  cfg.crop_mode = LG_CROP_CENTER;
  p = plan_of(500, 375, cfg);
  EXPECT(p.fill[0] == 0 && p.fill[1] == 0 && p.fill[2] == 0, "center fill %d %d %d", p.fill[0], p.fill[1], p.fill[2]);
}

static void crop_larger_than_image_pads_with_zero_pixels(void) {
  /* crop_pct 1.25: scale floor(179.2) = 179 < 224 -> centered zero padding */
  lg_preprocess_cfg cfg = imagenet_cfg(224, 224, 1.25f, LG_INTERP_BILINEAR);
  lg_preprocess_plan p = plan_of(179, 179, cfg);
  EXPECT_INT(p.crop_left, -22); /* (224 - 179) // 2 */
  EXPECT_INT(p.crop_top, -22);
  unsigned char px[179 * 179 * 3];
  memset(px, 255, sizeof px);
  lg_image img = {179, 179, px};
  float *out = malloc(3 * 224 * 224 * sizeof *out);
  char err[256];
  EXPECT(lg_preprocess_image(&img, &cfg, out, err, sizeof err) == LG_OK, "%s", err);
  float pad = (0.0f / 255.0f - cfg.mean[0]) / cfg.std[0];
  float white = (255.0f / 255.0f - cfg.mean[0]) / cfg.std[0];
  EXPECT(out[0] == pad, "corner %.9g, want padding %.9g", out[0], pad);
  EXPECT(out[21 * 224 + 21] == pad, "(21,21) %.9g, want padding", out[21 * 224 + 21]);
  EXPECT(out[22 * 224 + 22] == white, "(22,22) %.9g, want white %.9g", out[22 * 224 + 22], white);
  EXPECT(out[200 * 224 + 200] == white, "(200,200) %.9g, want white", out[200 * 224 + 200]);
  EXPECT(out[201 * 224 + 201] == pad, "(201,201) %.9g, want padding", out[201 * 224 + 201]);
  free(out);
}

static void rejects_bad_config(void) {
  lg_preprocess_plan p;
  char err[256] = "";
  lg_preprocess_cfg cfg = imagenet_cfg(224, 224, 0.0f, LG_INTERP_BICUBIC);
  EXPECT_INT(lg_preprocess_plan_for(10, 10, &cfg, &p, err, sizeof err), LG_ERR_ARG);
  EXPECT(strstr(err, "crop_pct") != NULL, "message '%s' does not name crop_pct", err);
  cfg = imagenet_cfg(0, 224, 0.875f, LG_INTERP_BICUBIC);
  EXPECT_INT(lg_preprocess_plan_for(10, 10, &cfg, &p, err, sizeof err), LG_ERR_ARG);
  cfg = imagenet_cfg(224, 224, 0.875f, LG_INTERP_BICUBIC);
  cfg.std[1] = 0.0f;
  unsigned char px[3] = {1, 2, 3};
  lg_image img = {1, 1, px};
  float out[3 * 224 * 224];
  EXPECT_INT(lg_preprocess_image(&img, &cfg, out, err, sizeof err), LG_ERR_ARG);
  lg_interp it;
  EXPECT_INT(lg_interp_from_name("bicubic", &it), LG_OK);
  EXPECT_INT(it, LG_INTERP_BICUBIC);
  EXPECT_INT(lg_interp_from_name("lanczos", &it), LG_ERR_UNSUPPORTED);
  lg_crop_mode m;
  EXPECT_INT(lg_crop_mode_from_name("squash", &m), LG_OK);
  EXPECT_INT(m, LG_CROP_SQUASH);
  EXPECT_INT(lg_crop_mode_from_name("crop", &m), LG_ERR_UNSUPPORTED);
  cfg = imagenet_cfg(224, 224, 0.875f, LG_INTERP_BICUBIC);
  cfg.crop_mode = (lg_crop_mode)7;
  EXPECT_INT(lg_preprocess_plan_for(10, 10, &cfg, &p, err, sizeof err), LG_ERR_ARG);
}

/* ---- resampler ---------------------------------------------------------- */

static lg_image resize_row(const unsigned char *grey, int w, int dw, lg_interp interp) {
  unsigned char px[16 * 3];
  for (int i = 0; i < w; i++)
    px[3 * i] = px[3 * i + 1] = px[3 * i + 2] = grey[i];
  lg_image src = {w, 1, px}, dst;
  char err[256];
  EXPECT(lg_image_resize(&src, dw, 1, interp, &dst, err, sizeof err) == LG_OK, "%s", err);
  return dst;
}

static void resize_matches_pil_on_hand_checked_rows(void) {
  /* PIL 9.4: Image.fromarray(row).resize((dw, 1), filter) */
  static const unsigned char row[4] = {0, 100, 200, 255};
  static const struct {
    lg_interp interp;
    int dw;
    unsigned char want[3];
  } cases[] = {
      {LG_INTERP_BILINEAR, 2, {71, 209}}, /* (75 + 50) / 1.75 = 71.4 */
      {LG_INTERP_BICUBIC, 2, {60, 221}},
      {LG_INTERP_NEAREST, 3, {0, 200, 255}}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    lg_image d = resize_row(row, 4, cases[i].dw, cases[i].interp);
    for (int x = 0; d.rgb && x < cases[i].dw; x++)
      EXPECT(
          d.rgb[3 * x] == cases[i].want[x],
          "%s to %d: pixel %d = %d, want %d",
          lg_interp_name(cases[i].interp),
          cases[i].dw,
          x,
          d.rgb[3 * x],
          cases[i].want[x]);
    lg_image_free(&d);
  }
}

static void resize_keeps_constant_images_constant(void) {
  enum { W = 37, H = 23 };
  static unsigned char px[W * H * 3];
  memset(px, 201, sizeof px);
  lg_image src = {W, H, px};
  static const int sizes[][2] = {{11, 7}, {64, 23}, {37, 50}, {200, 120}, {3, 2}};
  for (int interp = LG_INTERP_NEAREST; interp <= LG_INTERP_BICUBIC; interp++) {
    for (int s = 0; s < 5; s++) {
      lg_image d;
      char err[256];
      EXPECT(
          lg_image_resize(&src, sizes[s][0], sizes[s][1], (lg_interp)interp, &d, err, sizeof err) == LG_OK,
          "%s",
          err);
      int bad = 0;
      for (int i = 0; d.rgb && i < d.w * d.h * 3; i++)
        bad += d.rgb[i] != 201;
      EXPECT(bad == 0, "%s %dx%d: %d values differ from 201", lg_interp_name(interp), sizes[s][0], sizes[s][1], bad);
      lg_image_free(&d);
    }
  }
}

static void grey_image_gives_timm_single_channel(void) {
  /* timm in_chans=1 path: PIL convert('L'), one mean/std. With equal means
   * the three channels are identical and the 1-channel mean reproduces them. */
  enum { W = 40, H = 30 };
  static unsigned char px[W * H * 3];
  for (int i = 0; i < W * H * 3; i++)
    px[i] = (unsigned char)(i * 37 % 251);
  lg_image img = {W, H, px};
  lg_image_to_grey(&img);
  EXPECT_INT(px[0], (0 * 19595 + 37 * 38470 + 74 * 7471 + 0x8000) >> 16);
  lg_preprocess_cfg cfg = {
      .out_h = 16,
      .out_w = 16,
      .crop_pct = 0.875f,
      .interp = LG_INTERP_BICUBIC,
      .mean = {0.5f, 0.5f, 0.5f},
      .std = {0.5f, 0.5f, 0.5f}};
  float chw[3 * 16 * 16], one[16 * 16], four[4 * 16 * 16];
  char err[256];
  EXPECT(lg_preprocess_image(&img, &cfg, chw, err, sizeof err) == LG_OK, "%s", err);
  lg_preprocess_to_channels(chw, 16, 16, 1, one);
  int bad = 0;
  for (int i = 0; i < 16 * 16; i++)
    bad += one[i] != chw[i] || chw[i] != chw[256 + i] || chw[i] != chw[512 + i];
  EXPECT(bad == 0, "%d of 256 grey values differ between channels", bad);
  lg_preprocess_to_channels(chw, 16, 16, 4, four);
  EXPECT(memcmp(four + 3 * 256, chw, 256 * sizeof(float)) == 0, "channel 3 is not channel 0");
}

/* ---- decoding ----------------------------------------------------------- */

static void decodes_ppm_and_replicates_pgm_grey(void) {
  static const unsigned char ppm[] = "P6\n2 1\n255\n\x01\x02\x03\xfa\xfb\xfc";
  static const unsigned char pgm[] = "P5\n2 1\n255\n\x07\xf0";
  lg_image img;
  char err[256];
  EXPECT(lg_image_decode(ppm, sizeof ppm - 1, "t.ppm", &img, err, sizeof err) == LG_OK, "%s", err);
  EXPECT(
      img.w == 2 && img.h == 1 && img.rgb[0] == 1 && img.rgb[5] == 0xfc,
      "ppm: %dx%d first %d last %d",
      img.w,
      img.h,
      img.rgb ? img.rgb[0] : -1,
      img.rgb ? img.rgb[5] : -1);
  lg_image_free(&img);
  EXPECT(lg_image_decode(pgm, sizeof pgm - 1, "t.pgm", &img, err, sizeof err) == LG_OK, "%s", err);
  EXPECT(
      img.rgb && img.rgb[0] == 7 && img.rgb[1] == 7 && img.rgb[2] == 7 && img.rgb[3] == 0xf0 && img.rgb[5] == 0xf0,
      "pgm grey not replicated");
  lg_image_free(&img);
}

static void load_errors_name_the_file_and_reason(void) {
  lg_image img;
  char err[512] = "";
  EXPECT_INT(lg_image_load("/nonexistent/cat.jpg", &img, err, sizeof err), LG_ERR_NOT_FOUND);
  EXPECT(strstr(err, "/nonexistent/cat.jpg") != NULL, "message '%s'", err);
  EXPECT(img.rgb == NULL, "image not zeroed on failure");

  static const unsigned char junk[] = "GIF89a this is not an image we decode";
  EXPECT_INT(lg_image_decode(junk, sizeof junk - 1, "junk.gif", &img, err, sizeof err), LG_ERR_FORMAT);
  EXPECT(strstr(err, "junk.gif") && strstr(err, "supported"), "message '%s'", err);

  static const unsigned char truncated[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0";
  EXPECT_INT(lg_image_decode(truncated, sizeof truncated - 1, "cut.png", &img, err, sizeof err), LG_ERR_FORMAT);
  EXPECT(strstr(err, "cut.png") != NULL, "message '%s'", err);
}

/* A PNG header declaring 16384 x 16384 (a 782 KB bomb of this shape took 1.6 GB
 * to decode): refused from IHDR, before any pixel memory. */
static void refuses_decompression_bomb_from_its_header(void) {
  static const unsigned char bomb[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x40\0\0\0\x40\0\x08\x02\0\0\0"
                                      "\x26\xaa\x87\xd3";
  lg_image img;
  char err[512] = "";
  EXPECT_INT(lg_image_decode(bomb, sizeof bomb - 1, "bomb.png", &img, err, sizeof err), LG_ERR_UNSUPPORTED);
  EXPECT(strstr(err, "bomb.png") && strstr(err, "16384x16384") && strstr(err, "67108864 pixels"), "message '%s'", err);
  EXPECT(img.rgb == NULL, "pixels allocated for a refused image");
}

static void refuses_bmp_naming_the_supported_formats(void) {
  static const unsigned char bmp[] = "BM\x3a\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0\x01\0\0\0\x01\0\0\0\x01\0\x18\0";
  lg_image img;
  char err[512] = "";
  EXPECT_INT(lg_image_decode(bmp, sizeof bmp - 1, "x.bmp", &img, err, sizeof err), LG_ERR_FORMAT);
  EXPECT(strstr(err, "x.bmp") && strstr(err, "convert other formats to PNG"), "message '%s'", err);
}

/* ---- labels ------------------------------------------------------------- */

static void labels_take_text_after_tab_or_whole_line(void) {
  static const char text[] = "\xEF\xBB\xBFn01440764\ttench, Tinca tinca\r\n"
                             "goldfish\n"
                             "\n"
                             "n01491361\ttiger shark\n";
  lg_labels l;
  char err[256], buf[32];
  EXPECT(lg_labels_parse(text, sizeof text - 1, &l, err, sizeof err) == LG_OK, "%s", err);
  EXPECT_INT(l.n, 4);
  EXPECT(l.n == 4 && strcmp(lg_labels_get(&l, 0), "tench, Tinca tinca") == 0, "0: '%s'", lg_labels_get(&l, 0));
  EXPECT(l.n == 4 && strcmp(lg_labels_get(&l, 1), "goldfish") == 0, "1: '%s'", lg_labels_get(&l, 1));
  EXPECT(l.n == 4 && strcmp(lg_labels_get(&l, 3), "tiger shark") == 0, "3: '%s'", lg_labels_get(&l, 3));
  EXPECT(strcmp(lg_labels_format(&l, 2, buf, sizeof buf), "class 2") == 0, "blank line prints '%s'", buf);
  EXPECT(lg_labels_get(&l, 4) == NULL && lg_labels_get(&l, -1) == NULL, "out of range");
  lg_labels_free(&l);
}

static void labels_find_classes_by_synset_key(void) {
  static const char text[] = "n01440764\ttench\ngoldfish\nn01491361\ttiger shark\n";
  lg_labels l;
  char err[256];
  CHECK(lg_labels_parse(text, sizeof text - 1, &l, err, sizeof err) == LG_OK, "%s", err);
  EXPECT_INT(lg_labels_find_key(&l, "n01440764"), 0);
  EXPECT_INT(lg_labels_find_key(&l, "n01491361"), 2);
  EXPECT_INT(lg_labels_find_key(&l, "goldfish"), -1); /* a name, not a key */
  EXPECT_INT(lg_labels_find_key(&l, ""), -1); /* lines without a key never match */
  EXPECT_INT(lg_labels_find_key(&l, "n0144076"), -1);
  EXPECT(strcmp(l.key[1], "") == 0 && strcmp(l.name[2], "tiger shark") == 0, "key '%s' name '%s'", l.key[1], l.name[2]);
  lg_labels_free(&l);
}

static void missing_labels_print_class_index(void) {
  lg_labels l;
  char err[256], buf[32];
  EXPECT(lg_labels_parse("", 0, &l, err, sizeof err) == LG_OK, "%s", err);
  EXPECT_INT(l.n, 0);
  EXPECT(strcmp(lg_labels_format(&l, 123, buf, sizeof buf), "class 123") == 0, "'%s'", buf);
  EXPECT(strcmp(lg_labels_format(NULL, 7, buf, sizeof buf), "class 7") == 0, "'%s'", buf);
  EXPECT_INT(lg_labels_parse("a\0b", 3, &l, err, sizeof err), LG_ERR_FORMAT);
  EXPECT(lg_labels_parse("only", 4, &l, err, sizeof err) == LG_OK && l.n == 1, "no newline");
  lg_labels_free(&l);
}

/* ---- softmax / top-k ---------------------------------------------------- */

static void softmax_is_stable_and_sums_to_one(void) {
  float logits[4] = {1000.0f, 1001.0f, 999.0f, -1e30f}, p[4];
  lg_softmax(logits, 4, p);
  double sum = p[0] + p[1] + p[2] + p[3];
  EXPECT(fabs(sum - 1.0) < 1e-6, "sum %.9g", sum);
  double want1 = 1.0 / (1.0 + exp(-1.0) + exp(-2.0));
  EXPECT(fabs(p[1] - want1) < 1e-7, "p[1] %.9g, want %.9g", p[1], want1);
  EXPECT(p[3] == 0.0f, "p[3] %.9g", p[3]);

  float neg[3] = {-INFINITY, -INFINITY, -INFINITY};
  lg_softmax(neg, 3, neg); /* in place */
  EXPECT(fabsf(neg[0] - 1.0f / 3) < 1e-7f && neg[2] == neg[0], "all -inf: %g %g", neg[0], neg[2]);
  float inf[3] = {INFINITY, 0.0f, INFINITY};
  lg_softmax(inf, 3, inf);
  EXPECT(inf[0] == 0.5f && inf[1] == 0.0f && inf[2] == 0.5f, "+inf: %g %g %g", inf[0], inf[1], inf[2]);
}

static void topk_orders_ties_by_lower_index_and_nan_last(void) {
  float v[7] = {0.5f, 2.0f, NAN, 2.0f, -1.0f, 3.0f, 2.0f};
  int idx[7];
  static const int want[7] = {5, 1, 3, 6, 0, 4, 2};
  int m = lg_topk(v, 7, 7, idx);
  EXPECT_INT(m, 7);
  for (int i = 0; i < m; i++)
    EXPECT(idx[i] == want[i], "rank %d: index %d, want %d", i, idx[i], want[i]);
  m = lg_topk(v, 7, 3, idx);
  EXPECT(m == 3 && idx[0] == 5 && idx[1] == 1 && idx[2] == 3, "top3 %d %d %d", idx[0], idx[1], idx[2]);
  EXPECT_INT(lg_topk(v, 7, 100, idx), 7);
  EXPECT_INT(lg_topk(v, 7, 0, idx), 0);
  EXPECT_INT(lg_topk(v, 0, 5, idx), 0);
}

int main(void) {
  static const check_test tests[] = {
      CHECK_TEST(square_target_resizes_shorter_side_and_truncates_longer),
      CHECK_TEST(crop_offset_rounds_half_to_even),
      CHECK_TEST(squash_resizes_both_sides_to_the_scale_size),
      CHECK_TEST(border_fits_the_longer_side_and_pads_with_the_mean_colour),
      CHECK_TEST(crop_pct_float_is_read_as_its_decimal),
      CHECK_TEST(non_square_target_keeps_ratio_and_is_always_bilinear),
      CHECK_TEST(crop_larger_than_image_pads_with_zero_pixels),
      CHECK_TEST(rejects_bad_config),
      CHECK_TEST(resize_matches_pil_on_hand_checked_rows),
      CHECK_TEST(resize_keeps_constant_images_constant),
      CHECK_TEST(grey_image_gives_timm_single_channel),
      CHECK_TEST(decodes_ppm_and_replicates_pgm_grey),
      CHECK_TEST(load_errors_name_the_file_and_reason),
      CHECK_TEST(refuses_decompression_bomb_from_its_header),
      CHECK_TEST(refuses_bmp_naming_the_supported_formats),
      CHECK_TEST(labels_take_text_after_tab_or_whole_line),
      CHECK_TEST(labels_find_classes_by_synset_key),
      CHECK_TEST(missing_labels_print_class_index),
      CHECK_TEST(softmax_is_stable_and_sums_to_one),
      CHECK_TEST(topk_orders_ties_by_lower_index_and_nan_last),
  };
  return check_run(tests, sizeof tests / sizeof tests[0]);
}
