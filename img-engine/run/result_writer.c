#include "result_writer.h"

#include "image_normalise.h"
#include "job_files.h"
#include "private_metadata.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The ICC profile's colour space (header bytes 16..19) matches the bands. */
static bool s_icc_matches(VipsImage *image)
{
    const void *data;
    size_t len;
    if (vips_image_get_blob(image, VIPS_META_ICC_NAME, &data, &len) != 0 || len < 20)
        return false;
    const char *space = (const char *)data + 16;
    return image_is_grey(image) ? memcmp(space, "GRAY", 4) == 0 : memcmp(space, "RGB ", 4) == 0;
}

/* On an image of our own (a fresh copy). */
static void s_strip_metadata(VipsImage *image)
{
    private_metadata_strip(image);
    if (vips_image_get_typeof(image, VIPS_META_ICC_NAME) && !s_icc_matches(image))
        vips_image_remove(image, VIPS_META_ICC_NAME);
}

static int s_save(VipsImage *image, const img_format_t *fmt, int quality, const char *path)
{
    const char *name = fmt->name;
    if (strcmp(name, "jpeg") == 0)
        return vips_jpegsave(image, path, "Q", quality ? quality : 75, NULL);
    /* zlib level 2: on a 12-megapixel result about 5x faster to write than
     * the default level 6 (0.4 s against 2.4 s) for files about 40% larger */
    if (strcmp(name, "png") == 0)
        return vips_pngsave(image, path, "compression", 2, NULL);
    if (strcmp(name, "webp") == 0)
        return vips_webpsave(image, path, "Q", quality ? quality : 75, NULL);
    if (strcmp(name, "avif") == 0)
        return vips_heifsave(image, path, "Q", quality ? quality : 50, "compression",
                             VIPS_FOREIGN_HEIF_COMPRESSION_AV1, NULL);
    if (strcmp(name, "tiff") == 0)
        return vips_tiffsave(image, path, "compression", VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE,
                             NULL);
    if (strcmp(name, "gif") == 0)
        return vips_gifsave(image, path, NULL);
    vips_error("result_writer", "no saver for %s", name);
    return -1;
}

/* The size of the written file. */
static int s_file_size(const char *path, long long *bytes)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        img_error_set_io(errno, "the result could not be written");
        return -1;
    }
    *bytes = (long long)st.st_size;
    return 0;
}

/* The frames the file at path holds: an encoder may write fewer than it
 * was given (libwebp merges a frame equal to the one before into it, their
 * delays added). 0 or -1 with img_error. */
static int s_frames_written(op_job_t *job, const char *path, int *pages)
{
    VipsImage *header = vips_image_new_from_file(path, NULL);
    if (!header)
        return op_job_fail(job, IMG_E_PROCESSING_FAILED, "reading the result back failed");
    *pages = vips_image_get_n_pages(header);
    g_object_unref(header);
    return 0;
}

/* Saves image to a temporary file of job_dir and fills c with its renaming
 * to result.<ext>; *pages: the frames written. On -1 nothing is pending. */
static int s_write_temp(op_job_t *job, VipsImage *image, const img_format_t *fmt, int quality,
                        const char *job_dir, result_commit_t *c, long long *bytes, int *pages)
{
    memset(c, 0, sizeof *c);
    if (job_files_result_temp(job_dir, fmt->ext, c->temp, sizeof c->temp) != 0 ||
        job_files_result(job_dir, fmt->ext, c->final, sizeof c->final) != 0) {
        c->temp[0] = '\0';
        return -1;
    }
    snprintf(c->dir, sizeof c->dir, "%s", job_dir);
    op_job_watch_last(job, image);
    if (s_save(image, fmt, quality, c->temp) != 0) {
        op_job_fail(job, IMG_E_PROCESSING_FAILED, "writing the image failed");
        result_commit_blame_full_volume(job_dir);
        goto fail;
    }
    if (op_job_expired(job)) {
        op_job_timeout(job);
        goto fail;
    }
    if (s_file_size(c->temp, bytes) != 0)
        goto fail;
    *pages = vips_image_get_height(image) / vips_image_get_page_height(image);
    if (*pages > 1 && s_frames_written(job, c->temp, pages) != 0)
        goto fail;
    return 0;
fail:
    result_commit_abandon(c);
    return -1;
}

/* *out: image converted for fmt and stripped, a new image of our own. */
static int s_prepare(op_job_t *job, VipsImage *image, const img_format_t *fmt, VipsImage **out)
{
    VipsImage *normal = NULL;
    unsigned flags = fmt->has_alpha ? 0 : IMAGE_NORMALISE_FLATTEN;
    if (image_normalise(image, flags, &normal) != 0)
        return op_job_fail(job, IMG_E_PROCESSING_FAILED, "converting the result failed");
    /* a copy of our own, whose metadata may be changed */
    int rc = vips_copy(normal, out, NULL);
    g_object_unref(normal);
    if (rc != 0)
        return op_job_fail(job, IMG_E_PROCESSING_FAILED, "copying the result failed");
    s_strip_metadata(*out);
    return 0;
}

int result_writer_write(op_job_t *job, VipsImage *image, const img_format_t *fmt, int quality,
                        const char *job_dir, json_t **result, result_commit_t *pending)
{
    VipsImage *ready = NULL;
    result_commit_t own;
    result_commit_t *commit = pending ? pending : &own;
    long long bytes = 0;
    int pages = 1;
    if (s_prepare(job, image, fmt, &ready) != 0)
        return -1;
    int rc = s_write_temp(job, ready, fmt, quality, job_dir, commit, &bytes, &pages);
    if (rc == 0 && !pending)
        rc = result_commit_run(commit);
    if (rc == 0) {
        *result = json_pack("{s:i, s:i, s:s, s:I}", "width", vips_image_get_width(ready), "height",
                            vips_image_get_page_height(ready), "format", fmt->name, "bytes",
                            (json_int_t)bytes);
        if (pages > 1)
            json_object_set_new(*result, "pages", json_integer(pages));
    }
    g_object_unref(ready);
    return rc;
}
