/* job_store_pg — the job store in PostgreSQL, shared by replicas of img-rest.
 *
 * Connections: a pool of S_POOL_SIZE connections under one mutex and a
 * condition variable. A call takes an idle connection (waiting for one when
 * all are busy), runs one statement (or a short transaction) without the
 * lock, and puts it back; no connection is ever used by two threads at once
 * and no call holds two. A connection found closed, or that the server wrote
 * to while it sat idle (a server shutting down says goodbye), is dropped
 * and a new one made on the spot, so a restart of PostgreSQL costs no
 * restart of img-rest; a connection that breaks during a call fails that
 * call and is replaced on the next.
 *
 * Change notices: triggers on the tables NOTIFY channel img_jobs with the
 * job's id in the transaction that changes the row (an insert, a delete, an
 * update of anything but the lease's end and broker, which renew and
 * release_engine touch; a callback's outcome). publish_progress NOTIFYs
 * img_progress with "id:percent" and writes nothing. One more connection
 * per store LISTENs on both, on a thread of its own that calls
 * job_store_notify_changed/_progress for every notice, this process's own
 * changes included (they are not also announced directly). When that
 * connection breaks, the thread reconnects (after 0.1 s, doubling up to
 * 5 s) and, since notices may have been missed meanwhile, announces a change
 * of job "" (job_store.h).
 *
 * Schema: versions in table schema_version (one row per migration applied);
 * s_migrations[v] takes the schema from version v to v + 1, all of it in
 * one transaction holding an advisory lock, so replicas starting together
 * migrate once. Version 1 has the tables and meaning of SQLite's schema
 * version 2. Times are bigint ms since the epoch (NULL: not yet), JSON
 * columns are `json` (the text kept as written, as in SQLite).
 *
 * Claims take the oldest queued job with FOR UPDATE SKIP LOCKED, so
 * replicas claiming at once take different jobs without waiting; expire,
 * purge and the outbox claim skip locked rows the same way. The other
 * transitions are single statements following job_store.h's table like the
 * SQLite backend's.
 *
 * Durability: a new job commits with synchronous_commit = on (its WAL is on
 * disk before the 202 is sent); every later update commits with
 * synchronous_commit = off. That is the SQLite backend's promise: an
 * accepted job is never lost, and a crash of img-rest or img-engine loses
 * nothing either (an update is in the server once the call returns); at
 * worst a crash of the machine, of its disk or of the PostgreSQL server
 * itself loses the updates of its last few hundred ms, and their jobs run
 * again, which the at-least-once protocol allows. (A synchronous commit
 * also makes every earlier asynchronous one durable; with synchronous
 * standbys configured, `on` also waits for a standby to have the insert.)
 */
#include "job_store_impl.h"

#include "img_error.h"
#include "log.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define S_POOL_SIZE 4         /* connections for calls (the listener has its own) */
#define S_MAX_PARAMS 12       /* parameters of the largest statement */
#define S_RETRY_MIN_MS 100    /* the listener's first wait before reconnecting */
#define S_RETRY_MAX_MS 5000   /* and its longest */
#define S_IDEMPOTENCY_TRIES 3 /* a key whose job is deleted meanwhile is taken again */
#define S_CHANNEL_JOBS "img_jobs"
#define S_CHANNEL_PROGRESS "img_progress"
/* The migrations' advisory lock: "img-jobs" in ASCII. */
#define S_MIGRATION_LOCK "7596498520136217203"

static const char *const s_migrations[] = {
    /* 0 -> 1: SQLite's schema version 2 */
    "CREATE TABLE jobs ("
    " seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " id text NOT NULL UNIQUE,"
    " operation text NOT NULL,"
    " status text NOT NULL CHECK (status IN ('queued','processing','complete','failed')),"
    " created_at bigint NOT NULL,"
    " started_at bigint,"
    " finished_at bigint,"
    " params json,"
    " input json,"
    " result json,"
    " error_code text,"
    " error_message text,"
    " attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    " dispatch integer NOT NULL DEFAULT 0 CHECK (dispatch >= 0),"
    " started_dispatch integer NOT NULL DEFAULT 0,"
    " lost_dispatch integer NOT NULL DEFAULT 0,"
    " lease_engine text,"
    " lease_broker text,"
    " lease_expires bigint,"
    " request_id text,"
    " client text,"
    " cache_key text);"
    "CREATE INDEX jobs_status_seq ON jobs (status, seq);"
    "CREATE INDEX jobs_operation_seq ON jobs (operation, seq);"
    "CREATE INDEX jobs_lease ON jobs (status, lease_expires);"
    "CREATE INDEX jobs_finished ON jobs (status, finished_at);"
    "CREATE INDEX jobs_cache ON jobs (cache_key, status) WHERE cache_key IS NOT NULL;"
    "CREATE INDEX jobs_client_seq ON jobs (client, seq);"
    /* a key's row is written before its job's, in the same transaction */
    "CREATE TABLE idempotency ("
    " client text NOT NULL,"
    " key text NOT NULL,"
    " request_hash text NOT NULL,"
    " job_id text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,"
    " created_at bigint NOT NULL,"
    " PRIMARY KEY (client, key));"
    "CREATE INDEX idempotency_job ON idempotency (job_id);"
    "CREATE INDEX idempotency_created ON idempotency (created_at);"
    "CREATE TABLE callbacks ("
    " job_id text PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,"
    " url text NOT NULL,"
    " state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','delivered','failed')),"
    " attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    " last_status integer,"
    " due_at bigint,"
    " lease_until bigint);"
    "CREATE INDEX callbacks_due ON callbacks (state, due_at);"
    /* the change notices: every column but lease_expires and lease_broker
     * (a later migration that adds a column adds it here too) */
    "CREATE FUNCTION img_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  PERFORM pg_notify('" S_CHANNEL_JOBS
    "', CASE TG_OP WHEN 'DELETE' THEN OLD.id ELSE NEW.id END);"
    "  RETURN NULL;"
    " END $$;"
    "CREATE TRIGGER jobs_notify AFTER INSERT OR DELETE OR UPDATE OF id, operation, status,"
    " created_at, started_at, finished_at, params, input, result, error_code, error_message,"
    " attempts, dispatch, started_dispatch, lost_dispatch, lease_engine, request_id, client,"
    " cache_key ON jobs FOR EACH ROW EXECUTE FUNCTION img_jobs_notify();"
    "CREATE FUNCTION img_callbacks_notify() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  PERFORM pg_notify('" S_CHANNEL_JOBS "', NEW.job_id);"
    "  RETURN NULL;"
    " END $$;"
    "CREATE TRIGGER callbacks_notify AFTER UPDATE OF url, state, attempts, last_status"
    " ON callbacks FOR EACH ROW EXECUTE FUNCTION img_callbacks_notify();",
};
#define S_SCHEMA_VERSION ((int)(sizeof s_migrations / sizeof s_migrations[0]))

