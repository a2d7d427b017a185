/* job_store_sqlite — the embedded job store: one SQLite file in WAL mode.
 *
 * One connection, guarded by one pthread mutex: every call takes the lock,
 * runs ONE statement (a single INSERT, UPDATE ... RETURNING, DELETE ...
 * RETURNING or SELECT, each atomic by itself in autocommit mode), copies the
 * rows out and lets go, so the lock is never held for long and never across
 * a callback. Opening takes one short transaction for the schema.
 * Other processes may open the same file: SQLite's own write lock (with
 * busy_timeout) keeps each statement atomic between connections too, so a
 * job is never claimed twice.
 *
 * Durability: journal_mode=WAL. The insert of a new job commits with
 * synchronous=FULL (the WAL is fsynced before the 202 is sent, so a power
 * cut or kernel crash cannot lose an accepted job); every later update
 * (claim, started, renew, finish, expire) commits with NORMAL, which is safe
 * from corruption and from a crash of either program, and at worst loses
 * the last updates to a power cut — the job then runs again, which the
 * at-least-once protocol allows. Syncing every update cost a fifth of the
 * throughput of small jobs. (A FULL commit also makes every earlier NORMAL
 * one durable.)
 *
 * Schema versions are kept in PRAGMA user_version; s_migrations[v] takes the
 * schema from version v to v + 1. Times are int64 ms since the epoch, NULL
 * in the database for "not yet" (0 in job_t). JSON fields are stored as text.
 */
#include "job_store_impl.h"

#include "img_error.h"

#include <assert.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_BUSY_TIMEOUT_MS 5000

/* Column order read by s_row_to_job. */
#define S_COLS                                                                                     \
    "seq, id, operation, status, created_at, started_at, finished_at, params, input, result, "     \
    "error_code, error_message, attempts, lease_owner, lease_expires, dispatches"

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
    /* attempts counts the tries charged against max_attempts; dispatches
     * numbers every hand-out and never repeats, so a late completion from an
     * earlier dispatch is always recognised */
    " dispatches INTEGER NOT NULL DEFAULT 0,"
    /* the last dispatch its worker said it started */
    " started_dispatch INTEGER NOT NULL DEFAULT 0);"
    /* claim (oldest queued), count and list by status (newest first) */
    "CREATE INDEX jobs_status_seq ON jobs(status, seq);"
    /* list by operation, newest first */
    "CREATE INDEX jobs_operation_seq ON jobs(operation, seq);"
    /* lapsed leases (status = 'processing' AND lease_expires < now) */
    "CREATE INDEX jobs_lease ON jobs(status, lease_expires);"
    /* purge (status IN ('complete', 'failed') AND finished_at < before) */
    "CREATE INDEX jobs_finished ON jobs(status, finished_at);",
};
#define S_SCHEMA_VERSION ((int)(sizeof s_migrations / sizeof s_migrations[0]))

typedef enum {
    S_INSERT,
    S_GET,
    S_LIST_ALL,
    S_LIST_STATUS,
    S_LIST_OPERATION,
    S_LIST_BOTH,
    S_COUNT,
    S_CLAIM,
    S_RENEW,
    S_FINISH,
    S_REQUEUE,
    S_RELEASE,
    S_EXPIRE,
    S_STARTED,
    S_DELETE,
    S_PURGE,
    S_STMT_COUNT
} s_stmt_t;

/* In list statements: ?1 before_seq, ?2 limit, ?3 status, ?4 operation. */
/* The current dispatch started on its worker: its loss counts as an attempt. */
#define S_CHARGED "started_dispatch >= dispatches"
#define S_LIST_TAIL " seq < ?1 ORDER BY seq DESC LIMIT ?2"

