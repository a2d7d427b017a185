#include "op_util.h"

#include "job_id.h"

#include "op_params.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define KILL_TICK_US 20000 /* how often the killer looks at the deadlines */

/* A job with a time limit, as the killer thread sees it. */
typedef struct {
    gint64 deadline_us; /* g_get_monotonic_time() */
    GPtrArray *watched; /* VipsImage *, one reference each */
} s_job_t;

static GMutex s_lock;  /* guards s_jobs and every job's watched array */
static GSList *s_jobs; /* s_job_t *, the running jobs with a deadline */
static GOnce s_killer_once = G_ONCE_INIT;

static _Thread_local const char *s_job_dir;
static _Thread_local gint64 s_deadline_us; /* 0 = none */
static _Thread_local int s_timeout_ms;
static _Thread_local s_job_t *s_job;

/* Sets the kill flag of every image watched by a job past its deadline,
 * every KILL_TICK_US, for ever. libvips checks the flag each time a region
 * of the image is computed, so the work stops within one strip of the
 * image, even inside a libvips call that copies to memory. */
static gpointer s_killer(gpointer unused)
{
    (void)unused;
    for (;;) {
        g_usleep(KILL_TICK_US);
        gint64 now = g_get_monotonic_time();
        g_mutex_lock(&s_lock);
        for (GSList *l = s_jobs; l; l = l->next) {
            s_job_t *job = l->data;
            for (guint i = 0; now >= job->deadline_us && i < job->watched->len; i++)
                vips_image_set_kill(g_ptr_array_index(job->watched, i), TRUE);
        }
        g_mutex_unlock(&s_lock);
    }
    return NULL;
}

static gpointer s_start_killer(gpointer unused)
{
    (void)unused;
    return g_thread_new("op-killer", s_killer, NULL);
}

void op_util_job_begin(const char *job_dir, int timeout_ms)
{
    s_job_dir = job_dir;
    s_timeout_ms = timeout_ms;
    s_deadline_us = timeout_ms > 0 ? g_get_monotonic_time() + (gint64)timeout_ms * 1000 : 0;
    if (!s_deadline_us)
        return;
    g_once(&s_killer_once, s_start_killer, NULL);
    s_job = g_new0(s_job_t, 1);
    s_job->deadline_us = s_deadline_us;
    s_job->watched = g_ptr_array_new_with_free_func(g_object_unref);
    g_mutex_lock(&s_lock);
    s_jobs = g_slist_prepend(s_jobs, s_job);
    g_mutex_unlock(&s_lock);
}

void op_util_job_end(void)
{
    if (s_job) {
        g_mutex_lock(&s_lock);
        s_jobs = g_slist_remove(s_jobs, s_job);
        g_mutex_unlock(&s_lock);
        g_ptr_array_free(s_job->watched, TRUE);
        g_free(s_job);
        s_job = NULL;
    }
    s_job_dir = NULL;
    s_timeout_ms = 0;
    s_deadline_us = 0;
}

bool op_util_deadline_passed(void)
{
    return s_deadline_us && g_get_monotonic_time() >= s_deadline_us;
}

int op_util_timeout(void)
{
    img_error_set(IMG_E_TIMEOUT, "the job took longer than %g s", s_timeout_ms / 1000.0);
    return -1;
}

void op_util_watch(VipsImage *image)
{
    if (!image || !s_job)
        return;
    g_mutex_lock(&s_lock);
    g_ptr_array_add(s_job->watched, g_object_ref(image));
    g_mutex_unlock(&s_lock);
}

VipsImage *op_util_open(const char *path)
{
    VipsImage *image = vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                                VIPS_FAIL_ON_ERROR, NULL);
    if (!image) {
        op_util_vips_fail(IMG_E_PROCESSING_FAILED, "reading the image failed");
        return NULL;
    }
    op_util_watch(image);
    return image;
}

int op_util_to_memory(VipsImage **image)
{
    op_util_watch(*image);
    VipsImage *memory = vips_image_copy_memory(*image);
    if (!memory)
        return op_util_vips_fail(IMG_E_PROCESSING_FAILED, "decoding the image failed");
    g_object_unref(*image);
    *image = memory;
    return 0;
}

int op_util_upright(VipsImage **image)
{
    int orientation = vips_image_get_orientation(*image);
    VipsImage *out = NULL;
    if (orientation <= 1 || orientation > 8)
        return 0;
    if (op_util_to_memory(image) != 0)
        return -1;
    if (vips_autorot(*image, &out, NULL) != 0)
        return op_util_vips_fail(IMG_E_PROCESSING_FAILED, "rotating the image failed");
    g_object_unref(*image);
    *image = out;
    return 0;
}

