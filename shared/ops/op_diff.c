/* op_diff — where two images of the same size differ.
 *
 * Pipeline (all libvips except one pass in C over the region labels):
 *  1. Both inputs are decoded into memory (first page; watched, so the time
 *     limit stops the decoding; a corrupt or truncated file fails), turned
 *     upright by their EXIF orientation and normalised to 8-bit sRGB without
 *     alpha (image_normalise: flattened on white).
 *  2. Each is converted to greyscale (vips_colourspace B_W) and blurred with
 *     a Gaussian of sigma OP_DIFF_BLUR_SIGMA (1.5 px), so that sensor noise,
 *     JPEG artefacts and sub-pixel shifts do not count as changes. Changes of
 *     hue at equal luminance are therefore not seen.
 *  3. A pixel has changed when |blur1 - blur2| > threshold (so threshold 255
 *     never finds anything). changed_ratio = changed pixels / all pixels.
 *  4. The changed mask is dilated with a 5x5 square (vips_morph), so that
 *     changes separated by at most 4 unchanged pixels join one region; the
 *     dilated mask is labelled (vips_labelregions).
 *  5. One pass in C over the labels and the (undilated) mask gives, per
 *     region, the bounding box of its changed pixels and their number, the
 *     region's area. Regions whose area is below min_area are dropped. When
 *     more than OP_DIFF_MAX_BOXES regions remain, the largest are kept.
 *     Boxes that still overlap (regions whose boxes interleave) are merged
 *     into their union. Boxes are sorted by y, then x.
 *
 * Result: image2 (upright, 8-bit sRGB, alpha flattened on white) with each
 * box outlined by a OP_DIFF_OUTLINE px red frame drawn just outside the box
 * (clipped at the image edges), as PNG unless `format` says otherwise;
 * extra = {"boxes": [{"x", "y", "width", "height"}...], "changed_ratio": 0..1}.
 */
#include "image_normalise.h"
#include "image_pixels.h"
#include "op_job.h"
#include "op_params.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define OP_DIFF_BLUR_SIGMA 1.5
#define OP_DIFF_DILATE 5  /* side of the square structuring element */
#define OP_DIFF_OUTLINE 3 /* px of red frame around each box */
#define OP_DIFF_MAX_BOXES 1000

typedef struct {
    int x0, y0, x1, y1; /* inclusive */
    long long area;     /* changed pixels; < 0: merged away */
} s_box_t;

static const op_param_t s_params[] = {
    {.name = "threshold",
     .type = OP_PARAM_INT,
     .min = 0,
     .max = 255,
     .has_default = true,
     .def = 25,
     .help = "A pixel counts as changed when its blurred grey values (0..255) in the two "
             "images differ by more than this."},
    {.name = "min_area",
     .type = OP_PARAM_INT,
     .min = 0,
     .max = 100000000,
     .has_default = true,
     .def = 500,
     .help = "Smallest number of changed pixels a region needs to be reported as a box."},
    OP_OUTPUT_PARAMS("png"),
    {.name = NULL},
};

static int s_plan(json_t *params, const op_size_t *in, const img_config_t *cfg, op_size_t *out)
{
    (void)params;
    (void)cfg;
    if (in[0].width != in[1].width || in[0].height != in[1].height) {
        img_error_set(IMG_E_DIMENSION_MISMATCH, "image1 is %dx%d but image2 is %dx%d", in[0].width,
                      in[0].height, in[1].width, in[1].height);
        return -1;
    }
    *out = in[1];
    return 0;
}

static int s_vips_failed(op_job_t *job, const char *what)
{
    char context[64];
    snprintf(context, sizeof context, "diff: %s failed", what);
    return op_job_fail(job, IMG_E_PROCESSING_FAILED, context);
}

