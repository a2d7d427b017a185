/* job_store_sqlite — the embedded job store: one SQLite file in WAL mode.
 *
 * One connection, guarded by one mutex: every call takes the lock, runs its
 * statements (one, or a few in one IMMEDIATE transaction), copies the rows
 * out and lets go, so the lock is never held across a callback. Other
 * processes may open the same file: SQLite's write lock (with busy_timeout)
 * keeps each statement and transaction atomic between connections too, so a
 * job is never claimed twice.
 *
 * Durability: journal_mode=WAL, synchronous=NORMAL, which is safe from
 * corruption and from a crash of either program. A new job is moreover on
 * disk before the 202 is sent, so a power cut or kernel crash cannot lose an
 * accepted job: its insert waits for an fdatasync of the WAL that began after
 * its commit (group_sync.h), which is what synchronous=FULL would do, except
 * that inserts arriving together share one sync and the connection's lock is
 * not held during it. Every later update may at worst be lost to a power
 * cut: the job then runs again, which the at-least-once protocol allows. (A
 * sync of the WAL also makes every earlier commit durable.)
 *
 * Schema versions are kept in PRAGMA user_version; s_migrations[v] takes the
 * schema from version v to v + 1. Times are int64 ms since the epoch, NULL
 * in the database for "not yet" (0 in job_t). JSON fields are stored as
 * text. The statements follow the transition table of job_store.h.
 */
#include "job_store_impl.h"

#include "group_sync.h"
#include "img_error.h"

#include <assert.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_BUSY_TIMEOUT_MS 5000
#define S_WAL_RETRY_MS 10  /* between tries of the switch to WAL */
#define S_MAX_CHANGED 4096 /* ids an expire announces one by one */

static const char *const s_migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE jobs ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT UNIQUE NOT NULL,"
    " operation TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('queued','processing','complete','failed')),"
    " created_at INTEGER NOT NULL,"
    " started_at INTEGER,"
    " finished_at INTEGER,"
    " params TEXT,"
    " input TEXT,"
    " result TEXT,"
    " error_code TEXT,"
    " error_message TEXT,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " lease_owner TEXT,"
    " lease_expires INTEGER,"
    " dispatches INTEGER NOT NULL DEFAULT 0,"
    " started_dispatch INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX jobs_status_seq ON jobs(status, seq);"
    "CREATE INDEX jobs_operation_seq ON jobs(operation, seq);"
    "CREATE INDEX jobs_lease ON jobs(status, lease_expires);"
    "CREATE INDEX jobs_finished ON jobs(status, finished_at);",
    /* 1 -> 2: one vocabulary (dispatch, engine); claims no longer charge an
     * attempt (only a started dispatch that ends does); replicas (the broker
     * holding a lease); request ids, clients, result reuse, idempotency keys
     * and webhook deliveries */
    "ALTER TABLE jobs RENAME COLUMN dispatches TO dispatch;"
    "ALTER TABLE jobs RENAME COLUMN lease_owner TO lease_engine;"
    "ALTER TABLE jobs ADD COLUMN lease_broker TEXT;"
    "ALTER TABLE jobs ADD COLUMN lost_dispatch INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN request_id TEXT;"
    "ALTER TABLE jobs ADD COLUMN client TEXT;"
    "ALTER TABLE jobs ADD COLUMN cache_key TEXT;"
    "UPDATE jobs SET attempts = max(attempts - 1, 0) WHERE status = 'processing';"
    "UPDATE jobs SET lost_dispatch = dispatch, lease_engine = NULL"
    " WHERE status = 'queued' AND lease_engine IS NOT NULL;"
    "CREATE INDEX jobs_cache ON jobs(cache_key, status) WHERE cache_key IS NOT NULL;"
    "CREATE INDEX jobs_client_seq ON jobs(client, seq);"
    "CREATE TABLE idempotency ("
    " client TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL,"
    " job_id TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (client, key));"
    "CREATE TABLE callbacks ("
    " job_id TEXT PRIMARY KEY, url TEXT NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','delivered','failed')),"
    " attempts INTEGER NOT NULL DEFAULT 0, last_status INTEGER,"
    " due_at INTEGER, lease_until INTEGER);"
    "CREATE INDEX callbacks_due ON callbacks(state, due_at);",
};
#define S_SCHEMA_VERSION ((int)(sizeof s_migrations / sizeof s_migrations[0]))

/* Column order read by s_row_to_job; the callback's columns come last and
 * only from statements that join them. */
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
#define S_LAST_TRY "(" S_CHARGED " AND attempts + 1 >= ?2)"

typedef enum {
    S_INSERT,
    S_IDEM_GET,
    S_IDEM_PUT,
    S_CALLBACK_PUT,
    S_GET,
    S_FIND_CACHED,
    S_LIST,
    S_COUNT,
    S_CLAIM,
    S_RENEW,
    S_STARTED,
    S_FINISH,
    S_CALLBACKS_DUE,
    S_REQUEUE,
    S_RELEASE,
    S_EXPIRE,
    S_DELETE,
    S_DELETE_CALLBACK,
    S_DELETE_IDEMPOTENCY,
    S_PURGE,
    S_PURGE_EXTRAS,
    S_OUTBOX_CLAIM,
    S_OUTBOX_RECORD,
    S_STMT_COUNT
} s_stmt_t;

