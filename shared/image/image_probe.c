/* image_probe — header-only probing of an input file with libvips.
 *
 * Order of the checks, cheapest and safest first:
 *   1. stat: missing / not a regular file / 0 bytes;
 *   2. libvips' loaders sniff the first bytes (their is_a, never the name:
 *      input files have no suffix), read once through a source, ours
 *      (image_format's) first; a loader
 *      that image_format does not map (svg, pdf, magick, matrix, csv, ppm,
 *      fits, vips ...) is refused here, before it ever parses the file;
 *   3. the header is opened with that loader (image_load; sequential
 *      access: no pixel is decoded) and must still come from the same format
 *      (the file may have been replaced in between);
 *   4. heif files are told apart from avif by "heif-compression";
 *   5. the format must be in cfg->allowed_formats (an avif file is also
 *      accepted when "heif" is listed, as both are read by the heif loader);
 *   6. pages <= max_frames and width x height x pages <= max_pixels.
 *
 * image_probe_known takes a header probed before (steps 2 to 4, by img-rest)
 * and repeats only what is cheap: step 1, with the size it had, and steps 5
 * and 6 against this program's own configuration; op_job_open checks the
 * opened image against it (its size, frames, and HEIF against AVIF, which
 * share a loader: step 4).
 *
 * libvips messages name the file; the path is cut from them so that a
 * message can be shown to the client.
 */
#include "image_probe.h"

#include "image_format.h"
#include "image_load.h"
#include "img_error.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <vips/vips.h>

/* The libvips error text (process-wide buffer, copied and cleared at once),
 * on one line, with every mention of path replaced by "the file". */
static void s_vips_message(const char *path, char *out, size_t size)
{
    char *text = vips_error_buffer_copy();
    size_t n = 0;
    size_t plen = strlen(path);
    for (const char *p = text ? text : ""; *p && n + 1 < size;) {
        if (plen && strncmp(p, path, plen) == 0) {
            const char *word = "the file";
            for (; *word && n + 1 < size; word++)
                out[n++] = *word;
            p += plen;
            continue;
        }
        out[n++] = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
        p++;
    }
    while (n && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    g_free(text);
}

static bool s_allowed(const img_format_t *fmt, const char *list)
{
    if (img_format_in_list(fmt->name, list))
        return true;
    return strcmp(fmt->name, "avif") == 0 && img_format_in_list("heif", list);
}

/* "svgload_source" -> "svg" for messages. */
static void s_loader_kind(const char *loader, char *out, size_t size)
{
    const char *end = strstr(loader, "load");
    size_t len = end ? (size_t)(end - loader) : strlen(loader);
    snprintf(out, size, "%.*s", (int)len, loader);
}

static int s_check_file(const char *path, long long *bytes)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            img_error_set(IMG_E_MISSING_FILE, "the input file is missing");
        else
            img_error_set(IMG_E_INTERNAL, "the input file cannot be read: %s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        img_error_set(IMG_E_UNSUPPORTED_MEDIA_TYPE, "the input is not a regular file");
        return -1;
    }
    if (st.st_size == 0) {
        img_error_set(IMG_E_EMPTY_FILE, "the uploaded file is empty");
        return -1;
    }
    *bytes = (long long)st.st_size;
    return 0;
}

/* Whether one of our formats' loaders recognises source: its loader's
 * nickname ("jpegload"), or NULL. */
static const char *s_our_loader(VipsSource *source)
{
    for (size_t i = 0; i < img_format_count(); i++) {
        const char *loader = img_format_at(i)->loader;
        bool tried = false;
        for (size_t j = 0; j < i && !tried; j++)
            tried = strcmp(img_format_at(j)->loader, loader) == 0;
        char name[64];
        snprintf(name, sizeof name, "%s_source", loader);
        if (!tried && vips_foreign_is_a_source(name, source))
            return loader;
    }
    return NULL;
}

/* Any other loader that would take source, as its file loader's nickname
 * ("svgload") in out, or NULL: only to name what was refused. */
static const char *s_other_loader(VipsSource *source, char *out, size_t size)
{
    /* find_load_source answers the class name ("VipsForeignLoadSvgSource") */
    const char *class_name = vips_foreign_find_load_source(source);
    const char *nickname = class_name ? vips_nickname_find(g_type_from_name(class_name)) : NULL;
    if (!nickname)
        return NULL;
    size_t len = strlen(nickname);
    static const char suffix[] = "_source";
    if (len >= sizeof suffix && strcmp(nickname + len - (sizeof suffix - 1), suffix) == 0)
        len -= sizeof suffix - 1;
    snprintf(out, size, "%.*s", (int)len, nickname);
    return out;
}

/* The nickname of the file loader libvips would use for path, in out, or
 * NULL. The file is read once, through a source whose first bytes every
 * is_a looks at; our formats' loaders are asked first, so that the others
 * (openslide's probe alone was 6 % of img-rest's CPU on small uploads) only
 * ever see files that are refused anyway. */
static const char *s_find_loader(const char *path, char *out, size_t size)
{
    VipsSource *source = vips_source_new_from_file(path);
    if (!source)
        return NULL;
    const char *ours = s_our_loader(source), *loader = out;
    if (ours) {
        snprintf(out, size, "%s", ours);
    } else {
        vips_error_clear(); /* what the loaders that said no left */
        loader = s_other_loader(source, out, size);
    }
    g_object_unref(source);
    return loader;
}

