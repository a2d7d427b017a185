/* op_resize — resize an image into a box of width x height.
 *
 * All sizes are in the image's displayed orientation: op_util_thumbnail
 * (vips_thumbnail, interruptible) applies the EXIF orientation and shrinks on
 * load where the format allows; a corrupt or truncated input fails.
 * Enlarging is allowed. With iw x ih the oriented input size and W x H the box:
 *   inside  (default) the largest size within the box keeping the aspect
 *           ratio: one side equals the box, the other is at most the box;
 *   cover   exactly W x H: scaled to cover the box keeping the aspect ratio,
 *           the overflow cropped around the centre;
 *   fill    exactly W x H, the aspect ratio ignored;
 *   outside the smallest size covering the box keeping the aspect ratio:
 *           one side equals the box, the other is at least the box.
 * When only width (or only height) is given every fit behaves like inside
 * with that one side binding: the other side follows the aspect ratio.
 * When neither is given, the check fills in the configured default box.
 * Width, height and the computed result may not exceed max_output_dim.
 * A multi-page input (animated gif/webp, multi-page tiff) gives its first page.
 */
#include "img_error.h"
#include "op.h"
#include "op_params.h"
#include "op_util.h"

#include <limits.h>
#include <math.h>
#include <string.h>

static const char *const s_fits[] = {"inside", "cover", "fill", "outside", NULL};

static const op_param_t s_params[] = {
    {.name = "width",
     .type = OP_PARAM_INT,
     .min = 1,
     .max = 100000,
     .help = "Width of the box in pixels (at most max_output_dim)."},
    {.name = "height",
     .type = OP_PARAM_INT,
     .min = 1,
     .max = 100000,
     .help = "Height of the box in pixels (at most max_output_dim)."},
    {.name = "fit",
     .type = OP_PARAM_ENUM,
     .choices = s_fits,
     .has_default = true,
     .def_choice = "inside",
     .help = "inside keeps the aspect ratio within the box, cover fills the box and crops, "
             "fill stretches to the box, outside keeps the aspect ratio around the box."},
    OP_UTIL_OUTPUT_PARAMS,
    {.name = NULL},
};

typedef struct {
    int width, height; /* the vips_thumbnail box */
    int out_w, out_h;  /* the expected result size */
    VipsSize size;
    VipsInteresting crop;
} s_plan_t;

/* A computed side, at least 1 and at most INT_MAX (a thin input scaled by
 * one side can overflow int; the size checks then refuse it). */
static int s_round(double v)
{
    return v < 1.0 ? 1 : v >= (double)INT_MAX ? INT_MAX : (int)lround(v);
}

/* The plan for box w x h (0 = not given) on an oriented iw x ih input. */
static void s_plan(int w, int h, const char *fit, int iw, int ih, s_plan_t *plan)
{
    double sx = w ? (double)w / iw : 0, sy = h ? (double)h / ih : 0;
    *plan = (s_plan_t){.size = VIPS_SIZE_BOTH, .crop = VIPS_INTERESTING_NONE};
    if (!w || !h || strcmp(fit, "inside") == 0) {
        /* A missing side must never bind. */
        plan->width = w ? w : VIPS_MAX_COORD;
        plan->height = h ? h : VIPS_MAX_COORD;
        double s = !w ? sy : !h ? sx : fmin(sx, sy);
        plan->out_w = (w && s == sx) ? w : s_round(iw * s);
        plan->out_h = (h && s == sy) ? h : s_round(ih * s);
        return;
    }
    plan->width = plan->out_w = w;
    plan->height = plan->out_h = h;
    if (strcmp(fit, "cover") == 0) {
        plan->crop = VIPS_INTERESTING_CENTRE;
    } else if (strcmp(fit, "fill") == 0) {
        plan->size = VIPS_SIZE_FORCE;
    } else { /* outside */
        plan->size = VIPS_SIZE_FORCE;
        if (sx >= sy)
            plan->height = plan->out_h = s_round(ih * sx) < h ? h : s_round(ih * sx);
        else
            plan->width = plan->out_w = s_round(iw * sy) < w ? w : s_round(iw * sy);
    }
}

static int s_plan_job(const json_t *params, const image_info_t *in, const img_config_t *cfg,
                      s_plan_t *plan)
{
    int w = op_param_int(params, "width", 0), h = op_param_int(params, "height", 0);
    int iw, ih;
    if (!w && !h) {
        w = cfg->default_width;
        h = cfg->default_height;
    }
    op_util_oriented_size(in, &iw, &ih);
    s_plan(w, h, op_param_str(params, "fit", "inside"), iw, ih, plan);
    if (plan->out_w > cfg->max_output_dim || plan->out_h > cfg->max_output_dim) {
        img_error_set(IMG_E_INVALID_PARAMETER,
                      "the result would be %dx%d pixels; the largest side allowed is %d",
                      plan->out_w, plan->out_h, cfg->max_output_dim);
        return -1;
    }
    return op_util_check_max_pixels(plan->out_w, plan->out_h, cfg);
}

static int s_check(json_t *params, const image_info_t *inputs, const img_config_t *cfg)
{
    static const char *const sides[] = {"width", "height", NULL};
    if (op_util_check_max_dim(params, sides, cfg) < 0)
        return -1;
    if (!json_object_get(params, "width") && !json_object_get(params, "height")) {
        json_object_set_new(params, "width", json_integer(cfg->default_width));
        json_object_set_new(params, "height", json_integer(cfg->default_height));
    }
    s_plan_t plan;
    return s_plan_job(params, &inputs[0], cfg, &plan);
}

static int s_run(op_job_t *job)
{
    s_plan_t plan;
    if (s_plan_job(job->params, &job->input_info[0], job->cfg, &plan) != 0)
        return -1;
    return op_util_thumbnail_job(job, plan.width, plan.height, plan.size, plan.crop, plan.out_w,
                                 plan.out_h);
}

const op_def_t op_resize = {
    .name = "resize",
    .summary = "Resize an image into a box (inside, cover, fill or outside).",
    .n_inputs = 1,
    .inputs = {{.name = "file", .alias = "image"}},
    .params = s_params,
    .result_kind = OP_RESULT_IMAGE,
    .check = s_check,
    .run = s_run,
};
