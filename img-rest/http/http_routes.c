#include "http_routes.h"

#include "handlers.h"
#include "http_cors.h"
#include "http_exchange.h"
#include "http_reply.h"
#include "log.h"
#include "op_catalog.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_SEGMENTS 8

typedef int (*handler_fn)(const http_req_t *r);

typedef struct {
    const char *path; /* pattern, see http_routes.h */
    bool open;        /* served without an API key */
    handler_fn get, post, del;
} route_t;

/* The routes, tried in order: literals before the patterns they overlap. */
static const route_t s_routes[] = {
    /* path                 open   GET           POST      DELETE */
    {"/", true, h_docs_page, NULL, NULL},
    {"/openapi.json", true, h_openapi, NULL, NULL},
    {"/static/*", true, h_static, NULL, NULL},
    {"/app", true, h_app, NULL, NULL},
    {"/app/*", true, h_app_file, NULL, NULL},
    {"/health", true, h_health, NULL, NULL},
    {"/ready", true, h_ready, NULL, NULL},
    {"/metrics", false, h_metrics, NULL, NULL},
    {"/jobs", false, h_jobs_list, NULL, NULL},
    {"/jobs/events", false, h_all_events, NULL, NULL},
    {"/jobs/{id}", false, h_job_get, NULL, h_job_delete},
    {"/jobs/{id}/events", false, h_job_events, NULL, NULL},
    {"/jobs/{id}/thumbnail", false, h_job_thumbnail, NULL, NULL},
    {"/{op}", false, NULL, h_submit, NULL},
    {"/{op}/status/{id}", false, h_status, NULL, NULL},
    {"/{op}/{id}", false, h_result, NULL, NULL},
};

#define N_ROUTES (sizeof s_routes / sizeof s_routes[0])

static int s_hex(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decodes the NUL-terminated segment s in place; -1 for a bad
 * escape or an encoded NUL. */
static int s_decode(char *s)
{
    char *out = s;
    for (const char *p = s; *p; p++) {
        if (*p != '%') {
            *out++ = *p;
            continue;
        }
        int hi = s_hex(p[1]), lo = hi >= 0 ? s_hex(p[2]) : -1;
        if (lo < 0 || (hi == 0 && lo == 0))
            return -1;
        *out++ = (char)(hi << 4 | lo);
        p += 2;
    }
    *out = '\0';
    return 0;
}

/* Splits the raw path "/a/b/c" into at most MAX_SEGMENTS segments, each
 * percent-decoded (civetweb's own decoding is off: a "%2F" or "%00" inside
 * a segment must not change the path's shape); -1 if more, if a segment is
 * empty ("//"), a dot segment, badly escaped or holds a NUL, or if the path
 * is too long. One trailing slash is dropped. */
static int s_split(const char *path, char *buf, size_t size, const char *seg[MAX_SEGMENTS])
{
    size_t len = path ? strlen(path) : 0;
    if (!len || path[0] != '/' || len >= size)
        return -1;
    if (len > 1 && path[len - 1] == '/')
        len--;
    memcpy(buf, path + 1, len - 1);
    buf[len - 1] = '\0';
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
        if (s_decode(p) < 0 || !*p || strcmp(p, ".") == 0 || strcmp(p, "..") == 0)
            return -1;
        p = slash;
    }
    return n;
}

/* Does route match the segments? Fills r's captures when it does; a final
 * `*` captures the remaining segments joined by '/' into tail. */
static bool s_match(const route_t *route, const char *const *seg, int n, http_req_t *r,
                    char tail[512])
{
    char pattern[64];
    const char *pseg[MAX_SEGMENTS];
    int pn = s_split(route->path, pattern, sizeof pattern, pseg);
    bool rest = pn > 0 && strcmp(pseg[pn - 1], "*") == 0;
    if (pn < 0 || (rest ? n < pn : n != pn))
        return false;
    http_req_t got = *r;
    for (int i = 0; i < pn; i++) {
        if (strcmp(pseg[i], "{op}") == 0) {
            if (!(got.op = op_catalog_find(seg[i])))
                return false;
        } else if (strcmp(pseg[i], "{id}") == 0) {
            got.id = seg[i];
        } else if (strcmp(pseg[i], "*") == 0) {
            size_t len = 0;
            tail[0] = '\0';
            for (int k = i; k < n && len < 512; k++)
                len += (size_t)snprintf(tail + len, 512 - len, "%s%s", k > i ? "/" : "", seg[k]);
            got.tail = tail;
        } else if (strcmp(pseg[i], seg[i]) != 0) {
            return false;
        }
    }
    *r = got;
    return true;
}

static const route_t *s_find(const char *path, http_req_t *r, char buf[512], char tail[512])
{
    const char *seg[MAX_SEGMENTS] = {0};
    int n = s_split(path, buf, 512, seg);
    for (size_t i = 0; n >= 0 && i < N_ROUTES; i++)
        if (s_match(&s_routes[i], seg, n, r, tail))
            return &s_routes[i];
    return NULL;
}

static void s_allow(const route_t *route, char *out, size_t size)
{
    snprintf(out, size, "%s%s%sOPTIONS", route->get ? "GET, HEAD, " : "",
             route->post ? "POST, " : "", route->del ? "DELETE, " : "");
}

