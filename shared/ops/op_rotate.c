/* op_rotate — turn an image by a quarter, a half or three quarters,
 * clockwise (vips_rot: exact, no resampling). Turning reads the input out
 * of order (the last line first), which an input read sequentially cannot
 * give: the step's input is copied to memory first (watched), as the EXIF
 * orientation is applied; it is at most max_pixels. */
#include "op_job.h"
#include "op_params.h"

#include <string.h>

static const char *const s_angles[] = {"90", "180", "270", NULL};

static const op_param_t s_params[] = {
    {.name = "angle",
     .type = OP_PARAM_ENUM,
     .choices = s_angles,
     .required = true,
     .help = "Degrees to turn the image clockwise."},
    OP_OUTPUT_PARAMS("same"),
    {.name = NULL},
};

static VipsAngle s_angle(const json_t *params)
{
    const char *a = op_param_str(params, "angle", "90");
    return strcmp(a, "180") == 0   ? VIPS_ANGLE_D180
           : strcmp(a, "270") == 0 ? VIPS_ANGLE_D270
                                   : VIPS_ANGLE_D90;
}

static int s_plan(json_t *params, const op_size_t *in, const img_config_t *cfg, op_size_t *out)
{
    (void)cfg;
    bool quarter = s_angle(params) != VIPS_ANGLE_D180;
    out->width = quarter ? in->height : in->width;
    out->height = quarter ? in->width : in->height;
    return 0;
}

static int s_apply(op_job_t *job, const json_t *params, const op_size_t *planned, VipsImage *in,
                   VipsImage **out)
{
    (void)planned;
    VipsImage *memory = in;
    g_object_ref(memory);
    if (op_job_to_memory(job, &memory) != 0) {
        g_object_unref(memory);
        return -1;
    }
    int rc = vips_rot(memory, out, s_angle(params), NULL);
    g_object_unref(memory);
    if (rc != 0)
        return op_job_fail(job, IMG_E_PROCESSING_FAILED, "rotating failed");
    return 0;
}

const op_def_t op_rotate = {
    .name = "rotate",
    .summary = "Turn an image by 90, 180 or 270 degrees clockwise.",
    .n_inputs = 1,
    .inputs = {{.name = "file", .alias = "image"}},
    .params = s_params,
    .result_kind = OP_RESULT_IMAGE,
    .plan = s_plan,
    .apply = s_apply,
};
