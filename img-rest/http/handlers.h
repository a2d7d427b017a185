/* handlers — one function per route and method. Each answers the request
 * itself and returns the HTTP status it sent. The router (http_router.c)
 * has already matched the path and method, and validated nothing else. */
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
    const char *tail;   /* /static/<tail> */
} http_req_t;

/* h_submit.c */
int h_submit(const http_req_t *r);
/* h_jobs.c */
int h_status(const http_req_t *r);
int h_result(const http_req_t *r);
int h_job_get(const http_req_t *r);
int h_job_delete(const http_req_t *r);
int h_jobs_list(const http_req_t *r);
/* h_service.c */
int h_health(const http_req_t *r);
int h_ready(const http_req_t *r);
int h_metrics(const http_req_t *r);
int h_docs_page(const http_req_t *r);
int h_openapi(const http_req_t *r);
int h_static(const http_req_t *r);

#endif