/* The side of a cover-scaled input: in * scale, at least the box side. */
static long long s_cover_side(int in, double scale, int box)
{
    long long side = llround(in * scale);
    return side < box ? box : side;
}

/* With a crop: the size (displayed orientation) the input is scaled to so
 * that it covers the box; 0 or -1 with img_error when it is too large. */
static int s_cover_size(const image_info_t *info, const img_config_t *cfg, int width, int height,
                        VipsInteresting crop, int *tw, int *th)
{
    int iw, ih;
    op_util_oriented_size(info, &iw, &ih);
    double scale = fmax((double)width / iw, (double)height / ih);
    long long w = s_cover_side(iw, scale, width), h = s_cover_side(ih, scale, height);
    if (w > VIPS_MAX_COORD || h > VIPS_MAX_COORD ||
        (crop != VIPS_INTERESTING_CENTRE && w * h > cfg->max_pixels)) {
        img_error_set(IMG_E_IMAGE_TOO_LARGE,
                      "covering a %dx%d box needs the %dx%d image scaled to %lldx%lld pixels, "
                      "too many",
                      width, height, iw, ih, w, h);
        return -1;
    }
    *tw = (int)w;
    *th = (int)h;
    return 0;
}

/* The crop of an upright image to at most width x height; replaces *image. */
static int s_crop(VipsImage **image, int width, int height, VipsInteresting crop)
{
    VipsImage *out = NULL;
    /* The centre is a plain extract; the others read the image repeatedly. */
    if (crop != VIPS_INTERESTING_CENTRE && op_util_to_memory(image) != 0)
        return -1;
    if (vips_smartcrop(*image, &out, VIPS_MIN(width, (*image)->Xsize),
                       VIPS_MIN(height, (*image)->Ysize), "interesting", crop, NULL) != 0)
        return op_util_vips_fail(IMG_E_PROCESSING_FAILED, "cropping failed");
    g_object_unref(*image);
    *image = out;
    return 0;
}

/* vips_thumbnail's shrink-on-load for a box of w x h (stored orientation):
 * the common shrink is the larger of the two ratios when fitting inside,
 * the smaller with VIPS_SIZE_FORCE; JPEG loads at 1/2, 1/4 or 1/8 leaving
 * at least a factor of two to vips_resize, WebP at the exact scale. */
static VipsImage *s_open_shrunk(const char *path, const image_info_t *info, int w, int h,
                                VipsSize size)
{
    double hs = (double)info->width / w, vs = (double)info->height / h;
    double shrink = size == VIPS_SIZE_FORCE ? fmin(hs, vs) : fmax(hs, vs);
    VipsImage *image = NULL;
    if (strncmp(info->loader, "jpegload", 8) == 0) {
        int factor = shrink >= 16 ? 8 : shrink >= 8 ? 4 : shrink >= 4 ? 2 : 1;
        image = vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                         VIPS_FAIL_ON_ERROR, "shrink", factor, NULL);
    } else if (strncmp(info->loader, "webpload", 8) == 0) {
        image =
            vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                     VIPS_FAIL_ON_ERROR, "scale", 1.0 / fmax(1.0, shrink), NULL);
    } else {
        return op_util_open(path);
    }
    if (!image) {
        op_util_vips_fail(IMG_E_PROCESSING_FAILED, "reading the image failed");
        return NULL;
    }
    op_util_watch(image);
    return image;
}

int op_util_thumbnail(const char *path, const image_info_t *info, const img_config_t *cfg,
                      int width, int height, VipsSize size, VipsInteresting crop, VipsImage **out)
{
    int tw = width, th = height;
    VipsImage *image = NULL;
    if (crop != VIPS_INTERESTING_NONE) {
        if (s_cover_size(info, cfg, width, height, crop, &tw, &th) != 0)
            return -1;
        size = VIPS_SIZE_FORCE;
    }
    /* no_rotate: the box is in the stored orientation. */
    bool swap = info->orientation >= 5 && info->orientation <= 8;
    int sw = swap ? th : tw, sh = swap ? tw : th;
    VipsImage *in = s_open_shrunk(path, info, sw, sh, size);
    if (!in)
        return -1;
    int rc =
        vips_thumbnail_image(in, &image, sw, "height", sh, "size", size, "no_rotate", TRUE, NULL);
    g_object_unref(in);
    if (rc != 0)
        return op_util_vips_fail(IMG_E_PROCESSING_FAILED, "resizing failed");
    /* crop first, in the stored orientation, then rotate: rotating needs the
     * image in memory, and a thin input scaled to cover a box can be huge
     * before its crop (every crop is the same pixels either way round) */
    if ((crop != VIPS_INTERESTING_NONE &&
         s_crop(&image, swap ? height : width, swap ? width : height, crop) != 0) ||
        op_util_upright(&image) != 0) {
        g_object_unref(image);
        return -1;
    }
    *out = image;
    return 0;
}

