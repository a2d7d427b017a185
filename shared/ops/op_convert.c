/* op_convert — the image written in another format: the pixels go through
 * unchanged; the result writer does the conversion (8-bit sRGB or grey,
 * alpha kept where the format has it). */
#include "op_job.h"
#include "op_params.h"

static const op_param_t s_params[] = {
    {.name = "format",
     .type = OP_PARAM_ENUM,
     .choices = op_formats,
     .required = true,
     .help = "The format to write."},
    {.name = "quality",
     .type = OP_PARAM_INT,
     .min = 1,
     .max = 100,
     .help = "Encoder quality for jpeg, webp and avif; the encoder's default when absent."},
    {.name = NULL},
};

static int s_apply(op_job_t *job, const json_t *params, const op_size_t *planned, VipsImage *in,
                   VipsImage **out)
{
    (void)job;
    (void)params;
    (void)planned;
    *out = in;
    g_object_ref(in);
    return 0;
}

const op_def_t op_convert = {
    .name = "convert",
    .summary = "Write an image in another format.",
    .n_inputs = 1,
    .inputs = {{.name = "file", .alias = "image"}},
    .params = s_params,
    .result_kind = OP_RESULT_IMAGE,
    .apply = s_apply,
};
