#include "worker.h"

#include "actor_pipe.h"
#include "crash_report.h"
#include "img_error.h"
#include "job_runner.h"
#include "log.h"

#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vips/vips.h>

#define TRIM_ABOVE ((unsigned long)128 << 20) /* resident bytes (steady W1 load: 66 MB) */

void worker_run_job(const worker_env_t *env, const msg_t *job, msg_t *done, atomic_int *progress,
                    result_commit_t *commit)
{
    json_t *result = NULL;
    job_runner_job_t spec = {.id = job->id,
                             .operation = job->operation,
                             .params = job->params,
                             .input = job->input,
                             .timeout_ms = job->timeout_ms,
                             .progress = progress,
                             .commit = commit};
    msg_init(done, MSG_DONE);
    memcpy(done->id, job->id, sizeof done->id);
    done->dispatch = job->dispatch;
    img_error_clear();
    crash_report_current(job->id, job->dispatch);
    log_context_set(job->request_id, job->id);
    int rc = job_runner_run(env->cfg, env->clock, &spec, &result);
    crash_report_current(NULL, 0);
    done->ok = rc == 0;
    if (rc == 0) {
        done->result = result;
        log_context_set(NULL, NULL);
        return;
    }
    log_warn("worker: job %s (%s) failed: %s", job->id, job->operation, img_error_message());
    log_context_set(NULL, NULL);
    const char *code = img_error_code_name(img_error_code());
    snprintf(done->error_code, sizeof done->error_code, "%s",
             code && img_error_code() != IMG_E_NONE ? code : "internal");
    snprintf(done->error_message, sizeof done->error_message, "%s", img_error_message());
}

/* Gives the pixels of a large job back to the system, instead of keeping
 * them in malloc's arenas until the next one. Only when the process holds
 * much: a trim after every small job costs a fifth of the throughput, and
 * even asking malloc how much it holds free (mallinfo2 walks every arena)
 * cost 3.5 % of the CPU of small jobs; the resident size is one read. */
static void s_trim_after_large_job(void)
{
    FILE *f = fopen("/proc/self/statm", "re");
    unsigned long size = 0, resident = 0;
    bool known = f && fscanf(f, "%lu %lu", &size, &resident) == 2;
    if (f)
        fclose(f);
    if (known && resident * (unsigned long)sysconf(_SC_PAGESIZE) > TRIM_ABOVE)
        malloc_trim(0);
}

/* What an actor is started with. */
typedef struct {
    const worker_env_t *env;
    atomic_int *progress;
} actor_args_t;

static void s_actor(zsock_t *pipe, void *arg)
{
    actor_args_t args = *(actor_args_t *)arg;
    free(arg);
    const worker_env_t *env = args.env;
    zsock_signal(pipe, 0);
    void *job;
    while (actor_pipe_next(pipe, &job)) {
        msg_t *done = calloc(1, sizeof *done);
        result_commit_t *commit = calloc(1, sizeof *commit);
        if (job && done) /* without a commit of its own, it commits at once */
            worker_run_job(env, job, done, args.progress, commit);
        if (job)
            msg_clear(job);
        free(job);
        if (commit && !result_commit_pending(commit)) {
            free(commit);
            commit = NULL;
        }
        s_trim_after_large_job();
        zsock_send(pipe, "pp", done, commit);
    }
    vips_thread_shutdown();
}

zactor_t *worker_new(const worker_env_t *env, atomic_int *progress)
{
    actor_args_t *args = malloc(sizeof *args);
    if (!args)
        return NULL;
    *args = (actor_args_t){env, progress};
    zactor_t *actor = zactor_new(s_actor, args); /* the actor frees args */
    return actor;
}

int worker_send_job(zactor_t *worker, msg_t **job)
{
    if (zsock_send(worker, "sp", "JOB", *job) < 0)
        return -1;
    *job = NULL;
    return 0;
}

msg_t *worker_recv_done(zactor_t *worker, result_commit_t **commit)
{
    void *done = NULL, *pending = NULL;
    *commit = NULL;
    if (zsock_recv(worker, "pp", &done, &pending) < 0)
        return NULL;
    *commit = pending;
    return done;
}