static const char *const s_sql[S_STMT_COUNT] = {
    [S_INSERT] = "INSERT INTO jobs (id, operation, status, created_at, finished_at, params, input,"
                 " result, request_id, client, cache_key, started_at)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    /* ?1 client, ?2 key, ?3 remembered since */
    [S_IDEM_GET] = "SELECT request_hash, job_id FROM idempotency"
                   " WHERE client = ?1 AND key = ?2 AND created_at >= ?3",
    /* a forgotten key (older than 24 hours) is taken over */
    [S_IDEM_PUT] = "INSERT INTO idempotency (client, key, request_hash, job_id, created_at)"
                   " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (client, key) DO UPDATE SET"
                   " request_hash = excluded.request_hash, job_id = excluded.job_id,"
                   " created_at = excluded.created_at",
    [S_CALLBACK_PUT] = "INSERT INTO callbacks (job_id, url) VALUES (?1, ?2)",
    [S_GET] = "SELECT " S_COLS "," S_CB_COLS S_FROM " WHERE j.id = ?1",
    [S_FIND_CACHED] =
        "SELECT " S_COLS "," S_CB_COLS S_FROM
        " WHERE j.cache_key = ?1 AND j.status = 'complete' ORDER BY j.seq DESC LIMIT 1",
    /* ?1 before_seq, ?2 limit, ?3 status, ?4 operation, ?5 client (NULL: any) */
    [S_LIST] =
        "SELECT " S_COLS "," S_CB_COLS S_FROM " WHERE j.seq < ?1 AND (?3 IS NULL OR j.status = ?3)"
        " AND (?4 IS NULL OR j.operation = ?4) AND (?5 IS NULL OR j.client = ?5)"
        " ORDER BY j.seq DESC LIMIT ?2",
    [S_COUNT] = "SELECT count(*) FROM jobs WHERE status = ?1",
    /* claim */
    [S_CLAIM] = "UPDATE jobs SET status = 'processing', dispatch = dispatch + 1,"
                " lease_engine = ?1, lease_broker = ?2, lease_expires = ?3, lost_dispatch = 0"
                " WHERE seq = (SELECT seq FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT "
                "1)" S_RETURNING,
    /* renew */
    [S_RENEW] = "UPDATE jobs SET lease_expires = ?4, lease_broker = ?3"
                " WHERE id = ?1 AND status = 'processing' AND lease_engine = ?2",
    /* mark_started: started_at is when an engine first began the job */
    [S_STARTED] = "UPDATE jobs SET started_dispatch = ?2, started_at = coalesce(started_at, ?3)"
                  " WHERE id = ?1 AND status = 'processing' AND dispatch = ?2",
    /* finish (ok / failed) */
    [S_FINISH] = "UPDATE jobs SET status = ?3, result = ?4, error_code = ?5, error_message = ?6,"
                 " finished_at = ?7, attempts = attempts + 1,"
                 " lease_engine = NULL, lease_broker = NULL, lease_expires = NULL"
                 " WHERE id = ?1 AND status = 'processing' AND dispatch = ?2",
    /* a finished job's delivery becomes due: ?1 now */
    [S_CALLBACKS_DUE] =
        "UPDATE callbacks SET due_at = ?1 WHERE state = 'pending' AND due_at IS NULL"
        " AND job_id IN (SELECT id FROM jobs WHERE status IN ('complete','failed'))",
    /* requeue, and the late one that un-charges a lapsed dispatch */
    [S_REQUEUE] = "UPDATE jobs SET attempts = CASE WHEN status = 'queued' THEN attempts - 1"
                  " ELSE attempts END, status = 'queued', lost_dispatch = 0,"
                  " lease_engine = NULL, lease_broker = NULL, lease_expires = NULL"
                  " WHERE id = ?1 AND dispatch = ?2"
                  " AND (status = 'processing'"
                  " OR (status = 'queued' AND lost_dispatch > 0 AND lost_dispatch = ?2))",
    /* release_engine */
    [S_RELEASE] = "UPDATE jobs SET lease_expires = 0 WHERE status = 'processing'"
                  " AND lease_engine = ?1 AND lease_broker = ?2 AND lease_expires > 0",
    /* expire: ?1 now, ?2 max_attempts, ?3 the worker_lost code (SQLite
     * evaluates every SET expression on the old row) */
    [S_EXPIRE] =
        "UPDATE jobs SET"
        " status = CASE WHEN " S_LAST_TRY " THEN 'failed' ELSE 'queued' END,"
        " attempts = CASE WHEN " S_CHARGED " THEN attempts + 1 ELSE attempts END,"
        " lost_dispatch = CASE WHEN " S_CHARGED " AND NOT " S_LAST_TRY " THEN dispatch ELSE 0 END,"
        " error_code = CASE WHEN " S_LAST_TRY " THEN ?3 ELSE error_code END,"
        " error_message = CASE WHEN NOT " S_LAST_TRY " THEN error_message"
        "  WHEN attempts = 0 THEN 'the job was attempted once and its engine was lost"
        " or timed out'"
        "  ELSE printf('the job was attempted %d times and its engine was lost or timed"
        " out each time', attempts + 1) END,"
        " finished_at = CASE WHEN " S_LAST_TRY " THEN ?1 ELSE finished_at END,"
        " lease_engine = NULL, lease_broker = NULL, lease_expires = NULL"
        " WHERE status = 'processing' AND lease_expires < ?1 RETURNING id",
    [S_DELETE] = "DELETE FROM jobs WHERE id = ?1" S_RETURNING,
    [S_DELETE_CALLBACK] = "DELETE FROM callbacks WHERE job_id = ?1",
    /* a retry with the key of a deleted job makes a new one */
    [S_DELETE_IDEMPOTENCY] = "DELETE FROM idempotency WHERE job_id = ?1",
    [S_PURGE] = "DELETE FROM jobs WHERE finished_at < ?1 AND status IN ('complete', 'failed')"
                " RETURNING id",
    [S_PURGE_EXTRAS] = "DELETE FROM callbacks WHERE job_id NOT IN (SELECT id FROM jobs)",
    /* outbox_claim: ?1 now, ?2 lease_until, ?3 max */
    [S_OUTBOX_CLAIM] = "UPDATE callbacks SET lease_until = ?2 WHERE job_id IN"
                       " (SELECT job_id FROM callbacks WHERE state = 'pending' AND due_at <= ?1"
                       " AND (lease_until IS NULL OR lease_until < ?1) ORDER BY due_at LIMIT ?3)"
                       " RETURNING job_id, url, attempts",
    /* outbox_record: ?2 status, ?3 delivered, ?4 retry_at (0: no more tries) */
    [S_OUTBOX_RECORD] = "UPDATE callbacks SET attempts = attempts + 1, last_status = ?2,"
                        " state = CASE WHEN ?3 THEN 'delivered' WHEN ?4 = 0 THEN 'failed'"
                        " ELSE 'pending' END,"
                        " due_at = CASE WHEN ?3 OR ?4 = 0 THEN due_at ELSE ?4 END,"
                        " lease_until = NULL WHERE job_id = ?1",
};

