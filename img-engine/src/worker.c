#include "worker.h"

#include "crash_report.h"
#include "img_error.h"
#include "job_files.h"
#include "log.h"
#include "msg.h"
#include "op_params.h"
#include "op_registry.h"
#include "op_runner.h"

#include <malloc.h>
#include <string.h>
#include <vips/vips.h>

static char *s_done_failed(const msg_t *job, img_errcode_t code, const char *message)
{
    msg_t done;
    msg_init(&done, MSG_DONE);
    snprintf(done.id, sizeof done.id, "%s", job->id);
    done.attempt = job->attempt;
    done.ok = false;
    snprintf(done.error_code, sizeof done.error_code, "%s",
             img_error_code_name(code) ? img_error_code_name(code) : "internal");
    snprintf(done.error_message, sizeof done.error_message, "%s", message);
    char *text = msg_encode(&done, NULL);
    msg_clear(&done);
    return text;
}

static char *s_run(const img_config_t *cfg, const msg_t *job)
{
    const op_def_t *op = op_registry_find(job->operation);
    if (!op)
        return s_done_failed(job, IMG_E_INVALID_PARAMETER, "unknown operation");
    json_t *params = op_params_validate(op, job->params);
    if (!params)
        return s_done_failed(job, img_error_code(), img_error_message());
    char dir[4096];
    json_t *result = NULL;
    char *text = NULL;
    if (job_files_dir(cfg->data_dir, job->id, dir, sizeof dir) < 0 ||
        op_run(op, dir, params, cfg, job->timeout_ms, &result) < 0) {
        log_warn("worker: job %s (%s) failed: %s", job->id, job->operation, img_error_message());
        text = s_done_failed(job, img_error_code(), img_error_message());
    } else {
        msg_t done;
        msg_init(&done, MSG_DONE);
        snprintf(done.id, sizeof done.id, "%s", job->id);
        done.attempt = job->attempt;
        done.ok = true;
        done.result = result;
        result = NULL;
        text = msg_encode(&done, NULL);
        msg_clear(&done);
    }
    json_decref(params);
    json_decref(result);
    return text;
}

char *worker_run_job(const img_config_t *cfg, const char *job_text)
{
    msg_t job;
    if (msg_decode(job_text, strlen(job_text), (size_t)cfg->max_message_bytes, &job) < 0 ||
        job.type != MSG_JOB) {
        log_error("worker: invalid job message: %s", img_error_message());
        msg_clear(&job);
        return NULL;
    }
    img_error_clear();
    crash_report_current(job.id, job.attempt);
    char *done = s_run(cfg, &job);
    crash_report_current(NULL, 0);
    msg_clear(&job);
    return done;
}

/* Gives the pixels of a large job back to the system, instead of keeping
 * them in this thread's malloc arena until the next one. Only when much is
 * held: a trim after every small job costs a fifth of the throughput. */
static void s_trim_after_large_job(void)
{
    struct mallinfo2 mi = mallinfo2();
    if (mi.fordblks > (size_t)64 << 20)
        malloc_trim(0);
}

static void s_actor(zsock_t *pipe, void *args)
{
    const img_config_t *cfg = args;
    zsock_signal(pipe, 0);
    for (;;) {
        char *text = zstr_recv(pipe);
        if (!text || strcmp(text, "$TERM") == 0) {
            zstr_free(&text);
            break;
        }
        char *done = worker_run_job(cfg, text);
        zstr_free(&text);
        s_trim_after_large_job();
        zstr_send(pipe, done ? done : "");
        free(done);
    }
    vips_thread_shutdown();
}

zactor_t *worker_new(const img_config_t *cfg)
{
    return zactor_new(s_actor, (void *)cfg);
}