/* Input i -> upright 8-bit sRGB without alpha, hung on parent. */
static int s_load_rgb(op_job_t *job, VipsObject *parent, int i, VipsImage **out)
{
    VipsImage **t = (VipsImage **)vips_object_local_array(parent, 2);
    /* image2 is read twice (mask, outline): decoded once into memory */
    if (!(t[0] = op_job_open(job, i, NULL)))
        return -1;
    if (op_job_to_memory(job, &t[0]) || op_job_upright(job, &t[0]))
        return -1;
    if (image_normalise(t[0], IMAGE_NORMALISE_RGB | IMAGE_NORMALISE_FLATTEN, &t[1]))
        return s_vips_failed(job, "colour conversion");
    *out = t[1];
    return 0;
}

/* rgb -> blurred grey, hung on parent. */
static int s_blur_grey(op_job_t *job, VipsObject *parent, VipsImage *rgb, VipsImage **out)
{
    VipsImage **t = (VipsImage **)vips_object_local_array(parent, 2);
    if (vips_colourspace(rgb, &t[0], VIPS_INTERPRETATION_B_W, NULL))
        return s_vips_failed(job, "greyscale");
    if (vips_gaussblur(t[0], &t[1], OP_DIFF_BLUR_SIGMA, "precision", VIPS_PRECISION_INTEGER, NULL))
        return s_vips_failed(job, "blur");
    *out = t[1];
    return 0;
}

/* Two blurred greys -> a memory uchar mask, 255 where changed. */
static int s_changed_mask(op_job_t *job, VipsObject *parent, VipsImage *g1, VipsImage *g2,
                          int threshold, VipsImage **out)
{
    VipsImage **t = (VipsImage **)vips_object_local_array(parent, 4);
    if (vips_subtract(g1, g2, &t[0], NULL) || vips_abs(t[0], &t[1], NULL) ||
        vips_more_const1(t[1], &t[2], threshold, NULL))
        return s_vips_failed(job, "difference");
    op_job_watch(job, t[2]);
    if (!(t[3] = vips_image_copy_memory(t[2])))
        return s_vips_failed(job, "difference");
    *out = t[3];
    return 0;
}

/* mask -> a memory int32 image of the labels of its dilated regions, hung
 * on parent. */
static int s_label(op_job_t *job, VipsObject *parent, VipsImage *mask, VipsImage **labels,
                   int *n_labels)
{
    VipsImage **t = (VipsImage **)vips_object_local_array(parent, 4);
    if (!(t[0] = vips_image_new_matrix(OP_DIFF_DILATE, OP_DIFF_DILATE)))
        return s_vips_failed(job, "dilate");
    for (int y = 0; y < OP_DIFF_DILATE; y++)
        for (int x = 0; x < OP_DIFF_DILATE; x++)
            *VIPS_MATRIX(t[0], x, y) = 255.0;
    if (vips_morph(mask, &t[1], t[0], VIPS_OPERATION_MORPHOLOGY_DILATE, NULL))
        return s_vips_failed(job, "dilate");
    op_job_watch(job, t[1]);
    if (vips_labelregions(t[1], &t[2], "segments", n_labels, NULL))
        return s_vips_failed(job, "label regions");
    if (!(t[3] = vips_image_copy_memory(t[2])))
        return s_vips_failed(job, "label regions");
    assert(t[3]->BandFmt == VIPS_FORMAT_INT && t[3]->Bands == 1);
    *labels = t[3];
    return 0;
}

/* The one pass: per label, the box and count of the changed pixels. */
static void s_collect(const uint8_t *mask, const int32_t *labels, int width, int height,
                      s_box_t *boxes, int n_labels)
{
    for (int i = 0; i < n_labels; i++)
        boxes[i] = (s_box_t){.x0 = width, .y0 = height, .x1 = -1, .y1 = -1, .area = 0};
    for (int y = 0; y < height; y++) {
        const uint8_t *m = mask + (size_t)y * width;
        const int32_t *l = labels + (size_t)y * width;
        for (int x = 0; x < width; x++) {
            if (!m[x] || l[x] < 0 || l[x] >= n_labels)
                continue;
            s_box_t *b = &boxes[l[x]];
            if (x < b->x0)
                b->x0 = x;
            if (x > b->x1)
                b->x1 = x;
            if (y < b->y0)
                b->y0 = y;
            b->y1 = y; /* rows come in order */
            b->area++;
        }
    }
}

