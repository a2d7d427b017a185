/* image_load — a file opened with the libvips loader already chosen for it.
 *
 * vips_image_new_from_file() first asks every loader libvips has whether
 * the file is theirs (each one opening it and reading its first bytes):
 * done for every open, that was about a tenth of a small job's CPU in
 * img-engine. image_probe sniffs a file once (image_info_t.loader); every
 * later open of that file names the loader instead.
 */
#ifndef IMG_IMAGE_LOAD_H
#define IMG_IMAGE_LOAD_H

#include <vips/vips.h>

/* Opens path with the libvips loader nicknamed loader ("jpegload", ...),
 * with the loader's options as NULL-terminated name, value pairs (as
 * vips_image_new_from_file takes them). The image (caller owns), or NULL
 * with the libvips error buffer set. */
VipsImage *image_load(const char *path, const char *loader, ...) G_GNUC_NULL_TERMINATED;

#endif
