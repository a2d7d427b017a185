#include "job_runner.h"

#include "file_cache.h"
#include "job_files.h"
#include "job_progress.h"
#include "op_catalog.h"
#include "op_header.h"
#include "op_params.h"
#include "op_plan.h"
#include "private_metadata.h"
#include "result_writer.h"

#include <assert.h>
#include <limits.h>
#include <string.h>

/* Everything one attempt holds; released by s_clear. */
typedef struct {
    char dir[PATH_MAX];
    char paths[OP_MAX_INPUTS][PATH_MAX];
    image_info_t info[OP_MAX_INPUTS];
    json_t *params;
    op_plan_t plan;
    deadline_t *deadline;
    job_progress_t *progress;
    op_monitor_t monitor;
    op_job_t job;
    result_commit_t *commit; /* the caller's, or NULL */
} s_attempt_t;

/* The monitor of an attempt: its deadline and its progress. */
static void s_watch(void *self, VipsImage *image, bool last)
{
    s_attempt_t *a = self;
    deadline_watch(a->deadline, image);
    job_progress_watch(a->progress, image, last);
}

static bool s_expired(void *self)
{
    return deadline_passed(((s_attempt_t *)self)->deadline);
}

static void s_progress(void *self, int percent)
{
    job_progress_stage(((s_attempt_t *)self)->progress, percent);
}

/* Input i's header: the one img-rest probed, when the message has it whole
 * and the file still matches it, else the file's own. 0 or -1. */
static int s_header(s_attempt_t *a, const img_config_t *cfg, const job_runner_job_t *spec, int i)
{
    if (op_header_read(spec->input, a->job.op, i, &a->info[i]))
        return image_probe_known(a->paths[i], cfg, &a->info[i]);
    return image_probe_file(a->paths[i], cfg, &a->info[i]);
}

static int s_prepare(s_attempt_t *a, const img_config_t *cfg, const job_runner_job_t *spec)
{
    const op_def_t *op = op_catalog_find(spec->operation);
    if (!op) {
        img_error_set(IMG_E_INVALID_PARAMETER, "unknown operation '%s'", spec->operation);
        return -1;
    }
    a->job.op = op;
    if (!(a->params = op_params_validate(op, spec->params, cfg)) ||
        job_files_dir(cfg->data_dir, spec->id, a->dir, sizeof a->dir) < 0)
        return -1;
    for (int i = 0; i < op->n_inputs; i++) {
        if (job_files_input(a->dir, op->inputs[i].name, a->paths[i], sizeof a->paths[i]) < 0 ||
            s_header(a, cfg, spec, i) < 0)
            return -1;
        a->job.inputs[i] = a->paths[i];
    }
    return op_plan_job(op, a->params, a->info, cfg, &a->plan);
}

/* The step applied to every frame of image (one tall strip), joined again. */
static int s_apply_frames(op_job_t *job, const op_size_t *planned, VipsImage *image,
                          VipsImage **out)
{
    int page_height = vips_image_get_page_height(image);
    int n = image->Ysize / page_height;
    VipsImage **frames = g_new0(VipsImage *, n);
    int rc = -1;
    for (int i = 0; i < n; i++) {
        VipsImage *frame = NULL;
        if (vips_extract_area(image, &frame, 0, i * page_height, image->Xsize, page_height, NULL) !=
            0) {
            op_job_fail(job, IMG_E_PROCESSING_FAILED, "splitting the frames failed");
            goto done;
        }
        int applied = job->op->apply(job, job->params, planned, frame, &frames[i]);
        g_object_unref(frame);
        if (applied != 0)
            goto done;
    }
    if (vips_arrayjoin(frames, out, n, "across", 1, NULL) != 0) {
        op_job_fail(job, IMG_E_PROCESSING_FAILED, "joining the frames failed");
        goto done;
    }
    vips_image_set_int(*out, VIPS_META_PAGE_HEIGHT, frames[0]->Ysize);
    rc = 0;
done:
    for (int i = 0; i < n; i++)
        VIPS_UNREF(frames[i]);
    g_free(frames);
    return rc;
}

/* An upright input without the metadata an image result never carries
 * (private_metadata.h); an operation that answers JSON (info) keeps it. */
static int s_drop_private(op_job_t *job, VipsImage **in)
{
    if (job->op->result_kind != OP_RESULT_IMAGE)
        return 0;
    if (private_metadata_drop(in) != 0)
        return op_job_fail(job, IMG_E_PROCESSING_FAILED, "copying the image failed");
    return 0;
}

/* A step: open the input, upright, drop private metadata, apply; *out is a
 * new image. */
