/* POST /<op>: the body goes to intake (intake/intake.h), which checks it and
 * queues the job; this file only adapts civetweb's request to intake and
 * writes the 202. */
#include "handlers.h"

#include "http_exchange.h"
#include "http_reply.h"
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* mg_read, counting what the exchange read (a fully read body lets the
 * connection be kept). */
static int s_read(void *ctx, char *buf, size_t len)
{
    http_exchange_t *ex = http_exchange_of(ctx);
    int n = mg_read(ctx, buf, len);
    if (n > 0)
        ex->body_read += n;
    else if (n == 0)
        ex->body_done = true;
    return n;
}

static void s_proceed(void *ctx)
{
    mg_printf(ctx, "HTTP/1.1 100 Continue\r\n\r\n");
}

/* The request's body as intake reads it. */
static upload_body_t s_body(struct mg_connection *conn)
{
    const char *expect = mg_get_header(conn, "Expect");
    bool waits = expect && strcasecmp(expect, "100-continue") == 0;
    return (upload_body_t){.read = s_read,
                           .proceed = waits ? s_proceed : NULL,
                           .ctx = conn,
                           .content_type = mg_get_header(conn, "Content-Type"),
                           .content_length = mg_get_request_info(conn)->content_length};
}

/* 202 {id, guid, operation, status, status_url, result_url}, Location;
 * an idempotent replay says so. */
static int s_accepted(const http_req_t *r, const job_t *job, bool replayed)
{
    static const char *const keys[] = {"id",     "guid",       "operation",
                                       "status", "status_url", "result_url"};
    char location[128];
    json_t *full = job_to_json(job);
    json_t *body = json_object();
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        json_object_set(body, keys[i], json_object_get(full, keys[i]));
    snprintf(location, sizeof location, "Location: %s\r\n%s",
             json_string_value(json_object_get(full, "status_url")),
             replayed ? "Idempotent-Replayed: true\r\n" : "");
    int rc = http_reply_json(r->conn, 202, body, location);
    json_decref(body);
    json_decref(full);
    return rc;
}

int h_submit(const http_req_t *r)
{
    job_t job;
    bool replayed;
    char client[JOB_CLIENT_MAX];
    upload_body_t body = s_body(r->conn);
    http_guard_client(r->app->guard, r->conn, client, sizeof client);
    intake_request_t req = {.query = r->query,
                            .request_id = http_exchange_of(r->conn)->request_id,
                            .client = client,
                            .idempotency_key = mg_get_header(r->conn, "Idempotency-Key")};
    int rc;
    if (intake_accept(r->app->intake, r->op, &body, &req, &job, &replayed) < 0) {
        bool full = img_error_code() == IMG_E_QUEUE_FULL;
        rc = http_reply_img_error(r->conn, full ? "Retry-After: 5\r\n" : NULL);
    } else {
        rest_metrics_submitted(r->app->metrics, job.operation,
                               http_exchange_of(r->conn)->body_read);
        log_info("rest: %s %s job %s%s", replayed ? "replayed" : "accepted", job.operation, job.id,
                 job.status == JOB_COMPLETE ? " (a cached result)" : "");
        rc = s_accepted(r, &job, replayed);
    }
    job_clear(&job);
    return rc;
}
