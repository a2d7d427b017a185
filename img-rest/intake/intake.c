#include "intake.h"

#include "big_stack.h"
#include "image_format.h"
#include "image_probe.h"
#include "img_error.h"
#include "job_files.h"
#include "job_fingerprint.h"
#include "op_header.h"
#include "op_params.h"
#include "op_plan.h"
#include "query.h"
#include "result_cache.h"
#include "webhook_target.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IDEMPOTENCY_KEY_MAX 255

struct intake {
    const img_config_t *cfg;
    job_store_t *store;
    big_stack_t *stacks; /* header probes run here (not owned) */
};

/* One submit on its way: what steps 3 to 7 gather. */
typedef struct {
    const op_def_t *op;
    const intake_request_t *req;
    const upload_body_t *body;
    char dir[PATH_MAX];
    upload_t up;
    image_info_t info[OP_MAX_INPUTS];
    op_plan_t plan;
    char callback_url[2048]; /* "" when none */
} submit_t;

intake_t *intake_new(const img_config_t *cfg, job_store_t *store, big_stack_t *stacks)
{
    intake_t *self = calloc(1, sizeof *self);
    if (!self) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->store = store;
    self->stacks = stacks;
    return self;
}

void intake_destroy(intake_t **pself)
{
    if (!pself || !*pself)
        return;
    free(*pself);
    *pself = NULL;
}

static int s_check_idempotency_key(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)key[i] <= 0x20 || (unsigned char)key[i] >= 0x7f)
            n = 0;
    if (key && (n == 0 || n > IDEMPOTENCY_KEY_MAX)) {
        img_error_set(IMG_E_BAD_REQUEST, "Idempotency-Key must be 1 to %d visible ASCII characters",
                      IDEMPOTENCY_KEY_MAX);
        return -1;
    }
    return 0;
}

/* Takes the job options out of raw (they are not the operation's). */
static int s_job_options(intake_t *self, json_t *raw, submit_t *s)
{
    json_t *url = json_object_get(raw, "callback_url");
    if (!url)
        return 0;
    snprintf(s->callback_url, sizeof s->callback_url, "%s", json_string_value(url));
    json_object_del(raw, "callback_url");
    return webhook_target_check_url(s->callback_url, self->cfg->webhook_allow);
}

/* Form fields and query parameters together: the job options, and the
 * operation's parameters validated. */
static json_t *s_params(intake_t *self, submit_t *s)
{
    json_t *raw = json_deep_copy(s->up.fields);
    json_t *params = NULL;
    if (raw && query_parse(s->req->query, raw) == 0 && s_job_options(self, raw, s) == 0)
        params = op_params_validate(s->op, raw, self->cfg);
    json_decref(raw);
    return params;
}

typedef struct {
    const img_config_t *cfg;
    submit_t *s;
} probe_t;

/* On a big-stack thread: every input's header. */
static int s_probe_inputs(void *arg)
{
    const probe_t *p = arg;
    const op_def_t *op = p->s->op;
    for (int i = 0; i < op->n_inputs; i++) {
        char path[PATH_MAX];
        const char *name = op->inputs[i].name;
        if (job_files_input(p->s->dir, name, path, sizeof path) < 0)
            return -1;
        if (image_probe_file(path, p->cfg, &p->s->info[i]) < 0) {
            if (op->n_inputs > 1) { /* say which input */
                char reason[512];
                snprintf(reason, sizeof reason, "%s", img_error_message());
                img_error_set(img_error_code(), "%s: %s", name, reason);
            }
            return -1;
        }
    }
    return 0;
}

/* Beside the probe: the inputs and the folder to disk (job_files_sync). */
static int s_sync_folder(void *arg)
{
    const submit_t *s = arg;
    return job_files_sync(s->dir);
}

/* With result_cache on: job->cache_key is set, and a complete job of the
 * same fingerprint and the same inputs lends its result (result_cache.h).
 * True when it did: the folder then has a new file. */
