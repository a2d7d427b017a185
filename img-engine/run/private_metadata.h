/* private_metadata — the metadata no result carries: camera, place and
 * author details (EXIF, XMP, IPTC, Photoshop blocks), comments, the
 * orientation tag (once applied) and the EXIF thumbnail (a small copy of
 * the whole original, which a crop or a blur would otherwise leak).
 *
 * The result writer strips it before a save. The job runner strips it
 * once, from the opened input of an operation that makes an image, so that
 * the resampling, conversion and save stages of libvips do not copy and
 * free about a hundred EXIF fields each for nothing.
 */
#ifndef IMG_PRIVATE_METADATA_H
#define IMG_PRIVATE_METADATA_H

#include <stdbool.h>
#include <vips/vips.h>

/* True if a field of this name is private metadata. */
bool private_metadata_is(const char *name);

/* Removes every private field from image, which must be the caller's own
 * and not yet the input of another image (a fresh copy): an image built
 * from it before would keep the fields. */
void private_metadata_strip(VipsImage *image);

/* *image replaced by a copy of it without private metadata (the caller's
 * reference moves to the copy). 0, or -1 with the reason in libvips' error
 * buffer (*image then unchanged). */
int private_metadata_drop(VipsImage **image);

#endif
