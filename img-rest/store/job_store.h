/* job_store — the queue of record: every job lives here, never only in memory.
 *
 * An interface (a table of functions, job_store_impl.h) with two backends:
 * the embedded SQLite one (job_store_sqlite.c) and PostgreSQL for replicas
 * of img-rest (job_store_pg.c), chosen by job_store_open(). Every function
 * is safe to call from any thread, and from several processes sharing one
 * database. Functions return 0 on success and -1 with img_error unless said
 * otherwise; functions that fill a job_t leave it for the caller to
 * job_clear().
 *
 * The life of a job, one table that every backend's SQL follows. `dispatch`
 * numbers the hand-outs of a job to engines and never repeats, so every
 * message about a job names one dispatch and a late or duplicate one is
 * recognised; `attempts` counts only the tries charged against
 * max_attempts. A dispatch is charged when it ends after its engine said it
 * `started` it, unless the engine handed it back.
 *
 *  event             from        to          attempts  when
 *  insert            -           queued      0         (complete: a reused result)
 *  claim             queued      processing  =         the oldest; dispatch + 1, leased
 *                                                      to an engine by a broker
 *  mark_started      processing  processing  =         the current dispatch: charged
 *                                                      from now on
 *  renew             processing  processing  =         lease held by that engine
 *  finish (ok)       processing  complete    + 1       the current dispatch
 *  finish (failed)   processing  failed      + 1       the current dispatch
 *  requeue           processing  queued      =         the current dispatch, handed back
 *  requeue (late)    queued      queued      - 1       its lapsed dispatch had been charged:
 *                                                      the hand-back of an engine that
 *                                                      crashed beside another job
 *  release_engine    processing  processing  =         that engine's leases from that
 *                                                      broker end now (it left)
 *  expire            processing  queued      =         lease lapsed, not started
 *  expire            processing  queued      + 1       lease lapsed, started, attempts
 *                                                      + 1 < max_attempts
 *  expire            processing  failed      + 1       lease lapsed, started, attempts
 *                                                      + 1 >= max_attempts (worker_lost)
 *  delete            any         -                     the client's DELETE
 *  purge             complete,   -                     finished before the retention
 *                    failed
 *
 * Change notices: every change above but a lease's renewal or end
 * (renew, release_engine) is announced to the process's listener
 * (job_store_listen). SQLite: at once, on the thread that made the change.
 * PostgreSQL: through LISTEN/NOTIFY to every replica, this one included, on
 * the store's listener thread; when that thread has lost its connection
 * and made a new one, notices may have been missed meanwhile, and it calls
 * `changed` once with the id "" (any job may have changed). Progress is
 * announced the same way without being stored.
 */
#ifndef IMG_JOB_STORE_H
#define IMG_JOB_STORE_H

#include "job.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct job_store job_store_t;

typedef struct {
    const char *status;    /* NULL or a status name */
    const char *operation; /* NULL or an operation name */
    const char *client;    /* NULL or only this client's jobs */
    int limit;             /* 1..1000 */
    int64_t before_seq;    /* 0 = from the newest; else only seq < before_seq */
} job_filter_t;

/* What an insert may carry besides the job. */
typedef struct {
    /* The client's Idempotency-Key (job->client is the client) and the hash
     * of the request (operation, parameters, input bytes); NULL: none. */
    const char *idempotency_key;
    const char *request_hash;
    /* http(s) URL to call when the job ends; NULL: none. */
    const char *callback_url;
    /* > 0: a new queued job is refused (IMG_E_QUEUE_FULL) when this many
     * jobs are queued already, counted in the insert's transaction, after a
     * replay was answered (a replay never queues anything); 0: no bound. */
    long max_queued;
} job_insert_t;

/* A webhook delivery due (job_store_outbox_claim). */
typedef struct {
    char id[JOB_ID_LEN + 1]; /* the job's */
    char url[2048];
    int attempts; /* calls made so far */
} job_delivery_t;

/* Who hears of changes (job_store_listen). Each is called on a store
 * thread, or on the thread that made the change; they must be quick; any
 * may be NULL. deliveries_due is called, on the thread that made the change,
 * when a change made through this handle made a webhook delivery due (a job
 * with a callback finished, failed by expiry, or was inserted as a reused
 * result); another replica's are not announced here (its own handle's
 * listener hears of them). */
typedef struct {
    void (*changed)(void *arg, const char *id);               /* a job changed ("": any) */
    void (*progress)(void *arg, const char *id, int percent); /* a running job's progress */
    void (*deliveries_due)(void *arg);                        /* a webhook delivery is due */
    void *arg;
} job_store_listener_t;

/* Called for each job removed by job_store_purge (to delete its files). */
typedef void (*job_removed_fn)(const char *id, void *arg);

/* Opens the store: db_url "postgresql://..." or "postgres://..." is
 * PostgreSQL; anything else is a SQLite file path (created if needed, WAL
 * mode). Applies the schema's migrations. Caller owns; NULL with img_error. */