/* Column order read by s_row_to_job (that of the SQLite backend); the
 * callback's columns come last and only from statements that join them. */
#define S_COLS_OF(j)                                                                               \
    j "seq, " j "id, " j "operation, " j "status, " j "created_at, " j "started_at, " j            \
      "finished_at, " j "params, " j "input, " j "result, " j "error_code, " j "error_message, " j \
      "attempts, " j "lease_engine, " j "lease_expires, " j "dispatch, " j "lease_broker, " j      \
      "request_id, " j "client, " j "cache_key"
#define S_COLS S_COLS_OF("j.")
#define S_RETURNING " RETURNING " S_COLS_OF("")
#define S_N_COLS 20
#define S_CB_COLS " c.url, c.state, c.attempts, c.last_status"
#define S_FROM " FROM jobs j LEFT JOIN callbacks c ON c.job_id = j.id"
/* The current dispatch started on its engine: its loss costs an attempt. */
#define S_CHARGED "started_dispatch >= dispatch"
#define S_LAST_TRY "(" S_CHARGED " AND attempts + 1 >= $2::integer)"

typedef enum {
    S_INSERT,
    S_IDEM_TAKE,
    S_IDEM_GET,
    S_CALLBACK_PUT,
    S_GET,
    S_FIND_CACHED,
    S_LIST,
    S_COUNT,
    S_CLAIM,
    S_RENEW,
    S_STARTED,
    S_FINISH,
    S_REQUEUE,
    S_RELEASE,
    S_EXPIRE,
    S_DELETE,
    S_PURGE,
    S_OUTBOX_CLAIM,
    S_OUTBOX_RECORD,
    S_PROGRESS,
    S_STMT_COUNT
} s_stmt_t;

static const char *const s_sql[S_STMT_COUNT] = {
    [S_INSERT] = "INSERT INTO jobs (id, operation, status, created_at, finished_at, params, input,"
                 " result, request_id, client, cache_key)"
                 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    /* $1 client, $2 key, $3 hash, $4 job, $5 now, $6 remembered since: the
     * key is ours (a row back) when it was free or forgotten; an insert of
     * the same key racing with this one waits for it, then finds it taken */
    [S_IDEM_TAKE] = "INSERT INTO idempotency AS i (client, key, request_hash, job_id, created_at)"
                    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (client, key) DO UPDATE SET"
                    " request_hash = excluded.request_hash, job_id = excluded.job_id,"
                    " created_at = excluded.created_at WHERE i.created_at < $6 RETURNING job_id",
    [S_IDEM_GET] = "SELECT request_hash, job_id FROM idempotency WHERE client = $1 AND key = $2",
    /* $3: due now (a reused result) or NULL (when the job finishes) */
    [S_CALLBACK_PUT] = "INSERT INTO callbacks (job_id, url, due_at) VALUES ($1, $2, $3)",
    [S_GET] = "SELECT " S_COLS "," S_CB_COLS S_FROM " WHERE j.id = $1",
    [S_FIND_CACHED] = "SELECT " S_COLS "," S_CB_COLS S_FROM " WHERE j.cache_key = $1"
                      " AND j.status = 'complete' ORDER BY j.seq DESC LIMIT 1",
    /* $1 before_seq, $2 limit, $3 status, $4 operation, $5 client (NULL: any) */
    [S_LIST] = "SELECT " S_COLS "," S_CB_COLS S_FROM " WHERE j.seq < $1::bigint"
               " AND ($3::text IS NULL OR j.status = $3::text)"
               " AND ($4::text IS NULL OR j.operation = $4::text)"
               " AND ($5::text IS NULL OR j.client = $5::text)"
               " ORDER BY j.seq DESC LIMIT $2::bigint",
    [S_COUNT] = "SELECT count(*) FROM jobs WHERE status = $1",
    /* claim: the oldest queued job no other claim holds */
    [S_CLAIM] = "UPDATE jobs SET status = 'processing', dispatch = dispatch + 1,"
                " lease_engine = $1, lease_broker = $2, lease_expires = $3, lost_dispatch = 0"
                " WHERE seq = (SELECT seq FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1"
                " FOR UPDATE SKIP LOCKED)" S_RETURNING,
    /* renew (announces nothing: the trigger ignores these columns) */
    [S_RENEW] = "UPDATE jobs SET lease_expires = $4, lease_broker = $3"
                " WHERE id = $1 AND status = 'processing' AND lease_engine = $2",
    /* mark_started: started_at is when an engine first began the job */
    [S_STARTED] = "UPDATE jobs SET started_dispatch = $2, started_at = coalesce(started_at, $3)"
                  " WHERE id = $1 AND status = 'processing' AND dispatch = $2",
    /* finish (ok / failed), and the job's delivery becomes due */
    [S_FINISH] = "WITH f AS (UPDATE jobs SET status = $3, result = $4, error_code = $5,"
                 " error_message = $6, finished_at = $7::bigint, attempts = attempts + 1,"
                 " lease_engine = NULL, lease_broker = NULL, lease_expires = NULL"
                 " WHERE id = $1 AND status = 'processing' AND dispatch = $2 RETURNING id),"
                 " d AS (UPDATE callbacks SET due_at = $7::bigint WHERE job_id IN"
                 " (SELECT id FROM f) AND state = 'pending' AND due_at IS NULL RETURNING job_id)"
                 " SELECT id, (SELECT count(*) FROM d) FROM f",
    /* requeue, and the late one that un-charges a lapsed dispatch */
    [S_REQUEUE] = "UPDATE jobs SET attempts = CASE WHEN status = 'queued' THEN attempts - 1"
                  " ELSE attempts END, status = 'queued', lost_dispatch = 0,"
                  " lease_engine = NULL, lease_broker = NULL, lease_expires = NULL"
                  " WHERE id = $1 AND dispatch = $2"
                  " AND (status = 'processing'"
                  " OR (status = 'queued' AND lost_dispatch > 0 AND lost_dispatch = $2))",
    /* release_engine (announces nothing, like a renewal) */
    [S_RELEASE] = "UPDATE jobs SET lease_expires = 0 WHERE status = 'processing'"
                  " AND lease_engine = $1 AND lease_broker = $2 AND lease_expires > 0",
    /* expire: $1 now, $2 max_attempts, $3 the worker_lost code (every SET
     * expression sees the old row); the failed jobs' deliveries become due */
    [S_EXPIRE] =
        "WITH x AS (UPDATE jobs SET"
        " status = CASE WHEN " S_LAST_TRY " THEN 'failed' ELSE 'queued' END,"
        " attempts = CASE WHEN " S_CHARGED " THEN attempts + 1 ELSE attempts END,"
        " lost_dispatch = CASE WHEN " S_CHARGED " AND NOT " S_LAST_TRY " THEN dispatch ELSE 0 END,"
        " error_code = CASE WHEN " S_LAST_TRY " THEN $3::text ELSE error_code END,"
        " error_message = CASE WHEN NOT " S_LAST_TRY " THEN error_message"
        "  WHEN attempts = 0 THEN 'the job was attempted once and its engine was lost"
        " or timed out'"
        "  ELSE format('the job was attempted %s times and its engine was lost or timed"
        " out each time', attempts + 1) END,"
        " finished_at = CASE WHEN " S_LAST_TRY " THEN $1::bigint ELSE finished_at END,"
        " lease_engine = NULL, lease_broker = NULL, lease_expires = NULL"
        " WHERE id IN (SELECT id FROM jobs WHERE status = 'processing'"
        " AND lease_expires < $1::bigint FOR UPDATE SKIP LOCKED) RETURNING id, status),"
        " d AS (UPDATE callbacks SET due_at = $1::bigint WHERE job_id IN"
        " (SELECT id FROM x WHERE status = 'failed') AND state = 'pending'"
        " AND due_at IS NULL RETURNING job_id)"
        " SELECT id, (SELECT count(*) FROM d) FROM x",
    /* delete (its callback and idempotency key go with it) */
    [S_DELETE] = "DELETE FROM jobs WHERE id = $1" S_RETURNING,
    /* purge: $1 finished before, $2 keys remembered since */
    [S_PURGE] = "WITH p AS (DELETE FROM jobs WHERE id IN (SELECT id FROM jobs"
                " WHERE finished_at < $1::bigint AND status IN ('complete', 'failed')"
                " FOR UPDATE SKIP LOCKED) RETURNING id),"
                " k AS (DELETE FROM idempotency WHERE created_at < $2::bigint)"
                " SELECT id FROM p",
    /* outbox_claim: $1 now, $2 lease_until, $3 max */
    [S_OUTBOX_CLAIM] = "UPDATE callbacks SET lease_until = $2::bigint WHERE job_id IN"
                       " (SELECT job_id FROM callbacks WHERE state = 'pending'"
                       " AND due_at <= $1::bigint AND (lease_until IS NULL OR lease_until < $1)"
                       " ORDER BY due_at LIMIT $3::integer FOR UPDATE SKIP LOCKED)"
                       " RETURNING job_id, url, attempts",
    /* outbox_record: $2 status, $3 delivered, $4 retry_at (0: no more tries) */
    [S_OUTBOX_RECORD] = "UPDATE callbacks SET attempts = attempts + 1, last_status = $2::integer,"
                        " state = CASE WHEN $3::boolean THEN 'delivered' WHEN $4::bigint = 0"
                        " THEN 'failed' ELSE 'pending' END,"
                        " due_at = CASE WHEN $3::boolean OR $4::bigint = 0 THEN due_at"
                        " ELSE $4::bigint END,"
                        " lease_until = NULL WHERE job_id = $1",
    [S_PROGRESS] = "SELECT pg_notify('" S_CHANNEL_PROGRESS "', $1)",
};