static const char *const s_sql[S_STMT_COUNT] = {
    [S_INSERT] = "INSERT INTO jobs (id, operation, status, created_at, params, input, attempts)"
                 " VALUES (?1, ?2, 'queued', ?3, ?4, ?5, 0)",
    [S_GET] = "SELECT " S_COLS " FROM jobs WHERE id = ?1",
    [S_LIST_ALL] = "SELECT " S_COLS " FROM jobs WHERE" S_LIST_TAIL,
    [S_LIST_STATUS] = "SELECT " S_COLS " FROM jobs WHERE status = ?3 AND" S_LIST_TAIL,
    [S_LIST_OPERATION] = "SELECT " S_COLS " FROM jobs WHERE operation = ?4 AND" S_LIST_TAIL,
    [S_LIST_BOTH] =
        "SELECT " S_COLS " FROM jobs WHERE status = ?3 AND operation = ?4 AND" S_LIST_TAIL,
    [S_COUNT] = "SELECT count(*) FROM jobs WHERE status = ?1",
    [S_CLAIM] = "UPDATE jobs SET status = 'processing', attempts = attempts + 1,"
                " dispatches = dispatches + 1,"
                " lease_owner = ?2, lease_expires = ?3"
                " WHERE seq = (SELECT seq FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1)"
                " RETURNING " S_COLS,
    [S_RENEW] = "UPDATE jobs SET lease_expires = ?3"
                " WHERE id = ?1 AND status = 'processing' AND lease_owner = ?2",
    [S_FINISH] = "UPDATE jobs SET status = ?3, result = ?4, error_code = ?5, error_message = ?6,"
                 " finished_at = ?7, lease_owner = NULL, lease_expires = NULL"
                 " WHERE id = ?1 AND status = 'processing' AND dispatches = ?2",
    /* a job handed back is not charged an attempt: it was not its fault. It
     * may already be back in the queue if its worker was declared lost first. */
    [S_REQUEUE] = "UPDATE jobs SET status = 'queued', attempts = max(attempts - 1, 0),"
                  " lease_owner = NULL, lease_expires = NULL"
                  " WHERE id = ?1 AND dispatches = ?2 AND (status = 'processing'"
                  " OR (status = 'queued' AND lease_owner IS NOT NULL))",
    /* ends the leases now; the next expire requeues or fails the jobs */
    [S_RELEASE] = "UPDATE jobs SET lease_expires = 0"
                  " WHERE status = 'processing' AND lease_owner = ?1 AND lease_expires > 0",
    /* ?1 now, ?2 max_attempts, ?3 the worker_lost code. A lapsed dispatch that
     * never started (no `started` from its worker) is not charged; one that
     * started is, and fails the job once attempts reach max_attempts.
     * (SQLite evaluates every SET expression on the old row.) */
    [S_EXPIRE] =
        "UPDATE jobs SET"
        " status = CASE WHEN " S_CHARGED " AND attempts >= ?2 THEN 'failed' ELSE 'queued' END,"
        " attempts = CASE WHEN " S_CHARGED " THEN attempts ELSE max(attempts - 1, 0) END,"
        " error_code = CASE WHEN " S_CHARGED " AND attempts >= ?2 THEN ?3 ELSE error_code END,"
        " error_message = CASE WHEN NOT (" S_CHARGED " AND attempts >= ?2) THEN error_message"
        "  WHEN attempts = 1 THEN 'the job was attempted once and its worker was lost or timed out'"
        "  ELSE printf('the job was attempted %d times and its worker was lost or timed out"
        " each time', attempts) END,"
        " finished_at = CASE WHEN " S_CHARGED " AND attempts >= ?2 THEN ?1 ELSE finished_at END,"
        /* the lost holder of a charged dispatch stays named until the next
         * claim, so that a late hand-back of it can still un-charge it (once:
         * an uncharged one is not named, so it is not un-charged twice) */
        " lease_owner = CASE WHEN " S_CHARGED " AND attempts < ?2 THEN lease_owner ELSE NULL END,"
        " lease_expires = NULL"
        " WHERE status = 'processing' AND lease_expires < ?1",
    /* started_at: when a worker first began the job (not when it was claimed) */
    [S_STARTED] = "UPDATE jobs SET started_dispatch = ?2, started_at = coalesce(started_at, ?3)"
                  " WHERE id = ?1 AND status = 'processing' AND dispatches = ?2",
    [S_DELETE] = "DELETE FROM jobs WHERE id = ?1 RETURNING " S_COLS,
    [S_PURGE] = "DELETE FROM jobs WHERE finished_at < ?1 AND status IN ('complete', 'failed')"
                " RETURNING id",
};

