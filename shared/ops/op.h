/* op — the declaration of an image operation: the catalogue both programs share.
 *
 * An operation is one file (op_<name>.c) that defines one `const op_def_t
 * op_<name>` whole, in the shape of a libvips operation: its inputs and
 * parameters (name, type, range, default, help), its plan (the output size
 * it will give, known from the inputs' headers before any pixel is decoded)
 * and its work. It is listed once in op_catalog.c. From the declaration:
 *   - img-rest validates a request (op_params.c), plans it (op_plan.c) and
 *     refuses at submit what would fail later;
 *   - img-rest generates the operation's part of the OpenAPI document;
 *   - img-engine plans again (a job message is never trusted) and runs it.
 *
 * Two kinds of operation:
 *   - a step (`apply`): one image in, one image out (resize, rotate, ...).
 *     The engine's runner opens the input, turns it upright, applies the step
 *     to every frame (an animation stays whole when the output format can
 *     hold one: gif, webp) and writes the result. Every step can be chained
 *     in a `pipeline`, with no other change.
 *   - a whole job (`run`): reads its inputs itself (diff, info).
 *
 * This header holds no libvips type (img-rest's HTTP files include it):
 * images appear only as the opaque `struct _VipsImage`, and what `apply` and
 * `run` work on is declared in op_job.h, which the engine side includes.
 */
#ifndef IMG_OP_H
#define IMG_OP_H

#include "config.h"
#include "image_probe.h"

#include <jansson.h>
#include <stdbool.h>

#define OP_MAX_INPUTS 2

struct _VipsImage;              /* VipsImage, opaque here */
typedef struct op_job op_job_t; /* one running job: op_job.h */

typedef enum {
    OP_PARAM_INT,    /* whole number within [min, max] */
    OP_PARAM_NUMBER, /* decimal number within [min, max] */
    OP_PARAM_ENUM,   /* one of choices */
    OP_PARAM_STEPS,  /* a JSON array of min..max step objects (pipeline) */
} op_param_type_t;

typedef struct {
    const char *name;
    const char *alias; /* another accepted name (e.g. "channels"), or NULL */
    op_param_type_t type;
    double min, max;            /* inclusive bounds (STEPS: how many steps) */
    bool pixels;                /* a size in pixels: also at most max_output_dim */
    bool required;              /* refused when absent */
    bool has_default;           /* false: an absent parameter stays absent */
    double def;                 /* INT / NUMBER default */
    const char *const *choices; /* ENUM: NULL-terminated */
    const char *def_choice;     /* ENUM default */
    const char *help;           /* one sentence, for the OpenAPI document */
} op_param_t;

typedef struct {
    const char *name;  /* multipart field name: "file", "image1" */
    const char *alias; /* also accepted: "image" for "file"; or NULL */
} op_input_t;

typedef enum { OP_RESULT_IMAGE, OP_RESULT_JSON } op_result_kind_t;

/* The size of an image, upright (EXIF orientation applied): one frame of
 * width x height, and the number of frames. */
typedef struct {
    int width, height;
    int pages;
} op_size_t;

/* The output parameters of every image operation: `format` (one of
 * op_formats_same, default dflt) and `quality`. */
extern const char *const op_formats_same[]; /* writable formats, and "same" */
extern const char *const op_formats[];      /* writable formats */
#define OP_OUTPUT_PARAMS(dflt)                                                                     \
    {.name = "format",                                                                             \
     .type = OP_PARAM_ENUM,                                                                        \
     .choices = op_formats_same,                                                                   \
     .has_default = true,                                                                          \
     .def_choice = dflt,                                                                           \
     .help = "Output format; same keeps the input's format (heif is written as avif)."},           \
    {                                                                                              \
        .name = "quality", .type = OP_PARAM_INT, .min = 1, .max = 100,                             \
        .help = "Encoder quality for jpeg, webp and avif; the encoder's default when absent."      \
    }

typedef struct op_def {
    const char *name;
    const char *summary; /* one sentence, for the OpenAPI document */
    int n_inputs;
    op_input_t inputs[OP_MAX_INPUTS];
    const op_param_t *params; /* terminated by an entry whose name is NULL */
    op_result_kind_t result_kind;

    /* The output size for inputs of sizes in[0..n_inputs-1]; may add
     * configuration-dependent defaults to params. 0, or -1 with img_error
     * (IMG_E_INVALID_PARAMETER naming the parameter, IMG_E_DIMENSION_MISMATCH,
     * ...). No pixel is read: img-rest calls it at submit. NULL: the output
     * is the first input's size. JSON results need none. */
    int (*plan)(json_t *params, const op_size_t *in, const img_config_t *cfg, op_size_t *out);

    /* A step: *out is a new image made from one upright frame in (not
     * stolen), of exactly the size plan gave for an input of size `planned`
     * (in may be smaller: read shrunk, see `shrink`). 0, or -1 with img_error. */
    int (*apply)(op_job_t *job, const json_t *params, const op_size_t *planned,
                 struct _VipsImage *in, struct _VipsImage **out);

    /* A step, optional: how much the step shrinks an input of in's size
     * (>= 1), so that the input is read already shrunk where its format
     * allows (JPEG, WebP), as vips_thumbnail does. */
    double (*shrink)(const json_t *params, const op_size_t *in);

    /* A whole job: reads job's inputs and sets job->out (image results) or
     * job->extra (JSON results). 0, or -1 with img_error. */
    int (*run)(op_job_t *job);
} op_def_t;

#endif
