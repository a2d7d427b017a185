/* rest_metrics — what img-rest tells Prometheus, named in one place.
 *
 * HTTP: img_http_requests_total and img_http_request_duration_seconds by
 * route (the route table's pattern), method (HTTP's methods; any other is
 * "other") and code; img_http_refusals_total by error code (every error
 * answer); upload and result bytes.
 * Jobs: img_jobs_submitted_total by operation; img_jobs_finished_total by
 * operation and outcome; img_job_failures_total by operation and code;
 * img_job_duration_seconds (started to finished) and
 * img_job_queue_wait_seconds (created to started) by operation; dispatcher
 * events. Gauges read at scrape time: queue depth, jobs in flight, engines
 * connected and their free threads. img_build_info, and the process_*
 * metrics of the registry. The series an alert watches exist from the
 * start, at 0 (dispatcher events, jobs by operation and outcome, the
 * refusals deploy/prometheus/alerts.yml counts). Thread-safe.
 */
#ifndef IMG_REST_METRICS_H
#define IMG_REST_METRICS_H

#include "job.h"
#include "metrics.h"

typedef struct rest_metrics rest_metrics_t;

/* Caller owns; NULL when out of memory. */
rest_metrics_t *rest_metrics_new(void);
void rest_metrics_destroy(rest_metrics_t **self);

/* The registry, for rendering and for the gauges' hook. */
metrics_t *rest_metrics_registry(rest_metrics_t *self);

void rest_metrics_request(rest_metrics_t *self, const char *route, const char *method, int status,
                          double seconds);
void rest_metrics_refusal(rest_metrics_t *self, const char *code);
void rest_metrics_submitted(rest_metrics_t *self, const char *operation, long long upload_bytes);
void rest_metrics_result_sent(rest_metrics_t *self, long long bytes);
/* A job ended (complete or failed), as the store holds it now. */
void rest_metrics_finished(rest_metrics_t *self, const job_t *job);
/* n dispatcher events: "dispatched", "requeued" (handed back), "expired"
 * (a lease lapsed), "message_dropped". */
void rest_metrics_dispatch(rest_metrics_t *self, const char *event, int n);

typedef struct {
    long queued, processing;
    int engines, free_threads;
} rest_metrics_gauges_t;
void rest_metrics_set_gauges(rest_metrics_t *self, const rest_metrics_gauges_t *g);

#endif