typedef struct {
    job_store_t base; /* first: job_store_t * <-> s_store_t * */
    sqlite3 *db;
    pthread_mutex_t lock;
    sqlite3_stmt *stmt[S_STMT_COUNT];
} s_store_t;

static const job_store_ops_t s_ops;

/* ---- helpers (all called with the lock held) ---- */

static sqlite3_stmt *s_begin(s_store_t *s, s_stmt_t which)
{
    pthread_mutex_lock(&s->lock);
    return s->stmt[which];
}

static void s_end(s_store_t *s, sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    pthread_mutex_unlock(&s->lock);
}

static void s_fail(s_store_t *s, const char *what)
{
    img_error_set(IMG_E_INTERNAL, "job store: %s: %s", what, sqlite3_errmsg(s->db));
}

/* The bind helpers do nothing once *rc holds an error, so a caller binds all
 * its parameters and checks once. */
static void s_bind_text(sqlite3_stmt *st, int i, const char *text, int *rc)
{
    if (*rc == SQLITE_OK)
        *rc =
            text ? sqlite3_bind_text(st, i, text, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

static void s_bind_int64(sqlite3_stmt *st, int i, int64_t v, int *rc)
{
    if (*rc == SQLITE_OK)
        *rc = sqlite3_bind_int64(st, i, v);
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
    if (!text) {
        *rc = SQLITE_NOMEM;
        return;
    }
    *rc = sqlite3_bind_text(st, i, text, -1, free); /* sqlite frees text, even on error */
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

/* Fills out from the current row (S_COLS order). 0, or -1 with img_error and
 * out cleared. */
static int s_row_to_job(sqlite3_stmt *st, job_t *out)
{
    memset(out, 0, sizeof *out);
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
    s_column_copy(out->lease_owner, sizeof out->lease_owner, st, 13);
    out->lease_expires = sqlite3_column_int64(st, 14);
    out->dispatches = sqlite3_column_int(st, 15);
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

/* ---- the operations ---- */

static int s_exec_sql(sqlite3 *db, const char *sql);

static int s_insert(job_store_t *base, const job_t *job)
{
    s_store_t *s = (s_store_t *)base;
    sqlite3_stmt *st = s_begin(s, S_INSERT);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, job->id, &rc);
    s_bind_text(st, 2, job->operation, &rc);
    s_bind_int64(st, 3, job->created_at > 0 ? job->created_at : job_now_ms(), &rc);
    s_bind_json(st, 4, job->params, &rc);
    s_bind_json(st, 5, job->input, &rc);
    int result = -1;
    /* an accepted job survives a power cut: this one commit syncs the WAL */
    if (rc == SQLITE_OK && s_exec_sql(s->db, "PRAGMA synchronous = FULL") < 0)
        rc = SQLITE_ERROR;
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_DONE)
        result = 0;
    else if (rc == SQLITE_OK && sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_UNIQUE)
        img_error_set(IMG_E_INTERNAL, "job store: a job %s already exists", job->id);
    else
        s_fail(s, "insert");
    if (s_exec_sql(s->db, "PRAGMA synchronous = NORMAL") < 0)
        result = -1;
    s_end(s, st);
    return result;
}

static int s_get(job_store_t *base, const char *id, job_t *out)
{
    s_store_t *s = (s_store_t *)base;
    sqlite3_stmt *st = s_begin(s, S_GET);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, id, &rc);
    int found = s_step_one(s, st, rc, out, "get");
    s_end(s, st);
    if (found == 0)
        img_error_set(IMG_E_NOT_FOUND, "no job %s", id);
    return found == 1 ? 0 : -1;
}

static int s_list(job_store_t *base, const job_filter_t *filter, job_t **jobs, size_t *n,
                  int64_t *next_seq)
{
    s_store_t *s = (s_store_t *)base;
    size_t limit = (size_t)filter->limit;
    job_t *rows = calloc(limit, sizeof *rows);
    if (!rows) {
        img_error_set(IMG_E_INTERNAL, "job store: out of memory");
        return -1;
    }
    s_stmt_t which = filter->status ? (filter->operation ? S_LIST_BOTH : S_LIST_STATUS)
                                    : (filter->operation ? S_LIST_OPERATION : S_LIST_ALL);
    sqlite3_stmt *st = s_begin(s, which);
    int rc = SQLITE_OK;
    s_bind_int64(st, 1, filter->before_seq > 0 ? filter->before_seq : INT64_MAX, &rc);
    s_bind_int64(st, 2, filter->limit + 1, &rc); /* one more: is there a next page? */
    if (filter->status)
        s_bind_text(st, 3, filter->status, &rc);
    if (filter->operation)
        s_bind_text(st, 4, filter->operation, &rc);
    size_t count = 0;
    bool more = false;
    if (rc != SQLITE_OK) {
        s_fail(s, "list");
        goto fail_locked;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == limit) {
            more = true; /* the extra row: not returned, only tells of a next page */
            continue;
        }
        if (s_row_to_job(st, &rows[count]) < 0)
            goto fail_locked;
        count++;
    }
    if (rc != SQLITE_DONE) {
        s_fail(s, "list");
        goto fail_locked;
    }
    s_end(s, st);
    *jobs = rows;
    *n = count;
    *next_seq = more ? rows[count - 1].seq : 0;
    return 0;

fail_locked:
    s_end(s, st);
    for (size_t i = 0; i < count; i++)
        job_clear(&rows[i]);
    free(rows);
    return -1;
}