typedef struct {
    job_store_t base; /* first: job_store_t * <-> s_store_t * */
    char *url;        /* as given: may hold a password, never printed */
    char where[256];  /* the server, for messages */
    pthread_mutex_t lock;
    pthread_cond_t freed;
    PGconn *conn[S_POOL_SIZE]; /* NULL: not connected (or lent out) */
    bool busy[S_POOL_SIZE];
    int stop_fd;         /* eventfd: tells the listener to end */
    PGconn *listen_conn; /* the listener's, until its thread takes it */
    pthread_t listener;
    bool listener_started;
} s_store_t;

static const job_store_ops_t s_ops;

/* ---- parameters ---- */

/* The text parameters of one statement; the helpers do nothing once one
 * has failed, so a caller adds them all and checks once. */
typedef struct {
    const char *value[S_MAX_PARAMS];
    char number[S_MAX_PARAMS][24];
    char *owned[S_MAX_PARAMS];
    int n;
    bool failed;
} s_params_t;

static void s_params_clear(s_params_t *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->owned[i]);
    memset(p, 0, sizeof *p);
}

static int s_slot(s_params_t *p)
{
    assert(p->n < S_MAX_PARAMS);
    p->owned[p->n] = NULL;
    return p->n++;
}

/* NULL or "" is SQL NULL, as in the SQLite backend. */
static void s_text(s_params_t *p, const char *text)
{
    int i = s_slot(p);
    p->value[i] = text && *text ? text : NULL;
}

static void s_int(s_params_t *p, int64_t v)
{
    int i = s_slot(p);
    snprintf(p->number[i], sizeof p->number[i], "%" PRId64, v);
    p->value[i] = p->number[i];
}

/* 0 (or less) is NULL: "not yet". */
static void s_time(s_params_t *p, int64_t v)
{
    if (v > 0)
        s_int(p, v);
    else
        s_text(p, NULL);
}

static void s_json(s_params_t *p, const json_t *json)
{
    int i = s_slot(p);
    p->value[i] = NULL;
    if (!json)
        return;
    p->owned[i] = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);
    p->value[i] = p->owned[i];
    if (!p->owned[i])
        p->failed = true;
}

/* ---- connections ---- */