static bool s_try_cache(intake_t *self, submit_t *s, job_t *job)
{
    if (!self->cfg->result_cache)
        return false;
    if (job_fingerprint(s->op->name, job->params,
                        (const unsigned char(*)[UPLOAD_DIGEST_LEN])s->up.digest, s->op->n_inputs,
                        NULL, job->cache_key) < 0) {
        img_error_clear(); /* no key, no cache: the job runs */
        return false;
    }
    return result_cache_lend(self->store, self->cfg->data_dir, s->op, s->dir, job) == 1;
}

/* Step 7: into the store; an idempotent replay fills job with the first. */
static int s_store(intake_t *self, submit_t *s, job_t *job, bool *replayed)
{
    char hash[JOB_FINGERPRINT_HEX], first[JOB_ID_LEN + 1] = "";
    job_insert_t opts = {.callback_url = s->callback_url[0] ? s->callback_url : NULL,
                         .max_queued = self->cfg->max_queued};
    if (s->req->idempotency_key) {
        if (job_fingerprint(s->op->name, job->params,
                            (const unsigned char(*)[UPLOAD_DIGEST_LEN])s->up.digest,
                            s->op->n_inputs, s->callback_url, hash) < 0)
            return -1;
        opts.idempotency_key = s->req->idempotency_key;
        opts.request_hash = hash;
    }
    int rc = job_store_insert(self->store, job, &opts, first);
    if (rc != 1)
        return rc;
    *replayed = true;
    job_clear(job);
    return job_store_get(self->store, first, job);
}

/* Steps 3 to 7, in the job's folder. The inputs are synced to disk while
 * their headers are probed: a 5 MB input's sync takes 4-5 ms on a
 * journal-less ext4, the probe about 0.85 ms, so the 202 comes that much
 * sooner; an input the probe refuses was synced in vain. */
static int s_receive(intake_t *self, submit_t *s, job_t *job, bool *replayed)
{
    probe_t probe = {self->cfg, s};
    if (upload_receive(s->body, s->op, s->dir, self->cfg->max_upload_bytes, &s->up) < 0 ||
        !(job->params = s_params(self, s)) ||
        big_stack_call_beside(self->stacks, s_probe_inputs, &probe, s_sync_folder, s) < 0 ||
        op_plan_job(s->op, job->params, s->info, self->cfg, &s->plan) < 0)
        return -1;
    snprintf(job->operation, sizeof job->operation, "%s", s->op->name);
    job->status = JOB_QUEUED;
    job->created_at = job_now_ms();
    job->input = op_header_json(s->op, s->info);
    snprintf(job->request_id, sizeof job->request_id, "%s",
             s->req->request_id ? s->req->request_id : "");
    snprintf(job->client, sizeof job->client, "%s", s->req->client ? s->req->client : "");
    if (s_try_cache(self, s, job) && job_files_sync(s->dir) < 0) /* the lent result */
        return -1;
    return s_store(self, s, job, replayed);
}

int intake_accept(intake_t *self, const op_def_t *op, const upload_body_t *body,
                  const intake_request_t *req, job_t *job, bool *replayed)
{
    submit_t *s = calloc(1, sizeof *s);
    memset(job, 0, sizeof *job);
    job->progress = -1;
    *replayed = false;
    if (!s) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return -1;
    }
    s->op = op;
    s->req = req;
    s->body = body;
    int rc = -1;
    /* a full queue refuses at once, but a repeat of an idempotent submit
     * must get its job: the store's insert bounds the queue after a replay */
    if (s_check_idempotency_key(req->idempotency_key) == 0 &&
        (req->idempotency_key || job_store_has_room(self->store, self->cfg->max_queued) == 0) &&
        job_id_new(job->id) == 0 &&
        job_files_create(self->cfg->data_dir, job->id, s->dir, sizeof s->dir) == 0) {
        char mine[JOB_ID_LEN + 1];
        memcpy(mine, job->id, sizeof mine);
        rc = s_receive(self, s, job, replayed);
        if (rc < 0 || *replayed) {
            /* the refusal's error stays; removing the folder must not replace it */
            img_errcode_t code = img_error_code();
            char message[512];
            snprintf(message, sizeof message, "%s", img_error_message());
            job_files_remove(self->cfg->data_dir, mine);
            if (rc < 0)
                img_error_set(code, "%s", message);
        }
    }
    upload_clear(&s->up);
    free(s);
    return rc;
}
