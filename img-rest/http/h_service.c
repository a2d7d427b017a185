/* Service routes: health, readiness, metrics, and the documents (site.h). */
#include "handlers.h"

#include "http_reply.h"
#include "site.h"
#include "job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int h_health(const http_req_t *r)
{
    json_t *body = json_pack("{s:s, s:s, s:f}", "status", "ok", "version", IMG_VERSION, "uptime_s",
                             (double)(job_now_ms() - r->app->started_ms) / 1000.0);
    int rc = http_reply_json(r->conn, 200, body, NULL);
    json_decref(body);
    return rc;
}

int h_ready(const http_req_t *r)
{
    int workers = dispatcher_engines(r->app->dispatcher);
    long queued = job_store_count(r->app->store, JOB_QUEUED);
    long processing = job_store_count(r->app->store, JOB_PROCESSING);
    bool ready = workers > 0 && queued >= 0;
    json_t *body =
        json_pack("{s:s, s:i, s:I, s:I}", "status", ready ? "ready" : "not_ready", "workers",
                  workers, "queued", (json_int_t)queued, "processing", (json_int_t)processing);
    if (!ready)
        json_object_set_new(body, "error",
                            json_pack("{s:s, s:s}", "code", "not_ready", "message",
                                      workers > 0 ? "the job store cannot be read"
                                                  : "no img-engine worker is connected"));
    int rc = http_reply_json(r->conn, ready ? 200 : 503, body, ready ? NULL : "Retry-After: 5\r\n");
    json_decref(body);
    return rc;
}

int h_metrics(const http_req_t *r)
{
    rest_metrics_gauges_t g = {
        .queued = job_store_count(r->app->store, JOB_QUEUED),
        .processing = job_store_count(r->app->store, JOB_PROCESSING),
        .engines = dispatcher_engines(r->app->dispatcher),
        .free_threads = dispatcher_free_threads(r->app->dispatcher),
    };
    rest_metrics_set_gauges(r->app->metrics, &g);
    char *text = metrics_render(rest_metrics_registry(r->app->metrics));
    if (!text)
        return http_reply_error(r->conn, IMG_E_INTERNAL, "out of memory", NULL);
    int rc = http_reply_bytes(r->conn, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, text,
                              strlen(text));
    free(text);
    return rc;
}

int h_docs_page(const http_req_t *r)
{
    return site_serve(r->app->site, r->conn, "docs/static/index.html");
}

int h_openapi(const http_req_t *r)
{
    return site_serve(r->app->site, r->conn, "openapi.json");
}

/* /static/<file>: the docs page's files; swagger-ui/<file> from npm's
 * swagger-ui-dist package. */
int h_static(const http_req_t *r)
{
    char name[512];
    if (strncmp(r->tail, "swagger-ui/", 11) == 0)
        snprintf(name, sizeof name, "docs/node_modules/swagger-ui-dist/%s", r->tail + 11);
    else
        snprintf(name, sizeof name, "docs/static/%s", r->tail);
    return site_serve(r->app->site, r->conn, name);
}

int h_app(const http_req_t *r)
{
    return site_serve(r->app->site, r->conn, "app/index.html");
}

int h_app_file(const http_req_t *r)
{
    char name[512];
    snprintf(name, sizeof name, "app/%s", r->tail);
    return site_serve(r->app->site, r->conn, name);
}
