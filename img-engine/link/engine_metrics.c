#include "engine_metrics.h"

#include "img_error.h"
#include "metrics.h"

#include <civetweb.h>
#include <stdlib.h>
#include <string.h>
#include <vips/version.h>

static const double s_buckets[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

struct engine_metrics {
    metrics_t *registry;
    metric_t *jobs, *duration, *threads, *busy, *connected, *build_info;
    struct mg_context *http;
};

static int s_serve(struct mg_connection *conn, void *arg)
{
    engine_metrics_t *self = arg;
    char *text = metrics_render(self->registry);
    if (!text) {
        mg_send_http_error(conn, 500, "out of memory");
        return 500;
    }
    mg_printf(conn,
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
              "Content-Length: %zu\r\nConnection: close\r\n\r\n",
              strlen(text));
    mg_write(conn, text, strlen(text));
    free(text);
    return 200;
}

static int s_listen(engine_metrics_t *self, const char *address)
{
    const char *options[] = {
        "listening_ports",    address, "num_threads", "2", "enable_keep_alive", "no",
        "request_timeout_ms", "10000", NULL};
    struct mg_callbacks callbacks = {0};
    mg_init_library(0);
    if (!(self->http = mg_start(&callbacks, NULL, options))) {
        mg_exit_library();
        img_error_set(IMG_E_CONFIG, "metrics_listen: cannot listen on %s", address);
        return -1;
    }
    mg_set_request_handler(self->http, "/metrics$", s_serve, self);
    return 0;
}

engine_metrics_t *engine_metrics_new(const img_config_t *cfg, int threads)
{
    engine_metrics_t *self = calloc(1, sizeof *self);
    if (!self || !(self->registry = metrics_new())) {
        free(self);
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return NULL;
    }
    metrics_t *r = self->registry;
    self->build_info = metrics_gauge(r, "img_build_info", "Version of img-engine and of libvips.",
                                     "version,libvips");
    self->jobs =
        metrics_counter(r, "img_engine_jobs_total",
                        "Job attempts run, by outcome (complete, failed).", "operation,outcome");
    self->duration = metrics_histogram(r, "img_engine_job_duration_seconds",
                                       "Time a worker thread spent on a job attempt.", "operation",
                                       s_buckets, 13);
    self->threads = metrics_gauge(r, "img_engine_threads", "Worker threads.", NULL);
    self->busy = metrics_gauge(r, "img_engine_threads_busy", "Worker threads running a job.", NULL);
    self->connected = metrics_gauge(r, "img_engine_broker_connected",
                                    "1 while the broker (img-rest) answers.", NULL);
    metric_set(self->build_info, 1, IMG_VERSION, VIPS_VERSION);
    metric_set(self->threads, threads);
    metric_set(self->busy, 0);
    metric_set(self->connected, 0);
    if (cfg->metrics_listen[0] && s_listen(self, cfg->metrics_listen) < 0) {
        engine_metrics_destroy(&self);
        return NULL;
    }
    return self;
}

void engine_metrics_destroy(engine_metrics_t **pself)
{
    if (!pself || !*pself)
        return;
    if ((*pself)->http) {
        mg_stop((*pself)->http);
        mg_exit_library();
    }
    metrics_destroy(&(*pself)->registry);
    free(*pself);
    *pself = NULL;
}

int engine_metrics_port(engine_metrics_t *self)
{
    struct mg_server_port ports[2];
    if (!self->http || mg_get_server_ports(self->http, 2, ports) < 1)
        return 0;
    return ports[0].port;
}

void engine_metrics_job(engine_metrics_t *self, const char *operation, bool ok, double seconds)
{
    metric_add(self->jobs, 1, operation, ok ? "complete" : "failed");
    metric_observe(self->duration, seconds, operation);
}

void engine_metrics_busy(engine_metrics_t *self, int busy_threads)
{
    metric_set(self->busy, busy_threads);
}

void engine_metrics_connected(engine_metrics_t *self, bool connected)
{
    metric_set(self->connected, connected ? 1 : 0);
}
