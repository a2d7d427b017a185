#include "intake.h"

#include "big_stack.h"
#include "image_probe.h"
#include "img_error.h"
#include "job_files.h"
#include "op_params.h"
#include "op_plan.h"
#include "query.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_THREADS 4

struct intake {
    const img_config_t *cfg;
    job_store_t *store;
    big_stack_t *stacks; /* header probes run here */
};

intake_t *intake_new(const img_config_t *cfg, job_store_t *store)
{
    intake_t *self = calloc(1, sizeof *self);
    if (!self) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->store = store;
    if (!(self->stacks = big_stack_new(PROBE_THREADS))) {
        free(self);
        return NULL;
    }
    return self;
}

void intake_destroy(intake_t **pself)
{
    if (!pself || !*pself)
        return;
    big_stack_destroy(&(*pself)->stacks);
    free(*pself);
    *pself = NULL;
}

static int s_queue_has_room(intake_t *self)
{
    long queued = job_store_count(self->store, JOB_QUEUED);
    if (queued < 0)
        return -1;
    if (queued >= self->cfg->max_queued) {
        img_error_set(IMG_E_QUEUE_FULL, "the queue holds %ld jobs, its maximum; retry later",
                      queued);
        return -1;
    }
    return 0;
}

/* Form fields and query parameters together, validated against op. */
static json_t *s_params(intake_t *self, const op_def_t *op, const upload_t *up, const char *query)
{
    json_t *raw = json_deep_copy(up->fields);
    json_t *params = NULL;
    if (raw && query_parse(query, raw) == 0)
        params = op_params_validate(op, raw, self->cfg);
    json_decref(raw);
    return params;
}

typedef struct {
    const img_config_t *cfg;
    const op_def_t *op;
    const char *dir;
    image_info_t *info;
} probe_t;

/* On a big-stack thread: every input's header. */
static int s_probe_inputs(void *arg)
{
    const probe_t *p = arg;
    for (int i = 0; i < p->op->n_inputs; i++) {
        char path[PATH_MAX];
        const char *name = p->op->inputs[i].name;
        if (job_files_input(p->dir, name, path, sizeof path) < 0)
            return -1;
        if (image_probe_file(path, p->cfg, &p->info[i]) < 0) {
            if (p->op->n_inputs > 1) { /* say which input */
                char reason[512];
                snprintf(reason, sizeof reason, "%s", img_error_message());
                img_error_set(img_error_code(), "%s: %s", name, reason);
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

/* The status' "input": the first input's header, and every input's for
 * operations with several. */
static json_t *s_inputs_json(const op_def_t *op, const image_info_t *info)
{
    json_t *input = s_input_json(&info[0]);
    if (op->n_inputs > 1) {
        json_t *all = json_object();
        for (int i = 0; i < op->n_inputs; i++)
            json_object_set_new(all, op->inputs[i].name, s_input_json(&info[i]));
        json_object_set_new(input, "inputs", all);
    }
    return input;
}

/* Steps 3 to 7, in the job's folder dir. */
static int s_receive(intake_t *self, const op_def_t *op, const upload_body_t *body,
                     const char *query, const char *dir, job_t *job)
{
    upload_t up;
    image_info_t info[OP_MAX_INPUTS] = {0};
    op_plan_t plan;
    probe_t probe = {self->cfg, op, dir, info};
    int rc = -1;
    if (upload_receive(body, op, dir, self->cfg->max_upload_bytes, &up) == 0 &&
        (job->params = s_params(self, op, &up, query)) &&
        big_stack_call(self->stacks, s_probe_inputs, &probe) == 0 &&
        op_plan_job(op, job->params, info, self->cfg, &plan) == 0) {
        snprintf(job->operation, sizeof job->operation, "%s", op->name);
        job->status = JOB_QUEUED;
        job->created_at = job_now_ms();
        job->input = s_inputs_json(op, info);
        rc = job_store_insert(self->store, job, NULL, NULL);
    }
    upload_clear(&up);
    return rc;
}

int intake_accept(intake_t *self, const op_def_t *op, const upload_body_t *body, const char *query,
                  job_t *job)
{
    char dir[PATH_MAX];
    memset(job, 0, sizeof *job);
    if (s_queue_has_room(self) < 0 || job_id_new(job->id) < 0 ||
        job_files_create(self->cfg->data_dir, job->id, dir, sizeof dir) < 0)
        return -1;
    if (s_receive(self, op, body, query, dir, job) == 0)
        return 0;
    /* the refusal's error stays; removing the folder must not replace it */
    img_errcode_t code = img_error_code();
    char message[512];
    snprintf(message, sizeof message, "%s", img_error_message());
    job_files_remove(self->cfg->data_dir, job->id);
    img_error_set(code, "%s", message);
    return -1;
}
