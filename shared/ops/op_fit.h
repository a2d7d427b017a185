/* op_fit — an image scaled into a box: the work resize and thumbnail share.
 *
 * vips_thumbnail_image does the scaling (its quality, and the shrink its
 * caller arranged at load time: op_fit_shrink tells the runner how much).
 * With a crop the image is scaled to cover the box and cut to exactly the
 * box: around the centre with a plain extract, or where libvips' attention
 * or entropy measure finds most interest (vips_smartcrop, which needs the
 * scaled image in memory: op_fit_plan bounds it by max_pixels).
 */
#ifndef IMG_OP_FIT_H
#define IMG_OP_FIT_H

#include "op_job.h"

typedef struct {
    int width, height;    /* the box; a side of VIPS_MAX_COORD does not bind */
    VipsSize size;        /* VIPS_SIZE_BOTH keeps the aspect ratio, FORCE stretches */
    VipsInteresting crop; /* VIPS_INTERESTING_NONE: no crop */
    int out_w, out_h;     /* the size the result will have (op_fit_plan) */
} op_fit_t;

/* Completes fit for an input of size in: out_w x out_h, and, with a crop,
 * the covering size checked against max_pixels when it must be held in
 * memory (IMG_E_INVALID_PARAMETER). 0 or -1 with img_error. */
int op_fit_plan(op_fit_t *fit, const op_size_t *in, const img_config_t *cfg);

/* How much fitting an input of size in shrinks it (>= 1). */
double op_fit_shrink(const op_fit_t *fit, const op_size_t *in);

/* *out: in scaled (and cropped) to exactly out_w x out_h. 0 or -1 with img_error. */
int op_fit_apply(op_job_t *job, const op_fit_t *fit, VipsImage *in, VipsImage **out);

#endif