/* Statements run as they are (no parameters, no rows). */
static const char *const s_purge_idempotency =
    "DELETE FROM idempotency WHERE created_at < ?1 OR job_id NOT IN (SELECT id FROM jobs)";

typedef struct {
    job_store_t base; /* first: job_store_t * <-> s_store_t * */
    sqlite3 *db;
    pthread_mutex_t lock;
    sqlite3_stmt *stmt[S_STMT_COUNT];
    sqlite3_stmt *purge_idempotency;
    group_sync_t *wal_sync; /* NULL for an in-memory database */
} s_store_t;

static const job_store_ops_t s_ops;

/* ---- helpers (all called with the lock held) ---- */

static sqlite3_stmt *s_stmt(s_store_t *s, s_stmt_t which)
{
    sqlite3_stmt *st = s->stmt[which];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static void s_fail(s_store_t *s, const char *what)
{
    /* a full volume is the client's 507, not an internal error */
    img_errcode_t code =
        sqlite3_errcode(s->db) == SQLITE_FULL ? IMG_E_INSUFFICIENT_STORAGE : IMG_E_INTERNAL;
    img_error_set(code, "job store: %s: %s", what, sqlite3_errmsg(s->db));
}

static int s_exec_sql(s_store_t *s, const char *sql)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        s_fail(s, sql);
        return -1;
    }
    return 0;
}

/* The bind helpers do nothing once *rc holds an error, so a caller binds all
 * its parameters and checks once. */
static void s_bind_text(sqlite3_stmt *st, int i, const char *text, int *rc)
{
    if (*rc == SQLITE_OK)
        *rc = text && *text ? sqlite3_bind_text(st, i, text, -1, SQLITE_TRANSIENT)
                            : sqlite3_bind_null(st, i);
}

static void s_bind_int64(sqlite3_stmt *st, int i, int64_t v, int *rc)
{
    if (*rc == SQLITE_OK)
        *rc = sqlite3_bind_int64(st, i, v);
}

static void s_bind_time(sqlite3_stmt *st, int i, int64_t v, int *rc)
{
    if (*rc == SQLITE_OK)
        *rc = v > 0 ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
}

static void s_bind_json(sqlite3_stmt *st, int i, const json_t *json, int *rc)
{
    if (*rc != SQLITE_OK)
        return;
    if (!json) {
        *rc = sqlite3_bind_null(st, i);
        return;
    }
    char *text = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);
    *rc = text ? sqlite3_bind_text(st, i, text, -1, free) : SQLITE_NOMEM;
}

/* Runs a statement that returns no rows: the number of rows it changed, or
 * -1 with img_error (also when binding failed: bind_rc). */
static int s_exec(s_store_t *s, sqlite3_stmt *st, int bind_rc, const char *what)
{
    if (bind_rc != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
        s_fail(s, what);
        return -1;
    }
    return sqlite3_changes(s->db);
}

static void s_column_copy(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    const unsigned char *text = sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", text ? (const char *)text : "");
}

static int s_column_json(sqlite3_stmt *st, int col, json_t **out)
{
    *out = NULL;
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return 0;
    json_error_t err;
    *out = json_loads((const char *)sqlite3_column_text(st, col), JSON_DECODE_ANY, &err);
    if (!*out) {
        img_error_set(IMG_E_INTERNAL, "job store: %s of a job is not JSON: %s",
                      sqlite3_column_name(st, col), err.text);
        return -1;
    }
    return 0;
}

/* The callback object from the joined columns, or NULL without one. */
static json_t *s_column_callback(sqlite3_stmt *st)
{
    if (sqlite3_column_count(st) <= S_N_COLS || sqlite3_column_type(st, S_N_COLS) == SQLITE_NULL)
        return NULL;
    json_t *cb = json_pack("{s:s, s:s, s:i}", "url", sqlite3_column_text(st, S_N_COLS), "state",
                           sqlite3_column_text(st, S_N_COLS + 1), "attempts",
                           sqlite3_column_int(st, S_N_COLS + 2));
    json_object_set_new(cb, "last_status",
                        sqlite3_column_type(st, S_N_COLS + 3) == SQLITE_NULL
                            ? json_null()
                            : json_integer(sqlite3_column_int(st, S_N_COLS + 3)));
    return cb;
}

/* Fills out from the current row (S_COLS order). 0, or -1 with img_error and
 * out cleared. */
