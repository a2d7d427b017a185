/* op_resize — resize an image into a box of width x height.
 *
 * Sizes are in the image's displayed orientation (the runner turns the
 * input upright) and enlarging is allowed. With iw x ih the input size and
 * W x H the box:
 *   inside  (default) the largest size within the box keeping the aspect
 *           ratio: one side equals the box, the other is at most the box;
 *   cover   exactly W x H: scaled to cover the box keeping the aspect ratio,
 *           the overflow cropped around the centre;
 *   fill    exactly W x H, the aspect ratio ignored;
 *   outside the smallest size covering the box keeping the aspect ratio:
 *           one side equals the box, the other is at least the box.
 * When only width (or only height) is given every fit behaves like inside
 * with that one side binding: the other side follows the aspect ratio.
 * When neither is given, the plan fills in the configured default box.
 */
#include "op_fit.h"
#include "op_params.h"
#include "op_plan.h"

#include <string.h>

static const char *const s_fits[] = {"inside", "cover", "fill", "outside", NULL};

static const op_param_t s_params[] = {
    {.name = "width",
     .type = OP_PARAM_INT,
     .min = 1,
     .max = 100000,
     .pixels = true,
     .help = "Width of the box in pixels."},
    {.name = "height",
     .type = OP_PARAM_INT,
     .min = 1,
     .max = 100000,
     .pixels = true,
     .help = "Height of the box in pixels."},
    {.name = "fit",
     .type = OP_PARAM_ENUM,
     .choices = s_fits,
     .has_default = true,
     .def_choice = "inside",
     .help = "inside keeps the aspect ratio within the box, cover fills the box and crops, "
             "fill stretches to the box, outside keeps the aspect ratio around the box."},
    OP_OUTPUT_PARAMS("same"),
    {.name = NULL},
};

/* The fit for the box w x h (0 = not given) on an input of size in. */
static void s_fit(int w, int h, const char *fit, const op_size_t *in, op_fit_t *out)
{
    *out = (op_fit_t){.width = w ? w : VIPS_MAX_COORD,
                      .height = h ? h : VIPS_MAX_COORD,
                      .size = VIPS_SIZE_BOTH,
                      .crop = VIPS_INTERESTING_NONE};
    if (!w || !h || strcmp(fit, "inside") == 0)
        return; /* a missing side never binds */
    if (strcmp(fit, "cover") == 0) {
        out->crop = VIPS_INTERESTING_CENTRE;
    } else if (strcmp(fit, "fill") == 0) {
        out->size = VIPS_SIZE_FORCE;
    } else { /* outside: the side that scales less grows past the box */
        double sx = (double)w / in->width, sy = (double)h / in->height;
        out->size = VIPS_SIZE_FORCE;
        if (sx >= sy)
            out->height = VIPS_MAX(h, (int)VIPS_MIN(in->height * sx + 0.5, VIPS_MAX_COORD));
        else
            out->width = VIPS_MAX(w, (int)VIPS_MIN(in->width * sy + 0.5, VIPS_MAX_COORD));
    }
}

static int s_plan_fit(const json_t *params, const op_size_t *in, const img_config_t *cfg,
                      op_fit_t *fit)
{
    s_fit(op_param_int(params, "width", 0), op_param_int(params, "height", 0),
          op_param_str(params, "fit", "inside"), in, fit);
    return op_fit_plan(fit, in, cfg);
}

static int s_plan(json_t *params, const op_size_t *in, const img_config_t *cfg, op_size_t *out)
{
    op_fit_t fit;
    if (!json_object_get(params, "width") && !json_object_get(params, "height")) {
        json_object_set_new(params, "width", json_integer(cfg->default_width));
        json_object_set_new(params, "height", json_integer(cfg->default_height));
    }
    if (s_plan_fit(params, in, cfg, &fit) != 0)
        return -1;
    out->width = fit.out_w;
    out->height = fit.out_h;
    return 0;
}

static double s_shrink(const json_t *params, const op_size_t *in)
{
    op_fit_t fit;
    s_fit(op_param_int(params, "width", 0), op_param_int(params, "height", 0),
          op_param_str(params, "fit", "inside"), in, &fit);
    return op_fit_shrink(&fit, in);
}

static int s_apply(op_job_t *job, const json_t *params, const op_size_t *planned, VipsImage *in,
                   VipsImage **out)
{
    op_fit_t fit;
    if (s_plan_fit(params, planned, job->cfg, &fit) != 0)
        return -1;
    return op_fit_apply(job, &fit, in, out);
}

const op_def_t op_resize = {
    .name = "resize",
    .summary = "Resize an image into a box (inside, cover, fill or outside).",
    .n_inputs = 1,
    .inputs = {{.name = "file", .alias = "image"}},
    .params = s_params,
    .result_kind = OP_RESULT_IMAGE,
    .plan = s_plan,
    .apply = s_apply,
    .shrink = s_shrink,
};
