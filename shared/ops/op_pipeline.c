/* op_pipeline — steps chained in one job.
 *
 * `steps` is a JSON array of 1 to 10 objects {"op": <a step>, ...its
 * parameters}; a step is any operation of the catalogue that takes one
 * image and gives one (op->apply), so an operation added to the catalogue is
 * a step at once. At submit every step's parameters are validated as its
 * operation would validate them, and planned on the size the step before
 * gives (a crop outside the image the step before resized is refused then),
 * each step's result within the limits; an error names the step:
 * "steps[1] (crop): ...". The plan stores the steps validated, defaults
 * filled in.
 *
 * In the engine the steps run as one libvips pipeline (each step's output
 * is the next one's input, no intermediate file) with one encode at the
 * end; the first step may read the input already shrunk (its `shrink`).
 * The output format is the pipeline's `format`, else the last `format` a
 * step gives explicitly (a convert step's), else the input's; `quality`
 * likewise. The result has `steps`: [{op, width, height}] after each step.
 */
#include "op_catalog.h"
#include "op_job.h"
#include "op_params.h"
#include "op_plan.h"

#include <stdio.h>
#include <string.h>

#define MAX_STEPS 10

static const op_param_t s_params[] = {
    {.name = "steps",
     .type = OP_PARAM_STEPS,
     .min = 1,
     .max = MAX_STEPS,
     .required = true,
     .help = "The steps, in order: a JSON array of objects {\"op\": <operation>, ...its "
             "parameters}; each operation that takes one image and gives one may be a step."},
    {.name = "format",
     .type = OP_PARAM_ENUM,
     .choices = op_formats_same,
     .help = "Output format; same keeps the input's. Absent: the last format a step gives, "
             "else the input's."},
    {.name = "quality",
     .type = OP_PARAM_INT,
     .min = 1,
     .max = 100,
     .help = "Encoder quality for jpeg, webp and avif; absent: the last a step gives, else the "
             "encoder's default."},
    {.name = NULL},
};

/* Sets img_error again with "steps[i] (op): " before its message. */
static int s_step_error(size_t i, const char *op)
{
    char reason[512];
    snprintf(reason, sizeof reason, "%s", img_error_message());
    img_error_set(img_error_code(), "steps[%zu]%s%s%s: %s", i, op ? " (" : "", op ? op : "",
                  op ? ")" : "", reason);
    return -1;
}

/* The step operation named by raw["op"]; NULL with img_error. */
static const op_def_t *s_step_op(const json_t *raw, size_t i)
{
    const char *name = json_string_value(json_object_get(raw, "op"));
    const op_def_t *op = name ? op_catalog_find(name) : NULL;
    if (!op || !op->apply || strcmp(op->name, "pipeline") == 0) {
        img_error_set(IMG_E_INVALID_PARAMETER,
                      "op must name an operation that takes one image and gives one");
        s_step_error(i, NULL);
        return NULL;
    }
    return op;
}

/* Keeps the last explicit format and quality of a step's raw parameters. */
static void s_note_output(const json_t *raw, const json_t *valid, const char **format,
                          json_t **quality)
{
    if (json_object_get(raw, "format"))
        *format = json_string_value(json_object_get(valid, "format"));
    if (json_object_get(raw, "quality"))
        *quality = json_object_get(valid, "quality");
}

/* A step's result is bounded per frame: the steps run on one frame at a
 * time (the runner passes each frame of a kept animation through all of
 * them); the frames kept count in the whole result's plan (op_plan_job),
 * once the output format is known. */
static int s_check_frame(const op_size_t *size, const img_config_t *cfg)
{
    op_size_t frame = *size;
    frame.pages = 1;
    return op_plan_check_size(&frame, cfg, "its result");
}

/* Validates and plans step i on size *size (then its result's); the
 * validated step (with "op") goes to *out. */