/* OPTIONS: the methods, and for an allowed origin the CORS preflight. */
static int s_options(const route_t *route, const http_req_t *r)
{
    char allow[64], headers[512];
    s_allow(route, allow, sizeof allow);
    int n = snprintf(headers, sizeof headers, "Allow: %s\r\n", allow);
    if (http_exchange_of(r->conn)->cors_origin)
        snprintf(headers + n, sizeof headers - (size_t)n,
                 "Access-Control-Allow-Methods: %s\r\nAccess-Control-Allow-Headers: %s\r\n"
                 "Access-Control-Max-Age: 600\r\n",
                 allow, HTTP_CORS_ALLOW_HEADERS);
    return http_reply_empty(r->conn, 204, headers);
}

static int s_dispatch(const route_t *route, const http_req_t *r, const char *method)
{
    handler_fn fn = NULL;
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        fn = route->get;
    else if (strcmp(method, "POST") == 0)
        fn = route->post;
    else if (strcmp(method, "DELETE") == 0)
        fn = route->del;
    else if (strcmp(method, "OPTIONS") == 0)
        return s_options(route, r);
    if (fn)
        return fn(r);
    char allow[64];
    s_allow(route, allow, sizeof allow);
    return http_reply_method_not_allowed(r->conn, allow);
}

/* One line per request, whatever its answer. */
static void s_access_log(const struct mg_request_info *ri, const http_exchange_t *ex,
                         double seconds)
{
    char status[8], bytes[24], ms[24];
    snprintf(status, sizeof status, "%d", ex->status);
    snprintf(bytes, sizeof bytes, "%lld", ex->bytes);
    snprintf(ms, sizeof ms, "%.1f", seconds * 1000.0);
    log_event(ex->status >= 500 ? IMG_LOG_WARN : IMG_LOG_INFO, "access", "method",
              ri->request_method, "route", ex->route, "status", status, "bytes", bytes, "ms", ms,
              "client", ri->remote_addr, "error", ex->error_code ? ex->error_code : "", NULL);
}

static int s_handle(http_req_t *r, const struct mg_request_info *ri, http_exchange_t *ex)
{
    char buf[512], tail[512];
    int retry_after = 0;
    /* the raw path, before civetweb removes dot segments: "/resize/..%2f"
     * must be a 404 in an id position, not the page it would clean up to */
    const char *path = ri->local_uri_raw ? ri->local_uri_raw : ri->local_uri;
    const route_t *route = s_find(path, r, buf, tail);
    if (!route)
        return http_reply_error(r->conn, IMG_E_NOT_FOUND, "no such resource", NULL);
    ex->route = route->path;
    if (strcmp(ri->request_method, "OPTIONS") != 0 &&
        http_guard_check(r->app->guard, r->conn, route->open, (long long)(ex->started * 1000),
                         &retry_after) < 0) {
        char headers[96] = "WWW-Authenticate: Bearer\r\n";
        if (img_error_code() == IMG_E_RATE_LIMITED)
            snprintf(headers, sizeof headers, "Retry-After: %d\r\n", retry_after);
        return http_reply_img_error(r->conn, headers);
    }
    return s_dispatch(route, r, ri->request_method);
}

#define TCHARS "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* What civetweb lets through but a careful server refuses: a header name
 * that is no token (": value"), more header fields than civetweb keeps
 * (it drops the rest without a word), a Content-Length that is not one
 * decimal number ("1, 2" reads as 1: the body's end would be a guess). 0,
 * or the answer's status. */
static int s_check_head(struct mg_connection *conn, const struct mg_request_info *ri)
{
    if (ri->num_headers >= MG_MAX_HEADERS)
        return http_reply_civetweb_error(conn, 431, "more header fields than the server reads");
    for (int i = 0; i < ri->num_headers; i++) {
        const char *name = ri->http_headers[i].name;
        if (!name || !*name || name[strspn(name, TCHARS)] != '\0')
            return http_reply_civetweb_error(conn, 400, "a header field name is not a token");
    }
    const char *length = mg_get_header(conn, "Content-Length");
    size_t digits = length ? strspn(length, "0123456789") : 0;
    if (length && (digits == 0 || length[digits] != '\0'))
        return http_reply_civetweb_error(conn, 400, "Content-Length is not one number");
    return 0;
}

/* What every request ends with, whoever answered it: the metrics, the
 * access log line. */
static void s_finish(const rest_app_t *app, struct mg_connection *conn, http_exchange_t *ex,
                     int status)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    double seconds = http_exchange_now() - ex->started;
    rest_metrics_request(app->metrics, ex->route, ri->request_method ? ri->request_method : "-",
                         status, seconds);
    if (ex->error_code)
        rest_metrics_refusal(app->metrics, ex->error_code);
    s_access_log(ri, ex, seconds);
    log_context_set(NULL, NULL);
    http_exchange_end(ex, conn);
}

static void s_begin(const rest_app_t *app, struct mg_connection *conn, http_exchange_t *ex)
{
    img_error_clear();
    http_exchange_begin(ex, conn, app->cfg->cors_origins);
    log_context_set(ex->request_id, NULL);
}

int http_routes_handle(struct mg_connection *conn, const rest_app_t *app, bool keep_alive)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    http_req_t r = {.app = app, .conn = conn, .query = ri->query_string};
    http_exchange_t ex;
    s_begin(app, conn, &ex);
    ex.close = !keep_alive;
    int status = s_check_head(conn, ri);
    if (status == 0)
        status = s_handle(&r, ri, &ex);
    s_finish(app, conn, &ex, status);
    return status;
}

int http_routes_refuse(struct mg_connection *conn, const rest_app_t *app, int status,
                       const char *message)
{
    http_exchange_t ex;
    s_begin(app, conn, &ex);
    status = http_reply_civetweb_error(conn, status, message);
    s_finish(app, conn, &ex, status);
    return status;
}
