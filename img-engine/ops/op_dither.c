/* op_dither — Floyd-Steinberg error diffusion to `levels` values per channel.
 *
 * The input (first page; a corrupt or truncated file fails) is turned upright (EXIF orientation)
 * and converted to 8-bit sRGB, or 8-bit greyscale when it has one colour band. Alpha is kept
 * untouched; only the colour bands are dithered.
 *
 * Each colour sample v (0..255, plus the error diffused to it) is quantised
 * to the nearest of `levels` evenly spaced values, round(i * 255 / (levels-1))
 * for i = 0..levels-1, and the difference (v - quantised) is spread to the
 * unprocessed neighbours with the classic weights 7/16 (ahead), 3/16 (below,
 * behind), 5/16 (below), 1/16 (below, ahead). Rows are scanned serpentine
 * (left to right, then right to left), which avoids the diagonal "worms" of
 * a one-way scan. The error is not clamped, so the mean of each band is kept;
 * the quantised value is. Errors live in two rows of floats per band (the
 * current and the next row), never in a whole-image copy.
 *
 * levels = 256 gives the input back unchanged; levels = 2 on RGB gives at most
 * 8 colours. Result: PNG.
 */
#include "op.h"
#include "op_params.h"
#include "op_util.h"

#include "img_error.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const op_param_t s_params[] = {
    {.name = "levels",
     .alias = "channels",
     .type = OP_PARAM_INT,
     .min = 2,
     .max = 256,
     .has_default = true,
     .def = 2,
     .help = "Number of values each colour channel is reduced to (2..256)."},
    {.name = NULL},
};

/* The state of one dithering pass over an interleaved 8-bit buffer. */
typedef struct {
    int width, height, bands, colour_bands, levels;
    float *cur, *next;  /* (width + 2) * colour_bands each; index 0 and width+1 are margins */
    uint8_t value[256]; /* level index -> 8-bit value */
} s_dither_t;

static int s_vips_failed(const char *what)
{
    char context[64];
    snprintf(context, sizeof context, "dither: %s failed", what);
    return op_util_vips_fail(IMG_E_PROCESSING_FAILED, context);
}

/* path -> upright 8-bit sRGB or B_W (alpha kept), hung on parent. */
static int s_load_8bit(VipsObject *parent, const char *path, VipsImage **out)
{
    VipsImage **t = (VipsImage **)vips_object_local_array(parent, 4);
    if (!(t[0] = op_util_open(path)))
        return -1;
    if (op_util_upright(&t[0]))
        return -1;
    int colour = t[0]->Bands - (vips_image_hasalpha(t[0]) ? 1 : 0);
    VipsInterpretation target = colour < 3 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB;
    if (vips_colourspace(t[0], &t[2], target, NULL))
        return s_vips_failed("colourspace");
    if (vips_cast_uchar(t[2], &t[3], NULL))
        return s_vips_failed("cast");
    *out = t[3];
    /* keep the colour bands and the alpha only (a TIFF may carry extra samples) */
    int want = (colour < 3 ? 1 : 3), alpha = vips_image_hasalpha(*out);
    if ((*out)->Bands > want + alpha) {
        VipsImage **x = (VipsImage **)vips_object_local_array(parent, 3);
        if (vips_extract_band(*out, &x[0], 0, "n", want, NULL) ||
            (alpha && (vips_extract_band(*out, &x[1], (*out)->Bands - 1, NULL) ||
                       vips_bandjoin2(x[0], x[1], &x[2], NULL))))
            return s_vips_failed("extract");
        *out = alpha ? x[2] : x[0];
    }
    return 0;
}

static inline uint8_t s_quantise(const s_dither_t *d, float v, float *err)
{
    float c = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
    int i = (int)lrintf(c * (float)(d->levels - 1) / 255.0f);
    uint8_t q = d->value[i];
    *err = v - (float)q;
    return q;
}

