/* op_blur — a Gaussian blur of standard deviation sigma (vips_gaussblur).
 * An image with alpha is blurred premultiplied (and the result cast back to
 * the input's format): blurring the colour bands and the alpha apart would
 * mix the colour of invisible pixels (often black) into their visible
 * neighbours, grey fringes along every transparent edge. */
#include "op_job.h"
#include "op_params.h"

static const op_param_t s_params[] = {
    {.name = "sigma",
     .type = OP_PARAM_NUMBER,
     .min = 0.1,
     .max = 100,
     .required = true,
     .help = "Standard deviation of the Gaussian, in pixels."},
    OP_OUTPUT_PARAMS("same"),
    {.name = NULL},
};

/* The blur of an image with alpha, premultiplied, rounded back to the
 * input's format (a cast alone truncates); t: four slots. */
static int s_blur_alpha(VipsImage *in, double sigma, VipsImage **t, VipsImage **out)
{
    if (vips_premultiply(in, &t[0], NULL) || vips_gaussblur(t[0], &t[1], sigma, NULL) ||
        vips_unpremultiply(t[1], &t[2], NULL))
        return -1;
    if (!vips_band_format_isint(in->BandFmt))
        return vips_cast(t[2], out, in->BandFmt, NULL);
    return vips_round(t[2], &t[3], VIPS_OPERATION_ROUND_RINT, NULL) ||
           vips_cast(t[3], out, in->BandFmt, NULL);
}

static int s_apply(op_job_t *job, const json_t *params, const op_size_t *planned, VipsImage *in,
                   VipsImage **out)
{
    (void)planned;
    double sigma = op_param_number(params, "sigma", 1.0);
    VipsImage *context = vips_image_new();
    VipsImage **t = (VipsImage **)vips_object_local_array(VIPS_OBJECT(context), 4);
    int rc = vips_image_hasalpha(in) ? s_blur_alpha(in, sigma, t, out)
                                     : vips_gaussblur(in, out, sigma, NULL);
    g_object_unref(context);
    if (rc != 0)
        return op_job_fail(job, IMG_E_PROCESSING_FAILED, "blurring failed");
    return 0;
}

const op_def_t op_blur = {
    .name = "blur",
    .summary = "Blur an image with a Gaussian.",
    .n_inputs = 1,
    .inputs = {{.name = "file", .alias = "image"}},
    .params = s_params,
    .result_kind = OP_RESULT_IMAGE,
    .apply = s_apply,
};