/* The text of libpq's message on one line. */
static void s_clean_message(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    bool space = false;
    for (; in && *in && n + 1 < cap; in++) {
        bool blank = *in == '\n' || *in == '\t' || *in == ' ' || *in == '\r';
        if (blank) {
            space = n > 0;
            continue;
        }
        if (space && n + 2 < cap)
            out[n++] = ' ';
        space = false;
        out[n++] = *in;
    }
    out[n] = '\0';
}

static void s_fail_conn(PGconn *conn, const char *what)
{
    char message[400];
    s_clean_message(conn ? PQerrorMessage(conn) : "out of memory", message, sizeof message);
    img_error_set(IMG_E_INTERNAL, "job store: %s: %s", what, message);
}

/* The server's own message for a failed statement, else the connection's. */
static void s_fail_result(PGconn *conn, const PGresult *res, const char *what)
{
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!primary) {
        s_fail_conn(conn, what);
        return;
    }
    char message[400];
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    /* 53100 disk_full: the server's volume is full */
    img_errcode_t code =
        state && strcmp(state, "53100") == 0 ? IMG_E_INSUFFICIENT_STORAGE : IMG_E_INTERNAL;
    s_clean_message(primary, message, sizeof message);
    img_error_set(code, "job store: %s: %s", what, message);
}

static void s_quiet(void *arg, const char *message)
{
    (void)arg; /* notices ("... already exists, skipping", a server's goodbye): not ours to print */
    (void)message;
}

/* Runs sql with params on conn: the result (caller PQclears), or NULL with
 * img_error. */
static PGresult *s_exec(PGconn *conn, const char *sql, const s_params_t *params, const char *what)
{
    if (params && params->failed) {
        img_error_set(IMG_E_INTERNAL, "job store: %s: out of memory", what);
        return NULL;
    }
    PGresult *res = PQexecParams(conn, sql, params ? params->n : 0, NULL,
                                 params ? params->value : NULL, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return res;
    s_fail_result(conn, res, what);
    PQclear(res);
    return NULL;
}

/* Runs commands without parameters and rows: 0, or -1 with img_error. */
static int s_command(PGconn *conn, const char *sql, const char *what)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        s_fail_result(conn, res, what);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    return 0;
}

/* Ends a failed transaction, keeping the error already set. */
static void s_rollback(PGconn *conn)
{
    PQclear(PQexec(conn, "ROLLBACK"));
}

/* A new connection to the store's database, or NULL with img_error. The
 * defaults come before the URL, so that the URL's own settings win. */
static PGconn *s_connect(const s_store_t *s)
{
    static const char *const keys[] = {
        "connect_timeout",     "fallback_application_name", "client_encoding", "keepalives_idle",
        "keepalives_interval", "keepalives_count",          "dbname",          NULL};
    const char *const values[] = {"10", "img-rest", "UTF8", "30", "10", "3", s->url, NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        char message[400];
        s_clean_message(conn ? PQerrorMessage(conn) : "out of memory", message, sizeof message);
        img_error_set(IMG_E_INTERNAL, "job store: cannot connect to %s: %s", s->where, message);
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, s_quiet, NULL);
    return conn;
}

/* A connection for calls: updates commit without waiting for the disk
 * (inserts ask for it in their transaction). */
static PGconn *s_connect_pool(const s_store_t *s)
{
    PGconn *conn = s_connect(s);
    if (conn && s_command(conn, "SET synchronous_commit = off", "connect") < 0) {
        PQfinish(conn);
        conn = NULL;
    }
    return conn;
}

/* An idle connection is still good: open, and not written to by the server
 * since its last call (a server that shuts down or ends the connection
 * says so first). */
static bool s_idle_ok(PGconn *conn)
{
    if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE)
        return false;
    struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
    int ready = poll(&pfd, 1, 0);
    return ready == 0 || (ready < 0 && errno == EINTR);
}

/* Lends a connection of the pool (waiting while all are lent), connected
 * and healthy; *slot is where it goes back. NULL with img_error when no
 * connection can be made. */
static PGconn *s_acquire(s_store_t *s, int *slot)
{
    int i = -1;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        for (int k = 0; k < S_POOL_SIZE; k++)
            if (!s->busy[k] && (i < 0 || (s->conn[k] && !s->conn[i])))
                i = k; /* an idle slot, a connected one if any */
        if (i >= 0)
            break;
        pthread_cond_wait(&s->freed, &s->lock);
    }
    s->busy[i] = true;
    PGconn *conn = s->conn[i];
    s->conn[i] = NULL;
    pthread_mutex_unlock(&s->lock);
    if (conn && !s_idle_ok(conn)) {
        PQfinish(conn);
        conn = NULL;
    }
    if (!conn)
        conn = s_connect_pool(s);
    if (!conn) {
        pthread_mutex_lock(&s->lock);
        s->busy[i] = false;
        pthread_cond_signal(&s->freed);
        pthread_mutex_unlock(&s->lock);
        return NULL;
    }
    *slot = i;
    return conn;
}

/* Gives a connection back; one that broke or is left in a transaction is
 * closed (the next call makes a new one). */
static void s_release(s_store_t *s, int slot, PGconn *conn)
{
    if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PQfinish(conn);
        conn = NULL;
    }
    pthread_mutex_lock(&s->lock);
    s->conn[slot] = conn;
    s->busy[slot] = false;
    pthread_cond_signal(&s->freed);
    pthread_mutex_unlock(&s->lock);
}

/* Runs one statement on a pooled connection: the result (caller PQclears),
 * or NULL with img_error. */
static PGresult *s_run(s_store_t *s, s_stmt_t which, const s_params_t *params, const char *what)
{
    int slot;
    PGconn *conn = s_acquire(s, &slot);
    if (!conn)
        return NULL;
    PGresult *res = s_exec(conn, s_sql[which], params, what);
    s_release(s, slot, conn);
    return res;
}

/* The rows a statement changed, or -1 (res NULL). Clears res. */
static int s_changed(PGresult *res)
{
    if (!res)
        return -1;
    int n = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : atoi(PQcmdTuples(res));
    PQclear(res);
    return n;
}

/* The rows of a transition that makes deliveries due (its second column:
 * how many), announcing them; -1 when res is NULL. */
static int s_changed_due(job_store_t *base, PGresult *res)
{
    if (!res)
        return -1;
    int n = PQntuples(res);
    bool due = n > 0 && PQnfields(res) > 1 && atoi(PQgetvalue(res, 0, 1)) > 0;
    PQclear(res);
    if (due)
        job_store_notify_due(base);
    return n;
}