job_store_t *job_store_open(const char *db_url);
void job_store_destroy(job_store_t **self);

/* The backend's name ("sqlite", "postgresql"). */
const char *job_store_backend(const job_store_t *self);

/* Sets the listener (one per store; a copy is kept). Waits for the calls
 * of the previous one in progress: once it returns, that one is not called
 * again (clear it before destroying what it reaches). */
void job_store_listen(job_store_t *self, const job_store_listener_t *listener);

/* Announces a running job's progress to every listener, without storing it. */
int job_store_publish_progress(job_store_t *self, const char *id, int percent);

/* Inserts a new job (id, operation, params, input, created_at, request_id,
 * client, cache_key; queued, or complete with result, started_at and
 * finished_at when status says so: a reused result). With opts->idempotency_key: if this client
 * used the key within 24 hours, nothing is inserted and replayed_id gets that job's id (returns 1);
 * the same key with another request hash is -1 with IMG_E_IDEMPOTENCY_MISMATCH. Two identical
 * inserts racing make one job. The job is durable when this returns 0 (inserted) or 1 (replayed).
 * opts may be NULL. */
int job_store_insert(job_store_t *self, const job_t *job, const job_insert_t *opts,
                     char replayed_id[JOB_ID_LEN + 1]);

/* 0 when fewer than max_queued jobs are queued, else -1 with
 * IMG_E_QUEUE_FULL (or another error). A check before the work of an
 * insert; the insert's own bound (job_insert_t.max_queued) is the exact one. */
int job_store_has_room(job_store_t *self, long max_queued);

/* 0 found, -1 with IMG_E_NOT_FOUND or another error. */
int job_store_get(job_store_t *self, const char *id, job_t *out);

/* A complete job with this cache key whose result is still held: 1 (out
 * filled), 0 none, -1 error. */
int job_store_find_cached(job_store_t *self, const char *cache_key, job_t *out);

/* Newest first. *jobs gets a calloc'ed array of *n jobs (caller frees each with
 * job_clear, then free); *next_seq is the before_seq of the next page or 0. */
int job_store_list(job_store_t *self, const job_filter_t *filter, job_t **jobs, size_t *n,
                   int64_t *next_seq);

/* Number of jobs in a status. -1 on error. */
long job_store_count(job_store_t *self, job_status_t status);

/* claim: the oldest queued job, for engine (leased by broker) until
 * lease_until. 1 claimed (out filled), 0 none queued, -1 error. */
int job_store_claim(job_store_t *self, const char *engine, const char *broker, int64_t lease_until,
                    job_t *out);

/* renew: 1 renewed (the broker becomes broker), 0 not held by engine, -1 error. */
int job_store_renew(job_store_t *self, const char *id, const char *engine, const char *broker,
                    int64_t lease_until);

/* mark_started: dispatch of job id started at now (the job's started_at if
 * it had none). 1 recorded, 0 ignored (not the current dispatch), -1 error. */
int job_store_mark_started(job_store_t *self, const char *id, int dispatch, int64_t now);

/* finish: complete with result (not stolen), or failed with error_code and
 * error_message. 1 applied, 0 ignored (not processing with that dispatch),
 * -1 error. A callback of the job becomes due. */
int job_store_finish(job_store_t *self, const char *id, int dispatch, const json_t *result,
                     const char *error_code, const char *error_message, int64_t now);

/* requeue: 1 requeued (or un-charged, see the table), 0 ignored, -1 error. */
int job_store_requeue(job_store_t *self, const char *id, int dispatch);

/* release_engine: the number of leases ended, -1 on error. */
int job_store_release_engine(job_store_t *self, const char *engine, const char *broker);

/* expire: the lapsed leases before now; the number of jobs changed, -1 on
 * error. */
int job_store_expire(job_store_t *self, int64_t now, int max_attempts);

/* delete: *deleted (if not NULL) gets the job as it was at that moment
 * (e.g. processing on an engine that should be told). 0, or -1 with
 * IMG_E_NOT_FOUND. */
int job_store_delete(job_store_t *self, const char *id, job_t *deleted);

/* purge: complete and failed jobs finished before `before`, calling fn for
 * each, and idempotency keys older than 24 hours. The number of jobs
 * removed, -1 on error. */
int job_store_purge(job_store_t *self, int64_t before, job_removed_fn fn, void *arg);

/* The webhook outbox. A job's delivery waits until the job finishes, then
 * is due. outbox_claim: up to max deliveries due at now, each leased until
 * lease_until (no other replica takes it meanwhile); returns how many, -1
 * on error. outbox_record: the outcome of one call (status: the HTTP
 * status, 0 for none): delivered, or due again at retry_at, or failed for
 * good when retry_at is 0 and not delivered. */
int job_store_outbox_claim(job_store_t *self, int64_t now, int64_t lease_until, job_delivery_t *out,
                           int max);
int job_store_outbox_record(job_store_t *self, const char *id, int status, bool delivered,
                            int64_t retry_at);

#endif