/* One row, in place; dir is +1 (left to right) or -1. */
static void s_row(s_dither_t *d, uint8_t *row, int dir)
{
    int cb = d->colour_bands;
    memset(d->next, 0, (size_t)(d->width + 2) * cb * sizeof *d->next);
    int x = dir > 0 ? 0 : d->width - 1;
    for (int k = 0; k < d->width; k++, x += dir) {
        uint8_t *px = row + (size_t)x * d->bands;
        float *c = d->cur + (size_t)(x + 1) * cb, *n = d->next + (size_t)(x + 1) * cb;
        for (int b = 0; b < cb; b++) {
            float err;
            px[b] = s_quantise(d, (float)px[b] + c[b], &err);
            c[b + dir * cb] += err * (7.0f / 16.0f);
            n[b - dir * cb] += err * (3.0f / 16.0f);
            n[b] += err * (5.0f / 16.0f);
            n[b + dir * cb] += err * (1.0f / 16.0f);
        }
    }
    float *swap = d->cur;
    d->cur = d->next;
    d->next = swap;
}

/* Dithers the colour bands of buf (interleaved 8-bit) in place. */
static int s_dither(uint8_t *buf, int width, int height, int bands, int colour_bands, int levels)
{
    s_dither_t d = {.width = width,
                    .height = height,
                    .bands = bands,
                    .colour_bands = colour_bands,
                    .levels = levels};
    size_t row_floats = (size_t)(width + 2) * colour_bands;
    d.cur = calloc(row_floats, sizeof *d.cur);
    d.next = calloc(row_floats, sizeof *d.next);
    if (!d.cur || !d.next) {
        free(d.cur);
        free(d.next);
        img_error_set(IMG_E_PROCESSING_FAILED, "dither: out of memory for a %d px row", width);
        return -1;
    }
    for (int i = 0; i < levels; i++)
        d.value[i] = (uint8_t)lrint(i * 255.0 / (levels - 1));
    int rc = 0;
    for (int y = 0; y < height && rc == 0; y++) {
        s_row(&d, buf + (size_t)y * width * bands, y % 2 == 0 ? 1 : -1);
        if (y % 64 == 63 && op_util_deadline_passed())
            rc = op_util_timeout();
    }
    free(d.cur);
    free(d.next);
    return rc;
}

static void s_free_buffer(VipsObject *image, void *buf)
{
    (void)image;
    g_free(buf);
}

static int s_run(op_job_t *job)
{
    VipsImage *ctx = vips_image_new();
    VipsObject *parent = VIPS_OBJECT(ctx);
    VipsImage *in = NULL, *raw = NULL;
    uint8_t *buf = NULL;
    size_t size = 0;
    int rc = -1;
    int levels = op_param_int(job->params, "levels", 2);

    if (levels < 2 || levels > 256) {
        img_error_set(IMG_E_INVALID_PARAMETER, "levels must be 2..256, not %d", levels);
        goto done;
    }
    if (s_load_8bit(parent, job->inputs[0], &in))
        goto done;
    int width = in->Xsize, height = in->Ysize, bands = in->Bands;
    int colour_bands = bands - (vips_image_hasalpha(in) ? 1 : 0);
    op_util_watch(in);
    if (!(buf = vips_image_write_to_memory(in, &size))) {
        s_vips_failed("decode");
        goto done;
    }
    if (s_dither(buf, width, height, bands, colour_bands, levels))
        goto done;
    if (!(raw = vips_image_new_from_memory(buf, size, width, height, bands, VIPS_FORMAT_UCHAR))) {
        s_vips_failed("encode");
        goto done;
    }
    g_signal_connect(raw, "postclose", G_CALLBACK(s_free_buffer), buf);
    buf = NULL; /* raw owns it now */
    if (vips_copy(raw, &job->out, "interpretation", in->Type, NULL)) {
        s_vips_failed("encode");
        goto done;
    }
    job->out_format = "png";
    rc = 0;
done:
    g_free(buf);
    if (raw)
        g_object_unref(raw);
    g_object_unref(ctx);
    return rc;
}

const op_def_t op_dither = {
    .name = "dither",
    .summary = "Reduces each colour channel to a number of levels with Floyd-Steinberg error "
               "diffusion (PNG).",
    .n_inputs = 1,
    .inputs = {{.name = "file", .alias = "image"}},
    .params = s_params,
    .result_kind = OP_RESULT_IMAGE,
    .check = NULL,
    .run = s_run,
};