static int s_plan_step(const json_t *raw, size_t i, const img_config_t *cfg, op_size_t *size,
                       json_t **out)
{
    const op_def_t *op = s_step_op(raw, i);
    if (!op)
        return -1;
    json_t *given = json_deep_copy(raw);
    json_object_del(given, "op");
    json_t *valid = op_params_validate(op, given, cfg);
    json_decref(given);
    op_size_t next = *size;
    if (!valid || (op->plan && op->plan(valid, size, cfg, &next) != 0) ||
        s_check_frame(&next, cfg) != 0) {
        json_decref(valid);
        return s_step_error(i, op->name);
    }
    json_object_set_new(valid, "op", json_string(op->name));
    *size = next;
    *out = valid;
    return 0;
}

static int s_plan(json_t *params, const op_size_t *in, const img_config_t *cfg, op_size_t *out)
{
    json_t *steps = json_object_get(params, "steps"), *planned = json_array();
    const char *format = NULL;
    json_t *quality = NULL;
    op_size_t size = in[0];
    size_t i;
    json_t *raw;
    json_array_foreach(steps, i, raw)
    {
        json_t *valid = NULL;
        if (s_plan_step(raw, i, cfg, &size, &valid) != 0) {
            json_decref(planned);
            return -1;
        }
        s_note_output(raw, valid, &format, &quality);
        json_array_append_new(planned, valid);
    }
    if (!json_object_get(params, "format") && format)
        json_object_set_new(params, "format", json_string(format));
    if (!json_object_get(params, "quality") && quality)
        json_object_set(params, "quality", quality);
    json_object_set_new(params, "steps", planned); /* the steps as validated */
    *out = size;
    return 0;
}

static double s_shrink(const json_t *params, const op_size_t *in)
{
    const json_t *first = json_array_get(json_object_get(params, "steps"), 0);
    const op_def_t *op = op_catalog_find(json_string_value(json_object_get(first, "op")));
    return op && op->shrink ? op->shrink(first, in) : 1;
}

/* {"op", "width", "height"} of a step's result. */
static json_t *s_step_json(const char *op, const op_size_t *size)
{
    return json_pack("{s:s, s:i, s:i}", "op", op, "width", size->width, "height", size->height);
}

static int s_apply(op_job_t *job, const json_t *params, const op_size_t *planned, VipsImage *in,
                   VipsImage **out)
{
    const json_t *steps = json_object_get(params, "steps");
    json_t *sizes = json_array();
    op_size_t size = *planned;
    VipsImage *image = in;
    size_t i;
    const json_t *step;
    g_object_ref(image);
    json_array_foreach(steps, i, step)
    {
        const op_def_t *op = op_catalog_find(json_string_value(json_object_get(step, "op")));
        json_t *copy = json_deep_copy(step); /* a plan may complete its parameters */
        op_size_t next = size;
        VipsImage *made = NULL;
        int rc = !op || (op->plan && op->plan(copy, &size, job->cfg, &next) != 0) ||
                 op->apply(job, copy, &size, image, &made) != 0;
        json_decref(copy);
        g_object_unref(image);
        image = made;
        if (rc) {
            VIPS_UNREF(image);
            json_decref(sizes);
            return op ? s_step_error(i, op->name) : -1;
        }
        json_array_append_new(sizes, s_step_json(op->name, &next));
        size = next;
    }
    if (!job->extra) /* the frames of an animation each pass here: once is enough */
        job->extra = json_pack("{s:o}", "steps", sizes);
    else
        json_decref(sizes);
    *out = image;
    return 0;
}

const op_def_t op_pipeline = {
    .name = "pipeline",
    .summary = "Chain steps (resize, rotate, crop, blur, convert, ...) in one job, with one encode "
               "at the end.",
    .n_inputs = 1,
    .inputs = {{.name = "file", .alias = "image"}},
    .params = s_params,
    .result_kind = OP_RESULT_IMAGE,
    .plan = s_plan,
    .apply = s_apply,
    .shrink = s_shrink,
};
