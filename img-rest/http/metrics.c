#include "metrics.h"

#include "op_catalog.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPS 32
#define N_BUCKETS 8

static const double s_buckets[N_BUCKETS] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5};

struct metrics {
    atomic_llong by_class[6]; /* 1xx..5xx by status / 100 */
    atomic_llong latency_bucket[N_BUCKETS];
    atomic_llong latency_count;
    atomic_llong latency_us_sum;
    atomic_llong submitted[MAX_OPS];
};

metrics_t *metrics_new(void)
{
    return calloc(1, sizeof(metrics_t));
}

void metrics_destroy(metrics_t **self)
{
    if (!self || !*self)
        return;
    free(*self);
    *self = NULL;
}

void metrics_count_request(metrics_t *self, int status, double seconds)
{
    int cls = status / 100;
    if (cls >= 1 && cls <= 5)
        atomic_fetch_add(&self->by_class[cls], 1);
    for (int i = 0; i < N_BUCKETS; i++)
        if (seconds <= s_buckets[i])
            atomic_fetch_add(&self->latency_bucket[i], 1);
    atomic_fetch_add(&self->latency_count, 1);
    atomic_fetch_add(&self->latency_us_sum, (long long)(seconds * 1e6));
}

void metrics_count_submit(metrics_t *self, const char *operation)
{
    for (size_t i = 0; i < op_catalog_count() && i < MAX_OPS; i++)
        if (strcmp(op_catalog_at(i)->name, operation) == 0)
            atomic_fetch_add(&self->submitted[i], 1);
}

typedef struct {
    char *buf;
    size_t len, cap;
} sbuf_t;

static void s_add(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_add(sbuf_t *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->buf ? b->buf + b->len : NULL, b->buf ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (b->buf && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
        char *grown = realloc(b->buf, cap);
        if (!grown)
            return;
        b->buf = grown;
        b->cap = cap;
    }
}

char *metrics_render(metrics_t *self, const metrics_gauges_t *g)
{
    sbuf_t b = {0};
    s_add(&b, "# HELP img_http_requests_total HTTP answers by status class.\n"
              "# TYPE img_http_requests_total counter\n");
    for (int c = 1; c <= 5; c++)
        s_add(&b, "img_http_requests_total{code=\"%dxx\"} %lld\n", c,
              atomic_load(&self->by_class[c]));
    s_add(&b, "# HELP img_http_request_duration_seconds Time to answer a request.\n"
              "# TYPE img_http_request_duration_seconds histogram\n");
    for (int i = 0; i < N_BUCKETS; i++)
        s_add(&b, "img_http_request_duration_seconds_bucket{le=\"%g\"} %lld\n", s_buckets[i],
              atomic_load(&self->latency_bucket[i]));
    long long count = atomic_load(&self->latency_count);
    s_add(&b, "img_http_request_duration_seconds_bucket{le=\"+Inf\"} %lld\n", count);
    s_add(&b, "img_http_request_duration_seconds_sum %.6f\n",
          (double)atomic_load(&self->latency_us_sum) / 1e6);
    s_add(&b, "img_http_request_duration_seconds_count %lld\n", count);
    s_add(&b, "# HELP img_jobs_submitted_total Jobs accepted, by operation.\n"
              "# TYPE img_jobs_submitted_total counter\n");
    for (size_t i = 0; i < op_catalog_count() && i < MAX_OPS; i++)
        s_add(&b, "img_jobs_submitted_total{operation=\"%s\"} %lld\n", op_catalog_at(i)->name,
              atomic_load(&self->submitted[i]));
    s_add(&b,
          "# HELP img_jobs Jobs in the store, by status.\n# TYPE img_jobs gauge\n"
          "img_jobs{status=\"queued\"} %ld\nimg_jobs{status=\"processing\"} %ld\n"
          "img_jobs{status=\"complete\"} %ld\nimg_jobs{status=\"failed\"} %ld\n",
          g->queued, g->processing, g->complete, g->failed);
    s_add(&b,
          "# HELP img_workers Connected img-engine processes taking jobs.\n"
          "# TYPE img_workers gauge\nimg_workers %d\n",
          g->workers);
    s_add(&b,
          "# HELP img_dispatch_total Dispatcher events.\n# TYPE img_dispatch_total counter\n"
          "img_dispatch_total{event=\"dispatched\"} %lld\n"
          "img_dispatch_total{event=\"completed\"} %lld\n"
          "img_dispatch_total{event=\"failed\"} %lld\n"
          "img_dispatch_total{event=\"requeued\"} %lld\n"
          "img_dispatch_total{event=\"message_dropped\"} %lld\n",
          g->dispatched, g->completed, g->failed_total, g->requeued, g->messages_dropped);
    s_add(&b,
          "# HELP img_uptime_seconds Time since img-rest started.\n"
          "# TYPE img_uptime_seconds gauge\nimg_uptime_seconds %.3f\n",
          g->uptime_s);
    return b.buf;
}
