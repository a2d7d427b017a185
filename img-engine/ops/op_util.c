#include "op_util.h"

#include "op_params.h"

#include <stdio.h>
#include <string.h>

static _Thread_local const char *s_job_dir;
static _Thread_local gint64 s_deadline_us; /* g_get_monotonic_time(); 0 = none */
static _Thread_local int s_timeout_ms;

void op_util_job_begin(const char *job_dir, int timeout_ms)
{
    s_job_dir = job_dir;
    s_timeout_ms = timeout_ms;
    s_deadline_us = timeout_ms > 0 ? g_get_monotonic_time() + (gint64)timeout_ms * 1000 : 0;
}

void op_util_job_end(void)
{
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

/* "eval" handler; deadline is the watched job's (heap copy, freed with the
 * signal connection). Runs on the thread driving the evaluation. */
static void s_on_eval(VipsImage *image, VipsProgress *progress, gpointer deadline)
{
    (void)progress;
    if (g_get_monotonic_time() >= *(gint64 *)deadline)
        vips_image_set_kill(image, TRUE);
}

static void s_free_deadline(gpointer deadline, GClosure *closure)
{
    (void)closure;
    g_free(deadline);
}

void op_util_watch(VipsImage *image)
{
    if (!image || !s_deadline_us)
        return;
    gint64 *deadline = g_new(gint64, 1);
    *deadline = s_deadline_us;
    vips_image_set_progress(image, TRUE);
    g_signal_connect_data(image, "eval", G_CALLBACK(s_on_eval), deadline, s_free_deadline, 0);
}

/* text on one line, without "<job_dir>/", into out. */
static void s_clean(const char *text, char *out, size_t size)
{
    size_t dlen = s_job_dir ? strlen(s_job_dir) : 0;
    size_t n = 0;
    for (const char *p = text; *p && n + 1 < size;) {
        if (dlen && strncmp(p, s_job_dir, dlen) == 0) {
            p += dlen;
            if (*p == '/')
                p++;
            continue;
        }
        out[n++] = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
        p++;
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