/* ---- rows ---- */

static void s_copy(char *dst, size_t cap, const PGresult *res, int row, int col)
{
    snprintf(dst, cap, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

static int64_t s_int64(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static int s_column_json(const PGresult *res, int row, int col, json_t **out)
{
    *out = NULL;
    if (PQgetisnull(res, row, col))
        return 0;
    json_error_t err;
    *out = json_loads(PQgetvalue(res, row, col), JSON_DECODE_ANY, &err);
    if (!*out) {
        img_error_set(IMG_E_INTERNAL, "job store: %s of a job is not JSON: %s", PQfname(res, col),
                      err.text);
        return -1;
    }
    return 0;
}

/* The callback object from the joined columns, or NULL without one. */
static json_t *s_column_callback(const PGresult *res, int row)
{
    if (PQnfields(res) <= S_N_COLS || PQgetisnull(res, row, S_N_COLS))
        return NULL;
    json_t *cb = json_pack("{s:s, s:s, s:i}", "url", PQgetvalue(res, row, S_N_COLS), "state",
                           PQgetvalue(res, row, S_N_COLS + 1), "attempts",
                           (int)s_int64(res, row, S_N_COLS + 2));
    json_object_set_new(cb, "last_status",
                        PQgetisnull(res, row, S_N_COLS + 3)
                            ? json_null()
                            : json_integer(s_int64(res, row, S_N_COLS + 3)));
    return cb;
}

/* Fills out from a row (S_COLS order). 0, or -1 with img_error and out
 * cleared. */
static int s_row_to_job(const PGresult *res, int row, job_t *out)
{
    memset(out, 0, sizeof *out);
    out->progress = -1;
    out->seq = s_int64(res, row, 0);
    s_copy(out->id, sizeof out->id, res, row, 1);
    s_copy(out->operation, sizeof out->operation, res, row, 2);
    int status = job_status_parse(PQgetvalue(res, row, 3));
    if (status < 0) {
        img_error_set(IMG_E_INTERNAL, "job store: job %s has an unknown status", out->id);
        return -1;
    }
    out->status = (job_status_t)status;
    out->created_at = s_int64(res, row, 4);
    out->started_at = s_int64(res, row, 5);
    out->finished_at = s_int64(res, row, 6);
    if (s_column_json(res, row, 7, &out->params) < 0 ||
        s_column_json(res, row, 8, &out->input) < 0 ||
        s_column_json(res, row, 9, &out->result) < 0) {
        job_clear(out);
        return -1;
    }
    s_copy(out->error_code, sizeof out->error_code, res, row, 10);
    s_copy(out->error_message, sizeof out->error_message, res, row, 11);
    out->attempts = (int)s_int64(res, row, 12);
    s_copy(out->lease_engine, sizeof out->lease_engine, res, row, 13);
    out->lease_expires = s_int64(res, row, 14);
    out->dispatch = (int)s_int64(res, row, 15);
    s_copy(out->lease_broker, sizeof out->lease_broker, res, row, 16);
    s_copy(out->request_id, sizeof out->request_id, res, row, 17);
    s_copy(out->client, sizeof out->client, res, row, 18);
    s_copy(out->cache_key, sizeof out->cache_key, res, row, 19);
    out->callback = s_column_callback(res, row);
    return 0;
}

/* At most one row of res into out: 1 row, 0 none, -1 (res NULL, or a bad
 * row) with img_error. Clears res. */
static int s_one(PGresult *res, job_t *out)
{
    if (!res)
        return -1;
    int found = PQntuples(res) > 0;
    if (found && s_row_to_job(res, 0, out) < 0)
        found = -1;
    PQclear(res);
    return found;
}

/* ---- insert ---- */

/* In the insert's transaction: 0 when the client's key is now job's, 1 and
 * replayed_id when it was used with the same hash within 24 hours, -1
 * (IMG_E_IDEMPOTENCY_MISMATCH) with another hash, -1 on error. */
static int s_idempotency(PGconn *conn, const job_t *job, const job_insert_t *opts,
                         char replayed_id[JOB_ID_LEN + 1])
{
    for (int tries = 0; tries < S_IDEMPOTENCY_TRIES; tries++) {
        int64_t now = job_now_ms();
        s_params_t take = {0}, get = {0};
        s_text(&take, job->client);
        s_text(&take, opts->idempotency_key);
        s_text(&take, opts->request_hash);
        s_text(&take, job->id);
        s_int(&take, now);
        s_int(&take, now - JOB_STORE_IDEMPOTENCY_MS);
        PGresult *res = s_exec(conn, s_sql[S_IDEM_TAKE], &take, "idempotency key");
        int taken = res ? PQntuples(res) : -1;
        PQclear(res);
        if (taken != 0)
            return taken < 0 ? -1 : 0;
        s_text(&get, job->client);
        s_text(&get, opts->idempotency_key);
        if (!(res = s_exec(conn, s_sql[S_IDEM_GET], &get, "idempotency key")))
            return -1;
        if (PQntuples(res) == 1) {
            bool same = strcmp(PQgetvalue(res, 0, 0), opts->request_hash) == 0;
            s_copy(replayed_id, JOB_ID_LEN + 1, res, 0, 1);
            PQclear(res);
            if (same)
                return 1;
            img_error_set(IMG_E_IDEMPOTENCY_MISMATCH,
                          "the Idempotency-Key was used for another request (other parameters or "
                          "other file bytes) within 24 hours");
            return -1;
        }
        PQclear(res); /* its job was deleted meanwhile: the key is free again */
    }
    img_error_set(IMG_E_INTERNAL, "job store: idempotency key: taken and freed again %d times",
                  S_IDEMPOTENCY_TRIES);
    return -1;
}

/* In the insert's transaction. */
static int s_queue_room(PGconn *conn, const job_t *job, long max_queued)
{
    if (max_queued <= 0 || job->status != JOB_QUEUED)
        return 0;
    s_params_t p = {0};
    s_text(&p, job_status_name(JOB_QUEUED));
    PGresult *res = s_exec(conn, s_sql[S_COUNT], &p, "count");
    long queued = res && PQntuples(res) == 1 ? atol(PQgetvalue(res, 0, 0)) : -1;
    PQclear(res);
    return queued < 0 ? -1 : job_store_queue_room(queued, max_queued);
}

static int s_insert_job(PGconn *conn, const job_t *job)
{
    s_params_t p = {0};
    s_text(&p, job->id);
    s_text(&p, job->operation);
    s_text(&p, job_status_name(job->status));
    s_int(&p, job->created_at > 0 ? job->created_at : job_now_ms());
    s_time(&p, job->status == JOB_COMPLETE ? job->finished_at : 0);
    s_json(&p, job->params);
    s_json(&p, job->input);
    s_json(&p, job->status == JOB_COMPLETE ? job->result : NULL);
    s_text(&p, job->request_id);
    s_text(&p, job->client);
    s_text(&p, job->cache_key);
    PGresult *res = s_exec(conn, s_sql[S_INSERT], &p, "insert");
    s_params_clear(&p);
    PQclear(res);
    return res ? 0 : -1;
}

static int s_insert_callback(PGconn *conn, const job_t *job, const char *url)
{
    s_params_t p = {0};
    s_text(&p, job->id);
    s_text(&p, url);
    s_time(&p, job->status == JOB_COMPLETE ? job_now_ms() : 0); /* a reused result: due now */
    PGresult *res = s_exec(conn, s_sql[S_CALLBACK_PUT], &p, "callback");
    s_params_clear(&p);
    PQclear(res);
    return res ? 0 : -1;
}

static int s_insert(job_store_t *base, const job_t *job, const job_insert_t *opts,
                    char replayed_id[JOB_ID_LEN + 1])
{
    s_store_t *s = (s_store_t *)base;
    int slot, result = -1;
    PGconn *conn = s_acquire(s, &slot);
    if (!conn)
        return -1;
    /* an accepted job survives a power cut: this commit waits for the disk */
    if (s_command(conn, "BEGIN; SET LOCAL synchronous_commit = on", "insert") < 0)
        goto done;
    result = opts->idempotency_key ? s_idempotency(conn, job, opts, replayed_id) : 0;
    if (result == 0 &&
        (s_queue_room(conn, job, opts->max_queued) < 0 || s_insert_job(conn, job) < 0 ||
         (opts->callback_url && s_insert_callback(conn, job, opts->callback_url) < 0)))
        result = -1;
    if (result != 0) /* failed, or a replay: nothing to keep */
        s_rollback(conn);
    else if (s_command(conn, "COMMIT", "insert") < 0)
        result = -1;
done:
    s_release(s, slot, conn);
    if (result == 0 && job->status == JOB_COMPLETE && opts->callback_url)
        job_store_notify_due(base); /* a reused result's delivery */
    return result;
}

/* ---- reads ---- */

static int s_get(job_store_t *base, const char *id, job_t *out)
{
    s_params_t p = {0};
    s_text(&p, id);
    int found = s_one(s_run((s_store_t *)base, S_GET, &p, "get"), out);
    if (found == 0)
        img_error_set(IMG_E_NOT_FOUND, "no job %s", id);
    return found == 1 ? 0 : -1;
}

static int s_find_cached(job_store_t *base, const char *cache_key, job_t *out)
{
    s_params_t p = {0};
    s_text(&p, cache_key);
    return s_one(s_run((s_store_t *)base, S_FIND_CACHED, &p, "find cached"), out);
}

static int s_list(job_store_t *base, const job_filter_t *filter, job_t **jobs, size_t *n,
                  int64_t *next_seq)
{
    s_params_t p = {0};
    s_int(&p, filter->before_seq > 0 ? filter->before_seq : INT64_MAX);
    s_int(&p, filter->limit + 1); /* one more: is there a next page? */
    s_text(&p, filter->status);
    s_text(&p, filter->operation);
    s_text(&p, filter->client);
    PGresult *res = s_run((s_store_t *)base, S_LIST, &p, "list");
    if (!res)
        return -1;
    size_t rows = (size_t)PQntuples(res), limit = (size_t)filter->limit, count = 0;
    bool more = rows > limit;
    job_t *out = calloc(limit, sizeof *out);
    if (!out)
        img_error_set(IMG_E_INTERNAL, "job store: out of memory");
    for (; out && count < rows && count < limit; count++)
        if (s_row_to_job(res, (int)count, &out[count]) < 0)
            break;
    PQclear(res);
    if (!out || count < (more ? limit : rows)) {
        for (size_t i = 0; out && i < count; i++)
            job_clear(&out[i]);
        free(out);
        return -1;
    }
    *jobs = out;
    *n = count;
    *next_seq = more ? out[count - 1].seq : 0;
    return 0;
}

static long s_count(job_store_t *base, job_status_t status)
{
    s_params_t p = {0};
    s_text(&p, job_status_name(status));
    PGresult *res = s_run((s_store_t *)base, S_COUNT, &p, "count");
    long count = res && PQntuples(res) == 1 ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : -1;
    PQclear(res);
    return count;
}

/* ---- the transitions (the trigger announces them) ---- */

static int s_claim(job_store_t *base, const char *engine, const char *broker, int64_t lease_until,
                   job_t *out)
{
    s_params_t p = {0};
    s_text(&p, engine);
    s_text(&p, broker);
    s_int(&p, lease_until);
    return s_one(s_run((s_store_t *)base, S_CLAIM, &p, "claim"), out);
}

static int s_renew(job_store_t *base, const char *id, const char *engine, const char *broker,
                   int64_t lease_until)
{
    s_params_t p = {0};
    s_text(&p, id);
    s_text(&p, engine);
    s_text(&p, broker);
    s_int(&p, lease_until);
    int changed = s_changed(s_run((s_store_t *)base, S_RENEW, &p, "renew"));
    return changed < 0 ? -1 : changed > 0;
}

static int s_mark_started(job_store_t *base, const char *id, int dispatch, int64_t now)
{
    s_params_t p = {0};
    s_text(&p, id);
    s_int(&p, dispatch);
    s_int(&p, now);
    int changed = s_changed(s_run((s_store_t *)base, S_STARTED, &p, "mark started"));
    return changed < 0 ? -1 : changed > 0;
}

static int s_finish(job_store_t *base, const char *id, int dispatch, const json_t *result,
                    const char *error_code, const char *error_message, int64_t now)
{
    bool failed = error_code != NULL;
    s_params_t p = {0};
    s_text(&p, id);
    s_int(&p, dispatch);
    s_text(&p, job_status_name(failed ? JOB_FAILED : JOB_COMPLETE));
    s_json(&p, failed ? NULL : result);
    s_text(&p, error_code);
    s_text(&p, failed ? (error_message && *error_message ? error_message : "failed") : NULL);
    s_int(&p, now);
    int changed = s_changed_due(base, s_run((s_store_t *)base, S_FINISH, &p, "finish"));
    s_params_clear(&p);
    return changed < 0 ? -1 : changed > 0;
}

static int s_requeue(job_store_t *base, const char *id, int dispatch)
{
    s_params_t p = {0};
    s_text(&p, id);
    s_int(&p, dispatch);
    int changed = s_changed(s_run((s_store_t *)base, S_REQUEUE, &p, "requeue"));
    return changed < 0 ? -1 : changed > 0;
}

static int s_release_engine(job_store_t *base, const char *engine, const char *broker)
{
    s_params_t p = {0};
    s_text(&p, engine);
    s_text(&p, broker);
    return s_changed(s_run((s_store_t *)base, S_RELEASE, &p, "release engine"));
}

static int s_expire(job_store_t *base, int64_t now, int max_attempts)
{
    s_params_t p = {0};
    s_int(&p, now);
    s_int(&p, max_attempts);
    s_text(&p, img_error_code_name(IMG_E_WORKER_LOST));
    return s_changed_due(base, s_run((s_store_t *)base, S_EXPIRE, &p, "expire"));
}

static int s_delete(job_store_t *base, const char *id, job_t *deleted)
{
    job_t local = {0};
    s_params_t p = {0};
    s_text(&p, id);
    int found = s_one(s_run((s_store_t *)base, S_DELETE, &p, "delete"), deleted ? deleted : &local);
    job_clear(&local);
    if (found == 0)
        img_error_set(IMG_E_NOT_FOUND, "no job %s", id);
    return found == 1 ? 0 : -1;
}

static int s_purge(job_store_t *base, int64_t before, job_removed_fn fn, void *arg)
{
    s_params_t p = {0};
    s_int(&p, before);
    s_int(&p, job_now_ms() - JOB_STORE_IDEMPOTENCY_MS);
    PGresult *res = s_run((s_store_t *)base, S_PURGE, &p, "purge");
    if (!res)
        return -1;
    int n = PQntuples(res);
    for (int i = 0; fn && i < n; i++)
        fn(PQgetvalue(res, i, 0), arg);
    PQclear(res);
    return n;
}

/* ---- the webhook outbox ---- */

static int s_outbox_claim(job_store_t *base, int64_t now, int64_t lease_until, job_delivery_t *out,
                          int max)
{
    s_params_t p = {0};
    s_int(&p, now);
    s_int(&p, lease_until);
    s_int(&p, max);
    PGresult *res = s_run((s_store_t *)base, S_OUTBOX_CLAIM, &p, "outbox claim");
    if (!res)
        return -1;
    int n = PQntuples(res) < max ? PQntuples(res) : max;
    for (int i = 0; i < n; i++) {
        s_copy(out[i].id, sizeof out[i].id, res, i, 0);
        s_copy(out[i].url, sizeof out[i].url, res, i, 1);
        out[i].attempts = (int)s_int64(res, i, 2);
    }
    PQclear(res);
    return n;
}

static int s_outbox_record(job_store_t *base, const char *id, int status, bool delivered,
                           int64_t retry_at)
{
    s_params_t p = {0};
    s_text(&p, id);
    s_int(&p, status);
    s_text(&p, delivered ? "true" : "false");
    s_int(&p, retry_at);
    return s_changed(s_run((s_store_t *)base, S_OUTBOX_RECORD, &p, "outbox record")) < 0 ? -1 : 0;
}

/* ---- change notices ---- */

static int s_publish_progress(job_store_t *base, const char *id, int percent)
{
    char payload[JOB_ID_LEN + 8];
    snprintf(payload, sizeof payload, "%s:%d", id, percent);
    s_params_t p = {0};
    s_text(&p, payload);
    PGresult *res = s_run((s_store_t *)base, S_PROGRESS, &p, "progress");
    PQclear(res);
    return res ? 0 : -1;
}

/* A connection that LISTENs on both channels, or NULL with img_error. */
static PGconn *s_connect_listener(const s_store_t *s)
{
    PGconn *conn = s_connect(s);
    if (conn &&
        s_command(conn, "LISTEN " S_CHANNEL_JOBS "; LISTEN " S_CHANNEL_PROGRESS, "listen") < 0) {
        PQfinish(conn);
        conn = NULL;
    }
    return conn;
}

/* "id:percent" from img_progress. */
static void s_on_progress(s_store_t *s, const char *payload)
{
    const char *colon = strrchr(payload, ':');
    char *end;
    long percent = colon ? strtol(colon + 1, &end, 10) : -1;
    size_t len = colon ? (size_t)(colon - payload) : 0;
    if (!colon || *end || end == colon + 1 || percent < 0 || percent > 100 || len == 0 ||
        len > JOB_ID_LEN)
        return; /* not ours */
    char id[JOB_ID_LEN + 1];
    memcpy(id, payload, len);
    id[len] = '\0';
    job_store_notify_progress(&s->base, id, (int)percent);
}

static void s_deliver_notices(s_store_t *s, PGconn *conn)
{
    PGnotify *n;
    while ((n = PQnotifies(conn)) != NULL) {
        if (strcmp(n->relname, S_CHANNEL_JOBS) == 0)
            job_store_notify_changed(&s->base, n->extra);
        else if (strcmp(n->relname, S_CHANNEL_PROGRESS) == 0)
            s_on_progress(s, n->extra);
        PQfreemem(n);
    }
}

/* Waits up to ms for the stop signal: true when it came. */
static bool s_stopping(const s_store_t *s, int ms)
{
    struct pollfd pfd = {.fd = s->stop_fd, .events = POLLIN};
    return poll(&pfd, 1, ms) > 0;
}

/* The listener's thread: delivers notices until the store is destroyed,
 * reconnecting whenever the connection breaks. */
static void *s_listen(void *arg)
{
    s_store_t *s = arg;
    PGconn *conn = s->listen_conn;
    int wait_ms = S_RETRY_MIN_MS;
    s->listen_conn = NULL;
    for (;;) {
        if (!conn) {
            if (s_stopping(s, wait_ms))
                break;
            if (!(conn = s_connect_listener(s))) {
                wait_ms = wait_ms * 2 > S_RETRY_MAX_MS ? S_RETRY_MAX_MS : wait_ms * 2;
                continue;
            }
            log_info("job store: listening to %s again", s->where);
            wait_ms = S_RETRY_MIN_MS;
            job_store_notify_changed(&s->base, ""); /* what changed meanwhile is unknown */
        }
        s_deliver_notices(s, conn); /* any read with the last command's answer */
        struct pollfd fds[2] = {{.fd = PQsocket(conn), .events = POLLIN},
                                {.fd = s->stop_fd, .events = POLLIN}};
        if (poll(fds, 2, -1) < 0 && errno != EINTR) {
            log_error("job store: listener poll: %s", strerror(errno));
            break;
        }
        if (fds[1].revents)
            break;
        if (!fds[0].revents)
            continue;
        if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK) {
            char message[400];
            s_clean_message(PQerrorMessage(conn), message, sizeof message);
            log_warn("job store: change notices from %s lost (%s): reconnecting", s->where,
                     message);
            PQfinish(conn);
            conn = NULL;
            continue;
        }
    }
    PQfinish(conn);
    return NULL;
}

/* ---- schema ---- */

/* Brings the schema to S_SCHEMA_VERSION in one transaction holding the
 * migrations' advisory lock: replicas starting together wait for each
 * other, and the later ones find nothing to do. */
static int s_migrate(PGconn *conn)
{
    if (s_command(conn,
                  "BEGIN; SET LOCAL synchronous_commit = on;"
                  " SELECT pg_advisory_xact_lock(" S_MIGRATION_LOCK ");"
                  " CREATE TABLE IF NOT EXISTS schema_version ("
                  " version integer PRIMARY KEY, applied_at bigint NOT NULL)",
                  "schema") < 0)
        goto fail;
    PGresult *res =
        s_exec(conn, "SELECT coalesce(max(version), 0) FROM schema_version", NULL, "schema");
    if (!res)
        goto fail;
    int version = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (version > S_SCHEMA_VERSION) {
        img_error_set(IMG_E_INTERNAL,
                      "job store: the database has schema version %d, newer than this "
                      "program's %d",
                      version, S_SCHEMA_VERSION);
        goto fail;
    }
    for (int v = version; v < S_SCHEMA_VERSION; v++) {
        s_params_t p = {0};
        s_int(&p, v + 1);
        s_int(&p, job_now_ms());
        if (s_command(conn, s_migrations[v], "schema") < 0 ||
            !(res = s_exec(conn, "INSERT INTO schema_version VALUES ($1, $2)", &p, "schema")))
            goto fail;
        PQclear(res);
    }
    if (s_command(conn, "COMMIT", "schema") < 0)
        goto fail;
    return 0;

fail:
    s_rollback(conn);
    return -1;
}

/* ---- open / destroy ---- */

/* Where the URL points, for messages (never its password); -1 with
 * img_error when libpq cannot read it. */
static int s_describe(const char *url, char *out, size_t cap)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &err);
    if (!opts) {
        char message[400];
        s_clean_message(err ? err : "out of memory", message, sizeof message);
        img_error_set(IMG_E_CONFIG, "db_url: %s", message);
        PQfreemem(err);
        return -1;
    }
    const char *host = NULL, *port = NULL, *db = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (strcmp(o->keyword, "host") == 0 || (!host && strcmp(o->keyword, "hostaddr") == 0))
            host = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
        else if (strcmp(o->keyword, "dbname") == 0)
            db = o->val;
    }
    snprintf(out, cap, "%s%s%s%s%s", host ? host : "the local server", port ? ":" : "",
             port ? port : "", db ? "/" : "", db ? db : "");
    PQconninfoFree(opts);
    return 0;
}

