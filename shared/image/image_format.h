/* image_format — the formats the service reads and writes, in one table.
 *
 * A format has a public name (the API's `format` values and the `format`
 * field of results), a MIME type, a file extension, the libvips loader that
 * recognises it from its bytes and whether it can carry alpha.
 */
#ifndef IMG_IMAGE_FORMAT_H
#define IMG_IMAGE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *name;   /* "jpeg", "png", "webp", "gif", "tiff", "heif", "avif" */
    const char *mime;   /* "image/jpeg" ... */
    const char *ext;    /* "jpg", "png", ... (result file extension) */
    bool has_alpha;     /* the format stores an alpha channel */
    bool can_save;      /* allowed as an output `format` */
    const char *loader; /* libvips' file loader ("jpegload"; heif and avif: "heifload") */
} img_format_t;

/* The formats, in the table's order: i < img_format_count(). */
size_t img_format_count(void);
const img_format_t *img_format_at(size_t i);

/* By public name; NULL if unknown. "same" is not a format (NULL). */
const img_format_t *img_format_by_name(const char *name);

/* From a libvips loader nickname ("jpegload", "pngload_source", "heifload"...)
 * and, for heifload, the file's "heif-compression" ("av1" -> avif); NULL if the
 * loader is not one of ours (svg, pdf, ppm, ... are never ours). */
const img_format_t *img_format_by_loader(const char *loader, const char *heif_compression);

/* The format written when the output format is "same": the input's own
 * format if it can be saved, else a sensible one (heif -> avif). */
const img_format_t *img_format_same_as(const img_format_t *input);

/* True if name is in the comma-separated list (e.g. the allowed_formats setting). */
bool img_format_in_list(const char *name, const char *list);

#endif
