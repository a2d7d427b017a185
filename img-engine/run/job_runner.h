/* job_runner — one attempt of a job, from its folder to its result.
 *
 * Checks the operation and its parameters again (a job message is not
 * trusted), takes the inputs' headers from the message after cheap checks
 * (image_probe_known; op_job_open refuses pixels beyond them) or, without
 * them, probes the inputs in the job folder (job_files), plans the job
 * (op_plan) and runs it under a deadline from the engine's clock:
 *   - a step (op->apply): the input is opened (already shrunk where its
 *     format allows, with every frame when an animation stays whole), turned
 *     upright, and the step is applied to each frame; the frames are joined
 *     again into one animation;
 *   - a whole job (op->run): the operation reads its inputs itself.
 * An image result is written by result_writer; a JSON result is the
 * operation's own. The time limit covers everything after the clock starts:
 * the probe, the work and the save; not a commit the caller runs later
 * (result_commit.h: two syncs and a rename). The runner lends the operation
 * a monitor that joins the deadline and the job's progress (job_progress).
 */
#ifndef IMG_JOB_RUNNER_H
#define IMG_JOB_RUNNER_H

#include "config.h"
#include "deadline.h"
#include "result_commit.h"

#include <jansson.h>
#include <stdatomic.h>

typedef struct {
    const char *id;          /* a valid job id */
    const char *operation;   /* its operation's name */
    const json_t *params;    /* as the job message carries them */
    const json_t *input;     /* the inputs' headers it carries (op_header.h), or NULL */
    int timeout_ms;          /* the attempt's time limit */
    atomic_int *progress;    /* where its progress goes (job_progress.h), or NULL */
    result_commit_t *commit; /* where an image result's commit is left for the caller to
                                run, or NULL: committed before the return (result_commit.h) */
} job_runner_job_t;

/* Runs one attempt. *result gets a new object (caller owns): for images
 * {width, height, format, bytes[, pages]} plus the operation's extra
 * fields; for JSON operations the operation's object. 0, or -1 with
 * img_error; a pending commit is left in job->commit only on success.
 * cfg and clock are not owned. Thread-safe: each worker thread
 * runs its own jobs. */
int job_runner_run(const img_config_t *cfg, deadline_clock_t *clock, const job_runner_job_t *job,
                   json_t **result);

#endif