static long s_count(job_store_t *base, job_status_t status)
{
    s_store_t *s = (s_store_t *)base;
    sqlite3_stmt *st = s_begin(s, S_COUNT);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, job_status_name(status), &rc);
    long count = -1;
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        count = (long)sqlite3_column_int64(st, 0);
    else
        s_fail(s, "count");
    s_end(s, st);
    return count;
}

static int s_claim(job_store_t *base, const char *worker, int64_t lease_until, job_t *out)
{
    s_store_t *s = (s_store_t *)base;
    sqlite3_stmt *st = s_begin(s, S_CLAIM);
    int rc = SQLITE_OK;
    s_bind_text(st, 2, worker, &rc);
    s_bind_int64(st, 3, lease_until, &rc);
    int claimed = s_step_one(s, st, rc, out, "claim");
    s_end(s, st);
    return claimed;
}

static int s_renew(job_store_t *base, const char *id, const char *worker, int64_t lease_until)
{
    s_store_t *s = (s_store_t *)base;
    sqlite3_stmt *st = s_begin(s, S_RENEW);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, id, &rc);
    s_bind_text(st, 2, worker, &rc);
    s_bind_int64(st, 3, lease_until, &rc);
    int changed = s_exec(s, st, rc, "renew");
    s_end(s, st);
    return changed < 0 ? -1 : changed > 0;
}

static int s_finish(job_store_t *base, const char *id, int attempt, const json_t *result,
                    const char *error_code, const char *error_message, int64_t now)
{
    s_store_t *s = (s_store_t *)base;
    bool failed = error_code != NULL;
    sqlite3_stmt *st = s_begin(s, S_FINISH);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, id, &rc);
    s_bind_int64(st, 2, attempt, &rc);
    s_bind_text(st, 3, job_status_name(failed ? JOB_FAILED : JOB_COMPLETE), &rc);
    s_bind_json(st, 4, failed ? NULL : result, &rc);
    s_bind_text(st, 5, error_code, &rc);
    s_bind_text(st, 6, failed ? (error_message ? error_message : "") : NULL, &rc);
    s_bind_int64(st, 7, now, &rc);
    int changed = s_exec(s, st, rc, "finish");
    s_end(s, st);
    return changed < 0 ? -1 : changed > 0;
}