/* Steps 2: the loader libvips would use, mapped to one of our formats. */
static const img_format_t *s_sniff(const char *path, const img_config_t *cfg, char *loader_buf,
                                   size_t size, const char **loader)
{
    *loader = s_find_loader(path, loader_buf, size);
    if (!*loader) {
        vips_error_clear();
        img_error_set(IMG_E_UNSUPPORTED_MEDIA_TYPE,
                      "the file is not an image in a supported format (accepted: %s)",
                      cfg->allowed_formats);
        return NULL;
    }
    const img_format_t *fmt = img_format_by_loader(*loader, NULL);
    if (!fmt) {
        char kind[48];
        s_loader_kind(*loader, kind, sizeof kind);
        img_error_set(IMG_E_UNSUPPORTED_MEDIA_TYPE, "%s files are not accepted (accepted: %s)",
                      kind, cfg->allowed_formats);
    }
    return fmt;
}

/* Steps 3 and 4 on the opened header. */
static const img_format_t *s_header_format(VipsImage *image, const char *loader,
                                           const img_format_t *sniffed)
{
    const char *used = NULL;
    if (vips_image_get_typeof(image, VIPS_META_LOADER) &&
        vips_image_get_string(image, VIPS_META_LOADER, &used) == 0 &&
        img_format_by_loader(used, NULL) != sniffed) {
        img_error_set(IMG_E_UNSUPPORTED_MEDIA_TYPE, "the file changed while it was being read");
        return NULL;
    }
    if (strcmp(sniffed->name, "heif") != 0)
        return sniffed;
    const char *compression = NULL;
    if (vips_image_get_typeof(image, "heif-compression") &&
        vips_image_get_string(image, "heif-compression", &compression) != 0)
        compression = NULL;
    return img_format_by_loader(loader, compression);
}

/* Step 6 (64-bit arithmetic: 3 x 100000 x 100000 does not fit an int; a
 * header from a message could overflow even that, which counts as over). */
static int s_check_limits(const image_info_t *info, const img_config_t *cfg)
{
    if (info->pages > cfg->max_frames) {
        img_error_set(IMG_E_IMAGE_TOO_LARGE, "the image has %d frames; the limit is %d",
                      info->pages, cfg->max_frames);
        return -1;
    }
    long long area = 0, pixels = 0;
    if (__builtin_mul_overflow((long long)info->width, (long long)info->height, &area) ||
        __builtin_mul_overflow(area, (long long)info->pages, &pixels))
        pixels = LLONG_MAX;
    if (pixels > cfg->max_pixels) {
        img_error_set(IMG_E_IMAGE_TOO_LARGE,
                      "the image has %dx%d pixels x %d page(s) = %lld pixels; the limit is %lld",
                      info->width, info->height, info->pages, pixels, cfg->max_pixels);
        return -1;
    }
    return 0;
}

static void s_fill_info(VipsImage *image, image_info_t *info)
{
    info->width = vips_image_get_width(image);
    info->height = vips_image_get_height(image);
    info->pages = vips_image_get_n_pages(image);
    if (info->pages < 1)
        info->pages = 1;
    info->orientation = vips_image_get_orientation(image);
    if (info->orientation < 1 || info->orientation > 8)
        info->orientation = 1;
}

int image_probe_file(const char *path, const img_config_t *cfg, image_info_t *info)
{
    assert(path && cfg && info);
    memset(info, 0, sizeof *info);
    const char *loader = NULL;
    if (s_check_file(path, &info->bytes) != 0)
        return -1;
    const img_format_t *fmt = s_sniff(path, cfg, info->loader, sizeof info->loader, &loader);
    if (!fmt)
        return -1;

    VipsImage *image = image_load(path, loader, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    if (!image) {
        char msg[384];
        s_vips_message(path, msg, sizeof msg);
        img_error_set(IMG_E_UNSUPPORTED_MEDIA_TYPE, "the %s header cannot be read: %s", fmt->name,
                      msg);
        return -1;
    }
    int rc = -1;
    fmt = s_header_format(image, loader, fmt);
    if (!fmt)
        goto done;
    if (!s_allowed(fmt, cfg->allowed_formats)) {
        img_error_set(IMG_E_UNSUPPORTED_MEDIA_TYPE, "%s images are not accepted (accepted: %s)",
                      fmt->name, cfg->allowed_formats);
        goto done;
    }
    s_fill_info(image, info);
    snprintf(info->format, sizeof info->format, "%s", fmt->name); /* info->loader: s_sniff */
    rc = s_check_limits(info, cfg);
done:
    g_object_unref(image);
    return rc;
}

int image_probe_known(const char *path, const img_config_t *cfg, image_info_t *info)
{
    assert(path && cfg && info);
    long long bytes = 0;
    if (s_check_file(path, &bytes) != 0)
        return -1;
    if (bytes != info->bytes) {
        img_error_set(IMG_E_UNSUPPORTED_MEDIA_TYPE, "the file changed after it was accepted");
        return -1;
    }
    const img_format_t *fmt = img_format_by_name(info->format);
    if (!fmt) {
        img_error_set(IMG_E_UNSUPPORTED_MEDIA_TYPE, "'%s' is not an image format read here",
                      info->format);
        return -1;
    }
    if (!s_allowed(fmt, cfg->allowed_formats)) {
        img_error_set(IMG_E_UNSUPPORTED_MEDIA_TYPE, "%s images are not accepted (accepted: %s)",
                      fmt->name, cfg->allowed_formats);
        return -1;
    }
    snprintf(info->loader, sizeof info->loader, "%s", fmt->loader);
    return s_check_limits(info, cfg);
}
