#include "rest_metrics.h"

#include "op_catalog.h"

#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <vips/version.h>

static const double s_http_buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                        0.25,  0.5,   1,    2.5,   5,    10};
static const double s_job_buckets[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                       2.5,  5,     10,   30,  60,   300};

struct rest_metrics {
    metrics_t *registry;
    metric_t *requests, *duration, *refusals, *upload_bytes, *result_bytes;
    metric_t *submitted, *finished, *failures, *job_duration, *queue_wait, *dispatch;
    metric_t *queued, *in_flight, *engines, *free_threads, *build_info;
};

/* The series an alert may watch exist from the start, at 0 (a counter
 * that is absent until its first event makes rate() blind to the first). */
static void s_zero_series(rest_metrics_t *self)
{
    static const char *const events[] = {"dispatched", "requeued", "expired", "message_dropped"};
    /* the refusal codes deploy/prometheus/alerts.yml watches */
    static const char *const refusals[] = {"queue_full"};
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
        metric_add(self->dispatch, 0, events[i]);
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++)
        metric_add(self->refusals, 0, refusals[i]);
    for (size_t i = 0; i < op_catalog_count(); i++) {
        const char *op = op_catalog_at(i)->name;
        metric_add(self->submitted, 0, op);
        metric_add(self->finished, 0, op, "complete");
        metric_add(self->finished, 0, op, "failed");
    }
    metric_add(self->upload_bytes, 0);
    metric_add(self->result_bytes, 0);
}

rest_metrics_t *rest_metrics_new(void)
{
    rest_metrics_t *self = calloc(1, sizeof *self);
    if (!self || !(self->registry = metrics_new())) {
        free(self);
        return NULL;
    }
    metrics_t *r = self->registry;
    self->build_info = metrics_gauge(r, "img_build_info", "Version of img-rest and of libvips.",
                                     "version,libvips");
    self->requests = metrics_counter(r, "img_http_requests_total", "HTTP requests answered.",
                                     "route,method,code");
    self->duration =
        metrics_histogram(r, "img_http_request_duration_seconds", "Time to answer an HTTP request.",
                          "route,method,code", s_http_buckets, 12);
    self->refusals =
        metrics_counter(r, "img_http_refusals_total", "Error answers, by error code.", "code");
    self->upload_bytes =
        metrics_counter(r, "img_upload_bytes_total", "Bytes of accepted uploads.", NULL);
    self->result_bytes =
        metrics_counter(r, "img_result_bytes_total", "Bytes of results sent to clients.", NULL);
    self->submitted = metrics_counter(r, "img_jobs_submitted_total", "Jobs accepted.", "operation");
    self->finished =
        metrics_counter(r, "img_jobs_finished_total",
                        "Jobs that ended, by outcome (complete, failed).", "operation,outcome");
    self->failures = metrics_counter(r, "img_job_failures_total", "Failed jobs, by error code.",
                                     "operation,code");
    self->job_duration = metrics_histogram(r, "img_job_duration_seconds",
                                           "Time from a job's start on an engine to its end.",
                                           "operation", s_job_buckets, 13);
    self->queue_wait = metrics_histogram(r, "img_job_queue_wait_seconds",
                                         "Time from a job's acceptance to its start.", "operation",
                                         s_job_buckets, 13);
    self->dispatch = metrics_counter(r, "img_dispatch_total", "Dispatcher events.", "event");
    self->queued = metrics_gauge(r, "img_queue_depth", "Jobs queued.", NULL);
    self->in_flight = metrics_gauge(r, "img_jobs_in_flight", "Jobs processing.", NULL);
    self->engines = metrics_gauge(r, "img_engines_connected",
                                  "Engines connected to this img-rest and taking jobs.", NULL);
    self->free_threads = metrics_gauge(r, "img_engine_threads_free",
                                       "Idle worker threads of the connected engines.", NULL);
    metric_set(self->build_info, 1, IMG_VERSION, VIPS_VERSION);
    s_zero_series(self);
    return self;
}

void rest_metrics_destroy(rest_metrics_t **pself)
{
    if (!pself || !*pself)
        return;
    metrics_destroy(&(*pself)->registry);
    free(*pself);
    *pself = NULL;
}

metrics_t *rest_metrics_registry(rest_metrics_t *self)
{
    return self->registry;
}

/* The method as a label: one of HTTP's, else "other" (a client's method
 * is any token it likes: as a label it would make series without bound). */
static const char *s_method_label(const char *method)
{
    static const char *const known[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                        "OPTIONS", "CONNECT", "TRACE", "PATCH"};
    for (size_t i = 0; method && i < sizeof known / sizeof known[0]; i++)
        if (strcmp(method, known[i]) == 0)
            return known[i];
    return "other";
}

void rest_metrics_request(rest_metrics_t *self, const char *route, const char *method, int status,
                          double seconds)
{
    char code[8];
    const char *label = s_method_label(method);
    snprintf(code, sizeof code, "%d", status);
    metric_add(self->requests, 1, route, label, code);
    metric_observe(self->duration, seconds, route, label, code);
}

void rest_metrics_refusal(rest_metrics_t *self, const char *code)
{
    metric_add(self->refusals, 1, code);
}

void rest_metrics_submitted(rest_metrics_t *self, const char *operation, long long upload_bytes)
{
    metric_add(self->submitted, 1, operation);
    metric_add(self->upload_bytes, (double)upload_bytes);
}

void rest_metrics_result_sent(rest_metrics_t *self, long long bytes)
{
    metric_add(self->result_bytes, (double)bytes);
}

void rest_metrics_finished(rest_metrics_t *self, const job_t *job)
{
    bool ok = job->status == JOB_COMPLETE;
    metric_add(self->finished, 1, job->operation, ok ? "complete" : "failed");
    if (!ok)
        metric_add(self->failures, 1, job->operation, job->error_code);
    if (job->started_at > 0 && job->finished_at >= job->started_at)
        metric_observe(self->job_duration, (double)(job->finished_at - job->started_at) / 1000.0,
                       job->operation);
    if (job->started_at > 0 && job->started_at >= job->created_at)
        metric_observe(self->queue_wait, (double)(job->started_at - job->created_at) / 1000.0,
                       job->operation);
}

void rest_metrics_dispatch(rest_metrics_t *self, const char *event, int n)
{
    metric_add(self->dispatch, n, event);
}

void rest_metrics_set_gauges(rest_metrics_t *self, const rest_metrics_gauges_t *g)
{
    metric_set(self->queued, (double)g->queued);
    metric_set(self->in_flight, (double)g->processing);
    metric_set(self->engines, g->engines);
    metric_set(self->free_threads, g->free_threads);
}