static int s_by_area_desc(const void *a, const void *b)
{
    long long x = ((const s_box_t *)a)->area, y = ((const s_box_t *)b)->area;
    return (x < y) - (x > y);
}

static int s_by_y_then_x(const void *a, const void *b)
{
    const s_box_t *p = a, *q = b;
    if (p->y0 != q->y0)
        return (p->y0 > q->y0) - (p->y0 < q->y0);
    return (p->x0 > q->x0) - (p->x0 < q->x0);
}

static bool s_overlap(const s_box_t *a, const s_box_t *b)
{
    return a->x0 <= b->x1 && b->x0 <= a->x1 && a->y0 <= b->y1 && b->y0 <= a->y1;
}

/* Merges overlapping boxes into their union until none overlap; returns the
 * new count (boxes compacted to the front). */
static int s_merge(s_box_t *boxes, int n)
{
    for (int i = 0; i < n; i++) {
        bool merged = boxes[i].area >= 0;
        while (merged) {
            merged = false;
            for (int j = 0; j < n; j++) {
                if (j == i || boxes[j].area < 0 || !s_overlap(&boxes[i], &boxes[j]))
                    continue;
                s_box_t *a = &boxes[i], *b = &boxes[j];
                a->x0 = b->x0 < a->x0 ? b->x0 : a->x0;
                a->y0 = b->y0 < a->y0 ? b->y0 : a->y0;
                a->x1 = b->x1 > a->x1 ? b->x1 : a->x1;
                a->y1 = b->y1 > a->y1 ? b->y1 : a->y1;
                a->area += b->area;
                b->area = -1;
                merged = true;
            }
        }
    }
    int k = 0;
    for (int i = 0; i < n; i++)
        if (boxes[i].area >= 0)
            boxes[k++] = boxes[i];
    return k;
}

/* Labels -> the reported boxes, in place; returns their count. */
static int s_select(s_box_t *boxes, int n_labels, long long min_area)
{
    int n = 0;
    for (int i = 0; i < n_labels; i++)
        if (boxes[i].area > 0 && boxes[i].area >= min_area)
            boxes[n++] = boxes[i];
    if (n > OP_DIFF_MAX_BOXES) {
        qsort(boxes, n, sizeof *boxes, s_by_area_desc);
        n = OP_DIFF_MAX_BOXES;
    }
    n = s_merge(boxes, n);
    qsort(boxes, n, sizeof *boxes, s_by_y_then_x);
    return n;
}

/* Paints pixels [x0, x1] x [y0, y1] (clipped) of an interleaved RGB buffer red. */
static void s_fill_red(uint8_t *buf, int width, int height, int x0, int y0, int x1, int y1)
{
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 >= width ? width - 1 : x1;
    y1 = y1 >= height ? height - 1 : y1;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            uint8_t *p = buf + ((size_t)y * width + x) * 3;
            p[0] = 255;
            p[1] = 0;
            p[2] = 0;
        }
}

/* Draws an OP_DIFF_OUTLINE px red frame just outside each box. */
static void s_draw_frames(uint8_t *buf, int width, int height, const s_box_t *boxes, int n)
{
    const int d = OP_DIFF_OUTLINE;
    for (int i = 0; i < n; i++) {
        const s_box_t *b = &boxes[i];
        s_fill_red(buf, width, height, b->x0 - d, b->y0 - d, b->x1 + d, b->y0 - 1); /* top */
        s_fill_red(buf, width, height, b->x0 - d, b->y1 + 1, b->x1 + d, b->y1 + d); /* bottom */
        s_fill_red(buf, width, height, b->x0 - d, b->y0, b->x0 - 1, b->y1);         /* left */
        s_fill_red(buf, width, height, b->x1 + 1, b->y0, b->x1 + d, b->y1);         /* right */
    }
}

