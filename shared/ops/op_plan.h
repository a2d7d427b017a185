/* op_plan — what a job will produce, known before any pixel is decoded.
 *
 * img-rest plans a job at submit (a request whose result would be refused
 * later is refused then, with a message naming the parameter), and the
 * engine plans it again before running it (a job message is not trusted).
 * A plan resolves the output format ("same"), decides whether an animation
 * stays whole, and bounds the result: each side at most max_output_dim,
 * width x height x frames at most max_pixels.
 */
#ifndef IMG_OP_PLAN_H
#define IMG_OP_PLAN_H

#include "image_format.h"
#include "op.h"

typedef struct {
    op_size_t out;              /* image results: the result's size and frames */
    const img_format_t *format; /* image results: the format written */
    int quality;                /* 1..100, or 0 for the encoder's default */
} op_plan_t;

/* The upright size of a probed input (orientations 5..8 swap the sides). */
op_size_t op_size_of(const image_info_t *info);

/* Plans op on its inputs' headers (op->n_inputs of them) with params
 * validated by op_params_validate(), which the plan may complete (the
 * configured default box of resize). 0, or -1 with img_error. */
int op_plan_job(const op_def_t *op, json_t *params, const image_info_t *inputs,
                const img_config_t *cfg, op_plan_t *plan);

/* -1 with IMG_E_INVALID_PARAMETER if an image of size s is beyond the limits
 * above (`what` names it in the message: "the result"); else 0. */
int op_plan_check_size(const op_size_t *s, const img_config_t *cfg, const char *what);

/* True if the output format can hold an animation (gif, webp). */
bool op_plan_animated_format(const img_format_t *format);

#endif
