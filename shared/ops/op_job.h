/* op_job — one running job, as an operation's `apply` and `run` see it.
 *
 * The engine's runner fills the job, opens its inputs through op_job_open()
 * and writes what the operation leaves in `out`. Everything an operation does
 * with libvips goes through these helpers, so that every operation gets the
 * same hardening:
 *   - inputs are read with fail_on=ERROR (a truncated or corrupt file fails
 *     with the decoder's message instead of giving a grey or garbled image),
 *     sequentially, and watched;
 *   - watched images stop at the job's time limit: the runner's monitor
 *     (the engine's deadline) kills their evaluation, which libvips checks
 *     whenever it computes a region, so the work stops within one strip even
 *     inside a libvips call that copies to memory; their evaluation also
 *     reports the job's progress;
 *   - libvips' error text (a process-wide buffer) is copied at once, cut to
 *     one line without any job folder in it, and a failure past the deadline
 *     becomes IMG_E_TIMEOUT.
 */
#ifndef IMG_OP_JOB_H
#define IMG_OP_JOB_H

#include "img_error.h"
#include "op.h"

#include <stdbool.h>
#include <vips/vips.h>

/* What the runner lends a job: its time limit (the engine's deadline) and
 * its progress report. */
typedef struct {
    /* Stops image's evaluation once the job is past its time limit, and
     * follows its progress (last: the evaluation of the result's save). */
    void (*watch)(void *self, VipsImage *image, bool last);
    /* True once the job is past its time limit. */
    bool (*expired)(void *self);
    /* A stage of the operation's own (a loop in C) is percent done. */
    void (*progress)(void *self, int percent);
    void *self;
} op_monitor_t;

struct op_job {
    /* in: set by the runner, not owned */
    const op_def_t *op;
    const json_t *params;              /* validated and planned */
    const char *inputs[OP_MAX_INPUTS]; /* input file paths, in op->inputs order */
    const image_info_t *info;          /* their headers, same order */
    const img_config_t *cfg;
    const op_monitor_t *monitor; /* NULL: no time limit (tests) */
    int timeout_ms;              /* for the timeout message */
    /* out: owned by the job; the runner releases them */
    VipsImage *out; /* `run` of an image operation: the image to write */
    json_t *extra;  /* fields added to the result object (diff boxes, info, steps) */
};

/* How op_job_open() reads an input. */
typedef struct {
    double shrink;   /* > 1: read JPEG / WebP already shrunk by about this much */
    bool all_frames; /* every frame, as one tall image with "page-height" */
} op_open_t;

/* Opens input i (first frame unless how says otherwise) with its header's
 * loader, watched, with fail_on=ERROR. NULL with img_error:
 * IMG_E_PROCESSING_FAILED, or IMG_E_UNSUPPORTED_MEDIA_TYPE when the opened
 * image is not what its header (info[i]) says. Caller owns. */
VipsImage *op_job_open(op_job_t *job, int i, const op_open_t *how);

/* Lets the monitor stop image at the deadline and follow its progress
 * (no-op without a monitor); _last for the result's save. */
void op_job_watch(op_job_t *job, VipsImage *image);
void op_job_watch_last(op_job_t *job, VipsImage *image);

/* A stage of the operation's own work is percent (0..100) done. */
void op_job_progress(op_job_t *job, int percent);

/* True once the job is past its time limit. */
bool op_job_expired(const op_job_t *job);

/* Sets IMG_E_TIMEOUT "the job took longer than N s"; returns -1. */
int op_job_timeout(const op_job_t *job);

/* Sets code with "<what>: <libvips' message>" (IMG_E_TIMEOUT past the
 * deadline); returns -1. Call it right after the failing libvips call. */
int op_job_fail(const op_job_t *job, img_errcode_t code, const char *what);

/* Replaces *image by a copy of its pixels in memory, computed watched.
 * 0 or -1 with img_error. */
int op_job_to_memory(op_job_t *job, VipsImage **image);

/* Replaces *image by its upright version (EXIF orientation applied and the
 * tag removed); rotating needs random access, so a sequential image is first
 * copied to memory. No-op for orientation 1. 0 or -1 with img_error. */
int op_job_upright(op_job_t *job, VipsImage **image);

#endif