/* text on one line, into out, without "<data_dir>/jobs/<any id>/" (libvips'
 * error buffer is process-wide: a message may name another job's file),
 * and in ASCII (a cut multi-byte character would make the JSON invalid). */
static void s_clean(const char *text, char *out, size_t size)
{
    /* the job folder is <data_dir>/jobs/<36-character id>: strip its parent
     * "<data_dir>/jobs/" followed by any 36 characters and a '/' */
    size_t plen = s_job_dir && strlen(s_job_dir) > JOB_ID_LEN ? strlen(s_job_dir) - JOB_ID_LEN : 0;
    size_t n = 0;
    for (const char *p = text; *p && n + 1 < size;) {
        if (plen && strncmp(p, s_job_dir, plen) == 0 &&
            strnlen(p + plen, JOB_ID_LEN) == JOB_ID_LEN) {
            p += plen + JOB_ID_LEN;
            if (*p == '/')
                p++;
            continue;
        }
        unsigned char c = (unsigned char)*p++;
        out[n++] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : c >= 0x80 ? '?' : (char)c;
    }
    while (n && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

int op_util_vips_fail(img_errcode_t code, const char *what)
{
    char *text = vips_error_buffer_copy();
    if (op_util_deadline_passed()) {
        g_free(text);
        return op_util_timeout();
    }
    char clean[400];
    s_clean(text ? text : "", clean, sizeof clean);
    g_free(text);
    if (clean[0])
        img_error_set(code, "%s: %s", what, clean);
    else
        img_error_set(code, "%s", what);
    return -1;
}

const char *const op_util_output_formats[] = {"jpeg", "png", "webp", "avif",
                                              "tiff", "gif", "same", NULL};

void op_util_set_output(op_job_t *job)
{
    job->out_format = op_param_str(job->params, "format", "same");
    job->quality = op_param_int(job->params, "quality", 0);
}

int op_util_exact_size(VipsImage **image, int width, int height)
{
    VipsImage *in = *image, *out = NULL;
    if (in->Xsize == width && in->Ysize == height)
        return 0;
    if (vips_gravity(in, &out, VIPS_COMPASS_DIRECTION_CENTRE, width, height, "extend",
                     VIPS_EXTEND_COPY, NULL) != 0)
        return op_util_vips_fail(IMG_E_PROCESSING_FAILED, "adjusting the size failed");
    g_object_unref(in);
    *image = out;
    return 0;
}

void op_util_oriented_size(const image_info_t *info, int *width, int *height)
{
    bool swap = info->orientation >= 5 && info->orientation <= 8;
    *width = swap ? info->height : info->width;
    *height = swap ? info->width : info->height;
}

int op_util_check_max_dim(const json_t *params, const char *const *names, const img_config_t *cfg)
{
    for (int i = 0; names[i]; i++) {
        if (op_param_int(params, names[i], 0) > cfg->max_output_dim) {
            img_error_set(IMG_E_INVALID_PARAMETER, "%s must be an integer from 1 to %d", names[i],
                          cfg->max_output_dim);
            return -1;
        }
    }
    return 0;
}

int op_util_thumbnail_job(op_job_t *job, int width, int height, VipsSize size, VipsInteresting crop,
                          int exact_w, int exact_h)
{
    if (op_util_thumbnail(job->inputs[0], &job->input_info[0], job->cfg, width, height, size, crop,
                          &job->out) != 0)
        return -1;
    if (crop != VIPS_INTERESTING_NONE && op_util_exact_size(&job->out, exact_w, exact_h) != 0)
        return -1;
    op_util_set_output(job);
    return 0;
}

int op_util_check_max_pixels(int width, int height, const img_config_t *cfg)
{
    long long pixels = (long long)width * height;
    if (pixels > cfg->max_pixels) {
        img_error_set(IMG_E_INVALID_PARAMETER,
                      "the result would be %dx%d = %lld pixels, more than the %lld allowed", width,
                      height, pixels, cfg->max_pixels);
        return -1;
    }
    return 0;
}