static void s_destroy(job_store_t *base)
{
    s_store_t *s = (s_store_t *)base;
    if (s->listener_started) {
        uint64_t one = 1;
        if (write(s->stop_fd, &one, sizeof one) != sizeof one)
            log_error("job store: cannot stop the listener: %s", strerror(errno));
        else
            pthread_join(s->listener, NULL);
    }
    PQfinish(s->listen_conn);
    for (int i = 0; i < S_POOL_SIZE; i++)
        PQfinish(s->conn[i]);
    if (s->stop_fd >= 0)
        close(s->stop_fd);
    pthread_cond_destroy(&s->freed);
    pthread_mutex_destroy(&s->lock);
    job_store_base_clear(base);
    free(s->url);
    free(s);
}

job_store_t *job_store_open_pg(const char *url)
{
    assert(url);
    s_store_t *s = calloc(1, sizeof *s);
    if (!s) {
        img_error_set(IMG_E_INTERNAL, "job store: out of memory");
        return NULL;
    }
    job_store_base_init(&s->base, &s_ops);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->freed, NULL);
    s->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (s->stop_fd < 0 || !(s->url = strdup(url))) {
        img_error_set(IMG_E_INTERNAL, "job store: %s", strerror(errno));
        goto fail;
    }
    if (s_describe(url, s->where, sizeof s->where) < 0 || !(s->conn[0] = s_connect_pool(s)) ||
        s_migrate(s->conn[0]) < 0 || !(s->listen_conn = s_connect_listener(s)))
        goto fail;
    if (pthread_create(&s->listener, NULL, s_listen, s) != 0) {
        img_error_set(IMG_E_INTERNAL, "job store: cannot start the listener thread");
        goto fail;
    }
    s->listener_started = true;
    return &s->base;

fail:
    s_destroy(&s->base);
    return NULL;
}

static const job_store_ops_t s_ops = {
    .name = "postgresql",
    .destroy = s_destroy,
    .publish_progress = s_publish_progress,
    .insert = s_insert,
    .get = s_get,
    .find_cached = s_find_cached,
    .list = s_list,
    .count = s_count,
    .claim = s_claim,
    .renew = s_renew,
    .mark_started = s_mark_started,
    .finish = s_finish,
    .requeue = s_requeue,
    .release_engine = s_release_engine,
    .expire = s_expire,
    .delete_job = s_delete,
    .purge = s_purge,
    .outbox_claim = s_outbox_claim,
    .outbox_record = s_outbox_record,
};
