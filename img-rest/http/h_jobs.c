/* Job routes: status (with ?wait=N), result, history and deletion. */
#include "handlers.h"

#include "http_exchange.h"
#include "http_reply.h"
#include "image_format.h"
#include "job.h"
#include "job_files.h"
#include "job_thumbnail.h"
#include "op_catalog.h"
#include "query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses the query into a new object, allowing only the names in `allowed`
 * (NULL-terminated). NULL with img_error. */
static json_t *s_query(const http_req_t *r, const char *const *allowed)
{
    json_t *q = json_object();
    if (query_parse(r->query, q) < 0) {
        json_decref(q);
        return NULL;
    }
    const char *key;
    json_t *value;
    json_object_foreach(q, key, value)
    {
        bool ok = false;
        for (int i = 0; allowed[i] && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok) {
            img_error_set(IMG_E_INVALID_PARAMETER, "unknown parameter '%s'", key);
            json_decref(q);
            return NULL;
        }
    }
    return q;
}

/* Strict decimal integer in [lo, hi]; -1 with invalid_parameter naming `name`. */
static int s_int_param(const json_t *q, const char *name, long long lo, long long hi,
                       long long dflt, long long *out)
{
    const char *text = json_string_value(json_object_get(q, name));
    *out = dflt;
    if (!text)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (!*text || *end || errno || v < lo || v > hi || text[0] == '+' || text[0] == ' ') {
        img_error_set(IMG_E_INVALID_PARAMETER, "%s must be an integer from %lld to %lld", name, lo,
                      hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int s_reply_status(const http_req_t *r, const job_t *job)
{
    json_t *body = job_to_json(job);
    int rc = http_reply_json(r->conn, 200, body, NULL);
    json_decref(body);
    return rc;
}

static bool s_finished(const job_t *job)
{
    return job->status == JOB_COMPLETE || job->status == JOB_FAILED;
}

int h_status(const http_req_t *r)
{
    static const char *const allowed[] = {"wait", NULL};
    long long wait_s;
    json_t *q = s_query(r, allowed);
    if (!q)
        return http_reply_img_error(r->conn, NULL);
    int bad = s_int_param(q, "wait", 0, r->app->cfg->max_wait_s, 0, &wait_s);
    json_decref(q);
    if (bad)
        return http_reply_img_error(r->conn, NULL);

    /* at most half the HTTP threads wait at once, so waiting clients can
     * never starve the others: past that, the answer comes at once */
    bool waiting = wait_s > 0 && job_events_enter(r->app->events, r->app->cfg->http_threads / 2);
    int64_t deadline = job_now_ms() + (waiting ? wait_s * 1000 : 0);
    int rc;
    for (;;) {
        uint64_t seen = job_events_generation(r->app->events);
        job_t job = {0};
        if (h_load_job(r, &job) < 0) {
            rc = http_reply_img_error(r->conn, NULL);
            break;
        }
        if (s_finished(&job) || job_now_ms() >= deadline) {
            rc = s_reply_status(r, &job);
            job_clear(&job);
            break;
        }
        job_clear(&job);
        job_events_wait_job(r->app->events, r->id, seen, deadline);
    }
    if (waiting)
        job_events_leave(r->app->events);
    return rc;
}

int h_job_get(const http_req_t *r)
{
    job_t job = {0};
    if (h_load_job(r, &job) < 0)
        return http_reply_img_error(r->conn, NULL);
    int rc = s_reply_status(r, &job);
    job_clear(&job);
    return rc;
}

/* A finished job's result never changes: its id (and, for files, size) tags it. */
static void s_etag(const job_t *job, char out[80])
{
    snprintf(out, 80, "\"%s-%lld\"", job->id,
             (long long)json_integer_value(json_object_get(job->result, "bytes")));
}

static int s_reply_result_file(const http_req_t *r, const job_t *job)
{
    const char *format = json_string_value(json_object_get(job->result, "format"));
    const img_format_t *f = img_format_by_name(format);
    char dir[4096], path[4200], etag[80];
    if (!f || job_files_dir(r->app->cfg->data_dir, job->id, dir, sizeof dir) < 0 ||
        job_files_result(dir, f->ext, path, sizeof path) < 0)
        return http_reply_error(r->conn, IMG_E_INTERNAL, "the job's result is unreadable", NULL);
    s_etag(job, etag);
    int rc =
        http_reply_file(r->conn, path, f->mime, etag, "Cache-Control: private, max-age=3600\r\n");
    rest_metrics_result_sent(r->app->metrics, http_exchange_of(r->conn)->bytes);
    return rc;
}

int h_result(const http_req_t *r)
{
    job_t job = {0};
    int rc;
    if (h_load_job(r, &job) < 0)
        return http_reply_img_error(r->conn, NULL);
    if (job.status == JOB_FAILED) {
        char message[600];
        snprintf(message, sizeof message, "the job failed: %s", job.error_message);
        rc = http_reply_error(r->conn, IMG_E_JOB_FAILED, message, NULL);
    } else if (job.status != JOB_COMPLETE) {
        json_t *body = job_to_json(&job);
        rc = http_reply_json(r->conn, 202, body, "Retry-After: 1\r\n");
        json_decref(body);
    } else if (r->op->result_kind == OP_RESULT_JSON) {
        char etag[80];
        s_etag(&job, etag);
        rc = http_reply_json_etag(r->conn, job.result, etag);
    } else {
        rc = s_reply_result_file(r, &job);
    }
    job_clear(&job);
    return rc;
}

int h_job_delete(const http_req_t *r)
{
    job_t job = {0};
    /* the job exists and is the caller's (a job's client never changes) */
    if (h_load_job(r, &job) < 0)
        return http_reply_img_error(r->conn, NULL);
    job_clear(&job);
    /* the row as it was deleted: a job claimed a moment ago is cancelled too */
    if (job_store_delete(r->app->store, r->id, &job) < 0)
        return http_reply_img_error(r->conn, NULL);
    if (job.status == JOB_PROCESSING)
        dispatcher_cancel(r->app->dispatcher, job.id, job.lease_engine);
    job_clear(&job);
    if (job_files_remove(r->app->cfg->data_dir, r->id) < 0)
        return http_reply_img_error(r->conn, NULL);
    return http_reply_empty(r->conn, 204, NULL);
}

static int s_list_filter(const json_t *q, job_filter_t *f)
{
    long long limit, cursor = 0;
    f->status = json_string_value(json_object_get(q, "status"));
    f->operation = json_string_value(json_object_get(q, "operation"));
    if (f->status && job_status_parse(f->status) < 0) {
        img_error_set(IMG_E_INVALID_PARAMETER,
                      "status must be one of queued, processing, complete, failed");
        return -1;
    }
    if (f->operation && !op_catalog_find(f->operation)) {
        img_error_set(IMG_E_INVALID_PARAMETER, "operation '%s' does not exist", f->operation);
        return -1;
    }
    if (s_int_param(q, "limit", 1, 100, 20, &limit) < 0)
        return -1;
    if (json_object_get(q, "cursor") && s_int_param(q, "cursor", 1, INT64_MAX, 0, &cursor) < 0)
        return -1;
    f->limit = (int)limit;
    f->before_seq = cursor;
    return 0;
}

int h_jobs_list(const http_req_t *r)
{
    static const char *const allowed[] = {"status", "operation", "limit", "cursor", NULL};
    job_filter_t f = {0};
    job_t *jobs = NULL;
    size_t n = 0;
    int64_t next = 0;
    char owner[JOB_CLIENT_MAX];
    h_owner(r, owner);
    f.client = owner[0] ? owner : NULL; /* with API keys on: the key's own jobs */
    json_t *q = s_query(r, allowed);
    if (!q || s_list_filter(q, &f) < 0 || job_store_list(r->app->store, &f, &jobs, &n, &next) < 0) {
        json_decref(q);
        return http_reply_img_error(r->conn, NULL);
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, job_to_json(&jobs[i]));
        job_clear(&jobs[i]);
    }
    free(jobs);
    json_decref(q);
    char cursor[32];
    snprintf(cursor, sizeof cursor, "%lld", (long long)next);
    json_t *body = json_pack("{s:o, s:o}", "jobs", arr, "next_cursor",
                             next ? json_string(cursor) : json_null());
    int rc = http_reply_json(r->conn, 200, body, NULL);
    json_decref(body);
    return rc;
}

int h_job_thumbnail(const http_req_t *r)
{
    job_t job = {0};
    char path[4200], etag[96];
    int rc;
    if (h_load_job(r, &job) < 0)
        return http_reply_img_error(r->conn, NULL);
    if (job.status == JOB_FAILED) {
        rc = http_reply_error(r->conn, IMG_E_JOB_FAILED, job.error_message, NULL);
    } else if (job.status != JOB_COMPLETE) {
        json_t *body = job_to_json(&job);
        rc = http_reply_json(r->conn, 202, body, "Retry-After: 1\r\n");
        json_decref(body);
    } else if (job_thumbnail_path(r->app->cfg, r->app->stacks, &job, path, sizeof path) < 0) {
        rc = http_reply_img_error(r->conn, NULL);
    } else {
        snprintf(etag, sizeof etag, "\"%s-thumbnail\"", job.id);
        rc = http_reply_file(r->conn, path, "image/webp", etag,
                             "Cache-Control: private, max-age=3600\r\n");
    }
    job_clear(&job);
    return rc;
}
