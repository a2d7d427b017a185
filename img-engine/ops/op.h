/* op — the declaration of an image operation, shared by both programs.
 *
 * Each operation is one file (op_resize.c, op_thumbnail.c, ...) defining one
 * `const op_def_t op_<name>` and listed once in op_registry.c. img-rest uses
 * the declarations to validate parameters and inputs before it queues a job
 * (op_params.c, op->check); img-engine uses op->run to do the work through
 * op_runner.c, which saves the image a run produces.
 */
#ifndef IMG_OP_H
#define IMG_OP_H

#include "config.h"
#include "image_probe.h"

#include <jansson.h>
#include <stdbool.h>
#include <vips/vips.h>

#define OP_MAX_INPUTS 2

typedef enum { OP_PARAM_INT, OP_PARAM_ENUM } op_param_type_t;

typedef struct {
    const char *name;
    const char *alias; /* another accepted name (e.g. "channels"), or NULL */
    op_param_type_t type;
    int min, max;               /* OP_PARAM_INT: inclusive bounds */
    bool has_default;           /* false: an absent parameter stays absent */
    int def;                    /* OP_PARAM_INT default */
    const char *const *choices; /* OP_PARAM_ENUM: NULL-terminated */
    const char *def_choice;     /* OP_PARAM_ENUM default (when has_default) */
    const char *help;           /* one sentence, for docs */
} op_param_t;

typedef struct {
    const char *name;  /* multipart field name: "file", "image1" */
    const char *alias; /* also accepted: "image" for "file"; or NULL */
} op_input_t;

typedef enum { OP_RESULT_IMAGE, OP_RESULT_JSON } op_result_kind_t;

/* One job attempt, as op->run sees it. */
typedef struct {
    /* in (not owned) */
    const json_t *params;              /* validated, defaults filled in */
    const char *inputs[OP_MAX_INPUTS]; /* absolute input paths, in op->inputs order */
    const image_info_t *input_info;    /* probe of each input, same order */
    const img_config_t *cfg;
    /* out (owned by the job; op_runner releases them) */
    VipsImage *out;         /* OP_RESULT_IMAGE: the image to save */
    const char *out_format; /* image_format name or "same"; NULL = "same" */
    int quality;            /* 1..100, 0 = the saver's default */
    json_t *extra;          /* fields merged into the result object (diff boxes, info) */
} op_job_t;

typedef struct op_def {
    const char *name;
    const char *summary;
    int n_inputs;
    op_input_t inputs[OP_MAX_INPUTS];
    const op_param_t *params; /* terminated by an entry whose name is NULL */
    op_result_kind_t result_kind;
    /* Optional, at submit time, after the inputs are probed: cross-checks and
     * config-dependent defaults (may add to params). 0, or -1 with img_error
     * (IMG_E_INVALID_PARAMETER, IMG_E_DIMENSION_MISMATCH ...). */
    int (*check)(json_t *params, const image_info_t *inputs, const img_config_t *cfg);
    /* The work. 0, or -1 with img_error (IMG_E_PROCESSING_FAILED ...). */
    int (*run)(op_job_t *job);
} op_def_t;

#endif
