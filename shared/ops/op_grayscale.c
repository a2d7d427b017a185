/* op_grayscale — the image in shades of grey (vips_colourspace to B_W, or
 * GREY16 for 16-bit input); alpha is kept. The result has one band (two
 * with alpha). */
#include "op_job.h"
#include "op_params.h"

static const op_param_t s_params[] = {
    OP_OUTPUT_PARAMS("same"),
    {.name = NULL},
};

static int s_apply(op_job_t *job, const json_t *params, const op_size_t *planned, VipsImage *in,
                   VipsImage **out)
{
    (void)params;
    (void)planned;
    if (vips_colourspace(in, out, VIPS_INTERPRETATION_B_W, NULL) != 0)
        return op_job_fail(job, IMG_E_PROCESSING_FAILED, "converting to grey failed");
    return 0;
}

const op_def_t op_grayscale = {
    .name = "grayscale",
    .summary = "Turn an image into shades of grey.",
    .n_inputs = 1,
    .inputs = {{.name = "file", .alias = "image"}},
    .params = s_params,
    .result_kind = OP_RESULT_IMAGE,
    .apply = s_apply,
};
