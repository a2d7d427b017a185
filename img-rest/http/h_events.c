/* GET /jobs/<id>/events and GET /jobs/events: Server-Sent Events.
 *
 * A stream holds one HTTP thread for its whole life; the server has
 * max_event_streams threads more than http_threads for them (http_server.c)
 * and refuses a stream past that bound (503 too_many_streams), so open
 * streams never take the threads uploads and status requests need. Each
 * stream reads the change feed (job_events) from the number it last saw:
 *   event `status` (data: the status JSON) now, and at every change;
 *   event `progress` (data: {"id", "progress"}) while a job is processing;
 *   a comment every HEARTBEAT_MS so that proxies keep the stream open.
 * A job's stream ends after its terminal status; every stream ends when
 * the client goes or the server stops. With API keys on, /jobs/events
 * streams only the jobs of the caller's key.
 */
#include "handlers.h"

#include "http_exchange.h"
#include "http_reply.h"
#include "job.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEARTBEAT_MS 15000
#define BATCH 64

typedef struct {
    const http_req_t *r;
    const char *job_id; /* the one job streamed, or NULL: every job */
    bool ended;         /* the job ended, the client went, or the server stops */
} stream_t;

/* Writes one event; false when the client is gone. */
static bool s_send(stream_t *st, const char *event, uint64_t seq, const char *data)
{
    size_t len = strlen(data) + 128;
    char *text = malloc(len);
    if (!text)
        return false;
    int n = snprintf(text, len, "event: %s\nid: %llu\ndata: %s\n\n", event, (unsigned long long)seq,
                     data);
    bool ok = n > 0 && mg_write(st->r->conn, text, (size_t)n) == n;
    free(text);
    return ok;
}

/* The job's status event; a terminal status ends a one-job stream. */
static void s_status(stream_t *st, const char *id, uint64_t seq)
{
    http_req_t r = *st->r;
    job_t job;
    r.id = id;
    r.op = NULL;
    /* deleted (a one-job stream ends), or another key's */
    if (h_load_job(&r, &job) < 0) {
        st->ended = st->job_id != NULL;
        return;
    }
    json_t *body = job_to_json(&job);
    char *text = json_dumps(body, JOB_JSON_FLAGS);
    st->ended = !text || !s_send(st, "status", seq, text);
    free(text);
    json_decref(body);
    if (st->job_id && (job.status == JOB_COMPLETE || job.status == JOB_FAILED))
        st->ended = true;
    job_clear(&job);
}

static void s_progress(stream_t *st, const char *id, uint64_t seq)
{
    char data[96];
    int percent = job_events_progress_of(st->r->app->events, id);
    if (percent < 0)
        return;
    if (!st->job_id && st->r->app->cfg->api_keys[0] != '\0') { /* whose is it? */
        http_req_t r = *st->r;
        job_t job;
        r.id = id;
        r.op = NULL;
        bool mine = h_load_job(&r, &job) == 0;
        job_clear(&job);
        if (!mine)
            return;
    }
    snprintf(data, sizeof data, "{\"id\":\"%s\",\"progress\":%d}", id, percent);
    st->ended = !s_send(st, "progress", seq, data);
}

/* The notices after *seen that concern the stream. */
static void s_catch_up(stream_t *st, uint64_t *seen)
{
    job_event_t batch[BATCH];
    int n;
    while (!st->ended && (n = job_events_since(st->r->app->events, seen, batch, BATCH)) != 0) {
        if (n < 0) { /* fell behind the ring: the one job's status again */
            if (st->job_id)
                s_status(st, st->job_id, *seen);
            continue;
        }
        for (int i = 0; i < n && !st->ended; i++) {
            if (st->job_id && strcmp(batch[i].id, st->job_id) != 0)
                continue;
            if (batch[i].kind == JOB_EVENT_PROGRESS)
                s_progress(st, batch[i].id, batch[i].seq);
            else if (batch[i].id[0])
                s_status(st, batch[i].id, batch[i].seq);
        }
    }
}

static void s_run(stream_t *st)
{
    job_events_t *events = st->r->app->events;
    uint64_t seen = job_events_generation(events);
    if (st->job_id)
        s_status(st, st->job_id, seen);
    else
        st->ended = mg_write(st->r->conn, ": all jobs\n\n", 12) != 12;
    while (!st->ended && !job_events_shutting_down(events)) {
        uint64_t latest = job_events_wait(events, seen, job_now_ms() + HEARTBEAT_MS);
        if (latest == seen) /* quiet: a comment keeps proxies from closing */
            st->ended = mg_write(st->r->conn, ": heartbeat\n\n", 13) != 13;
        else
            s_catch_up(st, &seen);
    }
}

static int s_stream(const http_req_t *r, const char *job_id)
{
    stream_t st = {.r = r, .job_id = job_id};
    if (!job_events_stream_enter(r->app->events, r->app->cfg->max_event_streams)) {
        img_error_set(IMG_E_TOO_MANY_STREAMS,
                      "%d event streams are open, the most allowed; retry later",
                      r->app->cfg->max_event_streams);
        return http_reply_img_error(r->conn, "Retry-After: 5\r\n");
    }
    int rc = http_reply_stream(r->conn, "text/event-stream; charset=utf-8",
                               "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n");
    if (strcmp(mg_get_request_info(r->conn)->request_method, "HEAD") != 0)
        s_run(&st);
    job_events_stream_leave(r->app->events);
    return rc;
}

int h_job_events(const http_req_t *r)
{
    job_t job;
    if (h_load_job(r, &job) < 0)
        return http_reply_img_error(r->conn, NULL);
    char id[JOB_ID_LEN + 1];
    memcpy(id, job.id, sizeof id);
    job_clear(&job);
    return s_stream(r, id);
}

int h_all_events(const http_req_t *r)
{
    return s_stream(r, NULL);
}
