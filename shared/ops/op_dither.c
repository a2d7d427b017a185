/* op_dither — Floyd-Steinberg error diffusion to `levels` values per channel.
 *
 * The input (turned upright by the runner) is normalised to 8-bit sRGB, or
 * 8-bit greyscale when it is grey (image_normalise). Alpha is kept
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
 * 8 colours. Result: PNG unless `format` says otherwise (a lossy format
 * blurs the levels again).
 */
#include "image_normalise.h"
#include "image_pixels.h"
#include "op_job.h"
#include "op_params.h"

#include <math.h>
#include <stdint.h>
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
    OP_OUTPUT_PARAMS("png"),
    {.name = NULL},
};

/* The state of one dithering pass over an interleaved 8-bit buffer. */
typedef struct {
    int width, height, bands, colour_bands, levels;
    float *cur, *next;  /* (width + 2) * colour_bands each; index 0 and width+1 are margins */
    uint8_t value[256]; /* level index -> 8-bit value */
} s_dither_t;

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
static int s_dither(op_job_t *job, uint8_t *buf, int width, int height, int bands, int colour_bands,
                    int levels)
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
        if (y % 64 == 63 && op_job_expired(job))
            rc = op_job_timeout(job);
        if (y % 64 == 0)
            op_job_progress(job, (int)((long long)y * 100 / height));
    }
    free(d.cur);
    free(d.next);
    return rc;
}

static int s_apply(op_job_t *job, const json_t *params, const op_size_t *planned, VipsImage *in,
                   VipsImage **out)
{
    (void)planned;
    VipsImage *eight = NULL;
    uint8_t *buf = NULL;
    size_t size = 0;
    int rc = -1;
    if (image_normalise(in, 0, &eight) != 0)
        return op_job_fail(job, IMG_E_PROCESSING_FAILED, "dither: colour conversion failed");
    int width = eight->Xsize, height = eight->Ysize, bands = eight->Bands;
    int colour_bands = bands - (vips_image_hasalpha(eight) ? 1 : 0);
    op_job_watch(job, eight);
    if (!(buf = vips_image_write_to_memory(eight, &size))) {
        op_job_fail(job, IMG_E_PROCESSING_FAILED, "dither: decoding failed");
        goto done;
    }
    if (s_dither(job, buf, width, height, bands, colour_bands, op_param_int(params, "levels", 2)) !=
        0)
        goto done;
    *out = image_pixels_wrap(buf, size, width, height, bands, eight->Type);
    buf = NULL; /* taken, also on failure */
    if (!*out) {
        op_job_fail(job, IMG_E_PROCESSING_FAILED, "dither: encoding failed");
        goto done;
    }
    rc = 0;
done:
    g_free(buf);
    g_object_unref(eight);
    return rc;
}

const op_def_t op_dither = {
    .name = "dither",
    .summary = "Reduces each colour channel to a number of levels with Floyd-Steinberg error "
               "diffusion.",
    .n_inputs = 1,
    .inputs = {{.name = "file", .alias = "image"}},
    .params = s_params,
    .result_kind = OP_RESULT_IMAGE,
    .apply = s_apply,
};