/* rgb (3-band uchar) -> a new memory image (caller owns) with the frames. */
static int s_outline(op_job_t *job, VipsImage *rgb, const s_box_t *boxes, int n, VipsImage **out)
{
    size_t size = 0;
    op_job_watch(job, rgb);
    uint8_t *buf = vips_image_write_to_memory(rgb, &size);
    if (!buf)
        return s_vips_failed(job, "outline");
    s_draw_frames(buf, rgb->Xsize, rgb->Ysize, boxes, n);
    *out = image_pixels_wrap(buf, size, rgb->Xsize, rgb->Ysize, 3, VIPS_INTERPRETATION_sRGB);
    return *out ? 0 : s_vips_failed(job, "outline");
}

static json_t *s_extra_new(const s_box_t *boxes, int n, double changed_ratio)
{
    json_t *extra = json_object();
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:i, s:i, s:i, s:i}", "x", boxes[i].x0, "y",
                                              boxes[i].y0, "width", boxes[i].x1 - boxes[i].x0 + 1,
                                              "height", boxes[i].y1 - boxes[i].y0 + 1));
    json_object_set_new(extra, "boxes", list);
    json_object_set_new(extra, "changed_ratio", json_real(changed_ratio));
    return extra;
}

static int s_run(op_job_t *job)
{
    VipsImage *ctx = vips_image_new();
    VipsObject *parent = VIPS_OBJECT(ctx);
    VipsImage *rgb1 = NULL, *rgb2 = NULL, *g1 = NULL, *g2 = NULL, *mask = NULL;
    VipsImage *labels;
    s_box_t *boxes = NULL;
    int n_labels = 0, rc = -1;
    double avg = 0.0;
    int threshold = op_param_int(job->params, "threshold", 25);
    int min_area = op_param_int(job->params, "min_area", 500);

    if (s_load_rgb(job, parent, 0, &rgb1) || s_load_rgb(job, parent, 1, &rgb2))
        goto done;
    int width = rgb2->Xsize, height = rgb2->Ysize;
    if (rgb1->Xsize != width || rgb1->Ysize != height) {
        img_error_set(IMG_E_DIMENSION_MISMATCH, "image1 is %dx%d but image2 is %dx%d", rgb1->Xsize,
                      rgb1->Ysize, width, height);
        goto done;
    }
    if (s_blur_grey(job, parent, rgb1, &g1) || s_blur_grey(job, parent, rgb2, &g2) ||
        s_changed_mask(job, parent, g1, g2, threshold, &mask))
        goto done;
    if (vips_avg(mask, &avg, NULL)) {
        s_vips_failed(job, "average");
        goto done;
    }
    if (s_label(job, parent, mask, &labels, &n_labels))
        goto done;
    if (!(boxes = malloc((size_t)(n_labels > 0 ? n_labels : 1) * sizeof *boxes))) {
        img_error_set(IMG_E_PROCESSING_FAILED, "diff: out of memory for %d regions", n_labels);
        goto done;
    }
    s_collect(VIPS_IMAGE_ADDR(mask, 0, 0), (const int32_t *)VIPS_IMAGE_ADDR(labels, 0, 0), width,
              height, boxes, n_labels);
    if (op_job_expired(job)) {
        op_job_timeout(job);
        goto done;
    }
    int n = s_select(boxes, n_labels, min_area);
    if (s_outline(job, rgb2, boxes, n, &job->out))
        goto done;
    job->extra = s_extra_new(boxes, n, avg / 255.0);
    rc = 0;
done:
    free(boxes);
    g_object_unref(ctx);
    return rc;
}

const op_def_t op_diff = {
    .name = "diff",
    .summary = "Compares two images of the same size and outlines the changed regions of the "
               "second in red, with their boxes and the changed ratio.",
    .n_inputs = 2,
    .inputs = {{.name = "image1", .alias = NULL}, {.name = "image2", .alias = NULL}},
    .params = s_params,
    .result_kind = OP_RESULT_IMAGE,
    .plan = s_plan,
    .run = s_run,
};
