/* image_normalise — the one conversion every result and every operation
 * that works on plain pixels goes through: 8-bit samples, sRGB colour (or
 * grey kept grey), at most 3 colour bands + alpha, alpha kept or flattened.
 *
 *   - colour: grey images (1-2 bands, B_W, GREY16) become 8-bit B_W unless
 *     IMAGE_NORMALISE_RGB is given; all others 8-bit sRGB through
 *     vips_colourspace (RGB16, CMYK with its embedded profile or libvips'
 *     built-in one, LAB ...); 16-bit samples are shifted, not clipped;
 *   - bands: extra samples beyond colour + alpha (a TIFF's) are dropped;
 *   - alpha: kept, or flattened on white with IMAGE_NORMALISE_FLATTEN.
 */
#ifndef IMG_IMAGE_NORMALISE_H
#define IMG_IMAGE_NORMALISE_H

#include <stdbool.h>
#include <vips/vips.h>

enum {
    IMAGE_NORMALISE_RGB = 1 << 0,     /* sRGB even for a grey image */
    IMAGE_NORMALISE_FLATTEN = 1 << 1, /* no alpha: flattened on white */
};

/* True if in is grey (1-2 bands that are not CMYK, B_W, GREY16). */
bool image_is_grey(VipsImage *in);

/* *out: a new image, in normalised as above, its interpretation set (sRGB
 * or B_W). 0, or -1 with the reason in libvips' error buffer. */
int image_normalise(VipsImage *in, unsigned flags, VipsImage **out);

#endif
