#include "http_router.h"

#include "handlers.h"
#include "http_reply.h"
#include "op_registry.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_SEGMENTS 4

typedef int (*handler_fn)(const http_req_t *r);

/* Splits "/a/b/c" into at most MAX_SEGMENTS segments; -1 if more, or a segment
 * is empty (e.g. "//" or a trailing "/") or a dot segment, or the path is too long. civetweb
 * hands over the decoded path, so "/jobs/%00" arrives as "/jobs/": the empty
 * last segment makes it a 404, as an id position must. */
static int s_split(const char *path, char buf[512], const char *seg[MAX_SEGMENTS])
{
    if (!path || path[0] != '/' || strlen(path) >= 512)
        return -1;
    strcpy(buf, path + 1);
    if (buf[0] == '\0')
        return 0;
    int n = 0;
    for (char *p = buf; p; n++) {
        if (n == MAX_SEGMENTS)
            return -1;
        seg[n] = p;
        char *slash = strchr(p, '/');
        if (slash)
            *slash++ = '\0';
        if (!*seg[n] || strcmp(seg[n], ".") == 0 || strcmp(seg[n], "..") == 0)
            return -1;
        p = slash;
    }
    return n;
}

static bool s_is(const char *method, const char *want)
{
    return strcmp(method, want) == 0;
}

/* Picks the handler for the method among the path's allowed ones. */
static int s_by_method(const http_req_t *r, const char *method, const char *allow, handler_fn get,
                       handler_fn post, handler_fn del)
{
    if (get && (s_is(method, "GET") || s_is(method, "HEAD")))
        return get(r);
    if (post && s_is(method, "POST"))
        return post(r);
    if (del && s_is(method, "DELETE"))
        return del(r);
    return http_reply_method_not_allowed(r->conn, allow);
}

static int s_route(http_req_t *r, const char *method, const char *path)
{
    char buf[512];
    const char *seg[MAX_SEGMENTS] = {0};
    int n = s_split(path, buf, seg);
    if (n == 0)
        return s_by_method(r, method, "GET", h_docs_page, NULL, NULL);
    if (n < 0)
        goto not_found;
    if (n == 1) {
        static const struct {
            const char *name;
            handler_fn fn;
        } service[] = {{"openapi.json", h_openapi},
                       {"health", h_health},
                       {"ready", h_ready},
                       {"metrics", h_metrics},
                       {"jobs", h_jobs_list}};
        for (size_t i = 0; i < sizeof service / sizeof service[0]; i++)
            if (strcmp(seg[0], service[i].name) == 0)
                return s_by_method(r, method, "GET", service[i].fn, NULL, NULL);
    }
    if (strcmp(seg[0], "static") == 0 && n >= 2) {
        /* the tail is everything after "/static/" */
        r->tail = path + strlen("/static/");
        return s_by_method(r, method, "GET", h_static, NULL, NULL);
    }
    if (strcmp(seg[0], "jobs") == 0 && n == 2) {
        r->id = seg[1];
        return s_by_method(r, method, "GET, DELETE", h_job_get, NULL, h_job_delete);
    }
    r->op = op_registry_find(seg[0]);
    if (!r->op)
        goto not_found;
    if (n == 1)
        return s_by_method(r, method, "POST", NULL, h_submit, NULL);
    if (n == 2) {
        r->id = seg[1];
        return s_by_method(r, method, "GET", h_result, NULL, NULL);
    }
    if (n == 3 && strcmp(seg[1], "status") == 0) {
        r->id = seg[2];
        return s_by_method(r, method, "GET", h_status, NULL, NULL);
    }
not_found:
    return http_reply_error(r->conn, IMG_E_NOT_FOUND, "no such resource", NULL);
}

static double s_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int http_router_handle(struct mg_connection *conn, void *cbdata)
{
    const rest_app_t *app = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    double t0 = s_seconds();
    http_req_t r = {.app = app, .conn = conn, .query = ri->query_string};
    img_error_clear();
    int retry_after = 0, status;
    if (http_guard_check(app->guard, conn, ri->local_uri ? ri->local_uri : "/",
                         (long long)(t0 * 1000), &retry_after) < 0) {
        char headers[96] = "WWW-Authenticate: Bearer\r\n";
        if (img_error_code() == IMG_E_RATE_LIMITED)
            snprintf(headers, sizeof headers, "Retry-After: %d\r\n", retry_after);
        status = http_reply_img_error(conn, headers);
    } else {
        /* the decoded path before civetweb removes dot segments: "/resize/..%2f"
         * must be a 404 in an id position, not the page it would clean up to */
        status =
            s_route(&r, ri->request_method, ri->local_uri_raw ? ri->local_uri_raw : ri->local_uri);
    }
    metrics_count_request(app->metrics, status, s_seconds() - t0);
    return status;
}
