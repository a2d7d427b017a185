/* handlers — one function per route and method, in the shape of civetweb's
 * examples/rest/rest.c: each answers the request itself and returns the HTTP
 * status it sent. The route table (http_routes.c) has already matched the
 * path and the method and passed the guard; nothing else is validated. */
#ifndef IMG_HANDLERS_H
#define IMG_HANDLERS_H

#include "op.h"
#include "rest_app.h"

#include <civetweb.h>

typedef struct {
    const rest_app_t *app;
    struct mg_connection *conn;
    const char *query;  /* raw query string, or NULL */
    const op_def_t *op; /* for /<op>/... routes */
    const char *id;     /* the path's job id (not yet validated) */
    const char *tail;   /* what a route's final `*` matched (decoded) */
} http_req_t;

/* h_common.c: the job of the path's id (r->id); with r->op, it must be that
 * operation's job; with API keys on, the job of the request's key; its
 * progress from memory while it is processing. 0, or -1 with img_error
 * (IMG_E_NOT_FOUND for an invalid or unknown id, or another key's job).
 * *job is written either way: on -1 it is empty, and job_clear() on it is
 * harmless, so a caller may clear it whatever the result. */
int h_load_job(const http_req_t *r, job_t *job);
/* h_common.c: whose jobs the request may see: with API keys on, its key's
 * client name (http_guard_client), the jobs' `client`; "" for every job. */
void h_owner(const http_req_t *r, char out[JOB_CLIENT_MAX]);

/* h_submit.c: POST /<op> */
int h_submit(const http_req_t *r);
/* h_jobs.c */
int h_status(const http_req_t *r);
int h_result(const http_req_t *r);
int h_job_get(const http_req_t *r);
int h_job_delete(const http_req_t *r);
int h_job_thumbnail(const http_req_t *r);
int h_jobs_list(const http_req_t *r);
/* h_events.c: Server-Sent Events */
int h_job_events(const http_req_t *r);
int h_all_events(const http_req_t *r);
/* h_service.c */
int h_health(const http_req_t *r);
int h_ready(const http_req_t *r);
int h_metrics(const http_req_t *r);
int h_docs_page(const http_req_t *r);
int h_openapi(const http_req_t *r);
int h_static(const http_req_t *r);
int h_app(const http_req_t *r);
int h_app_file(const http_req_t *r);

#endif
