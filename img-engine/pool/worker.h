/* worker — one thread of the img-engine pool, as a CZMQ actor.
 *
 * The engine hands it a decoded `job` message (a msg_t *, whose ownership
 * passes with it) over its pipe; the worker runs the job with job_runner and
 * hands back the `done` message (a new msg_t *, owned by the receiver) and,
 * for an image result, its pending commit (result_commit.h): the done may
 * reach the broker only once the commit has run. It ends on $TERM. libvips must be initialised
 * before the first worker starts.
 */
#ifndef IMG_WORKER_H
#define IMG_WORKER_H

#include "config.h"
#include "deadline.h"
#include "msg.h"
#include "result_commit.h"

#include <czmq.h>
#include <stdatomic.h>

/* What every worker of an engine shares; not owned, outlives the workers. */
typedef struct {
    const img_config_t *cfg;
    deadline_clock_t *clock;
} worker_env_t;

/* Starts a worker actor; the progress of its running job goes to *progress
 * (not owned, outlives the worker). NULL on failure. */
zactor_t *worker_new(const worker_env_t *env, atomic_int *progress);

/* Hands the job to the worker (takes *job and NULLs it). 0 or -1. */
int worker_send_job(zactor_t *worker, msg_t **job);

/* The `done` of the worker's last job (caller owns: msg_clear, free), or
 * NULL if the pipe said something else. *commit: the result's pending
 * commit (caller owns: free), or NULL when there is none. */
msg_t *worker_recv_done(zactor_t *worker, result_commit_t **commit);

/* Runs one job and fills done (which the caller msg_clear()s); progress
 * may be NULL. With commit NULL an image result is committed before the
 * return; otherwise a pending commit is left in *commit. The actor calls
 * it; exposed for tests. */
void worker_run_job(const worker_env_t *env, const msg_t *job, msg_t *done, atomic_int *progress,
                    result_commit_t *commit);

#endif
