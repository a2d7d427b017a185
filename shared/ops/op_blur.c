/* op_blur — a Gaussian blur of standard deviation sigma (vips_gaussblur). */
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

static int s_apply(op_job_t *job, const json_t *params, const op_size_t *planned, VipsImage *in,
                   VipsImage **out)
{
    (void)planned;
    if (vips_gaussblur(in, out, op_param_number(params, "sigma", 1.0), NULL) != 0)
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
