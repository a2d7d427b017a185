#include "op_fit.h"

#include <limits.h>
#include <math.h>

/* The side of a cover-scaled input: in * scale, at least the box side. */
static long long s_cover_side(int in, double scale, int box)
{
    long long side = llround(in * scale);
    return side < box ? box : side;
}

/* A computed side, at least 1 and at most INT_MAX (a thin input scaled by
 * one side can overflow int; the size checks then refuse it). */
static int s_round(double v)
{
    return v < 1.0 ? 1 : v >= (double)INT_MAX ? INT_MAX : (int)lround(v);
}

int op_fit_plan(op_fit_t *fit, const op_size_t *in, const img_config_t *cfg)
{
    double sx = (double)fit->width / in->width, sy = (double)fit->height / in->height;
    if (fit->crop == VIPS_INTERESTING_NONE && fit->size == VIPS_SIZE_BOTH) {
        /* inside: the binding side equals the box, the other follows */
        double s = fmin(sx, sy);
        fit->out_w = s == sx ? fit->width : s_round(in->width * s);
        fit->out_h = s == sy ? fit->height : s_round(in->height * s);
        return 0;
    }
    fit->out_w = fit->width;
    fit->out_h = fit->height;
    if (fit->crop == VIPS_INTERESTING_NONE)
        return 0;
    double scale = fmax(sx, sy);
    long long w = s_cover_side(in->width, scale, fit->width);
    long long h = s_cover_side(in->height, scale, fit->height);
    bool in_memory = fit->crop != VIPS_INTERESTING_CENTRE;
    if (w > VIPS_MAX_COORD || h > VIPS_MAX_COORD || (in_memory && w * h > cfg->max_pixels)) {
        img_error_set(IMG_E_INVALID_PARAMETER,
                      "covering a %dx%d box needs the %dx%d image scaled to %lldx%lld pixels, "
                      "too many",
                      fit->width, fit->height, in->width, in->height, w, h);
        return -1;
    }
    return 0;
}

double op_fit_shrink(const op_fit_t *fit, const op_size_t *in)
{
    double hs = (double)in->width / fit->width, vs = (double)in->height / fit->height;
    bool cover = fit->size == VIPS_SIZE_FORCE || fit->crop != VIPS_INTERESTING_NONE;
    double shrink = cover ? fmin(hs, vs) : fmax(hs, vs);
    return shrink > 1 ? shrink : 1;
}

/* The crop of a scaled image to at most width x height; replaces *image. */
static int s_crop(op_job_t *job, VipsImage **image, int width, int height, VipsInteresting crop)
{
    VipsImage *out = NULL;
    /* the centre is a plain extract; the others read the image repeatedly */
    if (crop != VIPS_INTERESTING_CENTRE && op_job_to_memory(job, image) != 0)
        return -1;
    if (vips_smartcrop(*image, &out, VIPS_MIN(width, (*image)->Xsize),
                       VIPS_MIN(height, (*image)->Ysize), "interesting", crop, NULL) != 0)
        return op_job_fail(job, IMG_E_PROCESSING_FAILED, "cropping failed");
    g_object_unref(*image);
    *image = out;
    return 0;
}

/* Makes *image exactly width x height, cropping or repeating edge pixels
 * around the centre (the one-pixel rounding of a shrink). */
static int s_exact(op_job_t *job, VipsImage **image, int width, int height)
{
    VipsImage *out = NULL;
    if ((*image)->Xsize == width && (*image)->Ysize == height)
        return 0;
    if (vips_gravity(*image, &out, VIPS_COMPASS_DIRECTION_CENTRE, width, height, "extend",
                     VIPS_EXTEND_COPY, NULL) != 0)
        return op_job_fail(job, IMG_E_PROCESSING_FAILED, "adjusting the size failed");
    g_object_unref(*image);
    *image = out;
    return 0;
}

int op_fit_apply(op_job_t *job, const op_fit_t *fit, VipsImage *in, VipsImage **out)
{
    VipsImage *image = NULL;
    int w = fit->width, h = fit->height;
    VipsSize size = fit->size;
    if (fit->crop != VIPS_INTERESTING_NONE) {
        /* scale to cover the box, then cut */
        double scale = fmax((double)w / in->Xsize, (double)h / in->Ysize);
        w = (int)s_cover_side(in->Xsize, scale, fit->width);
        h = (int)s_cover_side(in->Ysize, scale, fit->height);
        size = VIPS_SIZE_FORCE;
    }
    op_job_watch(job, in);
    if (vips_thumbnail_image(in, &image, w, "height", h, "size", size, NULL) != 0)
        return op_job_fail(job, IMG_E_PROCESSING_FAILED, "resizing failed");
    /* exactly the planned size, which later steps were planned on */
    if ((fit->crop != VIPS_INTERESTING_NONE &&
         s_crop(job, &image, fit->width, fit->height, fit->crop) != 0) ||
        s_exact(job, &image, fit->out_w, fit->out_h) != 0) {
        g_object_unref(image);
        return -1;
    }
    *out = image;
    return 0;
}
