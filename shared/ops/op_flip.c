/* op_flip — mirror an image left to right (horizontal) or top to bottom
 * (vertical), with vips_flip. Top to bottom reads the input's last line
 * first, which an input read sequentially cannot give: that input is copied
 * to memory first (watched; at most max_pixels). */
#include "op_job.h"
#include "op_params.h"

#include <string.h>

static const char *const s_directions[] = {"horizontal", "vertical", NULL};

static const op_param_t s_params[] = {
    {.name = "direction",
     .type = OP_PARAM_ENUM,
     .choices = s_directions,
     .has_default = true,
     .def_choice = "horizontal",
     .help = "horizontal swaps left and right, vertical swaps top and bottom."},
    OP_OUTPUT_PARAMS("same"),
    {.name = NULL},
};

static int s_apply(op_job_t *job, const json_t *params, const op_size_t *planned, VipsImage *in,
                   VipsImage **out)
{
    (void)planned;
    bool vertical = strcmp(op_param_str(params, "direction", "horizontal"), "vertical") == 0;
    VipsImage *source = in;
    g_object_ref(source);
    if (vertical && op_job_to_memory(job, &source) != 0) {
        g_object_unref(source);
        return -1;
    }
    int rc = vips_flip(source, out, vertical ? VIPS_DIRECTION_VERTICAL : VIPS_DIRECTION_HORIZONTAL,
                       NULL);
    g_object_unref(source);
    if (rc != 0)
        return op_job_fail(job, IMG_E_PROCESSING_FAILED, "flipping failed");
    return 0;
}

const op_def_t op_flip = {
    .name = "flip",
    .summary = "Mirror an image horizontally or vertically.",
    .n_inputs = 1,
    .inputs = {{.name = "file", .alias = "image"}},
    .params = s_params,
    .result_kind = OP_RESULT_IMAGE,
    .apply = s_apply,
};
