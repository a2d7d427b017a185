/* op_info — facts about an image, as JSON.
 *
 * {width, height, oriented_width, oriented_height, bands, format, has_alpha,
 *  orientation, pages, mean}
 * width and height are the stored size of one page, before the EXIF
 * orientation is applied; oriented_width/oriented_height are the displayed
 * size (swapped for orientations 5..8). mean holds the mean of each band of
 * the first page, in the image's own sample values (0..255 for 8-bit,
 * 0..65535 for 16-bit), computed in one sequential pass with vips_stats (a
 * corrupt or truncated input fails).
 */
#include "op_job.h"
#include "op_plan.h"

static const op_param_t s_params[] = {{.name = NULL}};

/* What the decoded first page says: its bands, alpha and per-band means. */
typedef struct {
    int bands;
    bool has_alpha;
    json_t *means; /* owned */
} s_pixels_t;

/* The first page's facts, from one decode; 0 or -1 with img_error. */
static int s_pixels(op_job_t *job, s_pixels_t *px)
{
    VipsImage *in = op_job_open(job, 0, NULL);
    VipsImage *stats = NULL;
    json_t *means = NULL;
    if (!in)
        return -1;
    px->bands = in->Bands;
    px->has_alpha = vips_image_hasalpha(in);
    if (vips_stats(in, &stats, NULL) != 0) {
        op_job_fail(job, IMG_E_PROCESSING_FAILED, "computing the statistics failed");
        goto done;
    }
    means = json_array();
    /* stats: row 0 all bands, row 1 + b band b; column 4 the mean */
    for (int b = 0; b < in->Bands; b++) {
        double *v = NULL;
        int n = 0;
        if (vips_getpoint(stats, &v, &n, 4, b + 1, NULL) != 0 || n < 1) {
            g_free(v);
            json_decref(means);
            means = NULL;
            op_job_fail(job, IMG_E_PROCESSING_FAILED, "reading the statistics failed");
            goto done;
        }
        json_array_append_new(means, json_real(v[0]));
        g_free(v);
    }
done:
    VIPS_UNREF(stats);
    g_object_unref(in);
    px->means = means;
    return means ? 0 : -1;
}

static int s_run(op_job_t *job)
{
    const image_info_t *info = &job->info[0];
    op_size_t upright = op_size_of(info);
    s_pixels_t px;
    if (s_pixels(job, &px) != 0)
        return -1;
    job->extra = json_pack("{s:i, s:i, s:i, s:i, s:i, s:s, s:b, s:i, s:i, s:o}", "width",
                           info->width, "height", info->height, "oriented_width", upright.width,
                           "oriented_height", upright.height, "bands", px.bands, "format",
                           info->format, "has_alpha", px.has_alpha, "orientation",
                           info->orientation, "pages", info->pages, "mean", px.means);
    if (!job->extra) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return -1;
    }
    return 0;
}

const op_def_t op_info = {
    .name = "info",
    .summary = "Describe an image: size, bands, format, alpha, orientation, pages, band means.",
    .n_inputs = 1,
    .inputs = {{.name = "file", .alias = "image"}},
    .params = s_params,
    .result_kind = OP_RESULT_JSON,
    .run = s_run,
};