static int s_row_to_job(sqlite3_stmt *st, job_t *out)
{
    memset(out, 0, sizeof *out);
    out->progress = -1;
    out->seq = sqlite3_column_int64(st, 0);
    s_column_copy(out->id, sizeof out->id, st, 1);
    s_column_copy(out->operation, sizeof out->operation, st, 2);
    int status = job_status_parse((const char *)sqlite3_column_text(st, 3));
    if (status < 0) {
        img_error_set(IMG_E_INTERNAL, "job store: job %s has an unknown status", out->id);
        return -1;
    }
    out->status = (job_status_t)status;
    out->created_at = sqlite3_column_int64(st, 4); /* NULL reads as 0 */
    out->started_at = sqlite3_column_int64(st, 5);
    out->finished_at = sqlite3_column_int64(st, 6);
    if (s_column_json(st, 7, &out->params) < 0 || s_column_json(st, 8, &out->input) < 0 ||
        s_column_json(st, 9, &out->result) < 0) {
        job_clear(out);
        return -1;
    }
    s_column_copy(out->error_code, sizeof out->error_code, st, 10);
    s_column_copy(out->error_message, sizeof out->error_message, st, 11);
    out->attempts = sqlite3_column_int(st, 12);
    s_column_copy(out->lease_engine, sizeof out->lease_engine, st, 13);
    out->lease_expires = sqlite3_column_int64(st, 14);
    out->dispatch = sqlite3_column_int(st, 15);
    s_column_copy(out->lease_broker, sizeof out->lease_broker, st, 16);
    s_column_copy(out->request_id, sizeof out->request_id, st, 17);
    s_column_copy(out->client, sizeof out->client, st, 18);
    s_column_copy(out->cache_key, sizeof out->cache_key, st, 19);
    out->callback = s_column_callback(st);
    return 0;
}

/* Steps a statement that returns at most one row into out: 1 row, 0 none,
 * -1 with img_error. Runs the statement to its end so that a write commits. */
static int s_step_one(s_store_t *s, sqlite3_stmt *st, int bind_rc, job_t *out, const char *what)
{
    if (bind_rc != SQLITE_OK) {
        s_fail(s, what);
        return -1;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW) {
        s_fail(s, what);
        return -1;
    }
    if (s_row_to_job(st, out) < 0)
        return -1;
    if (sqlite3_step(st) != SQLITE_DONE) {
        s_fail(s, what);
        job_clear(out);
        return -1;
    }
    return 1;
}

/* ---- insert ---- */

/* With the lock held and a transaction open: 1 and replayed_id when the
 * client's key is remembered with the same hash, 0 when it is free (and now
 * taken by job), -1 (IMG_E_IDEMPOTENCY_MISMATCH) when it is not the same. */
static int s_idempotency(s_store_t *s, const job_t *job, const job_insert_t *opts,
                         char replayed_id[JOB_ID_LEN + 1])
{
    int64_t now = job_now_ms();
    sqlite3_stmt *st = s_stmt(s, S_IDEM_GET);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, job->client, &rc);
    s_bind_text(st, 2, opts->idempotency_key, &rc);
    s_bind_int64(st, 3, now - JOB_STORE_IDEMPOTENCY_MS, &rc);
    int step = rc == SQLITE_OK ? sqlite3_step(st) : rc;
    if (step == SQLITE_ROW) {
        bool same = strcmp((const char *)sqlite3_column_text(st, 0), opts->request_hash) == 0;
        s_column_copy(replayed_id, JOB_ID_LEN + 1, st, 1);
        sqlite3_reset(st); /* an active statement would keep its read snapshot after ROLLBACK */
        if (same)
            return 1;
        img_error_set(IMG_E_IDEMPOTENCY_MISMATCH,
                      "the Idempotency-Key was used for another request (other parameters or "
                      "other file bytes) within 24 hours");
        return -1;
    }
    if (step != SQLITE_DONE) {
        s_fail(s, "idempotency key");
        return -1;
    }
    st = s_stmt(s, S_IDEM_PUT);
    s_bind_text(st, 1, job->client, &rc);
    s_bind_text(st, 2, opts->idempotency_key, &rc);
    s_bind_text(st, 3, opts->request_hash, &rc);
    s_bind_text(st, 4, job->id, &rc);
    s_bind_int64(st, 5, now, &rc);
    return s_exec(s, st, rc, "idempotency key") < 0 ? -1 : 0;
}

static int s_insert_job(s_store_t *s, const job_t *job)
{
    sqlite3_stmt *st = s_stmt(s, S_INSERT);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, job->id, &rc);
    s_bind_text(st, 2, job->operation, &rc);
    s_bind_text(st, 3, job_status_name(job->status), &rc);
    s_bind_int64(st, 4, job->created_at > 0 ? job->created_at : job_now_ms(), &rc);
    s_bind_time(st, 5, job->status == JOB_COMPLETE ? job->finished_at : 0, &rc);
    s_bind_json(st, 6, job->params, &rc);
    s_bind_json(st, 7, job->input, &rc);
    s_bind_json(st, 8, job->status == JOB_COMPLETE ? job->result : NULL, &rc);
    s_bind_text(st, 9, job->request_id, &rc);
    s_bind_text(st, 10, job->client, &rc);
    s_bind_text(st, 11, job->cache_key, &rc);
    s_bind_time(st, 12, job->status == JOB_COMPLETE ? job->started_at : 0, &rc);
    return s_exec(s, st, rc, "insert") < 0 ? -1 : 0;
}

/* With the lock held, in the transaction that finished jobs: their pending
 * deliveries are due at now. The number made due, or -1. */
static int s_deliveries_due(s_store_t *s, int64_t now, const char *what)
{
    sqlite3_stmt *st = s_stmt(s, S_CALLBACKS_DUE);
    int rc = SQLITE_OK;
    s_bind_int64(st, 1, now, &rc);
    return s_exec(s, st, rc, what);
}

static int s_insert_callback(s_store_t *s, const job_t *job, const char *url)
{
    sqlite3_stmt *st = s_stmt(s, S_CALLBACK_PUT);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, job->id, &rc);
    s_bind_text(st, 2, url, &rc);
    if (s_exec(s, st, rc, "callback") < 0)
        return -1;
    /* a reused result: its delivery is due now */
    if (job->status == JOB_COMPLETE && s_deliveries_due(s, job_now_ms(), "callback") < 0)
        return -1;
    return 0;
}

