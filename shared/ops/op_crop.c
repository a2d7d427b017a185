/* op_crop — the area of width x height at (left, top), with
 * vips_extract_area. The box must lie inside the image (upright, as shown):
 * a box outside it is refused at submit, 422 invalid_parameter. */
#include "op_job.h"
#include "op_params.h"

static const op_param_t s_params[] = {
    {.name = "left",
     .type = OP_PARAM_INT,
     .min = 0,
     .max = 10000000,
     .has_default = true,
     .def = 0,
     .help = "Left edge of the box, in pixels from the image's left."},
    {.name = "top",
     .type = OP_PARAM_INT,
     .min = 0,
     .max = 10000000,
     .has_default = true,
     .def = 0,
     .help = "Top edge of the box, in pixels from the image's top."},
    {.name = "width",
     .type = OP_PARAM_INT,
     .min = 1,
     .max = 10000000,
     .required = true,
     .help = "Width of the box in pixels."},
    {.name = "height",
     .type = OP_PARAM_INT,
     .min = 1,
     .max = 10000000,
     .required = true,
     .help = "Height of the box in pixels."},
    OP_OUTPUT_PARAMS("same"),
    {.name = NULL},
};

static int s_plan(json_t *params, const op_size_t *in, const img_config_t *cfg, op_size_t *out)
{
    (void)cfg;
    long long left = op_param_int(params, "left", 0), top = op_param_int(params, "top", 0);
    long long width = op_param_int(params, "width", 1), height = op_param_int(params, "height", 1);
    if (left + width > in->width || top + height > in->height) {
        img_error_set(IMG_E_PARAMETER_UNFIT,
                      "the box %lldx%lld at (%lld, %lld) is not inside the %dx%d image", width,
                      height, left, top, in->width, in->height);
        return -1;
    }
    out->width = (int)width;
    out->height = (int)height;
    return 0;
}

static int s_apply(op_job_t *job, const json_t *params, const op_size_t *planned, VipsImage *in,
                   VipsImage **out)
{
    (void)planned;
    if (vips_extract_area(in, out, op_param_int(params, "left", 0), op_param_int(params, "top", 0),
                          op_param_int(params, "width", 1), op_param_int(params, "height", 1),
                          NULL) != 0)
        return op_job_fail(job, IMG_E_PROCESSING_FAILED, "cropping failed");
    return 0;
}

const op_def_t op_crop = {
    .name = "crop",
    .summary = "Cut out a box of the image.",
    .n_inputs = 1,
    .inputs = {{.name = "file", .alias = "image"}},
    .params = s_params,
    .result_kind = OP_RESULT_IMAGE,
    .plan = s_plan,
    .apply = s_apply,
};
