#include "lg_image.h"

#include <limits.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_file.h"

#include <jpeglib.h>
#include <jerror.h> /* JWRN_JPEG_EOF */
#include <png.h>

/* Images come from anywhere: JPEG and PNG go to libjpeg-turbo and libpng
 * (the decoders PIL itself uses, fuzzed upstream), binary PPM/PGM is read
 * here. Every decoder reads the header first and refuses more than
 * LG_IMAGE_MAX_PIXELS before allocating pixel memory. */

#define SUPPORTED "(supported: JPEG, PNG, binary PPM/PGM; convert other formats to PNG)"

static lg_status check_size(uint64_t w, uint64_t h, const char *name, char *err, size_t errn) {
  if (w == 0 || h == 0)
    return lg_fail(
        err,
        errn,
        LG_ERR_FORMAT,
        "image '%s' has an empty size %llux%llu",
        name,
        (unsigned long long)w,
        (unsigned long long)h);
  if (w > LG_IMAGE_MAX_PIXELS || h > LG_IMAGE_MAX_PIXELS || w * h > LG_IMAGE_MAX_PIXELS)
    return lg_fail(
        err,
        errn,
        LG_ERR_UNSUPPORTED,
        "image '%s' is %llux%llu, more than the %d pixels lucidgen decodes; scale it down first",
        name,
        (unsigned long long)w,
        (unsigned long long)h,
        LG_IMAGE_MAX_PIXELS);
  return LG_OK;
}

static lg_status alloc_pixels(lg_image *img, uint64_t w, uint64_t h, const char *name, char *err, size_t errn) {
  img->rgb = malloc((size_t)w * (size_t)h * 3);
  if (!img->rgb)
    return lg_fail(
        err,
        errn,
        LG_ERR_NOMEM,
        "out of memory decoding image '%s' (%llux%llu)",
        name,
        (unsigned long long)w,
        (unsigned long long)h);
  img->w = (int)w;
  img->h = (int)h;
  return LG_OK;
}

/* ---- JPEG (libjpeg-turbo) ------------------------------------------------ */

/* libjpeg reports fatal errors through error_exit, which must not return;
 * `reason` is set when we stop the decoder ourselves. */
typedef struct {
  struct jpeg_error_mgr mgr;
  jmp_buf jump;
  int truncated;
  const char *reason;
} jpeg_errors;

static void jpeg_error_exit(j_common_ptr cinfo) { longjmp(((jpeg_errors *)cinfo->err)->jump, 1); }

static void jpeg_stop(j_common_ptr cinfo, const char *reason) {
  ((jpeg_errors *)cinfo->err)->reason = reason;
  longjmp(((jpeg_errors *)cinfo->err)->jump, 1);
}

/* Warnings (corrupt data the decoder can skip) are quiet, as in PIL; a file
 * that ends early is an error, like PIL's "image file is truncated". */
static void jpeg_warning(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
    ((jpeg_errors *)cinfo->err)->truncated = 1;
}

/* A progressive file can hold thousands of tiny scans, each a full pass over
 * the coefficients: stop at a number no encoder writes. */
#define JPEG_MAX_SCANS 500

static void jpeg_scan_limit(j_common_ptr cinfo) {
  if (((j_decompress_ptr)cinfo)->input_scan_number > JPEG_MAX_SCANS)
    jpeg_stop(cinfo, "more than 500 progressive scans");
}

/* PIL's CMYK -> RGB (Convert.c cmyk2rgb): R = (255 - C) * (255 - K) / 255,
 * rounded as its MULDIV255. */
static unsigned char cmyk_channel(unsigned c, unsigned k) {
  unsigned nk = 255 - k, t = c * nk + 128;
  return (unsigned char)(nk - (((t >> 8) + t) >> 8));
}

