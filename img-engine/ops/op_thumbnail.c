/* op_thumbnail — a thumbnail of exactly size x size (or width x height).
 *
 * The box is width x height; each defaults to size (default 128). With
 * crop centre (default), attention or entropy the result is exactly the box:
 * the image is scaled to cover it (keeping the aspect ratio, enlarging if
 * needed) and vips_smartcrop picks the part kept (the centre, the most
 * "interesting" region by libvips' attention heuristic, or the region of
 * highest entropy). With crop none the image is fitted inside the box
 * instead, so one side may be shorter. EXIF orientation is applied. A
 * multi-page input gives its first page. The work is op_util_thumbnail's
 * (interruptible; corrupt or truncated inputs fail).
 */
#include "img_error.h"
#include "op.h"
#include "op_params.h"
#include "op_util.h"

#include <string.h>

static const char *const s_crops[] = {"centre", "attention", "entropy", "none", NULL};

static const op_param_t s_params[] = {
    {.name = "size",
     .type = OP_PARAM_INT,
     .min = 1,
     .max = 100000,
     .has_default = true,
     .def = 128,
     .help = "Side of the square box in pixels (at most max_output_dim)."},
    {.name = "width",
     .type = OP_PARAM_INT,
     .min = 1,
     .max = 100000,
     .help = "Width of the box instead of size."},
    {.name = "height",
     .type = OP_PARAM_INT,
     .min = 1,
     .max = 100000,
     .help = "Height of the box instead of size."},
    {.name = "crop",
     .type = OP_PARAM_ENUM,
     .choices = s_crops,
     .has_default = true,
     .def_choice = "centre",
     .help = "centre, attention or entropy give exactly the box; none fits inside it."},
    OP_UTIL_OUTPUT_PARAMS,
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

static int s_box(const json_t *params, const img_config_t *cfg, int *w, int *h)
{
    static const char *const names[] = {"size", "width", "height", NULL};
    if (op_util_check_max_dim(params, names, cfg) < 0)
        return -1;
    int size = op_param_int(params, "size", 128);
    *w = op_param_int(params, "width", size);
    *h = op_param_int(params, "height", size);
    return op_util_check_max_pixels(*w, *h, cfg);
}

static int s_check(json_t *params, const image_info_t *inputs, const img_config_t *cfg)
{
    (void)inputs;
    int w, h;
    return s_box(params, cfg, &w, &h);
}

static int s_run(op_job_t *job)
{
    int w, h;
    if (s_box(job->params, job->cfg, &w, &h) != 0)
        return -1;
    VipsInteresting crop = s_interesting(op_param_str(job->params, "crop", "centre"));
    return op_util_thumbnail_job(job, w, h, VIPS_SIZE_BOTH, crop, w, h);
}

const op_def_t op_thumbnail = {
    .name = "thumbnail",
    .summary = "Make a thumbnail of an exact size, cropped smartly.",
    .n_inputs = 1,
    .inputs = {{.name = "file", .alias = "image"}},
    .params = s_params,
    .result_kind = OP_RESULT_IMAGE,
    .check = s_check,
    .run = s_run,
};