/* With the lock held, in the insert's transaction. */
static int s_queue_room(s_store_t *s, const job_t *job, long max_queued)
{
    if (max_queued <= 0 || job->status != JOB_QUEUED)
        return 0;
    sqlite3_stmt *st = s_stmt(s, S_COUNT);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, job_status_name(JOB_QUEUED), &rc);
    if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
        s_fail(s, "count");
        return -1;
    }
    long queued = (long)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return job_store_queue_room(queued, max_queued);
}

static int s_insert_unsynced(s_store_t *s, const job_t *job, const job_insert_t *opts,
                             char replayed_id[JOB_ID_LEN + 1])
{
    pthread_mutex_lock(&s->lock);
    int result = s_exec_sql(s, "BEGIN IMMEDIATE");
    if (result == 0 && opts->idempotency_key)
        result = s_idempotency(s, job, opts, replayed_id);
    if (result == 0 && (s_queue_room(s, job, opts->max_queued) < 0 || s_insert_job(s, job) < 0 ||
                        (opts->callback_url && s_insert_callback(s, job, opts->callback_url) < 0)))
        result = -1;
    if (result < 0 || s_exec_sql(s, "COMMIT") < 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        result = -1;
    }
    pthread_mutex_unlock(&s->lock);
    return result;
}

static int s_delete(job_store_t *base, const char *id, job_t *deleted);

static int s_insert(job_store_t *base, const job_t *job, const job_insert_t *opts,
                    char replayed_id[JOB_ID_LEN + 1])
{
    s_store_t *s = (s_store_t *)base;
    int result = s_insert_unsynced(s, job, opts, replayed_id);
    /* an accepted job survives a power cut (a replay was synced before) */
    if (result == 0 && s->wal_sync && group_sync_wait(s->wal_sync) < 0) {
        img_errcode_t code = img_error_code();
        char message[256];
        snprintf(message, sizeof message, "%s", img_error_message());
        s_delete(base, job->id, NULL); /* not accepted after all */
        img_error_set(code, "%s", message);
        return -1;
    }
    if (result == 0)
        job_store_notify_changed(base, job->id);
    if (result == 0 && job->status == JOB_COMPLETE && opts->callback_url)
        job_store_notify_due(base); /* a reused result's delivery */
    return result;
}

/* ---- reads ---- */

static int s_get_by(job_store_t *base, s_stmt_t which, const char *key, job_t *out,
                    const char *what)
{
    s_store_t *s = (s_store_t *)base;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st = s_stmt(s, which);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, key, &rc);
    int found = s_step_one(s, st, rc, out, what);
    sqlite3_reset(st);
    pthread_mutex_unlock(&s->lock);
    return found;
}

static int s_get(job_store_t *base, const char *id, job_t *out)
{
    int found = s_get_by(base, S_GET, id, out, "get");
    if (found == 0)
        img_error_set(IMG_E_NOT_FOUND, "no job %s", id);
    return found == 1 ? 0 : -1;
}

static int s_find_cached(job_store_t *base, const char *cache_key, job_t *out)
{
    return s_get_by(base, S_FIND_CACHED, cache_key, out, "find cached");
}

/* Steps st, copying up to limit rows into rows; *more tells of one more. */
static int s_rows(s_store_t *s, sqlite3_stmt *st, job_t *rows, size_t limit, size_t *n, bool *more)
{
    int rc;
    *n = 0;
    *more = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == limit) {
            *more = true; /* the extra row: not returned, only tells of a next page */
            continue;
        }
        if (s_row_to_job(st, &rows[*n]) < 0)
            return -1;
        (*n)++;
    }
    if (rc != SQLITE_DONE) {
        s_fail(s, "list");
        return -1;
    }
    return 0;
}

static int s_list(job_store_t *base, const job_filter_t *filter, job_t **jobs, size_t *n,
                  int64_t *next_seq)
{
    s_store_t *s = (s_store_t *)base;
    size_t limit = (size_t)filter->limit, count = 0;
    bool more = false;
    job_t *rows = calloc(limit, sizeof *rows);
    if (!rows) {
        img_error_set(IMG_E_INTERNAL, "job store: out of memory");
        return -1;
    }
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st = s_stmt(s, S_LIST);
    int rc = SQLITE_OK;
    s_bind_int64(st, 1, filter->before_seq > 0 ? filter->before_seq : INT64_MAX, &rc);
    s_bind_int64(st, 2, filter->limit + 1, &rc); /* one more: is there a next page? */
    s_bind_text(st, 3, filter->status, &rc);
    s_bind_text(st, 4, filter->operation, &rc);
    s_bind_text(st, 5, filter->client, &rc);
    int failed =
        rc != SQLITE_OK ? (s_fail(s, "list"), -1) : s_rows(s, st, rows, limit, &count, &more);
    sqlite3_reset(st);
    pthread_mutex_unlock(&s->lock);
    if (failed) {
        for (size_t i = 0; i < count; i++)
            job_clear(&rows[i]);
        free(rows);
        return -1;
    }
    *jobs = rows;
    *n = count;
    *next_seq = more ? rows[count - 1].seq : 0;
    return 0;
}

static long s_count(job_store_t *base, job_status_t status)
{
    s_store_t *s = (s_store_t *)base;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st = s_stmt(s, S_COUNT);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, job_status_name(status), &rc);
    long count = -1;
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        count = (long)sqlite3_column_int64(st, 0);
    else
        s_fail(s, "count");
    sqlite3_reset(st);
    pthread_mutex_unlock(&s->lock);
    return count;
}

/* ---- the transitions ---- */

/* Runs a one-statement transition on job id: 1 changed, 0 not, -1 on error;
 * announces a change. bind fills the statement's parameters after ?1. */
