/* test_support — what the unit tests share (prefix ts_).
 *
 *   - a temporary data folder under the build folder, with a configuration
 *     pointing at it and one job folder in it (job_files), removed at
 *     teardown; and the engine's deadline clock for jobs run there;
 *   - images made with libvips (gradients, uniform colours, 16-bit, alpha,
 *     painted rectangles, EXIF orientation, real photos) and saved as a
 *     job's input files (job_files_input);
 *   - one job attempt run through the engine's job_runner_run, as an engine
 *     worker runs it (real deadline), giving the result object or image;
 *   - pixel comparisons (a pixel, max abs difference, band means, colours).
 *
 * Every helper fails the running cmocka test on an unexpected error, so a
 * test reads as its assertions. Images returned are new references the
 * caller unrefs; helpers that say "taken" unref their argument.
 */
#ifndef IMG_TEST_SUPPORT_H
#define IMG_TEST_SUPPORT_H

#include "config.h"
#include "deadline.h"
#include "job_id.h"

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <vips/vips.h>

/* cmocka needs these before its header; every test includes this one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>

#include <cmocka.h>

/* ---- set-up ---- */

/* libvips set up as the programs do (vips_server_init); 0 or -1. */
int ts_vips_init(const char *program);

/* A temporary data folder with one job in it. */
typedef struct {
    img_config_t cfg;        /* defaults; data_dir = root */
    char root[256];          /* <build>/test/tmp/<name>-XXXXXX */
    char id[JOB_ID_LEN + 1]; /* the job's id */
    char dir[PATH_MAX];      /* its folder: <root>/jobs/<id> */
    deadline_clock_t *clock; /* the engine's clock, for ts_run */
} ts_folder_t;

/* A new folder (name: a word for the folder's name). Caller owns. */
ts_folder_t *ts_folder_new(const char *name);
/* Removes the folder and everything in it, frees, NULLs *self. */
void ts_folder_destroy(ts_folder_t **self);
/* cmocka set-up / teardown with a ts_folder_t as the test's state. */
int ts_setup(void **state);
int ts_teardown(void **state);

/* The path of input `input` ("file", "image1") of the folder's job. */
void ts_input_path(const ts_folder_t *f, const char *input, char *out, size_t size);
/* The path of the result file of format `format` ("jpeg": result.jpg). */
void ts_result_path(const ts_folder_t *f, const char *format, char *out, size_t size);
/* Files in dir whose names start with prefix. */
int ts_count_files(const char *dir, const char *prefix);
/* How many of path's pages are in the page cache (mincore). */
long ts_cached_pages(const char *path);
/* Whether a folder's page cache can be measured: false on tmpfs and ramfs,
 * where the cached pages are the file itself. */
bool ts_on_disk(const char *dir);
/* Waits for the write-out of path's pages that is already under way,
 * without starting any. */
void ts_wait_write_out(const char *path);
/* Checks that path has pages in the page cache and that one
 * file_cache_drop() takes them all (so none was dirty). */
void ts_expect_drop_empties(const char *path);

/* ---- images ---- */

enum {
    TS_ALPHA = 1 << 0,   /* a fourth band: alpha 0.8 of full scale */
    TS_SIXTEEN = 1 << 1, /* 16-bit RGB16 instead of 8-bit sRGB */
};

/* w x h: red a ramp along x, green a ramp along y, blue half scale. */
VipsImage *ts_gradient(int w, int h, unsigned flags);
/* w x h of n bands with the given values, in format and interpretation. */
VipsImage *ts_uniform(int w, int h, const double *values, int n, VipsBandFormat format,
                      VipsInterpretation interpretation);
/* A real photo (a JPEG of a Debian package) scaled and cropped to w x h,
 * in memory. */
VipsImage *ts_photo(const char *path, int w, int h);
/* in (taken) with EXIF orientation o set. */
VipsImage *ts_oriented(VipsImage *in, int o);
/* in (taken) as pages of page_height (a multi-page TIFF, an animation). */
VipsImage *ts_paged(VipsImage *in, int page_height);

typedef struct {
    int x, y, w, h;
} ts_rect_t;

/* A memory copy of in (not taken, 3 bands) with rects[i] filled with inks[i]. */
VipsImage *ts_painted(VipsImage *in, const ts_rect_t *rects, const double (*inks)[3], int n);

/* Saves image (taken) as format ("png", "jpeg" Q 95, "tiff", "gif", "webp",
 * "ppm", "avif") to path. */
void ts_save(VipsImage *image, const char *format, const char *path);
/* Saves image (taken) as input `input` of the folder's job. */
void ts_save_input(const ts_folder_t *f, const char *input, VipsImage *image, const char *format);
/* Copies the file src to input `input` of the folder's job. */
void ts_copy_input(const ts_folder_t *f, const char *input, const char *src);
/* Writes len bytes to path (replacing it). */
void ts_write_file(const char *path, const void *data, size_t len);
/* Writes bytes as input `input` of the folder's job. */
void ts_write_input(const ts_folder_t *f, const char *input, const void *data, size_t len);
/* An image file read whole into memory (the file may go afterwards). */
VipsImage *ts_load(const char *path);

/* ---- running a job ---- */

/* Runs one attempt of operation op on the folder's job with params given
 * as "k=v&k=v" text (NULL or "": none), as a job message carries them, with
 * a time limit of timeout_ms. The result object (caller owns), or NULL with
 * img_error. */
json_t *ts_run(ts_folder_t *f, const char *op, const char *kv, int timeout_ms);
/* The same with params as JSON (not taken; NULL: none). */
json_t *ts_run_json(ts_folder_t *f, const char *op, const json_t *params, int timeout_ms);
/* Runs (60 s limit), which must succeed with an image result of format
 * `format` (NULL: any); checks the result object against the file (width,
 * height, bytes, the format sniffed from the bytes) and returns the result
 * image, read into memory. */
VipsImage *ts_run_image(ts_folder_t *f, const char *op, const char *kv, const char *format);

/* ---- pixels ---- */

/* Sample `band` of pixel (x, y). */
double ts_pixel(VipsImage *image, int x, int y, int band);
/* The largest absolute difference between two images of the same shape. */
double ts_max_abs_diff(VipsImage *a, VipsImage *b);
/* The mean of one band. */
double ts_band_mean(VipsImage *image, int band);
/* The number of distinct colours (the first colour_bands bands, 1..3) of an
 * 8-bit image. */
size_t ts_distinct_colours(VipsImage *image, int colour_bands);
/* True if every sample of the first colour_bands bands is one of the
 * `levels` values round(i * 255 / (levels - 1)). */
bool ts_on_levels(VipsImage *image, int colour_bands, int levels);

#endif
