/* op_thumbnail — a thumbnail of exactly size x size (or width x height).
 *
 * The box is width x height; each defaults to size (default 128). With
 * crop centre (default), attention or entropy the result is exactly the box:
 * the image is scaled to cover it (keeping the aspect ratio, enlarging if
 * needed) and the part kept is the centre, the most "interesting" region by
 * libvips' attention heuristic, or the region of highest entropy
 * (vips_smartcrop). With crop none the image is fitted inside the box
 * instead, so one side may be shorter.
 */
#include "op_fit.h"
#include "op_params.h"

#include <string.h>

static const char *const s_crops[] = {"centre", "attention", "entropy", "none", NULL};

static const op_param_t s_params[] = {
    {.name = "size",
     .type = OP_PARAM_INT,
     .min = 1,
     .max = 100000,
     .pixels = true,
     .has_default = true,
     .def = 128,
     .help = "Side of the square box in pixels."},
    {.name = "width",
     .type = OP_PARAM_INT,
     .min = 1,
     .max = 100000,
     .pixels = true,
     .help = "Width of the box instead of size."},
    {.name = "height",
     .type = OP_PARAM_INT,
     .min = 1,
     .max = 100000,
     .pixels = true,
     .help = "Height of the box instead of size."},
    {.name = "crop",
     .type = OP_PARAM_ENUM,
     .choices = s_crops,
     .has_default = true,
     .def_choice = "centre",
     .help = "centre, attention or entropy give exactly the box; none fits inside it."},
    OP_OUTPUT_PARAMS("same"),
    {.name = NULL},
};

static VipsInteresting s_interesting(const char *crop)
{
    if (strcmp(crop, "attention") == 0)
        return VIPS_INTERESTING_ATTENTION;
    if (strcmp(crop, "entropy") == 0)
        return VIPS_INTERESTING_ENTROPY;
    if (strcmp(crop, "none") == 0)
        return VIPS_INTERESTING_NONE;
    return VIPS_INTERESTING_CENTRE;
}

static void s_fit(const json_t *params, op_fit_t *fit)
{
    int size = op_param_int(params, "size", 128);
    *fit = (op_fit_t){.width = op_param_int(params, "width", size),
                      .height = op_param_int(params, "height", size),
                      .size = VIPS_SIZE_BOTH,
                      .crop = s_interesting(op_param_str(params, "crop", "centre"))};
}

static int s_plan(json_t *params, const op_size_t *in, const img_config_t *cfg, op_size_t *out)
{
    op_fit_t fit;
    s_fit(params, &fit);
    if (op_fit_plan(&fit, in, cfg) != 0)
        return -1;
    out->width = fit.out_w;
    out->height = fit.out_h;
    return 0;
}

static double s_shrink(const json_t *params, const op_size_t *in)
{
    op_fit_t fit;
    s_fit(params, &fit);
    return op_fit_shrink(&fit, in);
}

static int s_apply(op_job_t *job, const json_t *params, const op_size_t *planned, VipsImage *in,
                   VipsImage **out)
{
    op_fit_t fit;
    s_fit(params, &fit);
    if (op_fit_plan(&fit, planned, job->cfg) != 0)
        return -1;
    return op_fit_apply(job, &fit, in, out);
}

const op_def_t op_thumbnail = {
    .name = "thumbnail",
    .summary = "Make a thumbnail of an exact size, cropped smartly.",
    .n_inputs = 1,
    .inputs = {{.name = "file", .alias = "image"}},
    .params = s_params,
    .result_kind = OP_RESULT_IMAGE,
    .plan = s_plan,
    .apply = s_apply,
    .shrink = s_shrink,
};
