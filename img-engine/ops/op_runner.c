/* op_runner — one job attempt: probe, run, convert, save, rename.
 *
 * Conversion for the output format (s_prepare):
 *   - colour: grey images (1-2 bands, B_W, GREY16) become 8-bit B_W, all
 *     others 8-bit sRGB through vips_colourspace (RGB16, CMYK with its
 *     embedded profile or libvips' built-in one, LAB ...); 16-bit samples
 *     are shifted, not clipped; at most 3 colour bands + alpha are kept;
 *   - alpha: kept for png, webp, avif, tiff and gif, flattened on white for
 *     jpeg;
 *   - metadata: EXIF, XMP, IPTC, Photoshop blocks, comments and the
 *     orientation tag are removed (the orientation has been applied; EXIF
 *     may carry GPS positions); the ICC profile is kept when it describes
 *     the output's colour space (RGB for colour, GRAY for grey), so wide
 *     gamut inputs keep their colours, and dropped otherwise (for example
 *     the CMYK profile of a converted CMYK input).
 * Savers: jpeg (Q, default 75), png (zlib level 6), webp (Q, default 75),
 * avif (heifsave AV1, Q, default 50), tiff (deflate, quality unused), gif
 * (quality unused).
 *
 * The time limit covers everything after the clock starts: the probe, the
 * operation and the save. Inputs are opened watched (op_util_open,
 * op_util_thumbnail) and saving is watched: the evaluation is killed at
 * the deadline, at the latest when the sink finishes its current strip of
 * the output. The deadline is also checked after op->run and after the save.
 */
#include "op_runner.h"

#include "image_format.h"
#include "img_error.h"
#include "op_util.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int op_result_path(const char *job_dir, const char *format, char *out, size_t size)
{
    const img_format_t *fmt = img_format_by_name(format);
    if (!fmt) {
        img_error_set(IMG_E_INTERNAL, "no result file for format '%s'", format ? format : "");
        return -1;
    }
    int n = snprintf(out, size, "%s/result.%s", job_dir, fmt->ext);
    if (n < 0 || (size_t)n >= size) {
        img_error_set(IMG_E_INTERNAL, "the job folder path is too long");
        return -1;
    }
    return 0;
}

static int s_probe_inputs(const op_def_t *op, const char *job_dir, const img_config_t *cfg,
                          char paths[][PATH_MAX], image_info_t *infos)
{
    for (int i = 0; i < op->n_inputs; i++) {
        int n = snprintf(paths[i], PATH_MAX, "%s/in_%s", job_dir, op->inputs[i].name);
        if (n < 0 || n >= PATH_MAX) {
            img_error_set(IMG_E_INTERNAL, "the job folder path is too long");
            return -1;
        }
        if (image_probe_file(paths[i], cfg, &infos[i]) != 0)
            return -1;
    }
    return 0;
}

/* ---- conversion for the output format ---- */

static bool s_is_grey(VipsImage *in)
{
    VipsInterpretation interp = vips_image_guess_interpretation(in);
    return interp == VIPS_INTERPRETATION_B_W || interp == VIPS_INTERPRETATION_GREY16 ||
           (in->Bands < 3 && interp != VIPS_INTERPRETATION_CMYK);
}

/* 8-bit B_W or sRGB; *out is a new reference. */
static int s_to_8bit(VipsImage *in, VipsImage **out)
{
    VipsImage *context = vips_image_new();
    VipsImage **t = (VipsImage **)vips_object_local_array(VIPS_OBJECT(context), 2);
    VipsInterpretation target = s_is_grey(in) ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB;
    VipsImage *x = in;
    int rc = -1;
    if (vips_image_guess_interpretation(x) != target && vips_colourspace_issupported(x)) {
        if (vips_colourspace(x, &t[0], target, NULL) != 0) {
            op_util_vips_fail(IMG_E_PROCESSING_FAILED, "colour conversion failed");
            goto done;
        }
        x = t[0];
    }
    if (x->BandFmt != VIPS_FORMAT_UCHAR) {
        /* ushort -> uchar keeps the top 8 bits; other formats are clipped. */
        gboolean shift = x->BandFmt == VIPS_FORMAT_USHORT;
        if (vips_cast(x, &t[1], VIPS_FORMAT_UCHAR, "shift", shift, NULL) != 0) {
            op_util_vips_fail(IMG_E_PROCESSING_FAILED, "conversion to 8 bits failed");
            goto done;
        }
        x = t[1];
    }
    *out = x;
    g_object_ref(x);
    rc = 0;
done:
    g_object_unref(context);
    return rc;
}

