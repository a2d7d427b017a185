/* image_probe — what an input file is, read from its header only.
 *
 * Used by img-rest before a job is accepted and by img-engine before a job
 * runs. Only libvips loaders mapped in image_format are considered: the
 * format is recognised from the bytes (libvips "is_a" sniffing), never from a
 * file name. No pixel is decoded.
 */
#ifndef IMG_IMAGE_PROBE_H
#define IMG_IMAGE_PROBE_H

#include "config.h"

#include <stdbool.h>

typedef struct {
    int width, height; /* of one page, before EXIF orientation */
    int pages;         /* frames/pages, >= 1 */
    int orientation;   /* EXIF 1..8, 1 when absent */
    char format[16];   /* image_format name */
    char loader[48];   /* libvips loader nickname */
    long long bytes;   /* file size */
} image_info_t;

/* Probes the file at path against cfg's allowed_formats, max_pixels and
 * max_frames. 0, or -1 with img_error: IMG_E_EMPTY_FILE (0 bytes),
 * IMG_E_UNSUPPORTED_MEDIA_TYPE (not an image, untrusted or disallowed
 * format, unreadable header), IMG_E_IMAGE_TOO_LARGE (pixels or frames over
 * the limits). Thread-safe once libvips is initialised. */
int image_probe_file(const char *path, const img_config_t *cfg, image_info_t *info);

/* Takes info as a probe of the file at path made before (by img-rest: the
 * job message carries it), without reading the file again: info's width,
 * height (>= 1), pages (>= 1), orientation (1..8), format and bytes are
 * given. The file must still be a regular
 * file of info->bytes bytes, the format one of ours and in cfg's
 * allowed_formats, the size within cfg's max_pixels and max_frames; fills
 * info->loader from the format. 0, or -1 with img_error as
 * image_probe_file. Whoever then opens the file must refuse pixels beyond
 * what info says (op_job_open does). */
int image_probe_known(const char *path, const img_config_t *cfg, image_info_t *info);

#endif