static lg_status decode_jpeg(
    const unsigned char *data,
    size_t len,
    const char *name,
    lg_image *img,
    char *err,
    size_t errn) {
  struct jpeg_decompress_struct cinfo;
  struct jpeg_progress_mgr progress = {.progress_monitor = jpeg_scan_limit};
  jpeg_errors jerr = {.truncated = 0, .reason = NULL};
  unsigned char *volatile row = NULL;
  volatile lg_status st = LG_OK;

  cinfo.err = jpeg_std_error(&jerr.mgr);
  jerr.mgr.error_exit = jpeg_error_exit;
  jerr.mgr.emit_message = jpeg_warning;
  if (setjmp(jerr.jump)) {
    char why[JMSG_LENGTH_MAX];
    if (jerr.reason)
      snprintf(why, sizeof why, "%s", jerr.reason);
    else
      cinfo.err->format_message((j_common_ptr)&cinfo, why);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    lg_image_free(img);
    if (st != LG_OK)
      return st;
    return lg_fail(err, errn, LG_ERR_FORMAT, "cannot decode image '%s': JPEG: %s", name, why);
  }
  jpeg_create_decompress(&cinfo);
  cinfo.progress = &progress;
  jpeg_mem_src(&cinfo, data, (unsigned long)len);
  jpeg_read_header(&cinfo, TRUE);
  if ((st = check_size(cinfo.image_width, cinfo.image_height, name, err, errn)) != LG_OK)
    jpeg_stop((j_common_ptr)&cinfo, "size");

  /* PIL's decoder settings (libImaging/JpegDecode.c outside draft mode):
   * libjpeg's defaults, spelled out since the pixels depend on them. */
  cinfo.dct_method = JDCT_ISLOW;
  cinfo.do_fancy_upsampling = TRUE;
  cinfo.do_block_smoothing = TRUE;
  int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : cinfo.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  int comps = cinfo.output_components;
  if ((st = alloc_pixels(img, cinfo.output_width, cinfo.output_height, name, err, errn)) != LG_OK)
    jpeg_stop((j_common_ptr)&cinfo, "memory");
  if (!(row = malloc((size_t)cinfo.output_width * (size_t)comps))) {
    st = lg_fail(err, errn, LG_ERR_NOMEM, "out of memory decoding image '%s'", name);
    jpeg_stop((j_common_ptr)&cinfo, "memory");
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    unsigned char *out = img->rgb + (size_t)cinfo.output_scanline * (size_t)img->w * 3;
    JSAMPROW rows[1] = {row};
    jpeg_read_scanlines(&cinfo, rows, 1);
    for (int x = 0; x < img->w; x++, out += 3) {
      const unsigned char *p = row + (size_t)x * comps;
      if (comps == 1) {
        out[0] = out[1] = out[2] = p[0];
      } else if (comps == 3) {
        memcpy(out, p, 3);
      } else { /* CMYK; Adobe files store it inverted, which PIL reads as "CMYK;I" */
        unsigned inv = cinfo.saw_Adobe_marker ? 255 : 0, k = p[3] ^ inv;
        for (int c = 0; c < 3; c++)
          out[c] = cmyk_channel(p[c] ^ inv, k);
      }
    }
  }
  if (jerr.truncated)
    jpeg_stop((j_common_ptr)&cinfo, "the file is truncated");
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  free(row);
  return LG_OK;
}

/* ---- PNG (libpng) ---------------------------------------------------------- */

typedef struct {
  const unsigned char *data;
  size_t len, pos;
  char why[200];
} png_source;

static void png_read_memory(png_structp png, png_bytep out, size_t n) {
  png_source *src = png_get_io_ptr(png);
  if (n > src->len - src->pos)
    png_error(png, "the file is truncated");
  memcpy(out, src->data + src->pos, n);
  src->pos += n;
}

static void png_fail(png_structp png, png_const_charp msg) {
  png_source *src = png_get_error_ptr(png);
  snprintf(src->why, sizeof src->why, "%s", msg);
  png_longjmp(png, 1);
}

