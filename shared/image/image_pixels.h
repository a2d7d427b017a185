/* image_pixels — an image's pixels as a plain buffer, for the operations
 * that work on them in C (dither's error diffusion, diff's region pass), and
 * back. */
#ifndef IMG_IMAGE_PIXELS_H
#define IMG_IMAGE_PIXELS_H

#include <vips/vips.h>

/* A new image over buf (size bytes of width x height x bands 8-bit samples,
 * interleaved), which it takes: g_free()d when the image closes, also when
 * this fails. NULL with libvips' error set. */
VipsImage *image_pixels_wrap(void *buf, size_t size, int width, int height, int bands,
                             VipsInterpretation interpretation);

#endif
