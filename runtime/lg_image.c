#include "lg_image.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one stb_image instance of the runtime: static symbols (no clash with a
 * host program that links its own copy), only the formats we document. */
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_PNM
#define STBI_NO_LINEAR
#if defined(__GNUC__)
/* STB_IMAGE_STATIC declares a few functions (GIF, per-thread flags) that
 * STBI_ONLY_* leaves undefined; GCC reports that at the end of the file, so
 * this one stays off for the whole file. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#if defined(__has_include)
#if __has_include(<stb/stb_image.h>)
#include <stb/stb_image.h> /* Debian/Ubuntu libstb-dev */
#else
#include <stb_image.h>
#endif
#else
#include <stb_image.h>
#endif
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

static lg_status check_size(int w, int h, const char *name, char *err, size_t errn) {
  if (w <= 0 || h <= 0)
    return lg_fail(err, errn, LG_ERR_FORMAT, "image '%s' has an empty size %dx%d", name,
                   w, h);
  if ((long long)w * h > LG_IMAGE_MAX_PIXELS)
    return lg_fail(err, errn, LG_ERR_UNSUPPORTED,
                   "image '%s' is %dx%d, more than the %d pixels lucidgen decodes", name,
                   w, h, LG_IMAGE_MAX_PIXELS);
  return LG_OK;
}

static lg_status finish(unsigned char *pixels, int w, int h, const char *name,
                        lg_image *img, char *err, size_t errn) {
  if (!pixels) {
    const char *why = stbi_failure_reason();
    if (why && strcmp(why, "outofmem") == 0)
      return lg_fail(err, errn, LG_ERR_NOMEM, "out of memory decoding image '%s'", name);
    return lg_fail(err, errn, LG_ERR_FORMAT,
                   "cannot decode image '%s': %s (supported: JPEG, PNG, BMP, PPM/PGM)",
                   name, why ? why : "unknown reason");
  }
  img->w = w;
  img->h = h;
  img->rgb = pixels;
  return LG_OK;
}

lg_status lg_image_load(const char *path, lg_image *img, char *err, size_t errn) {
  int w = 0, h = 0, comp = 0;
  lg_status st;
  unsigned char *pixels;
  FILE *f;

  memset(img, 0, sizeof *img);
  if (!path)
    return lg_fail(err, errn, LG_ERR_ARG, "no image path given");
  f = fopen(path, "rb");
  if (!f)
    return lg_fail(err, errn, errno == ENOENT ? LG_ERR_NOT_FOUND : LG_ERR_IO,
                   "cannot open image '%s': %s", path, strerror(errno));
  if (!stbi_info_from_file(f, &w, &h, &comp)) {
    const char *why = stbi_failure_reason();
    fclose(f);
    return lg_fail(err, errn, LG_ERR_FORMAT,
                   "cannot decode image '%s': %s (supported: JPEG, PNG, BMP, PPM/PGM)",
                   path, why ? why : "unknown reason");
  }
  st = check_size(w, h, path, err, errn);
  if (st != LG_OK) {
    fclose(f);
    return st;
  }
  /* desired_channels = 3: stb replicates grey and drops alpha, as PIL's
   * convert('RGB') does. */
  pixels = stbi_load_from_file(f, &w, &h, &comp, 3);
  fclose(f);
  return finish(pixels, w, h, path, img, err, errn);
}

lg_status lg_image_decode(const unsigned char *data, size_t len, const char *name,
                          lg_image *img, char *err, size_t errn) {
  int w = 0, h = 0, comp = 0;
  lg_status st;

  memset(img, 0, sizeof *img);
  if (!name)
    name = "<memory>";
  if (!data || len == 0)
    return lg_fail(err, errn, LG_ERR_FORMAT, "image '%s' is empty", name);
  if (len > INT_MAX)
    return lg_fail(err, errn, LG_ERR_UNSUPPORTED, "image '%s' is larger than 2 GiB",
                   name);
  if (!stbi_info_from_memory(data, (int)len, &w, &h, &comp)) {
    const char *why = stbi_failure_reason();
    return lg_fail(err, errn, LG_ERR_FORMAT,
                   "cannot decode image '%s': %s (supported: JPEG, PNG, BMP, PPM/PGM)",
                   name, why ? why : "unknown reason");
  }
  st = check_size(w, h, name, err, errn);
  if (st != LG_OK)
    return st;
  return finish(stbi_load_from_memory(data, (int)len, &w, &h, &comp, 3), w, h, name, img,
                err, errn);
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
  stbi_image_free(img->rgb);
  img->rgb = NULL;
  img->w = img->h = 0;
}