static int s_requeue(job_store_t *base, const char *id, int attempt)
{
    s_store_t *s = (s_store_t *)base;
    sqlite3_stmt *st = s_begin(s, S_REQUEUE);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, id, &rc);
    s_bind_int64(st, 2, attempt, &rc);
    int changed = s_exec(s, st, rc, "requeue");
    s_end(s, st);
    return changed < 0 ? -1 : changed > 0;
}

static int s_mark_started(job_store_t *base, const char *id, int dispatch, int64_t now)
{
    s_store_t *s = (s_store_t *)base;
    sqlite3_stmt *st = s_begin(s, S_STARTED);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, id, &rc);
    s_bind_int64(st, 2, dispatch, &rc);
    s_bind_int64(st, 3, now, &rc);
    int changed = s_exec(s, st, rc, "mark started");
    s_end(s, st);
    return changed < 0 ? -1 : changed > 0;
}

static int s_release_worker(job_store_t *base, const char *worker)
{
    s_store_t *s = (s_store_t *)base;
    sqlite3_stmt *st = s_begin(s, S_RELEASE);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, worker, &rc);
    int changed = s_exec(s, st, rc, "release worker");
    s_end(s, st);
    return changed;
}

static int s_expire(job_store_t *base, int64_t now, int max_attempts)
{
    s_store_t *s = (s_store_t *)base;
    sqlite3_stmt *st = s_begin(s, S_EXPIRE);
    int rc = SQLITE_OK;
    s_bind_int64(st, 1, now, &rc);
    s_bind_int64(st, 2, max_attempts, &rc);
    s_bind_text(st, 3, img_error_code_name(IMG_E_WORKER_LOST), &rc);
    int changed = s_exec(s, st, rc, "expire");
    s_end(s, st);
    return changed;
}

static int s_delete(job_store_t *base, const char *id, job_t *deleted)
{
    s_store_t *s = (s_store_t *)base;
    job_t local = {0};
    sqlite3_stmt *st = s_begin(s, S_DELETE);
    int rc = SQLITE_OK;
    s_bind_text(st, 1, id, &rc);
    int found = s_step_one(s, st, rc, deleted ? deleted : &local, "delete");
    s_end(s, st);
    job_clear(&local);
    if (found == 0)
        img_error_set(IMG_E_NOT_FOUND, "no job %s", id);
    return found == 1 ? 0 : -1;
}

static void s_free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

/* DELETE ... RETURNING id removes the rows in its first step, atomically;
 * the ids are collected, the lock let go, and only then is fn called. */
static int s_purge(job_store_t *base, int64_t before, job_removed_fn fn, void *arg)
{
    s_store_t *s = (s_store_t *)base;
    char **ids = NULL;
    size_t n = 0, cap = 0;
    bool oom = false;
    sqlite3_stmt *st = s_begin(s, S_PURGE);
    int rc = SQLITE_OK;
    s_bind_int64(st, 1, before, &rc);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        if (oom)
            continue; /* the rows are gone anyway: step to the end to commit */
        if (n == cap) {
            size_t new_cap = cap ? cap * 2 : 16;
            char **grown = realloc(ids, new_cap * sizeof *grown);
            if (!grown) {
                oom = true;
                continue;
            }
            ids = grown;
            cap = new_cap;
        }
        ids[n] = strdup((const char *)sqlite3_column_text(st, 0));
        if (ids[n])
            n++;
        else
            oom = true;
    }
    if (rc != SQLITE_DONE) {
        s_fail(s, "purge");
        s_end(s, st);
        s_free_ids(ids, n);
        return -1;
    }
    int removed = sqlite3_changes(s->db);
    s_end(s, st);
    for (size_t i = 0; fn && i < n; i++)
        fn(ids[i], arg);
    s_free_ids(ids, n);
    if (oom) {
        img_error_set(IMG_E_INTERNAL, "job store: out of memory while purging %d jobs", removed);
        return -1;
    }
    return removed;
}