/* At most 3 colour bands + alpha (1 + alpha for grey); alpha flattened on
 * white when the format has none. *out is a new reference. */
static int s_fit_bands(VipsImage *in, const img_format_t *fmt, VipsImage **out)
{
    VipsImage *context = vips_image_new();
    VipsImage **t = (VipsImage **)vips_object_local_array(VIPS_OBJECT(context), 3);
    bool grey = s_is_grey(in);
    int max_bands = grey ? 2 : 4;
    VipsImage *x = in;
    int rc = -1;
    if (x->Bands > max_bands) {
        if (vips_extract_band(x, &t[0], 0, "n", max_bands, NULL) != 0) {
            op_util_vips_fail(IMG_E_PROCESSING_FAILED, "band extraction failed");
            goto done;
        }
        x = t[0];
    }
    if (!fmt->has_alpha && vips_image_hasalpha(x)) {
        VipsArrayDouble *white = vips_array_double_newv(1, 255.0);
        int failed = vips_flatten(x, &t[1], "background", white, NULL) ||
                     vips_cast(t[1], &t[2], VIPS_FORMAT_UCHAR, NULL);
        vips_area_unref(VIPS_AREA(white));
        if (failed) {
            op_util_vips_fail(IMG_E_PROCESSING_FAILED, "removing the alpha channel failed");
            goto done;
        }
        x = t[2];
    }
    *out = x;
    g_object_ref(x);
    rc = 0;
done:
    g_object_unref(context);
    return rc;
}

static bool s_private_field(const char *name)
{
    static const char *const prefixes[] = {
        "exif-",        "xmp-data",    "iptc-data",         "photoshop-data",
        "png-comment-", "gif-comment", "image-description", VIPS_META_ORIENTATION,
        NULL,
    };
    for (const char *const *p = prefixes; *p; p++)
        if (strncmp(name, *p, strlen(*p)) == 0)
            return true;
    return false;
}

/* The ICC profile's colour space (header bytes 16..19) matches the bands. */
static bool s_icc_matches(VipsImage *image)
{
    const void *data;
    size_t len;
    if (vips_image_get_blob(image, VIPS_META_ICC_NAME, &data, &len) != 0 || len < 20)
        return false;
    const char *space = (const char *)data + 16;
    return s_is_grey(image) ? memcmp(space, "GRAY", 4) == 0 : memcmp(space, "RGB ", 4) == 0;
}

/* On an image of our own (a fresh copy). */
static void s_strip_metadata(VipsImage *image)
{
    gchar **fields = vips_image_get_fields(image);
    for (gchar **f = fields; f && *f; f++)
        if (s_private_field(*f))
            vips_image_remove(image, *f);
    g_strfreev(fields);
    if (vips_image_get_typeof(image, VIPS_META_ICC_NAME) && !s_icc_matches(image))
        vips_image_remove(image, VIPS_META_ICC_NAME);
}

/* *out: a new image ready for fmt's saver. */
static int s_prepare(VipsImage *in, const img_format_t *fmt, VipsImage **out)
{
    VipsImage *eight = NULL, *fitted = NULL;
    int rc = -1;
    if (s_to_8bit(in, &eight) != 0 || s_fit_bands(eight, fmt, &fitted) != 0)
        goto done;
    VipsInterpretation interp =
        s_is_grey(fitted) ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB;
    if (vips_copy(fitted, out, "interpretation", interp, NULL) != 0) {
        op_util_vips_fail(IMG_E_PROCESSING_FAILED, "copying the result failed");
        goto done;
    }
    s_strip_metadata(*out);
    rc = 0;
done:
    VIPS_UNREF(eight);
    VIPS_UNREF(fitted);
    return rc;
}

/* ---- saving ---- */

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
    vips_error("op_runner", "no saver for %s", name);
    return -1;
}

static int s_temp_path(const char *job_dir, const img_format_t *fmt, char *out, size_t size)
{
    unsigned char rnd[8];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        guint64 v = (guint64)g_get_monotonic_time() ^ ((guint64)getpid() << 32);
        memcpy(rnd, &v, sizeof rnd);
    }
    char hex[17];
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
    int n = snprintf(out, size, "%s/.result-%s.%s", job_dir, hex, fmt->ext);
    if (n < 0 || (size_t)n >= size) {
        img_error_set(IMG_E_INTERNAL, "the job folder path is too long");
        return -1;
    }
    return 0;
}