static int s_transition(job_store_t *base, s_stmt_t which, const char *id, const char *what,
                        void (*bind)(sqlite3_stmt *st, const void *args, int *rc), const void *args)
{
    s_store_t *s = (s_store_t *)base;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st = s_stmt(s, which);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, id, &rc);
    bind(st, args, &rc);
    int changed = s_exec(s, st, rc, what);
    sqlite3_reset(st);
    pthread_mutex_unlock(&s->lock);
    if (changed > 0)
        job_store_notify_changed(base, id);
    return changed < 0 ? -1 : changed > 0;
}

static int s_claim(job_store_t *base, const char *engine, const char *broker, int64_t lease_until,
                   job_t *out)
{
    s_store_t *s = (s_store_t *)base;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st = s_stmt(s, S_CLAIM);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, engine, &rc);
    s_bind_text(st, 2, broker, &rc);
    s_bind_int64(st, 3, lease_until, &rc);
    int claimed = s_step_one(s, st, rc, out, "claim");
    sqlite3_reset(st);
    pthread_mutex_unlock(&s->lock);
    if (claimed == 1)
        job_store_notify_changed(base, out->id);
    return claimed;
}

typedef struct {
    const char *engine, *broker;
    int64_t lease_until;
} s_renew_args_t;

static void s_bind_renew(sqlite3_stmt *st, const void *args, int *rc)
{
    const s_renew_args_t *a = args;
    s_bind_text(st, 2, a->engine, rc);
    s_bind_text(st, 3, a->broker, rc);
    s_bind_int64(st, 4, a->lease_until, rc);
}

static int s_renew(job_store_t *base, const char *id, const char *engine, const char *broker,
                   int64_t lease_until)
{
    s_store_t *s = (s_store_t *)base;
    s_renew_args_t a = {engine, broker, lease_until};
    /* a lease renewal is no change anyone waits for: not announced */
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st = s_stmt(s, S_RENEW);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, id, &rc);
    s_bind_renew(st, &a, &rc);
    int changed = s_exec(s, st, rc, "renew");
    sqlite3_reset(st);
    pthread_mutex_unlock(&s->lock);
    return changed < 0 ? -1 : changed > 0;
}

typedef struct {
    int dispatch;
    int64_t now;
} s_started_args_t;

static void s_bind_started(sqlite3_stmt *st, const void *args, int *rc)
{
    const s_started_args_t *a = args;
    s_bind_int64(st, 2, a->dispatch, rc);
    s_bind_int64(st, 3, a->now, rc);
}

static int s_mark_started(job_store_t *base, const char *id, int dispatch, int64_t now)
{
    s_started_args_t a = {dispatch, now};
    return s_transition(base, S_STARTED, id, "mark started", s_bind_started, &a);
}

static int s_finish(job_store_t *base, const char *id, int dispatch, const json_t *result,
                    const char *error_code, const char *error_message, int64_t now)
{
    s_store_t *s = (s_store_t *)base;
    bool failed = error_code != NULL;
    int changed = -1, due = 0;
    pthread_mutex_lock(&s->lock);
    if (s_exec_sql(s, "BEGIN IMMEDIATE") < 0)
        goto done;
    sqlite3_stmt *st = s_stmt(s, S_FINISH);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, id, &rc);
    s_bind_int64(st, 2, dispatch, &rc);
    s_bind_text(st, 3, job_status_name(failed ? JOB_FAILED : JOB_COMPLETE), &rc);
    s_bind_json(st, 4, failed ? NULL : result, &rc);
    s_bind_text(st, 5, error_code, &rc);
    s_bind_text(st, 6, failed ? (error_message && *error_message ? error_message : "failed") : NULL,
                &rc);
    s_bind_int64(st, 7, now, &rc);
    changed = s_exec(s, st, rc, "finish");
    if (changed > 0 && (due = s_deliveries_due(s, now, "finish")) < 0)
        changed = -1;
    if (changed < 0 || s_exec_sql(s, "COMMIT") < 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        changed = -1;
    }
done:
    pthread_mutex_unlock(&s->lock);
    if (changed > 0)
        job_store_notify_changed(base, id);
    if (changed > 0 && due > 0)
        job_store_notify_due(base);
    return changed < 0 ? -1 : changed > 0;
}

static void s_bind_dispatch(sqlite3_stmt *st, const void *args, int *rc)
{
    s_bind_int64(st, 2, *(const int *)args, rc);
}

static int s_requeue(job_store_t *base, const char *id, int dispatch)
{
    return s_transition(base, S_REQUEUE, id, "requeue", s_bind_dispatch, &dispatch);
}

static int s_release_engine(job_store_t *base, const char *engine, const char *broker)
{
    s_store_t *s = (s_store_t *)base;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st = s_stmt(s, S_RELEASE);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, engine, &rc);
    s_bind_text(st, 2, broker, &rc);
    int changed = s_exec(s, st, rc, "release engine");
    sqlite3_reset(st);
    pthread_mutex_unlock(&s->lock);
    return changed;
}

/* Runs st (a statement RETURNING one id per row) to its end, collecting up
 * to max ids; the number of rows, -1 with img_error. */
static int s_collect_ids(s_store_t *s, sqlite3_stmt *st, char (*ids)[JOB_ID_LEN + 1], int max,
                         const char *what)
{
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n < max)
            s_column_copy(ids[n], JOB_ID_LEN + 1, st, 0);
        n++;
    }
    if (rc != SQLITE_DONE) {
        s_fail(s, what);
        return -1;
    }
    return n;
}

