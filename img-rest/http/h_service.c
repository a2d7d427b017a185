/* Service routes: health, readiness, metrics and the docs page's files. */
#include "handlers.h"

#include "http_reply.h"
#include "job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int h_health(const http_req_t *r)
{
    json_t *body = json_pack("{s:s, s:s, s:f}", "status", "ok", "version", "0.1.0", "uptime_s",
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
    int rc = http_reply_bytes(r->conn, 200, "text/plain; version=0.0.4; charset=utf-8", NULL,
                              text, strlen(text));
    free(text);
    return rc;
}

static const char *s_mime(const char *name)
{
    static const struct {
        const char *ext, *mime;
    } types[] = {{".html", "text/html; charset=utf-8"},
                 {".js", "text/javascript; charset=utf-8"},
                 {".css", "text/css; charset=utf-8"},
                 {".json", "application/json; charset=utf-8"},
                 {".png", "image/png"},
                 {".svg", "image/svg+xml"},
                 {".map", "application/json; charset=utf-8"}};
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].mime;
    return "application/octet-stream";
}

static int s_send_doc(const http_req_t *r, const char *relative)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", r->app->cfg->docs_dir, relative);
    return http_reply_file(r->conn, path, s_mime(relative), NULL, "Cache-Control: no-cache\r\n");
}

int h_docs_page(const http_req_t *r)
{
    return s_send_doc(r, "static/index.html");
}

int h_openapi(const http_req_t *r)
{
    return s_send_doc(r, "openapi.json");
}

/* A plain file name: letters, digits, '.', '-', '_', not starting with '.'. */
static bool s_safe_name(const char *name)
{
    if (!*name || *name == '.' || strlen(name) > 128)
        return false;
    for (const char *p = name; *p; p++)
        if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') || ('0' <= *p && *p <= '9') ||
              *p == '.' || *p == '-' || *p == '_'))
            return false;
    return true;
}

int h_static(const http_req_t *r)
{
    char relative[256];
    const char *tail = r->tail;
    if (strncmp(tail, "swagger-ui/", 11) == 0 && s_safe_name(tail + 11))
        snprintf(relative, sizeof relative, "node_modules/swagger-ui-dist/%s", tail + 11);
    else if (s_safe_name(tail))
        snprintf(relative, sizeof relative, "static/%s", tail);
    else
        return http_reply_error(r->conn, IMG_E_NOT_FOUND, "no such file", NULL);
    return s_send_doc(r, relative);
}