/* fsync the written file and take its size. */
static int s_sync_file(const char *path, long long *bytes)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fsync(fd) != 0 || fstat(fd, &st) != 0) {
        img_error_set(IMG_E_PROCESSING_FAILED, "the result could not be written: %s",
                      strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    *bytes = (long long)st.st_size;
    return 0;
}

static void s_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Saves image to a temporary file and renames it to result.<ext>. */
static int s_write_atomic(VipsImage *image, const img_format_t *fmt, int quality,
                          const char *job_dir, long long *bytes)
{
    char tmp[PATH_MAX], final[PATH_MAX];
    if (s_temp_path(job_dir, fmt, tmp, sizeof tmp) != 0 ||
        op_result_path(job_dir, fmt->name, final, sizeof final) != 0)
        return -1;
    op_util_watch(image);
    if (s_save(image, fmt, quality, tmp) != 0) {
        op_util_vips_fail(IMG_E_PROCESSING_FAILED, "processing the image failed");
        goto fail;
    }
    if (op_util_deadline_passed()) {
        op_util_timeout();
        goto fail;
    }
    if (s_sync_file(tmp, bytes) != 0)
        goto fail;
    if (rename(tmp, final) != 0) {
        img_error_set(IMG_E_PROCESSING_FAILED, "the result could not be stored: %s",
                      strerror(errno));
        goto fail;
    }
    s_sync_dir(job_dir);
    return 0;
fail:
    unlink(tmp);
    return -1;
}

static const img_format_t *s_out_format(const op_job_t *job, const image_info_t *input)
{
    const char *name = job->out_format;
    const img_format_t *fmt;
    if (!name || strcmp(name, "same") == 0)
        fmt = img_format_same_as(img_format_by_name(input->format));
    else
        fmt = img_format_by_name(name);
    if (!fmt || !fmt->can_save) {
        img_error_set(IMG_E_PROCESSING_FAILED, "cannot write images as '%s'", name ? name : "same");
        return NULL;
    }
    return fmt;
}

static int s_image_result(op_job_t *job, const char *job_dir, json_t **result)
{
    if (!job->out) {
        img_error_set(IMG_E_PROCESSING_FAILED, "the operation produced no image");
        return -1;
    }
    const img_format_t *fmt = s_out_format(job, &job->input_info[0]);
    VipsImage *ready = NULL;
    long long bytes = 0;
    if (!fmt || s_prepare(job->out, fmt, &ready) != 0)
        return -1;
    int rc = s_write_atomic(ready, fmt, job->quality, job_dir, &bytes);
    if (rc == 0) {
        json_t *r = json_pack("{s:i, s:i, s:s, s:I}", "width", vips_image_get_width(ready),
                              "height", vips_image_get_page_height(ready), "format", fmt->name,
                              "bytes", (json_int_t)bytes);
        if (vips_image_get_n_pages(ready) > 1)
            json_object_set_new(r, "pages", json_integer(vips_image_get_n_pages(ready)));
        if (job->extra)
            json_object_update_missing(r, job->extra);
        *result = r;
    }
    g_object_unref(ready);
    return rc;
}

static int s_json_result(op_job_t *job, json_t **result)
{
    if (!json_is_object(job->extra)) {
        img_error_set(IMG_E_PROCESSING_FAILED, "the operation produced no result");
        return -1;
    }
    *result = job->extra;
    job->extra = NULL;
    return 0;
}

int op_run(const op_def_t *op, const char *job_dir, const json_t *params, const img_config_t *cfg,
           int timeout_ms, json_t **result)
{
    assert(op && job_dir && cfg && result && op->n_inputs <= OP_MAX_INPUTS);
    char paths[OP_MAX_INPUTS][PATH_MAX];
    image_info_t infos[OP_MAX_INPUTS];
    op_job_t job = {.params = params, .input_info = infos, .cfg = cfg};
    int rc = -1;
    *result = NULL;
    memset(infos, 0, sizeof infos);
    op_util_job_begin(job_dir, timeout_ms);

    if (s_probe_inputs(op, job_dir, cfg, paths, infos) != 0)
        goto done;
    for (int i = 0; i < op->n_inputs; i++)
        job.inputs[i] = paths[i];
    if (op->run(&job) != 0 || op_util_deadline_passed()) {
        if (op_util_deadline_passed())
            op_util_timeout();
        goto done;
    }
    if (op->result_kind == OP_RESULT_JSON)
        rc = s_json_result(&job, result);
    else
        rc = s_image_result(&job, job_dir, result);
done:
    VIPS_UNREF(job.out);
    json_decref(job.extra);
    op_util_job_end();
    return rc;
}