static int s_expire(job_store_t *base, int64_t now, int max_attempts)
{
    s_store_t *s = (s_store_t *)base;
    char(*ids)[JOB_ID_LEN + 1] = calloc(S_MAX_CHANGED, sizeof *ids);
    int n = -1, due = 0;
    if (!ids) {
        img_error_set(IMG_E_INTERNAL, "job store: out of memory");
        return -1;
    }
    pthread_mutex_lock(&s->lock);
    if (s_exec_sql(s, "BEGIN IMMEDIATE") < 0)
        goto done;
    sqlite3_stmt *st = s_stmt(s, S_EXPIRE);
    int rc = SQLITE_OK;
    s_bind_int64(st, 1, now, &rc);
    s_bind_int64(st, 2, max_attempts, &rc);
    s_bind_text(st, 3, img_error_code_name(IMG_E_WORKER_LOST), &rc);
    n = rc == SQLITE_OK ? s_collect_ids(s, st, ids, S_MAX_CHANGED, "expire")
                        : (s_fail(s, "expire"), -1);
    sqlite3_reset(st);
    if (n > 0 && (due = s_deliveries_due(s, now, "expire")) < 0) /* the jobs failed now */
        n = -1;
    if (n < 0 || s_exec_sql(s, "COMMIT") < 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        n = -1;
    }
done:
    pthread_mutex_unlock(&s->lock);
    for (int i = 0; i < n && i < S_MAX_CHANGED; i++)
        job_store_notify_changed(base, ids[i]);
    if (n > 0 && due > 0)
        job_store_notify_due(base);
    free(ids);
    return n;
}

static int s_delete(job_store_t *base, const char *id, job_t *deleted)
{
    s_store_t *s = (s_store_t *)base;
    job_t local = {0};
    int found = -1;
    pthread_mutex_lock(&s->lock);
    if (s_exec_sql(s, "BEGIN IMMEDIATE") < 0)
        goto done;
    sqlite3_stmt *st = s_stmt(s, S_DELETE);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, id, &rc);
    found = s_step_one(s, st, rc, deleted ? deleted : &local, "delete");
    sqlite3_reset(st);
    for (s_stmt_t extra = S_DELETE_CALLBACK; found == 1 && extra <= S_DELETE_IDEMPOTENCY; extra++) {
        st = s_stmt(s, extra);
        rc = SQLITE_OK;
        s_bind_text(st, 1, id, &rc);
        if (s_exec(s, st, rc, "delete") < 0)
            found = -1;
    }
    if (found < 0 || s_exec_sql(s, "COMMIT") < 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        found = -1;
    }
done:
    pthread_mutex_unlock(&s->lock);
    job_clear(&local);
    if (found == 0)
        img_error_set(IMG_E_NOT_FOUND, "no job %s", id);
    if (found == 1)
        job_store_notify_changed(base, id);
    return found == 1 ? 0 : -1;
}

static void s_free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

/* The purge's DELETE ... RETURNING id, collected; then the callbacks and
 * idempotency keys that went with them or expired. */
static int s_purge_rows(s_store_t *s, int64_t before, char ***ids, size_t *n)
{
    size_t cap = 0;
    sqlite3_stmt *st = s_stmt(s, S_PURGE);
    int rc = SQLITE_OK;
    s_bind_int64(st, 1, before, &rc);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        if (*n == cap) {
            size_t grown_cap = cap ? cap * 2 : 16;
            char **grown = realloc(*ids, grown_cap * sizeof *grown);
            if (!grown)
                continue; /* the rows are gone anyway: step to the end */
            *ids = grown;
            cap = grown_cap;
        }
        if (((*ids)[*n] = strdup((const char *)sqlite3_column_text(st, 0))))
            (*n)++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        s_fail(s, "purge");
        return -1;
    }
    int removed = sqlite3_changes(s->db);
    st = s_stmt(s, S_PURGE_EXTRAS);
    if (s_exec(s, st, SQLITE_OK, "purge") < 0)
        return -1;
    st = s->purge_idempotency;
    sqlite3_reset(st);
    rc = SQLITE_OK;
    s_bind_int64(st, 1, job_now_ms() - JOB_STORE_IDEMPOTENCY_MS, &rc);
    return s_exec(s, st, rc, "purge") < 0 ? -1 : removed;
}

static int s_purge(job_store_t *base, int64_t before, job_removed_fn fn, void *arg)
{
    s_store_t *s = (s_store_t *)base;
    char **ids = NULL;
    size_t n = 0;
    int removed = -1;
    pthread_mutex_lock(&s->lock);
    if (s_exec_sql(s, "BEGIN IMMEDIATE") == 0) {
        removed = s_purge_rows(s, before, &ids, &n);
        if (removed < 0 || s_exec_sql(s, "COMMIT") < 0) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            removed = -1;
            s_free_ids(ids, n);
            ids = NULL;
            n = 0;
        }
    }
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < n; i++) {
        if (fn)
            fn(ids[i], arg);
        job_store_notify_changed(base, ids[i]);
    }
    s_free_ids(ids, n);
    return removed;
}

/* ---- the webhook outbox ---- */

static int s_outbox_claim(job_store_t *base, int64_t now, int64_t lease_until, job_delivery_t *out,
                          int max)
{
    s_store_t *s = (s_store_t *)base;
    int n = 0, rc = SQLITE_OK;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st = s_stmt(s, S_OUTBOX_CLAIM);
    s_bind_int64(st, 1, now, &rc);
    s_bind_int64(st, 2, lease_until, &rc);
    s_bind_int64(st, 3, max, &rc);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        if (n == max)
            continue;
        s_column_copy(out[n].id, sizeof out[n].id, st, 0);
        s_column_copy(out[n].url, sizeof out[n].url, st, 1);
        out[n].attempts = sqlite3_column_int(st, 2);
        n++;
    }
    if (rc != SQLITE_DONE) {
        s_fail(s, "outbox claim");
        n = -1;
    }
    sqlite3_reset(st);
    pthread_mutex_unlock(&s->lock);
    return n;
}

typedef struct {
    int status;
    bool delivered;
    int64_t retry_at;
} s_record_args_t;

static void s_bind_record(sqlite3_stmt *st, const void *args, int *rc)
{
    const s_record_args_t *a = args;
    s_bind_int64(st, 2, a->status, rc);
    s_bind_int64(st, 3, a->delivered, rc);
    s_bind_int64(st, 4, a->retry_at, rc);
}