static void png_quiet(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

/* PIL's convert('RGB') of every PNG mode: palette looked up, grey
 * replicated, alpha and tRNS dropped, 16-bit samples keep their high byte,
 * gAMA/iCCP ignored. */
static lg_status decode_png(
    const unsigned char *data,
    size_t len,
    const char *name,
    lg_image *img,
    char *err,
    size_t errn) {
  /* IHDR is the first chunk: refuse a bomb on its declared size alone. */
  if (len >= 24 && memcmp(data + 12, "IHDR", 4) == 0) {
    const unsigned char *d = data + 16;
    uint64_t w = (uint64_t)d[0] << 24 | d[1] << 16 | d[2] << 8 | d[3];
    uint64_t h = (uint64_t)d[4] << 24 | d[5] << 16 | d[6] << 8 | d[7];
    lg_status size_ok = check_size(w, h, name, err, errn);
    if (size_ok != LG_OK)
      return size_ok;
  }
  png_source src = {data, len, 0, ""};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_fail, png_quiet);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  png_bytep *volatile rows = NULL;
  volatile lg_status st = LG_OK;
  if (!info) {
    png_destroy_read_struct(&png, NULL, NULL);
    return lg_fail(err, errn, LG_ERR_NOMEM, "out of memory decoding image '%s'", name);
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    lg_image_free(img);
    if (st != LG_OK)
      return st;
    return lg_fail(err, errn, LG_ERR_FORMAT, "cannot decode image '%s': PNG: %s", name, src.why);
  }
  png_set_read_fn(png, &src, png_read_memory);
  png_set_user_limits(png, LG_IMAGE_MAX_PIXELS, LG_IMAGE_MAX_PIXELS);
  png_read_info(png, info);
  png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  if ((st = check_size(w, h, name, err, errn)) != LG_OK)
    png_longjmp(png, 1);
  int type = png_get_color_type(png, info);
  png_set_strip_16(png);
  png_set_packing(png);
  if (type == PNG_COLOR_TYPE_PALETTE)
    png_set_palette_to_rgb(png);
  if (type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA) {
    png_set_expand_gray_1_2_4_to_8(png);
    png_set_gray_to_rgb(png);
  }
  png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_channels(png, info) != 3 || png_get_rowbytes(png, info) != (size_t)w * 3) {
    snprintf(src.why, sizeof src.why, "unexpected layout after conversion to RGB");
    png_longjmp(png, 1);
  }
  if ((st = alloc_pixels(img, w, h, name, err, errn)) != LG_OK)
    png_longjmp(png, 1);
  if (!(rows = malloc(sizeof *rows * h))) {
    st = lg_fail(err, errn, LG_ERR_NOMEM, "out of memory decoding image '%s'", name);
    png_longjmp(png, 1);
  }
  for (png_uint_32 y = 0; y < h; y++)
    rows[y] = img->rgb + (size_t)y * w * 3;
  png_read_image(png, rows);
  png_destroy_read_struct(&png, &info, NULL);
  free(rows);
  return LG_OK;
}

/* ---- binary PPM (P6) and PGM (P5), maxval 255 -------------------------------- */

/* Skips whitespace and # comments, then reads a decimal number. */
static int pnm_number(const unsigned char *p, size_t len, size_t *pos, uint64_t *out) {
  while (*pos < len) {
    if (p[*pos] == '#') {
      while (*pos < len && p[*pos] != '\n')
        (*pos)++;
    } else if (p[*pos] == ' ' || p[*pos] == '\t' || p[*pos] == '\n' || p[*pos] == '\r') {
      (*pos)++;
    } else {
      break;
    }
  }
  uint64_t v = 0;
  size_t start = *pos;
  while (*pos < len && p[*pos] >= '0' && p[*pos] <= '9' && *pos - start < 10)
    v = v * 10 + (p[(*pos)++] - '0');
  *out = v;
  return *pos > start && *pos < len;
}

