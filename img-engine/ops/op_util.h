/* op_util — what the operations and op_runner share about libvips.
 *
 * The time limit of a job: op_runner starts a job on the calling thread with
 * op_util_job_begin() and ends it with op_util_job_end(). An operation that
 * computes pixels itself (vips_avg, vips_stats, a sink ...) calls
 * op_util_watch() on the image it evaluates, so the evaluation is killed
 * once the deadline has passed. Failures are reported with op_util_vips_fail(),
 * which copies the libvips error text right away (the libvips buffer is
 * process-wide), cuts the job folder out of it and turns any failure past
 * the deadline into IMG_E_TIMEOUT.
 */
#ifndef IMG_OP_UTIL_H
#define IMG_OP_UTIL_H

#include "img_error.h"
#include "op.h"

#include <stdbool.h>
#include <vips/vips.h>

/* Starts the job's clock on this thread. job_dir (not copied; must outlive
 * the job) is removed from libvips messages. timeout_ms <= 0: no limit. */
void op_util_job_begin(const char *job_dir, int timeout_ms);
void op_util_job_end(void);

/* True once this thread's job is past its deadline. */
bool op_util_deadline_passed(void);

/* Sets IMG_E_TIMEOUT "the job took longer than N s"; returns -1. */
int op_util_timeout(void);

/* Makes image report progress and kills its evaluation past the deadline of
 * the calling thread's job (no-op without a deadline). */
void op_util_watch(VipsImage *image);

/* After a failed libvips call: sets "<what>: <libvips message>" with code
 * (IMG_E_TIMEOUT instead when past the deadline), clears the libvips
 * buffer; returns -1. */
int op_util_vips_fail(img_errcode_t code, const char *what);

/* The `format` choices of image operations: "jpeg" ... "gif", "same";
 * NULL-terminated. */
extern const char *const op_util_output_formats[];

/* job->out_format and job->quality from the validated "format" and
 * "quality" parameters ("same" and 0 when absent). */
void op_util_set_output(op_job_t *job);

/* Makes *image exactly width x height, cropping or repeating edge pixels
 * around the centre (for the one-pixel rounding of a shrink); replaces
 * *image (the old reference is dropped). 0 or -1 with img_error. */
int op_util_exact_size(VipsImage **image, int width, int height);

/* Width and height of an input after its EXIF orientation (5..8 swap). */
void op_util_oriented_size(const image_info_t *info, int *width, int *height);

#endif
