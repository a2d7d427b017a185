#include "op_job.h"

#include "image_format.h"
#include "image_load.h"
#include "vips_message.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void op_job_watch(op_job_t *job, VipsImage *image)
{
    if (image && job->monitor)
        job->monitor->watch(job->monitor->self, image, false);
}

void op_job_watch_last(op_job_t *job, VipsImage *image)
{
    if (image && job->monitor)
        job->monitor->watch(job->monitor->self, image, true);
}

void op_job_progress(op_job_t *job, int percent)
{
    if (job->monitor && job->monitor->progress)
        job->monitor->progress(job->monitor->self, percent);
}

bool op_job_expired(const op_job_t *job)
{
    return job->monitor && job->monitor->expired(job->monitor->self);
}

int op_job_timeout(const op_job_t *job)
{
    img_error_set(IMG_E_TIMEOUT, "the job took longer than %g s", job->timeout_ms / 1000.0);
    return -1;
}

int op_job_fail(const op_job_t *job, img_errcode_t code, const char *what)
{
    char text[400];
    vips_message_take(job->cfg->data_dir, text, sizeof text);
    if (op_job_expired(job))
        return op_job_timeout(job);
    if (text[0])
        img_error_set(code, "%s: %s", what, text);
    else
        img_error_set(code, "%s", what);
    return -1;
}

/* The loader's own shrink for a JPEG: 1/2, 1/4 or 1/8, leaving at least a
 * factor of two to the resampling (vips_thumbnail's rule, for its quality). */
static int s_jpeg_factor(double shrink)
{
    return shrink >= 16 ? 8 : shrink >= 8 ? 4 : shrink >= 4 ? 2 : 1;
}

/* Whether an opened side `got` is the header's `want`, whole or shrunk by
 * factor on load: libvips' JPEG loader rounds a shrunk side down and its
 * WebP loader to the nearest pixel (and leaves an animation whose frames do
 * not fill the canvas whole), so a shrunk side is within one pixel of
 * want / factor. */
static bool s_side_is(int got, int want, double factor)
{
    return got == want || (factor > 1 && fabs(got * factor - want) < factor);
}

/* Whether a HEIF-loader image is the kind its header names: HEIF and AVIF
 * share the loader, and only the compression tells them apart (each may be
 * allowed alone: image_probe's step 4). Other formats have a loader each. */
static bool s_same_kind(VipsImage *image, const image_info_t *info)
{
    const img_format_t *named = img_format_by_name(info->format);
    const char *compression = NULL;
    if (!named || strcmp(named->loader, "heifload") != 0)
        return true;
    if (vips_image_get_typeof(image, "heif-compression") &&
        vips_image_get_string(image, "heif-compression", &compression) != 0)
        compression = NULL;
    return img_format_by_loader(named->loader, compression) == named;
}

/* Whether image is what input i's header says (its kind, and its frames:
 * `frames` of them, read at `factor`): a file changed since it was probed,
 * or a header that was wrong, is refused before any pixel is decoded. */
static bool s_as_header(VipsImage *image, const image_info_t *info, double factor, int frames)
{
    int page_height = vips_image_get_page_height(image);
    return s_side_is(image->Xsize, info->width, factor) &&
           s_side_is(page_height, info->height, factor) &&
           image->Ysize == (long long)page_height * frames && s_same_kind(image, info);
}

VipsImage *op_job_open(op_job_t *job, int i, const op_open_t *how)
{
    const image_info_t *info = &job->info[i];
    const char *loader = info->loader;
    double shrink = how && how->shrink > 1 ? how->shrink : 1, factor = 1;
    bool all = how && how->all_frames;
    int n = all ? -1 : 1, frames = all ? info->pages : 1; /* what n gives */
    VipsImage *image;
    /* fail_on as an option, never in the file name (the buffer and source
     * variants of vips_thumbnail ignore it: libvips issue 5195); one page is
     * the loader's default page, as the probe read it (for HEIF the primary
     * image, which "n" alone would replace by the first) */
    if (strncmp(loader, "jpegload", 8) == 0 && shrink > 1) {
        factor = s_jpeg_factor(shrink);
        frames = 1;
        image = image_load(job->inputs[i], loader, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                           VIPS_FAIL_ON_ERROR, "shrink", (int)factor, NULL);
    } else if (strncmp(loader, "webpload", 8) == 0) {
        factor = shrink;
        image = image_load(job->inputs[i], loader, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                           VIPS_FAIL_ON_ERROR, "scale", 1.0 / shrink, "n", n, NULL);
    } else if (all && (strncmp(loader, "gifload", 7) == 0 || strncmp(loader, "tiffload", 8) == 0 ||
                       strncmp(loader, "heifload", 8) == 0)) {
        image = image_load(job->inputs[i], loader, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                           VIPS_FAIL_ON_ERROR, "n", n, NULL);
    } else {
        frames = 1;
        image = image_load(job->inputs[i], loader, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                           VIPS_FAIL_ON_ERROR, NULL);
    }
    if (!image) {
        op_job_fail(job, IMG_E_PROCESSING_FAILED, "reading the image failed");
        return NULL;
    }
    if (!s_as_header(image, info, factor, frames)) {
        g_object_unref(image);
        img_error_set(IMG_E_UNSUPPORTED_MEDIA_TYPE, "the input changed after it was accepted");
        return NULL;
    }
    op_job_watch(job, image);
    return image;
}

int op_job_to_memory(op_job_t *job, VipsImage **image)
{
    op_job_watch(job, *image);
    VipsImage *memory = vips_image_copy_memory(*image);
    if (!memory)
        return op_job_fail(job, IMG_E_PROCESSING_FAILED, "decoding the image failed");
    g_object_unref(*image);
    *image = memory;
    return 0;
}

int op_job_upright(op_job_t *job, VipsImage **image)
{
    int orientation = vips_image_get_orientation(*image);
    VipsImage *out = NULL;
    if (orientation <= 1 || orientation > 8)
        return 0;
    if (op_job_to_memory(job, image) != 0)
        return -1;
    if (vips_autorot(*image, &out, NULL) != 0)
        return op_job_fail(job, IMG_E_PROCESSING_FAILED, "rotating the image failed");
    g_object_unref(*image);
    *image = out;
    return 0;
}