static int s_run_step(s_attempt_t *a, VipsImage **out)
{
    op_job_t *job = &a->job;
    op_size_t planned = op_size_of(&a->info[0]);
    bool animated = a->plan.out.pages > 1;
    op_open_t how = {.shrink = job->op->shrink ? job->op->shrink(a->params, &planned) : 1,
                     .all_frames = animated};
    VipsImage *in = op_job_open(job, 0, &how);
    int rc = -1;
    if (!in)
        return -1;
    if (!animated) /* an animation has no EXIF orientation */
        rc = op_job_upright(job, &in) || s_drop_private(job, &in)
                 ? -1
                 : job->op->apply(job, a->params, &planned, in, out);
    else
        rc = s_apply_frames(job, &planned, in, out);
    g_object_unref(in);
    return rc;
}

static int s_work(s_attempt_t *a, json_t **result)
{
    op_job_t *job = &a->job;
    VipsImage *image = NULL;
    int rc = -1;
    if (job->op->run) {
        if (job->op->run(job) != 0)
            return -1;
        image = job->out;
        job->out = NULL;
    } else if (s_run_step(a, &image) != 0) {
        return -1;
    }
    if (op_job_expired(job)) {
        VIPS_UNREF(image);
        return op_job_timeout(job);
    }
    if (job->op->result_kind == OP_RESULT_JSON) {
        *result = job->extra ? json_incref(job->extra) : NULL;
        rc = *result ? 0 : -1;
        if (rc)
            img_error_set(IMG_E_PROCESSING_FAILED, "the operation produced no result");
    } else if (!image) {
        img_error_set(IMG_E_PROCESSING_FAILED, "the operation produced no image");
    } else if ((rc = result_writer_write(job, image, a->plan.format, a->plan.quality, a->dir,
                                         result, a->commit)) == 0 &&
               job->extra) {
        json_object_update_missing(*result, job->extra);
    }
    VIPS_UNREF(image);
    return rc;
}

/* libvips' threads per image (vips_concurrency), set once, before the
 * first attempt's first pipeline. One, the default, is also what keeps a
 * corrupt input failing: libvips 8.14 (Debian 12) loses a decoder's error
 * that falls on one of the last tiles in flight of a sink with several
 * workers (the sink reads the pool's error flag before it has waited for its
 * workers; fixed upstream in 8.15.4), so the save succeeds with blank tiles.
 * Three corrupt inputs (two files of gdk-pixbuf's tests, a truncated WebP)
 * completed in 252 of 1950 attempts through this runner with libvips'
 * default (test_ops_corrupt); with one worker per pool, in none, the WebP
 * loader's own sink included. Jobs still run in parallel: the engine runs
 * one per worker thread (engine_threads). */
static void s_set_vips_concurrency(const img_config_t *cfg)
{
    static gsize done = 0;
    if (g_once_init_enter(&done)) {
        vips_concurrency_set(cfg->vips_concurrency);
        g_once_init_leave(&done, 1);
    }
}

/* The inputs are read: their pages leave the page cache (file_cache.h). */
static void s_drop_inputs(const s_attempt_t *a)
{
    for (int i = 0; i < OP_MAX_INPUTS; i++)
        if (a->paths[i][0])
            file_cache_drop(a->paths[i]);
}

int job_runner_run(const img_config_t *cfg, deadline_clock_t *clock, const job_runner_job_t *spec,
                   json_t **result)
{
    assert(cfg && spec && result);
    s_set_vips_concurrency(cfg);
    s_attempt_t *a = g_new0(s_attempt_t, 1);
    int rc = -1;
    *result = NULL;
    a->commit = spec->commit;
    if (a->commit)
        a->commit->temp[0] = '\0';
    a->deadline = deadline_start(clock, spec->timeout_ms);
    a->progress = job_progress_new(spec->progress);
    a->monitor =
        (op_monitor_t){.watch = s_watch, .expired = s_expired, .progress = s_progress, .self = a};
    a->job = (op_job_t){
        .info = a->info, .cfg = cfg, .monitor = &a->monitor, .timeout_ms = spec->timeout_ms};
    if (s_prepare(a, cfg, spec) == 0) {
        a->job.params = a->params;
        rc = s_work(a, result);
    }
    if (rc == 0 && deadline_passed(a->deadline)) {
        json_decref(*result);
        *result = NULL;
        if (a->commit)
            result_commit_abandon(a->commit);
        rc = op_job_timeout(&a->job);
    }
    VIPS_UNREF(a->job.out);
    s_drop_inputs(a);
    json_decref(a->job.extra);
    json_decref(a->params);
    job_progress_destroy(&a->progress);
    deadline_end(&a->deadline);
    g_free(a);
    return rc;
}