static lg_status decode_pnm(
    const unsigned char *data,
    size_t len,
    const char *name,
    lg_image *img,
    char *err,
    size_t errn) {
  uint64_t w, h, maxval;
  size_t pos = 2;
  int comps = data[1] == '6' ? 3 : 1;
  if (!pnm_number(data, len, &pos, &w) || !pnm_number(data, len, &pos, &h) || !pnm_number(data, len, &pos, &maxval) ||
      !(data[pos] == ' ' || data[pos] == '\t' || data[pos] == '\n' || data[pos] == '\r'))
    return lg_fail(err, errn, LG_ERR_FORMAT, "cannot decode image '%s': PNM: bad header", name);
  pos++; /* the one whitespace byte before the samples */
  lg_status st = check_size(w, h, name, err, errn);
  if (st != LG_OK)
    return st;
  if (maxval != 255)
    return lg_fail(
        err,
        errn,
        LG_ERR_UNSUPPORTED,
        "cannot decode image '%s': PNM with maxval %llu (only 255 is read); convert it to PNG",
        name,
        (unsigned long long)maxval);
  if ((len - pos) / (uint64_t)comps / w < h)
    return lg_fail(err, errn, LG_ERR_FORMAT, "cannot decode image '%s': PNM: the file is truncated", name);
  if ((st = alloc_pixels(img, w, h, name, err, errn)) != LG_OK)
    return st;
  const unsigned char *p = data + pos;
  for (size_t i = 0, n = (size_t)w * (size_t)h; i < n; i++, p += comps)
    for (int c = 0; c < 3; c++)
      img->rgb[3 * i + c] = p[comps == 3 ? c : 0];
  return LG_OK;
}

/* ---- entry points ------------------------------------------------------------- */

lg_status lg_image_decode(
    const unsigned char *data,
    size_t len,
    const char *name,
    lg_image *img,
    char *err,
    size_t errn) {
  memset(img, 0, sizeof *img);
  if (!name)
    name = "<memory>";
  if (!data || len == 0)
    return lg_fail(err, errn, LG_ERR_FORMAT, "image '%s' is empty", name);
  if (len >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
    return decode_jpeg(data, len, name, img, err, errn);
  if (len >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0)
    return decode_png(data, len, name, img, err, errn);
  if (len >= 3 && data[0] == 'P' && (data[1] == '5' || data[1] == '6'))
    return decode_pnm(data, len, name, img, err, errn);
  return lg_fail(err, errn, LG_ERR_FORMAT, "cannot decode image '%s': not a JPEG, PNG or PNM file " SUPPORTED, name);
}

lg_status lg_image_load(const char *path, lg_image *img, char *err, size_t errn) {
  memset(img, 0, sizeof *img);
  if (!path)
    return lg_fail(err, errn, LG_ERR_ARG, "no image path given");
  /* whole, from a regular file of at most LG_IMAGE_MAX_FILE_BYTES: the
   * decoders then see one bounded buffer */
  unsigned char *data;
  size_t len;
  lg_status st = lg_file_read(path, "image", LG_IMAGE_MAX_FILE_BYTES, &data, &len, err, errn);
  if (st == LG_OK)
    st = lg_image_decode(data, len, path, img, err, errn);
  free(data);
  return st;
}

void lg_image_to_grey(lg_image *img) {
  size_t n = (size_t)img->w * (size_t)img->h;
  unsigned char *p = img->rgb;
  for (size_t i = 0; i < n; i++, p += 3) {
    unsigned l = (p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 0x8000u) >> 16;
    p[0] = p[1] = p[2] = (unsigned char)l;
  }
}

void lg_image_free(lg_image *img) {
  if (!img)
    return;
  free(img->rgb);
  img->rgb = NULL;
  img->w = img->h = 0;
}
