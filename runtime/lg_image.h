/* lg_image: decode JPEG/PNG/binary PPM(PGM) files into 8-bit RGB, the way
 * timm's loaders see them after PIL's `Image.open(f).convert('RGB')`:
 * grey is replicated into R=G=B, alpha is dropped (no compositing onto a
 * background, like PIL's rgba2rgb), CMYK JPEGs are converted with PIL's
 * formula, 16-bit samples keep their high byte, EXIF orientation is ignored
 * (PIL does not apply it on open either).
 *
 * Images are untrusted input: JPEG is decoded by libjpeg-turbo and PNG by
 * libpng (the libraries PIL uses, fuzzed upstream) with PIL's decoder
 * settings, so JPEG pixels equal PIL's; binary PPM/PGM with maxval 255 is
 * read here. BMP, GIF, TIFF, WebP and ASCII PNM are refused (convert them
 * to PNG). Sizes are checked from the header before pixels are allocated.
 *
 * Pixel layout: rgb is h rows of w pixels, each pixel 3 bytes R,G,B
 * (HWC, no row padding): pixel (x, y) channel c is rgb[(y * w + x) * 3 + c].
 *
 * Known difference from PIL: 16-bit greyscale PNGs are scaled (v >> 8)
 * where PIL 9 clips. */
#ifndef LG_IMAGE_H
#define LG_IMAGE_H

#include <stddef.h>

#include "lg_status.h"

typedef struct lg_image {
  int w, h;
  unsigned char *rgb; /* (h, w, 3) uint8, owned; free with lg_image_free */
} lg_image;

/* Largest image we decode, in pixels (w * h, e.g. 8192 x 8192: 192 MiB of
 * RGB); bigger ones (decompression bombs: a 782 KB PNG can declare
 * 16384 x 16384) are rejected with LG_ERR_UNSUPPORTED from their header,
 * before any pixel memory is allocated. */
#define LG_IMAGE_MAX_PIXELS (1 << 26)

/* Largest image file lg_image_load reads (256 MiB), refused from its size
 * before a byte is read. */
#define LG_IMAGE_MAX_FILE_BYTES (1 << 28)

/* Decode the file at `path`. On failure `img` is zeroed and `err` names the
 * file and the decoder's reason (LG_ERR_NOT_FOUND / LG_ERR_IO when it cannot
 * be opened, LG_ERR_ARG when it is not a regular file (lg_file: a directory,
 * FIFO or device), LG_ERR_FORMAT when it is not a decodable JPEG/PNG/PNM,
 * LG_ERR_UNSUPPORTED past the limits above). */
lg_status lg_image_load(const char *path, lg_image *img, char *err, size_t errn);

/* Decode an in-memory file; `name` is only used in error messages. */
lg_status lg_image_decode(
    const unsigned char *data,
    size_t len,
    const char *name,
    lg_image *img,
    char *err,
    size_t errn);

/* Replace every pixel by its luma, replicated into R=G=B, with PIL's
 * `convert('L')` arithmetic (ITU-R 601-2, 16-bit fixed point):
 *   L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16.
 * This is how timm feeds in_chans=1 models (it opens images in mode 'L'). */
void lg_image_to_grey(lg_image *img);

void lg_image_free(lg_image *img);

#endif
