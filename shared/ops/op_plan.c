#include "op_plan.h"

#include "img_error.h"
#include "op_params.h"

#include <string.h>

const char *const op_formats_same[] = {"jpeg", "png", "webp", "avif", "tiff", "gif", "same", NULL};
const char *const op_formats[] = {"jpeg", "png", "webp", "avif", "tiff", "gif", NULL};

op_size_t op_size_of(const image_info_t *info)
{
    bool swap = info->orientation >= 5 && info->orientation <= 8;
    return (op_size_t){.width = swap ? info->height : info->width,
                       .height = swap ? info->width : info->height,
                       .pages = info->pages > 0 ? info->pages : 1};
}

bool op_plan_animated_format(const img_format_t *format)
{
    return format && (strcmp(format->name, "gif") == 0 || strcmp(format->name, "webp") == 0);
}

int op_plan_check_size(const op_size_t *s, const img_config_t *cfg, const char *what)
{
    if (s->width > cfg->max_output_dim || s->height > cfg->max_output_dim) {
        img_error_set(IMG_E_INVALID_PARAMETER,
                      "%s would be %dx%d pixels; the largest side allowed is %d", what, s->width,
                      s->height, cfg->max_output_dim);
        return -1;
    }
    long long pixels = (long long)s->width * s->height * (s->pages > 0 ? s->pages : 1);
    if (pixels > cfg->max_pixels) {
        img_error_set(IMG_E_INVALID_PARAMETER,
                      "%s would be %dx%d pixels x %d frame(s) = %lld pixels, more than the %lld "
                      "allowed",
                      what, s->width, s->height, s->pages, pixels, cfg->max_pixels);
        return -1;
    }
    return 0;
}

static const img_format_t *s_format(const json_t *params, const image_info_t *input)
{
    const char *name = op_param_str(params, "format", "same");
    const img_format_t *fmt = strcmp(name, "same") == 0
                                  ? img_format_same_as(img_format_by_name(input->format))
                                  : img_format_by_name(name);
    if (!fmt || !fmt->can_save)
        img_error_set(IMG_E_INVALID_PARAMETER, "images cannot be written as '%s'", name);
    return fmt && fmt->can_save ? fmt : NULL;
}

/* A step keeps every frame of an animated GIF or WebP written as one. */
static bool s_keeps_frames(const op_def_t *op, const image_info_t *input, const img_format_t *out)
{
    const img_format_t *in = img_format_by_name(input->format);
    return op->apply && input->pages > 1 && op_plan_animated_format(in) &&
           op_plan_animated_format(out);
}

int op_plan_job(const op_def_t *op, json_t *params, const image_info_t *inputs,
                const img_config_t *cfg, op_plan_t *plan)
{
    op_size_t in[OP_MAX_INPUTS];
    memset(plan, 0, sizeof *plan);
    for (int i = 0; i < op->n_inputs; i++)
        in[i] = op_size_of(&inputs[i]);
    plan->out = in[0];
    if (op->plan && op->plan(params, in, cfg, &plan->out) != 0)
        return -1;
    if (op->result_kind == OP_RESULT_JSON)
        return 0;
    if (!(plan->format = s_format(params, &inputs[0])))
        return -1;
    plan->quality = op_param_int(params, "quality", 0);
    plan->out.pages = s_keeps_frames(op, &inputs[0], plan->format) ? in[0].pages : 1;
    return op_plan_check_size(&plan->out, cfg, "the result");
}