/* ---- open / destroy ---- */

static void s_destroy(job_store_t *base)
{
    s_store_t *s = (s_store_t *)base;
    for (int i = 0; i < S_STMT_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    if (s->db)
        sqlite3_exec(s->db, "PRAGMA optimize", NULL, NULL, NULL); /* planner statistics */
    sqlite3_close_v2(s->db); /* in WAL mode the last connection checkpoints */
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static int s_pragma_text(sqlite3 *db, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    out[0] = '\0';
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(st, 0);
        snprintf(out, cap, "%s", text ? (const char *)text : "");
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK && rc != SQLITE_DONE)
        img_error_set(IMG_E_INTERNAL, "job store: %s: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc == SQLITE_OK || rc == SQLITE_DONE ? 0 : -1;
}

static int s_exec_sql(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        img_error_set(IMG_E_INTERNAL, "job store: %s", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

/* Brings the schema to S_SCHEMA_VERSION in one IMMEDIATE transaction, so two
 * processes opening a new file at once do not both migrate it. */
static int s_migrate(sqlite3 *db)
{
    char text[32];
    if (s_exec_sql(db, "BEGIN IMMEDIATE") < 0)
        return -1;
    if (s_pragma_text(db, "PRAGMA user_version", text, sizeof text) < 0)
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
        if (s_exec_sql(db, s_migrations[v]) < 0)
            goto fail;
    if (version < S_SCHEMA_VERSION) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", S_SCHEMA_VERSION);
        if (s_exec_sql(db, sql) < 0)
            goto fail;
    }
    if (s_exec_sql(db, "COMMIT") < 0)
        goto fail;
    return 0;

fail:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

static int s_configure(sqlite3 *db)
{
    char mode[16];
    if (sqlite3_busy_timeout(db, S_BUSY_TIMEOUT_MS) != SQLITE_OK)
        goto fail;
    if (s_pragma_text(db, "PRAGMA journal_mode = WAL", mode, sizeof mode) < 0)
        return -1;
    if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0) {
        img_error_set(IMG_E_INTERNAL, "job store: cannot use WAL mode (journal mode is %s)", mode);
        return -1;
    }
    if (s_exec_sql(db, "PRAGMA synchronous = NORMAL") < 0)
        return -1;
    return s_migrate(db);

fail:
    img_error_set(IMG_E_INTERNAL, "job store: %s", sqlite3_errmsg(db));
    return -1;
}

job_store_t *job_store_open_sqlite(const char *path)
{
    assert(path);
    s_store_t *s = calloc(1, sizeof *s);
    if (!s) {
        img_error_set(IMG_E_INTERNAL, "job store: out of memory");
        return NULL;
    }
    s->base.ops = &s_ops;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        img_error_set(IMG_E_INTERNAL, "job store: cannot create a mutex");
        free(s);
        return NULL;
    }
    /* NOMUTEX: the connection is only used under s->lock. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        img_error_set(IMG_E_INTERNAL, "job store: cannot open %s: %s", path,
                      s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    if (s_configure(s->db) < 0)
        goto fail;
    for (int i = 0; i < S_STMT_COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, s_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL) !=
            SQLITE_OK) {
            s_fail(s, "prepare");
            goto fail;
        }
    }
    return &s->base;

fail:
    s_destroy(&s->base);
    return NULL;
}

static const job_store_ops_t s_ops = {
    .name = "sqlite",
    .destroy = s_destroy,
    .insert = s_insert,
    .get = s_get,
    .list = s_list,
    .count = s_count,
    .claim = s_claim,
    .renew = s_renew,
    .finish = s_finish,
    .requeue = s_requeue,
    .mark_started = s_mark_started,
    .release_worker = s_release_worker,
    .expire = s_expire,
    .delete_job = s_delete,
    .purge = s_purge,
};
