/* POST /<op>: receive the upload, check it, record the job, wake the dispatcher.
 *
 * Order matters: the cheap refusals come first (queue full, then the body's
 * size and shape while it streams to disk), then the parameters, then the
 * inputs' headers (format, pixels), then the operation's own cross-checks;
 * the job is committed to the store before the 202 is sent. On any refusal
 * the job folder is removed; every answer closes the connection, so a body
 * left partly unread is never taken for another request. */
#include "handlers.h"

#include "big_stack.h"
#include "http_reply.h"
#include "image_probe.h"
#include "job.h"
#include "job_files.h"
#include "log.h"
#include "op_params.h"
#include "op_registry.h"
#include "query.h"
#include "upload.h"

#include <stdio.h>
#include <string.h>

static int s_queue_has_room(const rest_app_t *app)
{
    long queued = job_store_count(app->store, JOB_QUEUED);
    if (queued < 0)
        return -1;
    if (queued >= app->cfg->max_queued) {
        img_error_set(IMG_E_QUEUE_FULL, "the queue holds %ld jobs, its maximum; retry later",
                      queued);
        return -1;
    }
    return 0;
}

/* Form fields and query parameters together, validated against the op. */
static json_t *s_params(const http_req_t *r, const upload_t *up)
{
    json_t *raw = json_deep_copy(up->fields);
    json_t *params = NULL;
    if (query_parse(r->query, raw) == 0)
        params = op_params_validate(r->op, raw);
    json_decref(raw);
    return params;
}

typedef struct {
    const http_req_t *r;
    const char *dir;
    image_info_t *info;
} probe_args_t;

static int s_probe_inputs(void *arg)
{
    const probe_args_t *a = arg;
    const http_req_t *r = a->r;
    const char *dir = a->dir;
    image_info_t *info = a->info;
    for (int i = 0; i < r->op->n_inputs; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/in_%s", dir, r->op->inputs[i].name);
        if (image_probe_file(path, r->app->cfg, &info[i]) < 0) {
            if (r->op->n_inputs > 1) { /* say which input */
                char reason[512];
                snprintf(reason, sizeof reason, "%s", img_error_message());
                img_error_set(img_error_code(), "%s: %s", r->op->inputs[i].name, reason);
            }
            return -1;
        }
    }
    return 0;
}

static json_t *s_input_json(const image_info_t *info)
{
    return json_pack("{s:i, s:i, s:s, s:I, s:i}", "width", info->width, "height", info->height,
                     "format", info->format, "bytes", (json_int_t)info->bytes, "pages",
                     info->pages);
}

static int s_accept(const http_req_t *r, job_t *job)
{
    char dir[4096];
    upload_t up = {0};
    image_info_t info[OP_MAX_INPUTS] = {0};
    int rc = -1;
    if (job_id_new(job->id) < 0 ||
        job_files_create(r->app->cfg->data_dir, job->id, dir, sizeof dir) < 0)
        return -1;
    if (upload_receive(r->conn, r->op, dir, r->app->cfg->max_upload_bytes, &up) < 0)
        goto done;
    job->params = s_params(r, &up);
    probe_args_t probe = {r, dir, info};
    if (!job->params || big_stack_call(s_probe_inputs, &probe) < 0)
        goto done;
    if (r->op->check && r->op->check(job->params, info, r->app->cfg) < 0)
        goto done;
    snprintf(job->operation, sizeof job->operation, "%s", r->op->name);
    job->status = JOB_QUEUED;
    job->created_at = job_now_ms();
    job->input = s_input_json(&info[0]);
    if (r->op->n_inputs > 1) {
        json_t *inputs = json_object();
        for (int i = 0; i < r->op->n_inputs; i++)
            json_object_set_new(inputs, r->op->inputs[i].name, s_input_json(&info[i]));
        json_object_set_new(job->input, "inputs", inputs);
    }
    rc = job_store_insert(r->app->store, job);
done:
    if (rc < 0) {
        img_errcode_t code = img_error_code();
        char message[512];
        snprintf(message, sizeof message, "%s", img_error_message());
        job_files_remove(r->app->cfg->data_dir, job->id);
        img_error_set(code, "%s", message);
    }
    upload_clear(&up);
    return rc;
}

static size_t s_op_index(const op_def_t *op)
{
    for (size_t i = 0; i < op_registry_count(); i++)
        if (op_registry_at(i) == op)
            return i;
    return (size_t)-1;
}

int h_submit(const http_req_t *r)
{
    if (s_queue_has_room(r->app) < 0)
        return http_reply_img_error(r->conn, "Retry-After: 5\r\n");
    job_t job = {0};
    if (s_accept(r, &job) < 0) {
        job_clear(&job);
        return http_reply_img_error(r->conn, NULL);
    }
    dispatcher_wake(r->app->dispatcher);
    metrics_count_submit(r->app->metrics, s_op_index(r->op));
    log_info("rest: accepted %s job %s", job.operation, job.id);

    char location[128];
    snprintf(location, sizeof location, "Location: /%s/status/%s\r\n", job.operation, job.id);
    json_t *full = job_to_json(&job);
    json_t *body = json_object();
    static const char *const keys[] = {"id",     "guid",       "operation",
                                       "status", "status_url", "result_url"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        json_object_set(body, keys[i], json_object_get(full, keys[i]));
    int rc = http_reply_json(r->conn, 202, body, location);
    json_decref(body);
    json_decref(full);
    job_clear(&job);
    return rc;
}