static int s_outbox_record(job_store_t *base, const char *id, int status, bool delivered,
                           int64_t retry_at)
{
    s_record_args_t a = {status, delivered, retry_at};
    int changed = s_transition(base, S_OUTBOX_RECORD, id, "outbox record", s_bind_record, &a);
    return changed < 0 ? -1 : 0;
}

/* ---- open / destroy ---- */

static int s_publish_progress(job_store_t *base, const char *id, int percent)
{
    /* one process: the listener is this process's own */
    job_store_notify_progress(base, id, percent);
    return 0;
}

static void s_destroy(job_store_t *base)
{
    s_store_t *s = (s_store_t *)base;
    for (int i = 0; i < S_STMT_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_finalize(s->purge_idempotency);
    group_sync_destroy(&s->wal_sync);
    if (s->db)
        sqlite3_exec(s->db, "PRAGMA optimize", NULL, NULL, NULL); /* planner statistics */
    sqlite3_close_v2(s->db); /* in WAL mode the last connection checkpoints */
    pthread_mutex_destroy(&s->lock);
    job_store_base_clear(base);
    free(s);
}

static int s_pragma_text(s_store_t *s, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    out[0] = '\0';
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(st, 0);
        snprintf(out, cap, "%s", text ? (const char *)text : "");
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK && rc != SQLITE_DONE)
        s_fail(s, sql);
    sqlite3_finalize(st);
    return rc == SQLITE_OK || rc == SQLITE_DONE ? 0 : -1;
}

/* Brings the schema to S_SCHEMA_VERSION in one IMMEDIATE transaction, so two
 * processes opening a new file at once do not both migrate it. */
static int s_migrate(s_store_t *s)
{
    char text[32];
    if (s_exec_sql(s, "BEGIN IMMEDIATE") < 0)
        return -1;
    if (s_pragma_text(s, "PRAGMA user_version", text, sizeof text) < 0)
        goto fail;
    int version = atoi(text);
    if (version > S_SCHEMA_VERSION) {
        img_error_set(IMG_E_INTERNAL,
                      "job store: the database has schema version %d, newer than this "
                      "program's %d",
                      version, S_SCHEMA_VERSION);
        goto fail;
    }
    for (int v = version; v < S_SCHEMA_VERSION; v++)
        if (s_exec_sql(s, s_migrations[v]) < 0)
            goto fail;
    if (version < S_SCHEMA_VERSION) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", S_SCHEMA_VERSION);
        if (s_exec_sql(s, sql) < 0)
            goto fail;
    }
    if (s_exec_sql(s, "COMMIT") < 0)
        goto fail;
    return 0;

fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

/* PRAGMA journal_mode = WAL into mode, tried again (up to the busy timeout)
 * while other connections hold the file: the switch needs it alone, and
 * SQLite answers SQLITE_BUSY at once, without the busy handler, when two
 * connections opening a new file would wait on each other. */
static int s_set_wal(s_store_t *s, char *mode, size_t cap)
{
    for (int waited = 0;; waited += S_WAL_RETRY_MS) {
        if (s_pragma_text(s, "PRAGMA journal_mode = WAL", mode, cap) == 0)
            return 0;
        int code = sqlite3_errcode(s->db);
        if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) || waited >= S_BUSY_TIMEOUT_MS)
            return -1;
        sqlite3_sleep(S_WAL_RETRY_MS);
    }
}

static int s_configure(s_store_t *s)
{
    char mode[16];
    if (sqlite3_busy_timeout(s->db, S_BUSY_TIMEOUT_MS) != SQLITE_OK) {
        s_fail(s, "busy timeout");
        return -1;
    }
    if (s_set_wal(s, mode, sizeof mode) < 0)
        return -1;
    if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0) {
        img_error_set(IMG_E_INTERNAL, "job store: cannot use WAL mode (journal mode is %s)", mode);
        return -1;
    }
    if (s_exec_sql(s, "PRAGMA synchronous = NORMAL") < 0)
        return -1;
    return s_migrate(s);
}

/* After s_configure: the WAL exists (the migration check wrote to it). */
static int s_open_wal_sync(s_store_t *s)
{
    const char *db_file = sqlite3_db_filename(s->db, "main");
    if (!db_file || !*db_file) /* in memory */
        return 0;
    s->wal_sync = group_sync_new(sqlite3_filename_wal(db_file));
    return s->wal_sync ? 0 : -1;
}

static int s_prepare_all(s_store_t *s)
{
    for (int i = 0; i < S_STMT_COUNT; i++)
        if (sqlite3_prepare_v3(s->db, s_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL) !=
            SQLITE_OK) {
            s_fail(s, "prepare");
            return -1;
        }
    if (sqlite3_prepare_v3(s->db, s_purge_idempotency, -1, SQLITE_PREPARE_PERSISTENT,
                           &s->purge_idempotency, NULL) != SQLITE_OK) {
        s_fail(s, "prepare");
        return -1;
    }
    return 0;
}

job_store_t *job_store_open_sqlite(const char *path)
{
    assert(path);
    s_store_t *s = calloc(1, sizeof *s);
    if (!s) {
        img_error_set(IMG_E_INTERNAL, "job store: out of memory");
        return NULL;
    }
    job_store_base_init(&s->base, &s_ops);
    pthread_mutex_init(&s->lock, NULL);
    /* NOMUTEX: the connection is only used under s->lock. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        img_error_set(IMG_E_INTERNAL, "job store: cannot open %s: %s", path,
                      s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    if (s_configure(s) < 0 || s_prepare_all(s) < 0 || s_open_wal_sync(s) < 0)
        goto fail;
    return &s->base;

fail:
    s_destroy(&s->base);
    return NULL;
}

static const job_store_ops_t s_ops = {
    .name = "sqlite",
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
