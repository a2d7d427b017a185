/* op_util — what the operations and op_runner share about libvips.
 *
 * The time limit of a job: op_runner starts a job on the calling thread with
 * op_util_job_begin() and ends it with op_util_job_end(). Images given to
 * op_util_watch() are killed (vips_image_set_kill) by a killer thread once
 * the deadline has passed; libvips checks the flag whenever a region of a
 * killed image is computed, so every pipeline reading a watched image fails
 * within one strip. Inputs are opened watched (op_util_open,
 * op_util_thumbnail), which makes all the work on them interruptible, even
 * the copies to memory libvips makes inside one call. Failures are reported with
 * op_util_vips_fail(), which copies the libvips error text right away (the libvips buffer is
 * process-wide), cuts the job folder out of it and turns any failure past
 * the deadline into IMG_E_TIMEOUT.
 *
 * Decoding client files: every libvips read of an input goes through
 * op_util_open() or op_util_thumbnail(), which pass fail_on=ERROR as an
 * option (never in the file name; the thumbnail buffer/source variants
 * ignore it, libvips issue 5195), so a truncated or corrupt file fails with
 * the decoder's message instead of giving a grey or garbled result. ERROR,
 * not TRUNCATED: on the gdk-pixbuf corrupt set and on cut JPEG/PNG/GIF files
 * both fail the same files, and ERROR also covers corrupt data that is not
 * a truncation; WARNING is not used as it refuses photos with harmless
 * decoder warnings.
 *
 * Why not vips_thumbnail(filename): its loader image is out of reach, so
 * nothing upstream of its in-memory copies (before a rotation or a crop)
 * could be killed; and libvips only reports progress ("eval") once per strip
 * of the sink's output, which for a small thumbnail of a big input comes
 * after most of the decoding. op_util_thumbnail opens the file itself (with
 * the same shrink-on-load as vips_thumbnail for JPEG and WebP) and calls
 * vips_thumbnail_image.
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

/* Kills image's evaluation past the deadline of the calling thread's job
 * (keeps a reference until op_util_job_end; no-op without a deadline). */
void op_util_watch(VipsImage *image);

/* Opens an input for one sequential pass, with fail_on=ERROR, watched. NULL
 * with img_error (IMG_E_PROCESSING_FAILED) when it cannot be read. Caller
 * owns the image. */
VipsImage *op_util_open(const char *path);

/* Replaces *image by a copy of its pixels in memory, computed under the
 * time limit (the source is watched first). 0 or -1 with img_error. */
int op_util_to_memory(VipsImage **image);

/* Replaces *image by its upright version (EXIF orientation applied and
 * removed); rotating needs random access, so a sequential image is copied
 * to memory first with op_util_to_memory(). No-op for orientation 1. */
int op_util_upright(VipsImage **image);

/* vips_thumbnail(path, width, height, size, crop) with the EXIF orientation
 * applied, but interruptible (see above): the box is in the displayed
 * orientation of info's input; with a crop the image is scaled to cover the
 * box and cut to it (at most width x height: a smaller side stays). *out is
 * a new image (caller owns). 0 or -1 with img_error; IMG_E_IMAGE_TOO_LARGE
 * when an attention/entropy crop would need more than max_pixels pixels in
 * memory. */
int op_util_thumbnail(const char *path, const image_info_t *info, const img_config_t *cfg,
                      int width, int height, VipsSize size, VipsInteresting crop, VipsImage **out);

/* After a failed libvips call: sets "<what>: <libvips message>" with code
 * (IMG_E_TIMEOUT instead when past the deadline), clears the libvips
 * buffer; returns -1. */
int op_util_vips_fail(img_errcode_t code, const char *what);

/* The `format` choices of image operations: "jpeg" ... "gif", "same";
 * NULL-terminated. */
extern const char *const op_util_output_formats[];

/* The `format` and `quality` parameters of the operations that write an
 * image of the client's choice, for their op_param_t lists. */
#define OP_UTIL_OUTPUT_PARAMS                                                                      \
    {.name = "format",                                                                             \
     .type = OP_PARAM_ENUM,                                                                        \
     .choices = op_util_output_formats,                                                            \
     .has_default = true,                                                                          \
     .def_choice = "same",                                                                         \
     .help = "Output format; same keeps the input's format (heif is written as avif)."},           \
    {                                                                                              \
        .name = "quality", .type = OP_PARAM_INT, .min = 1, .max = 100,                             \
        .help = "Encoder quality for jpeg, webp and avif; the encoder's default when absent."      \
    }

/* job->out_format and job->quality from the validated "format" and
 * "quality" parameters ("same" and 0 when absent). */
void op_util_set_output(op_job_t *job);

/* -1 with IMG_E_INVALID_PARAMETER if one of the named integer parameters
 * (NULL-terminated list) is larger than cfg->max_output_dim; else 0. */
int op_util_check_max_dim(const json_t *params, const char *const *names, const img_config_t *cfg);

/* -1 with IMG_E_INVALID_PARAMETER if a width x height result has more than
 * cfg->max_pixels pixels (results are bounded like inputs); else 0. */
int op_util_check_max_pixels(int width, int height, const img_config_t *cfg);

/* The common end of resize and thumbnail: op_util_thumbnail of the input
 * into width x height, made exactly that size unless crop is NONE, and the
 * output format and quality from the parameters. 0 or -1 with img_error. */
int op_util_thumbnail_job(op_job_t *job, int width, int height, VipsSize size, VipsInteresting crop,
                          int exact_w, int exact_h);

/* Makes *image exactly width x height, cropping or repeating edge pixels
 * around the centre (for the one-pixel rounding of a shrink); replaces
 * *image (the old reference is dropped). 0 or -1 with img_error. */
int op_util_exact_size(VipsImage **image, int width, int height);

/* Width and height of an input after its EXIF orientation (5..8 swap). */
void op_util_oriented_size(const image_info_t *info, int *width, int *height);

#endif
