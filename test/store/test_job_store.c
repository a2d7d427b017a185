/* test_job_store — the job store's contract (job_store.h) on one backend:
 *
 *   test_job_store sqlite        a fresh SQLite file per test
 *   test_job_store postgresql    a fresh schema per test (its tables out of
 *                                `public`, through the URL's search_path) in
 *                                a database of the run, in the cluster whose
 *                                URL is in the file named by
 *                                IMG_TEST_PG_URL_FILE (the CTest fixture,
 *                                pg_cluster.sh), or in IMG_TEST_PG_URL
 *
 * Every test but the last few (PostgreSQL's connections) runs on both.
 * Times are made up where the store takes them as arguments; where the
 * store reads the clock itself (idempotency keys), the test ages rows with
 * SQL instead of waiting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "img_error.h"
#include "job_id.h"
#include "job_store.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HOUR_MS (3600LL * 1000)
#define WAIT_S 30 /* for a notice that must come: a hang, not a measure */

/* The backend under test, set once in main() before any test runs. */
static struct {
    bool pg;
    char base_url[1024]; /* PostgreSQL: the cluster's maintenance database */
    char db[64];         /* the run's database */
    unsigned next_schema;
} s_run;

/* ---- what a listener heard ---- */

enum { EV_MAX = 8192 };

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int n; /* changes heard (only the first EV_MAX kept) */
    char ids[EV_MAX][JOB_ID_LEN + 1];
    int n_progress;
    int n_due; /* deliveries_due notices */
    char progress_ids[64][JOB_ID_LEN + 1];
    int percents[64];
} heard_t;

static void s_heard_init(heard_t *h)
{
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->cond, NULL);
}

static void s_heard_clear(heard_t *h)
{
    pthread_cond_destroy(&h->cond);
    pthread_mutex_destroy(&h->lock);
}

static void s_on_changed(void *arg, const char *id)
{
    heard_t *h = arg;
    pthread_mutex_lock(&h->lock);
    if (h->n < EV_MAX)
        snprintf(h->ids[h->n], sizeof h->ids[0], "%s", id);
    h->n++;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

static void s_on_progress(void *arg, const char *id, int percent)
{
    heard_t *h = arg;
    pthread_mutex_lock(&h->lock);
    if (h->n_progress < 64) {
        snprintf(h->progress_ids[h->n_progress], sizeof h->progress_ids[0], "%s", id);
        h->percents[h->n_progress] = percent;
    }
    h->n_progress++;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

static void s_on_due(void *arg)
{
    heard_t *h = arg;
    pthread_mutex_lock(&h->lock);
    h->n_due++;
    pthread_mutex_unlock(&h->lock);
}

static void s_listen(job_store_t *store, heard_t *h)
{
    job_store_listen(store, &(job_store_listener_t){.changed = s_on_changed,
                                                    .progress = s_on_progress,
                                                    .deliveries_due = s_on_due,
                                                    .arg = h});
}

/* deliveries_due notices heard so far (they come on the changing thread). */
static int s_due_heard(heard_t *h)
{
    pthread_mutex_lock(&h->lock);
    int n = h->n_due;
    pthread_mutex_unlock(&h->lock);
    return n;
}

static int s_heard_mark(heard_t *h)
{
    pthread_mutex_lock(&h->lock);
    int n = h->n;
    pthread_mutex_unlock(&h->lock);
    return n;
}

/* Waits for a change of id heard at or after index `from`; its index. */
static int s_wait_changed(heard_t *h, const char *id, int from)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_S;
    int found = -1;
    pthread_mutex_lock(&h->lock);
    for (;;) {
        for (int i = from; found < 0 && i < h->n && i < EV_MAX; i++)
            if (strcmp(h->ids[i], id) == 0)
                found = i;
        if (found >= 0 || pthread_cond_timedwait(&h->cond, &h->lock, &until) != 0)
            break;
    }
    pthread_mutex_unlock(&h->lock);
    if (found < 0)
        fail_msg("no change of job '%s' heard", id);
    return found;
}

/* Whether a change of id was heard at an index in [from, to). */
static bool s_heard_between(heard_t *h, const char *id, int from, int to)
{
    bool seen = false;
    pthread_mutex_lock(&h->lock);
    for (int i = from; i < to && i < EV_MAX; i++)
        seen = seen || strcmp(h->ids[i], id) == 0;
    pthread_mutex_unlock(&h->lock);
    return seen;
}

/* Waits for the progress notice (id, percent). */
static void s_wait_progress(heard_t *h, const char *id, int percent)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_S;
    bool found = false;
    pthread_mutex_lock(&h->lock);
    for (;;) {
        for (int i = 0; !found && i < h->n_progress && i < 64; i++)
            found = strcmp(h->progress_ids[i], id) == 0 && h->percents[i] == percent;
        if (found || pthread_cond_timedwait(&h->cond, &h->lock, &until) != 0)
            break;
    }
    pthread_mutex_unlock(&h->lock);
    if (!found)
        fail_msg("no progress %d of job %s heard", percent, id);
}

/* ---- the database beside the store: raw SQL, the same on both backends ---- */

typedef struct {
    sqlite3 *lite;
    PGconn *pg;
} raw_t;

static void s_raw_open(const char *url, raw_t *r)
{
    memset(r, 0, sizeof *r);
    if (s_run.pg) {
        r->pg = PQconnectdb(url);
        if (PQstatus(r->pg) != CONNECTION_OK)
            fail_msg("cannot connect: %s", PQerrorMessage(r->pg));
        PQclear(PQexec(r->pg, "SET client_min_messages = warning"));
    } else {
        assert_int_equal(sqlite3_open(url, &r->lite), SQLITE_OK);
        sqlite3_busy_timeout(r->lite, 5000);
    }
}

static void s_raw_close(raw_t *r)
{
    PQfinish(r->pg);
    sqlite3_close(r->lite);
    memset(r, 0, sizeof *r);
}

/* The first column of the first row as text ("" for none or NULL). */
static void s_raw_text(raw_t *r, const char *sql, char *out, size_t cap)
{
    out[0] = '\0';
    if (r->pg) {
        PGresult *res = PQexec(r->pg, sql);
        ExecStatusType st = PQresultStatus(res);
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
            fail_msg("%s: %s", sql, PQresultErrorMessage(res));
        if (st == PGRES_TUPLES_OK && PQntuples(res) > 0)
            snprintf(out, cap, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        return;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(r->lite, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(r->lite));
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        fail_msg("%s: %s", sql, sqlite3_errmsg(r->lite));
    sqlite3_finalize(st);
}

static long long s_raw_int(raw_t *r, const char *sql)
{
    char text[64];
    s_raw_text(r, sql, text, sizeof text);
    return strtoll(text, NULL, 10);
}

/* ---- one fresh store per test ---- */

typedef struct {
    char dir[512];       /* SQLite: the test's folder */
    char url[1024];      /* the store's db_url */
    char schemas[4][32]; /* PostgreSQL: the schemas made for the test */
    int n_schemas, n_files;
    job_store_t *store;
    heard_t heard; /* what store's listener heard */
} fixture_t;

/* The PostgreSQL URL of database db (base_url with its path replaced), its
 * tables in schema (NULL: public). */
static void s_pg_url(const char *db, const char *schema, char *out, size_t cap)
{
    const char *base = s_run.base_url, *end = base + strlen(base);
    const char *authority = strstr(base, "://");
    assert_non_null(authority);
    const char *query = strchr(authority + 3, '?');
    const char *path = strchr(authority + 3, '/');
    if (!path || (query && path > query))
        path = query ? query : end; /* no database in the URL */
    char options[96] = "";
    if (schema)
        snprintf(options, sizeof options, "%soptions=-c%%20search_path%%3D%s", query ? "&" : "?",
                 schema);
    snprintf(out, cap, "%.*s/%s%s%s", (int)(path - base), base, db, query ? query : "", options);
}

/* Runs one statement as the cluster's administrator, in database db (NULL:
 * the one of base_url). */
static void s_admin(const char *db, const char *sql)
{
    raw_t admin;
    char url[1024], ignored[8];
    if (db)
        s_pg_url(db, NULL, url, sizeof url);
    else
        snprintf(url, sizeof url, "%s", s_run.base_url);
    s_raw_open(url, &admin);
    s_raw_text(&admin, sql, ignored, sizeof ignored);
    s_raw_close(&admin);
}

/* A new empty schema (PostgreSQL) or file (SQLite) for the test: its URL. */
static void s_fresh_url(fixture_t *f, char *out, size_t cap)
{
    if (!s_run.pg) {
        snprintf(out, cap, "%s/jobs%d.db", f->dir, f->n_files++);
        return;
    }
    assert_true(f->n_schemas < 4);
    char *schema = f->schemas[f->n_schemas++], sql[96];
    snprintf(schema, sizeof f->schemas[0], "t%u", s_run.next_schema++);
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s", schema);
    s_admin(s_run.db, sql);
    s_pg_url(s_run.db, schema, out, cap);
}

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "%s/job_store_XXXXXX", TEST_BINARY_DIR);
    assert_non_null(mkdtemp(f->dir));
    s_fresh_url(f, f->url, sizeof f->url);
    s_heard_init(&f->heard);
    f->store = job_store_open(f->url);
    if (!f->store)
        fail_msg("open: %s", img_error_message());
    assert_string_equal(job_store_backend(f->store), s_run.pg ? "postgresql" : "sqlite");
    s_listen(f->store, &f->heard);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    job_store_destroy(&f->store);
    assert_null(f->store);
    job_store_destroy(&f->store); /* harmless twice */
    s_heard_clear(&f->heard);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    for (int i = 0; i < f->n_schemas; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", f->schemas[i]);
        s_admin(s_run.db, sql);
    }
    free(f);
    return 0;
}

/* Runs one statement on the test's database beside the store. */
static void s_sql(const fixture_t *f, const char *sql)
{
    raw_t r;
    char ignored[8];
    s_raw_open(f->url, &r);
    s_raw_text(&r, sql, ignored, sizeof ignored);
    s_raw_close(&r);
}

static long long s_sql_int(const fixture_t *f, const char *sql)
{
    raw_t r;
    s_raw_open(f->url, &r);
    long long v = s_raw_int(&r, sql);
    s_raw_close(&r);
    return v;
}

/* ---- jobs ---- */

typedef struct {
    const char *op;
    int64_t created_at;
    const char *client, *cache_key, *request_id;
    const char *callback, *key, *hash;
    job_status_t status; /* queued, or complete (a reused result) */
    int64_t finished_at;
    long max_queued; /* the insert's queue bound; 0 none */
} spec_t;

static json_t *s_params(void)
{
    return json_pack("{s:i, s:s}", "width", 120, "fit", "cover");
}

static json_t *s_input(void)
{
    return json_pack("{s:i, s:i, s:s, s:i}", "width", 640, "height", 480, "format", "jpeg", "bytes",
                     12345);
}

/* Inserts a new job as spec says: job_store_insert's return; the new id in
 * id, a replayed one in replayed. */
static int s_insert_spec(job_store_t *store, const spec_t *spec, char id[JOB_ID_LEN + 1],
                         char replayed[JOB_ID_LEN + 1])
{
    job_t job = {0};
    char unused[JOB_ID_LEN + 1];
    assert_int_equal(job_id_new(job.id), 0);
    snprintf(job.operation, sizeof job.operation, "%s", spec->op ? spec->op : "resize");
    job.status = spec->status;
    job.created_at = spec->created_at ? spec->created_at : 1;
    job.finished_at = spec->finished_at;
    job.params = s_params();
    job.input = s_input();
    if (spec->status == JOB_COMPLETE)
        job.result = json_pack("{s:i, s:s}", "width", 60, "format", "png");
    snprintf(job.client, sizeof job.client, "%s", spec->client ? spec->client : "key:tester");
    snprintf(job.cache_key, sizeof job.cache_key, "%s", spec->cache_key ? spec->cache_key : "");
    snprintf(job.request_id, sizeof job.request_id, "%s", spec->request_id ? spec->request_id : "");
    job_insert_t opts = {.idempotency_key = spec->key,
                         .request_hash = spec->hash,
                         .callback_url = spec->callback,
                         .max_queued = spec->max_queued};
    img_error_clear();
    int rc = job_store_insert(store, &job, &opts, replayed ? replayed : unused);
    if (rc < 0 && getenv("TEST_VERBOSE"))
        fprintf(stderr, "insert: %s\n", img_error_message());
    if (id)
        memcpy(id, job.id, JOB_ID_LEN + 1);
    job_clear(&job);
    return rc;
}

/* Inserts a queued job of operation op; its id goes to id_out (may be NULL). */
static void s_insert(job_store_t *store, const char *op, int64_t created_at,
                     char id_out[JOB_ID_LEN + 1])
{
    spec_t spec = {.op = op, .created_at = created_at};
    assert_int_equal(s_insert_spec(store, &spec, id_out, NULL), 0);
}

/* Claims a job and has its engine say it started (the usual case); out
 * gets the job as it is then. */
static void s_claim_ok(job_store_t *store, const char *engine, int64_t lease, job_t *out)
{
    assert_int_equal(job_store_claim(store, engine, "broker-1", lease, out), 1);
    char id[JOB_ID_LEN + 1];
    memcpy(id, out->id, sizeof id);
    int dispatch = out->dispatch;
    job_clear(out);
    assert_int_equal(job_store_mark_started(store, id, dispatch, job_now_ms()), 1);
    assert_int_equal(job_store_get(store, id, out), 0);
}

/* finish (ok) with a small result. */
static int s_finish_ok(job_store_t *store, const char *id, int dispatch, int64_t now)
{
    json_t *result = json_pack("{s:i}", "width", 1);
    int rc = job_store_finish(store, id, dispatch, result, NULL, NULL, now);
    json_decref(result);
    return rc;
}

static job_status_t s_status_of(job_store_t *store, const char *id)
{
    job_t job;
    assert_int_equal(job_store_get(store, id, &job), 0);
    job_status_t status = job.status;
    job_clear(&job);
    return status;
}

static int s_attempts_of(job_store_t *store, const char *id)
{
    job_t job;
    assert_int_equal(job_store_get(store, id, &job), 0);
    int attempts = job.attempts;
    job_clear(&job);
    return attempts;
}

/* ---- insert and read ---- */

static void test_insert_get_round_trip(void **state)
{
    fixture_t *f = *state;
    char id[JOB_ID_LEN + 1];
    spec_t spec = {.op = "resize",
                   .created_at = 1700000000123,
                   .client = "key:abc",
                   .cache_key = "c0ffee",
                   .request_id = "req-42"};
    assert_int_equal(s_insert_spec(f->store, &spec, id, NULL), 0);

    job_t job;
    assert_int_equal(job_store_get(f->store, id, &job), 0);
    assert_string_equal(job.id, id);
    assert_string_equal(job.operation, "resize");
    assert_int_equal(job.status, JOB_QUEUED);
    assert_true(job.seq > 0);
    assert_int_equal(job.created_at, 1700000000123);
    assert_int_equal(job.started_at, 0);
    assert_int_equal(job.finished_at, 0);
    assert_int_equal(job.attempts, 0);
    assert_int_equal(job.dispatch, 0);
    assert_string_equal(job.lease_engine, "");
    assert_string_equal(job.lease_broker, "");
    assert_int_equal(job.lease_expires, 0);
    assert_null(job.result);
    assert_null(job.callback);
    assert_int_equal(job.progress, -1);
    assert_string_equal(job.error_code, "");
    assert_string_equal(job.client, "key:abc");
    assert_string_equal(job.cache_key, "c0ffee");
    assert_string_equal(job.request_id, "req-42");
    json_t *params = s_params(), *input = s_input();
    assert_true(json_equal(job.params, params));
    assert_true(json_equal(job.input, input));
    json_decref(params);
    json_decref(input);
    job_clear(&job);
}

static void test_get_unknown_is_not_found(void **state)
{
    fixture_t *f = *state;
    char id[JOB_ID_LEN + 1];
    job_t job;
    assert_int_equal(job_id_new(id), 0);
    img_error_clear();
    assert_int_equal(job_store_get(f->store, id, &job), -1);
    assert_int_equal(img_error_code(), IMG_E_NOT_FOUND);
}

static void test_duplicate_insert_fails(void **state)
{
    fixture_t *f = *state;
    job_t job = {0};
    assert_int_equal(job_id_new(job.id), 0);
    strcpy(job.operation, "resize");
    job.created_at = 1;
    assert_int_equal(job_store_insert(f->store, &job, NULL, NULL), 0);
    strcpy(job.operation, "dither");
    img_error_clear();
    assert_int_equal(job_store_insert(f->store, &job, NULL, NULL), -1);
    assert_int_equal(img_error_code(), IMG_E_INTERNAL);
    assert_non_null(strstr(img_error_message(), "job store: insert: "));
    assert_int_equal(job_store_count(f->store, JOB_QUEUED), 1);
    job_t got;
    assert_int_equal(job_store_get(f->store, job.id, &got), 0);
    assert_string_equal(got.operation, "resize"); /* the first one is untouched */
    job_clear(&got);
}

/* A reused result is inserted complete: never claimed, its callback due. */
static void test_insert_complete(void **state)
{
    fixture_t *f = *state;
    char id[JOB_ID_LEN + 1];
    spec_t spec = {.status = JOB_COMPLETE,
                   .finished_at = 4321,
                   .cache_key = "k",
                   .callback = "https://example.test/hook"};
    int64_t before = job_now_ms();
    assert_int_equal(s_insert_spec(f->store, &spec, id, NULL), 0);
    assert_int_equal(s_due_heard(&f->heard), 1);
    job_t job;
    assert_int_equal(job_store_get(f->store, id, &job), 0);
    assert_int_equal(job.status, JOB_COMPLETE);
    assert_int_equal(job.finished_at, 4321);
    assert_int_equal(json_integer_value(json_object_get(job.result, "width")), 60);
    assert_string_equal(json_string_value(json_object_get(job.callback, "state")), "pending");
    job_clear(&job);
    assert_int_equal(job_store_claim(f->store, "e1", "b1", 5000, &job), 0);
    job_delivery_t d[2];
    assert_int_equal(job_store_outbox_claim(f->store, before - 1, before + 1000, d, 2), 0);
    assert_int_equal(job_store_outbox_claim(f->store, job_now_ms(), INT64_MAX, d, 2), 1);
    assert_string_equal(d[0].id, id);
}

/* ---- the transitions, row by row ---- */

static void test_claim_oldest_first_and_empty(void **state)
{
    fixture_t *f = *state;
    job_t job;
    assert_int_equal(job_store_claim(f->store, "e1", "b1", 5000, &job), 0);

    char ids[3][JOB_ID_LEN + 1];
    /* created_at decreasing: the order is the order of insertion (seq) */
    for (int i = 0; i < 3; i++)
        s_insert(f->store, "resize", 3000 - i, ids[i]);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(job_store_claim(f->store, "e1", "b1", 90000 + i, &job), 1);
        assert_string_equal(job.id, ids[i]);
        assert_int_equal(job.status, JOB_PROCESSING);
        assert_int_equal(job.dispatch, 1);
        assert_int_equal(job.attempts, 0);   /* a claim is not charged */
        assert_int_equal(job.started_at, 0); /* claimed is not started */
        assert_string_equal(job.lease_engine, "e1");
        assert_string_equal(job.lease_broker, "b1");
        assert_int_equal(job.lease_expires, 90000 + i);
        assert_true(json_is_object(job.params));
        job_clear(&job);
        assert_int_equal(job_store_get(f->store, ids[i], &job), 0);
        assert_int_equal(job.status, JOB_PROCESSING);
        assert_int_equal(job.lease_expires, 90000 + i);
        job_clear(&job);
    }
    assert_int_equal(job_store_claim(f->store, "e1", "b1", 5000, &job), 0);
}

static void test_mark_started_current_dispatch_only(void **state)
{
    fixture_t *f = *state;
    char id[JOB_ID_LEN + 1], queued[JOB_ID_LEN + 1];
    job_t job;
    s_insert(f->store, "resize", 1, id);
    s_insert(f->store, "resize", 2, queued);
    assert_int_equal(job_store_mark_started(f->store, id, 1, 50), 0); /* queued */
    assert_int_equal(job_store_claim(f->store, "e1", "b1", 5000, &job), 1);
    job_clear(&job);
    assert_int_equal(job_store_mark_started(f->store, id, 2, 50), 0);
    assert_int_equal(job_store_mark_started(f->store, id, 0, 50), 0);
    assert_int_equal(job_store_get(f->store, id, &job), 0);
    assert_int_equal(job.started_at, 0);
    job_clear(&job);
    assert_int_equal(job_store_mark_started(f->store, id, 1, 100), 1);
    assert_int_equal(job_store_mark_started(f->store, id, 1, 200), 1); /* again: harmless */
    assert_int_equal(job_store_get(f->store, id, &job), 0);
    assert_int_equal(job.started_at, 100);
    job_clear(&job);
    /* handed back and dispatched again: started_at is the first start */
    assert_int_equal(job_store_requeue(f->store, id, 1), 1);
    assert_int_equal(job_store_claim(f->store, "e2", "b1", 5000, &job), 1);
    assert_string_equal(job.id, id);
    assert_int_equal(job.dispatch, 2);
    job_clear(&job);
    assert_int_equal(job_store_mark_started(f->store, id, 1, 300), 0);
    assert_int_equal(job_store_mark_started(f->store, id, 2, 300), 1);
    assert_int_equal(job_store_get(f->store, id, &job), 0);
    assert_int_equal(job.started_at, 100);
    job_clear(&job);
    assert_int_equal(job_store_finish(f->store, id, 2, NULL, "timeout", "slow", 400), 1);
    assert_int_equal(job_store_mark_started(f->store, id, 2, 500), 0); /* finished */
    assert_int_equal(job_store_get(f->store, queued, &job), 0);
    assert_int_equal(job.started_at, 0);
    job_clear(&job);
}

static void test_attempts_charged_started_at_kept(void **state)
{
    fixture_t *f = *state;
    char id[JOB_ID_LEN + 1];
    job_t job;
    s_insert(f->store, "resize", 1, id);
    s_claim_ok(f->store, "e1", 5000, &job);
    int64_t first_start = job.started_at;
    assert_true(first_start > 0);
    job_clear(&job);
    for (int dispatch = 2; dispatch <= 4; dispatch++) {
        usleep(3000); /* so that a later start would have a later time */
        assert_int_equal(job_store_release_engine(f->store, "e1", "broker-1"), 1);
        assert_int_equal(job_store_expire(f->store, 1, 100), 1);
        s_claim_ok(f->store, "e1", 5000, &job);
        assert_string_equal(job.id, id);
        assert_int_equal(job.dispatch, dispatch);
        assert_int_equal(job.attempts, dispatch - 1); /* each lost start was charged */
        assert_int_equal(job.started_at, first_start);
        job_clear(&job);
    }
}

static void test_renew_only_by_holder(void **state)
{
    fixture_t *f = *state;
    char id[JOB_ID_LEN + 1], other[JOB_ID_LEN + 1];
    job_t job;
    s_insert(f->store, "resize", 1, id);
    s_claim_ok(f->store, "e1", 5000, &job);
    job_clear(&job);

    assert_int_equal(job_store_renew(f->store, id, "e2", "broker-1", 9999), 0);
    assert_int_equal(job_store_get(f->store, id, &job), 0);
    assert_int_equal(job.lease_expires, 5000);
    job_clear(&job);

    /* the engine now talks to another replica: that broker holds the lease */
    assert_int_equal(job_store_renew(f->store, id, "e1", "broker-2", 7000), 1);
    assert_int_equal(job_store_get(f->store, id, &job), 0);
    assert_int_equal(job.lease_expires, 7000);
    assert_string_equal(job.lease_engine, "e1");
    assert_string_equal(job.lease_broker, "broker-2");
    job_clear(&job);
    assert_int_equal(job_store_release_engine(f->store, "e1", "broker-1"), 0);
    assert_int_equal(job_store_release_engine(f->store, "e1", "broker-2"), 1);

    assert_int_equal(job_id_new(other), 0);
    assert_int_equal(job_store_renew(f->store, other, "e1", "broker-1", 7000), 0);

    assert_int_equal(job_store_finish(f->store, id, 1, NULL, "timeout", "slow", 100), 1);
    assert_int_equal(job_store_renew(f->store, id, "e1", "broker-1", 8000), 0);
}

static void test_finish_applies_once(void **state)
{
    fixture_t *f = *state;
    char a[JOB_ID_LEN + 1], b[JOB_ID_LEN + 1], c[JOB_ID_LEN + 1];
    job_t job;
    s_insert(f->store, "resize", 1, a);
    s_insert(f->store, "resize", 2, b);
    s_insert(f->store, "resize", 3, c);
    s_claim_ok(f->store, "e1", 5000, &job);
    job_clear(&job);

    json_t *result = json_pack("{s:i, s:s}", "width", 60, "format", "png");
    json_t *late = json_pack("{s:i}", "width", 1);
    assert_int_equal(job_store_finish(f->store, a, 1, result, NULL, NULL, 4242), 1);
    assert_int_equal(job_store_finish(f->store, a, 1, late, NULL, NULL, 5555), 0);
    assert_int_equal(job_store_finish(f->store, a, 1, NULL, "timeout", "too slow", 6666), 0);
    assert_int_equal(job_store_get(f->store, a, &job), 0);
    assert_int_equal(job.status, JOB_COMPLETE);
    assert_true(json_equal(job.result, result));
    assert_int_equal(job.finished_at, 4242);
    assert_int_equal(job.attempts, 1);
    assert_string_equal(job.lease_engine, "");
    assert_string_equal(job.lease_broker, "");
    assert_int_equal(job.lease_expires, 0);
    assert_string_equal(job.error_code, "");
    job_clear(&job);
    assert_int_equal(result->refcount, 1); /* not stolen */

    /* another dispatch: ignored, still processing */
    s_claim_ok(f->store, "e1", 5000, &job);
    assert_string_equal(job.id, b);
    job_clear(&job);
    assert_int_equal(job_store_finish(f->store, b, 2, result, NULL, NULL, 10), 0);
    assert_int_equal(job_store_finish(f->store, b, 0, result, NULL, NULL, 10), 0);
    assert_int_equal(s_status_of(f->store, b), JOB_PROCESSING);

    /* a failure is recorded with its code and message */
    assert_int_equal(
        job_store_finish(f->store, b, 1, NULL, "processing_failed", "vips said no", 77), 1);
    assert_int_equal(job_store_get(f->store, b, &job), 0);
    assert_int_equal(job.status, JOB_FAILED);
    assert_string_equal(job.error_code, "processing_failed");
    assert_string_equal(job.error_message, "vips said no");
    assert_int_equal(job.finished_at, 77);
    assert_int_equal(job.attempts, 1);
    assert_null(job.result);
    job_clear(&job);

    /* a queued job: ignored */
    assert_int_equal(job_store_finish(f->store, c, 0, result, NULL, NULL, 10), 0);
    assert_int_equal(job_store_finish(f->store, c, 1, result, NULL, NULL, 10), 0);
    assert_int_equal(s_status_of(f->store, c), JOB_QUEUED);

    /* a failure without a message still says something */
    s_claim_ok(f->store, "e1", 5000, &job);
    job_clear(&job);
    assert_int_equal(job_store_finish(f->store, c, 1, NULL, "timeout", NULL, 11), 1);
    assert_int_equal(job_store_get(f->store, c, &job), 0);
    assert_string_equal(job.error_message, "failed");
    job_clear(&job);

    json_decref(result);
    json_decref(late);
}

static void test_requeue_only_that_dispatch(void **state)
{
    fixture_t *f = *state;
    char id[JOB_ID_LEN + 1], queued[JOB_ID_LEN + 1];
    job_t job;
    s_insert(f->store, "resize", 1, id);
    s_insert(f->store, "resize", 2, queued);
    s_claim_ok(f->store, "e1", 5000, &job);
    job_clear(&job);
    assert_int_equal(job_store_requeue(f->store, id, 2), 0);
    assert_int_equal(job_store_requeue(f->store, queued, 0), 0);
    assert_int_equal(s_status_of(f->store, id), JOB_PROCESSING);
    assert_int_equal(job_store_requeue(f->store, id, 1), 1);
    assert_int_equal(job_store_requeue(f->store, id, 1), 0);
    assert_int_equal(job_store_get(f->store, id, &job), 0);
    assert_int_equal(job.status, JOB_QUEUED);
    assert_int_equal(job.attempts, 0); /* handed back, even after its start: not charged */
    assert_int_equal(job.dispatch, 1);
    assert_string_equal(job.lease_engine, "");
    assert_string_equal(job.lease_broker, "");
    job_clear(&job);
    /* back at the head of the queue, with a new dispatch number */
    s_claim_ok(f->store, "e2", 5000, &job);
    assert_string_equal(job.id, id);
    assert_int_equal(job.attempts, 0);
    assert_int_equal(job.dispatch, 2);
    job_clear(&job);
    /* a late completion of the first dispatch changes nothing */
    assert_int_equal(s_finish_ok(f->store, id, 1, 5), 0);
    assert_int_equal(job_store_requeue(f->store, id, 1), 0);
    assert_int_equal(s_finish_ok(f->store, id, 2, 5), 1);
    assert_int_equal(s_attempts_of(f->store, id), 1);
}

/* expire, lease lapsed and not started: queued, not charged. */
static void test_unstarted_loss_not_charged(void **state)
{
    fixture_t *f = *state;
    char id[JOB_ID_LEN + 1];
    job_t job;
    s_insert(f->store, "resize", 1, id);
    for (int i = 1; i <= 5; i++) {
        assert_int_equal(job_store_claim(f->store, "e1", "b1", 1000, &job), 1);
        assert_int_equal(job.dispatch, i);
        job_clear(&job);
        assert_int_equal(job_store_expire(f->store, 2000, 2), 1);
        /* a late hand-back of that uncharged dispatch un-charges nothing */
        assert_int_equal(job_store_requeue(f->store, id, i), 0);
    }
    assert_int_equal(job_store_get(f->store, id, &job), 0);
    assert_int_equal(job.status, JOB_QUEUED);
    assert_int_equal(job.attempts, 0);
    assert_string_equal(job.lease_engine, "");
    job_clear(&job);
    /* a start of an earlier dispatch is not this one's */
    assert_int_equal(job_store_claim(f->store, "e1", "b1", 1000, &job), 1);
    job_clear(&job);
    assert_int_equal(job_store_mark_started(f->store, id, 5, 7), 0);
    assert_int_equal(job_store_mark_started(f->store, id, 6, 7), 1);
    assert_int_equal(job_store_expire(f->store, 2000, 1), 1);
    assert_int_equal(s_status_of(f->store, id), JOB_FAILED);
}

/* expire, lease lapsed and started: queued and charged, then failed with
 * worker_lost at max_attempts. */
static void test_expire_requeues_then_fails(void **state)
{
    fixture_t *f = *state;
    char id[JOB_ID_LEN + 1], live[JOB_ID_LEN + 1];
    job_t job;
    s_insert(f->store, "resize", 1, id);
    s_insert(f->store, "resize", 2, live);

    s_claim_ok(f->store, "e1", 1000, &job); /* id */
    job_clear(&job);
    s_claim_ok(f->store, "e2", 1000000, &job); /* live: lease far ahead */
    job_clear(&job);

    assert_int_equal(job_store_expire(f->store, 1000, 3), 0); /* not before the lease ends */
    assert_int_equal(job_store_expire(f->store, 2000, 3), 1);
    assert_int_equal(job_store_get(f->store, id, &job), 0);
    assert_int_equal(job.status, JOB_QUEUED);
    assert_int_equal(job.attempts, 1);
    assert_string_equal(job.lease_engine, "");
    assert_int_equal(job.lease_expires, 0);
    assert_int_equal(job.finished_at, 0);
    assert_string_equal(job.error_code, "");
    job_clear(&job);
    assert_int_equal(s_status_of(f->store, live), JOB_PROCESSING);

    for (int attempt = 2; attempt <= 3; attempt++) {
        s_claim_ok(f->store, "e1", 1000, &job);
        assert_string_equal(job.id, id);
        assert_int_equal(job.attempts, attempt - 1);
        job_clear(&job);
        assert_int_equal(job_store_expire(f->store, 2000 + attempt, 3), 1);
    }
    assert_int_equal(job_store_get(f->store, id, &job), 0);
    assert_int_equal(job.status, JOB_FAILED);
    assert_int_equal(job.attempts, 3);
    assert_string_equal(job.error_code, "worker_lost");
    assert_string_equal(job.error_message, "the job was attempted 3 times and its engine was "
                                           "lost or timed out each time");
    assert_int_equal(job.finished_at, 2003);
    assert_string_equal(job.lease_engine, "");
    job_clear(&job);
    assert_int_equal(job_store_count(f->store, JOB_QUEUED), 0);
    /* a late finish or hand-back of the lost dispatch changes nothing */
    assert_int_equal(s_finish_ok(f->store, id, 3, 3000), 0);
    assert_int_equal(job_store_requeue(f->store, id, 3), 0);
    assert_int_equal(s_status_of(f->store, id), JOB_FAILED);
    assert_int_equal(s_attempts_of(f->store, id), 3);
    assert_int_equal(s_status_of(f->store, live), JOB_PROCESSING);

    /* with one attempt allowed, the first loss fails it */
    s_insert(f->store, "resize", 3, id);
    s_claim_ok(f->store, "e1", 1000, &job);
    job_clear(&job);
    assert_int_equal(job_store_expire(f->store, 4000, 1), 1);
    assert_int_equal(job_store_get(f->store, id, &job), 0);
    assert_int_equal(job.status, JOB_FAILED);
    assert_int_equal(job.attempts, 1);
    assert_string_equal(job.error_code, "worker_lost");
    assert_string_equal(job.error_message,
                        "the job was attempted once and its engine was lost or timed out");
    job_clear(&job);
}

/* requeue (late): the hand-back of a dispatch whose lapse was charged
 * un-charges it, once, while the job waits. */
static void test_late_requeue_uncharges_once(void **state)
{
    fixture_t *f = *state;
    char id[JOB_ID_LEN + 1];
    job_t job;
    s_insert(f->store, "resize", 1, id);
    s_claim_ok(f->store, "e1", 1000, &job);
    job_clear(&job);
    assert_int_equal(job_store_expire(f->store, 2000, 5), 1);
    assert_int_equal(s_attempts_of(f->store, id), 1);
    assert_int_equal(job_store_requeue(f->store, id, 2), 0); /* not that dispatch */
    assert_int_equal(job_store_requeue(f->store, id, 1), 1);
    assert_int_equal(job_store_get(f->store, id, &job), 0);
    assert_int_equal(job.status, JOB_QUEUED);
    assert_int_equal(job.attempts, 0);
    assert_int_equal(job.dispatch, 1);
    job_clear(&job);
    assert_int_equal(job_store_requeue(f->store, id, 1), 0);
    assert_int_equal(s_attempts_of(f->store, id), 0);

    /* once dispatched again, the old hand-back is too late to count */
    s_claim_ok(f->store, "e1", 1000, &job);
    job_clear(&job);
    assert_int_equal(job_store_expire(f->store, 2000, 5), 1); /* dispatch 2 lost, charged */
    s_claim_ok(f->store, "e1", 1000, &job);                   /* dispatch 3 */
    job_clear(&job);
    assert_int_equal(job_store_requeue(f->store, id, 2), 0);
    assert_int_equal(s_attempts_of(f->store, id), 1);
    assert_int_equal(s_status_of(f->store, id), JOB_PROCESSING);
}

static void test_release_engine(void **state)
{
    fixture_t *f = *state;
    char ids[3][JOB_ID_LEN + 1];
    job_t job;
    for (int i = 0; i < 3; i++)
        s_insert(f->store, "resize", i + 1, ids[i]);
    s_claim_ok(f->store, "e1", 5000, &job);
    job_clear(&job);
    s_claim_ok(f->store, "e2", 5000, &job);
    job_clear(&job);
    s_claim_ok(f->store, "e1", 5000, &job);
    job_clear(&job);

    assert_int_equal(job_store_release_engine(f->store, "nobody", "broker-1"), 0);
    assert_int_equal(job_store_release_engine(f->store, "e1", "broker-9"), 0); /* not its broker */
    assert_int_equal(job_store_release_engine(f->store, "e1", "broker-1"), 2);
    /* the leases are over, the jobs wait for the expiry pass */
    assert_int_equal(job_store_count(f->store, JOB_PROCESSING), 3);
    assert_int_equal(job_store_get(f->store, ids[0], &job), 0);
    assert_int_equal(job.lease_expires, 0);
    assert_string_equal(job.lease_engine, "e1");
    job_clear(&job);
    assert_int_equal(job_store_expire(f->store, 1, 3), 2);
    assert_int_equal(job_store_count(f->store, JOB_QUEUED), 2);
    assert_int_equal(job_store_count(f->store, JOB_PROCESSING), 1);
    assert_int_equal(s_status_of(f->store, ids[1]), JOB_PROCESSING);
    assert_int_equal(job_store_get(f->store, ids[0], &job), 0);
    assert_int_equal(job.status, JOB_QUEUED);
    assert_int_equal(job.attempts, 1);
    job_clear(&job);
    assert_int_equal(job_store_release_engine(f->store, "e1", "broker-1"), 0);
    /* a late hand-back of that dispatch (its engine restarted after a crash
     * of another job) un-charges the attempt, once */
    assert_int_equal(job_store_requeue(f->store, ids[0], 1), 1);
    assert_int_equal(job_store_requeue(f->store, ids[0], 1), 0);
    assert_int_equal(s_attempts_of(f->store, ids[0]), 0);

    /* a job whose engine dies on its last attempt fails instead of looping */
    s_claim_ok(f->store, "e3", 5000, &job);
    job_clear(&job);
    assert_int_equal(job_store_release_engine(f->store, "e3", "broker-1"), 1);
    assert_int_equal(job_store_expire(f->store, 1, 1), 1);
    assert_int_equal(job_store_count(f->store, JOB_FAILED), 1);
}

static void test_delete(void **state)
{
    fixture_t *f = *state;
    char id[JOB_ID_LEN + 1], keep[JOB_ID_LEN + 1];
    job_t job;
    s_insert(f->store, "resize", 1, id);
    s_insert(f->store, "resize", 2, keep);
    s_claim_ok(f->store, "e7", 5000, &job);
    job_clear(&job);
    job_t gone = {0};
    assert_int_equal(job_store_delete(f->store, id, &gone), 0);
    assert_string_equal(gone.id, id); /* the row as it was: whom to tell */
    assert_int_equal(gone.status, JOB_PROCESSING);
    assert_string_equal(gone.lease_engine, "e7");
    assert_int_equal(gone.dispatch, 1);
    job_clear(&gone);
    img_error_clear();
    assert_int_equal(job_store_get(f->store, id, &job), -1);
    assert_int_equal(img_error_code(), IMG_E_NOT_FOUND);
    img_error_clear();
    assert_int_equal(job_store_delete(f->store, id, NULL), -1);
    assert_int_equal(img_error_code(), IMG_E_NOT_FOUND);
    assert_int_equal(s_status_of(f->store, keep), JOB_QUEUED);
    /* its engine's late messages find nothing */
    assert_int_equal(s_finish_ok(f->store, id, 1, 9), 0);
    assert_int_equal(job_store_requeue(f->store, id, 1), 0);
}

/* ---- list and count ---- */

/* Pages through a list; checks newest-first order and returns the ids seen. */
static size_t s_list_all(job_store_t *store, const char *status, const char *op, const char *client,
                         int limit, char (*seen)[JOB_ID_LEN + 1], size_t cap,
                         void (*between)(void *), void *arg)
{
    size_t total = 0;
    int64_t cursor = 0, last_seq = INT64_MAX;
    do {
        job_filter_t filter = {.status = status,
                               .operation = op,
                               .client = client,
                               .limit = limit,
                               .before_seq = cursor};
        job_t *jobs = NULL;
        size_t n = 99;
        assert_int_equal(job_store_list(store, &filter, &jobs, &n, &cursor), 0);
        assert_true(n <= (size_t)limit);
        for (size_t i = 0; i < n; i++) {
            assert_true(jobs[i].seq < last_seq);
            last_seq = jobs[i].seq;
            if (status)
                assert_string_equal(job_status_name(jobs[i].status), status);
            if (op)
                assert_string_equal(jobs[i].operation, op);
            if (client)
                assert_string_equal(jobs[i].client, client);
            assert_true(total < cap);
            memcpy(seen[total++], jobs[i].id, JOB_ID_LEN + 1);
            job_clear(&jobs[i]);
        }
        if (cursor)
            assert_int_equal(cursor, last_seq);
        free(jobs);
        if (between)
            between(arg);
    } while (cursor);
    return total;
}

static void s_insert_two(void *arg)
{
    s_insert(arg, "resize", 1, NULL);
    s_insert(arg, "dither", 1, NULL);
}

static void test_list_pagination(void **state)
{
    fixture_t *f = *state;
    enum { N = 25 };
    char ids[N][JOB_ID_LEN + 1];
    for (int i = 0; i < N; i++)
        s_insert(f->store, i % 2 ? "dither" : "resize", i + 1, ids[i]);

    char seen[100][JOB_ID_LEN + 1];
    /* new jobs inserted between pages are not in the walk; nothing twice or skipped */
    size_t n = s_list_all(f->store, NULL, NULL, NULL, 10, seen, 100, s_insert_two, f->store);
    assert_int_equal(n, N);
    for (int i = 0; i < N; i++)
        assert_string_equal(seen[i], ids[N - 1 - i]);

    job_t *jobs;
    size_t got;
    int64_t cursor;

    /* filters: 13 of the first 25 are resize, plus one per page boundary */
    size_t resize = s_list_all(f->store, NULL, "resize", NULL, 4, seen, 100, NULL, NULL);
    size_t dither = s_list_all(f->store, NULL, "dither", NULL, 4, seen, 100, NULL, NULL);
    assert_int_equal(resize + dither, N + 2 * 3);
    assert_int_equal(resize, 13 + 3);

    job_t job;
    for (int i = 0; i < 3; i++) {
        s_claim_ok(f->store, "e", 5000, &job); /* ids[0] resize, ids[1] dither, ids[2] */
        job_clear(&job);
    }
    n = s_list_all(f->store, "processing", NULL, NULL, 2, seen, 100, NULL, NULL);
    assert_int_equal(n, 3);
    assert_string_equal(seen[0], ids[2]);
    assert_string_equal(seen[2], ids[0]);
    n = s_list_all(f->store, "processing", "resize", NULL, 1, seen, 100, NULL, NULL);
    assert_int_equal(n, 2);
    assert_string_equal(seen[0], ids[2]);
    assert_string_equal(seen[1], ids[0]);
    n = s_list_all(f->store, "complete", NULL, NULL, 10, seen, 100, NULL, NULL);
    assert_int_equal(n, 0);
    n = s_list_all(f->store, NULL, "nothing", NULL, 10, seen, 100, NULL, NULL);
    assert_int_equal(n, 0);

    /* last page exactly full -> next_seq 0 */
    job_filter_t three = {.status = "processing", .limit = 3};
    assert_int_equal(job_store_list(f->store, &three, &jobs, &got, &cursor), 0);
    assert_int_equal(got, 3);
    assert_int_equal(cursor, 0);
    for (size_t i = 0; i < got; i++)
        job_clear(&jobs[i]);
    free(jobs);

    /* bad filters are answered, not asserted */
    job_filter_t bad = {.limit = 0};
    img_error_clear();
    assert_int_equal(job_store_list(f->store, &bad, &jobs, &got, &cursor), -1);
    assert_int_equal(img_error_code(), IMG_E_INVALID_PARAMETER);
    bad.limit = 1001;
    assert_int_equal(job_store_list(f->store, &bad, &jobs, &got, &cursor), -1);
    bad.limit = 10;
    bad.status = "sleeping";
    img_error_clear();
    assert_int_equal(job_store_list(f->store, &bad, &jobs, &got, &cursor), -1);
    assert_int_equal(img_error_code(), IMG_E_INVALID_PARAMETER);
    bad.status = NULL;
    bad.before_seq = -1;
    img_error_clear();
    assert_int_equal(job_store_list(f->store, &bad, &jobs, &got, &cursor), -1);
    assert_int_equal(img_error_code(), IMG_E_INVALID_PARAMETER);
}

static void test_list_client_filter(void **state)
{
    fixture_t *f = *state;
    enum { N = 12 };
    char ids[N][JOB_ID_LEN + 1], seen[N][JOB_ID_LEN + 1];
    for (int i = 0; i < N; i++) {
        spec_t spec = {.op = i % 3 ? "resize" : "info",
                       .client = i % 2 ? "key:alice" : "addr:10.0.0.7"};
        assert_int_equal(s_insert_spec(f->store, &spec, ids[i], NULL), 0);
    }
    /* alice's jobs only, newest first, over pages of 2 */
    size_t n = s_list_all(f->store, NULL, NULL, "key:alice", 2, seen, N, NULL, NULL);
    assert_int_equal(n, N / 2);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(seen[i], ids[N - 1 - 2 * i]);
    n = s_list_all(f->store, NULL, "info", "addr:10.0.0.7", 1, seen, N, NULL, NULL);
    assert_int_equal(n, 2); /* jobs 0 and 6 */
    assert_string_equal(seen[0], ids[6]);
    assert_string_equal(seen[1], ids[0]);
    n = s_list_all(f->store, NULL, NULL, "key:mallory", 5, seen, N, NULL, NULL);
    assert_int_equal(n, 0);
}

static void test_count(void **state)
{
    fixture_t *f = *state;
    char ids[5][JOB_ID_LEN + 1];
    job_t job;
    for (int s = JOB_QUEUED; s <= JOB_FAILED; s++)
        assert_int_equal(job_store_count(f->store, s), 0);
    for (int i = 0; i < 5; i++)
        s_insert(f->store, "resize", i + 1, ids[i]);
    for (int i = 0; i < 3; i++) {
        s_claim_ok(f->store, "e", 5000, &job);
        job_clear(&job);
    }
    assert_int_equal(s_finish_ok(f->store, ids[0], 1, 9), 1);
    assert_int_equal(job_store_finish(f->store, ids[1], 1, NULL, "timeout", "slow", 9), 1);
    assert_int_equal(job_store_count(f->store, JOB_QUEUED), 2);
    assert_int_equal(job_store_count(f->store, JOB_PROCESSING), 1);
    assert_int_equal(job_store_count(f->store, JOB_COMPLETE), 1);
    assert_int_equal(job_store_count(f->store, JOB_FAILED), 1);
}

/* ---- purge ---- */

typedef struct {
    char ids[10][JOB_ID_LEN + 1];
    int n;
} removed_t;

static void s_on_removed(const char *id, void *arg)
{
    removed_t *r = arg;
    assert_true(r->n < 10);
    snprintf(r->ids[r->n++], JOB_ID_LEN + 1, "%s", id);
}

static bool s_removed_has(const removed_t *r, const char *id)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->ids[i], id) == 0)
            return true;
    return false;
}

static void test_purge(void **state)
{
    fixture_t *f = *state;
    char ids[6][JOB_ID_LEN + 1];
    job_t job;
    for (int i = 0; i < 6; i++) {
        char key[8];
        snprintf(key, sizeof key, "k%d", i);
        spec_t spec = {.key = key, .hash = "h", .callback = "http://example.test/cb"};
        assert_int_equal(s_insert_spec(f->store, &spec, ids[i], NULL), 0);
    }
    for (int i = 0; i < 5; i++) {
        s_claim_ok(f->store, "e", 5000, &job);
        job_clear(&job);
    }
    /* 0 complete old, 1 failed old, 2 complete new, 3 failed exactly at the line,
     * 4 processing, 5 queued */
    assert_int_equal(s_finish_ok(f->store, ids[0], 1, 1000), 1);
    assert_int_equal(job_store_finish(f->store, ids[1], 1, NULL, "timeout", "x", 1500), 1);
    assert_int_equal(s_finish_ok(f->store, ids[2], 1, 5000), 1);
    assert_int_equal(job_store_finish(f->store, ids[3], 1, NULL, "timeout", "x", 2000), 1);
    /* the keys of jobs 5 and 0 were given 25 hours ago: forgotten, and
     * dropped by the purge (job 0's also goes with its job) */
    s_sql(f, "UPDATE idempotency SET created_at = created_at - 90000000 WHERE key IN ('k0', "
             "'k5')");
    assert_int_equal(s_sql_int(f, "SELECT count(*) FROM idempotency"), 6);
    assert_int_equal(s_sql_int(f, "SELECT count(*) FROM callbacks"), 6);

    removed_t removed = {0};
    assert_int_equal(job_store_purge(f->store, 2000, s_on_removed, &removed), 2);
    assert_int_equal(removed.n, 2);
    assert_true(s_removed_has(&removed, ids[0]));
    assert_true(s_removed_has(&removed, ids[1]));
    img_error_clear();
    assert_int_equal(job_store_get(f->store, ids[0], &job), -1);
    assert_int_equal(img_error_code(), IMG_E_NOT_FOUND);
    assert_int_equal(job_store_get(f->store, ids[1], &job), -1);
    for (int i = 2; i < 6; i++) {
        assert_int_equal(job_store_get(f->store, ids[i], &job), 0);
        job_clear(&job);
    }
    /* their deliveries and keys went with them; k5 went by age */
    assert_int_equal(s_sql_int(f, "SELECT count(*) FROM callbacks"), 4);
    assert_int_equal(s_sql_int(f, "SELECT count(*) FROM idempotency"), 3);
    assert_int_equal(s_sql_int(f, "SELECT count(*) FROM idempotency WHERE key IN "
                                  "('k0', 'k1', 'k5')"),
                     0);
    /* a retry with the key of a purged job makes a new job */
    char again[JOB_ID_LEN + 1];
    spec_t retry = {.key = "k0", .hash = "h"};
    assert_int_equal(s_insert_spec(f->store, &retry, again, NULL), 0);
    assert_string_not_equal(again, ids[0]);

    removed.n = 0;
    assert_int_equal(job_store_purge(f->store, 2000, s_on_removed, &removed), 0);
    assert_int_equal(removed.n, 0);
    assert_int_equal(job_store_purge(f->store, INT64_MAX, NULL, NULL), 2);
    assert_int_equal(job_store_count(f->store, JOB_PROCESSING), 1);
    assert_int_equal(job_store_count(f->store, JOB_QUEUED), 2);
}

/* ---- idempotency keys ---- */

static void test_idempotency_replay_and_mismatch(void **state)
{
    fixture_t *f = *state;
    char first[JOB_ID_LEN + 1], id[JOB_ID_LEN + 1], replayed[JOB_ID_LEN + 1];
    spec_t spec = {.client = "key:alice", .key = "order-17", .hash = "h1"};
    assert_int_equal(s_insert_spec(f->store, &spec, first, NULL), 0);

    /* the same request again: nothing inserted, the first job named */
    memset(replayed, 0, sizeof replayed);
    assert_int_equal(s_insert_spec(f->store, &spec, id, replayed), 1);
    assert_string_equal(replayed, first);
    img_error_clear();
    assert_int_equal(job_store_get(f->store, id, &(job_t){0}), -1);
    assert_int_equal(img_error_code(), IMG_E_NOT_FOUND);
    assert_int_equal(job_store_count(f->store, JOB_QUEUED), 1);

    /* still replayed once the job has moved on */
    job_t job;
    s_claim_ok(f->store, "e", 5000, &job);
    job_clear(&job);
    assert_int_equal(s_finish_ok(f->store, first, 1, 10), 1);
    assert_int_equal(s_insert_spec(f->store, &spec, NULL, replayed), 1);
    assert_string_equal(replayed, first);

    /* the same key for another request: refused */
    spec_t other = spec;
    other.hash = "h2";
    assert_int_equal(s_insert_spec(f->store, &other, id, replayed), -1);
    assert_int_equal(img_error_code(), IMG_E_IDEMPOTENCY_MISMATCH);
    assert_int_equal(job_store_count(f->store, JOB_QUEUED), 0);
    img_error_clear();
    assert_int_equal(job_store_get(f->store, id, &job), -1);

    /* keys are per client, and a request without one is always new */
    spec_t bob = spec;
    bob.client = "key:bob";
    assert_int_equal(s_insert_spec(f->store, &bob, id, replayed), 0);
    assert_string_not_equal(id, first);
    spec_t keyless = {.client = "key:alice"};
    assert_int_equal(s_insert_spec(f->store, &keyless, NULL, NULL), 0);
    assert_int_equal(s_insert_spec(f->store, &keyless, NULL, NULL), 0);
    assert_int_equal(job_store_count(f->store, JOB_QUEUED), 3);
}

/* A full queue refuses a new job in the insert itself, but answers the
 * repeat of an idempotent one (which queues nothing); a complete job (a
 * reused result) is never refused. */
static void test_queue_bound_after_replay(void **state)
{
    fixture_t *f = *state;
    char first[JOB_ID_LEN + 1], replayed[JOB_ID_LEN + 1];
    spec_t keyed = {.key = "k1", .hash = "h1", .max_queued = 2};
    assert_int_equal(s_insert_spec(f->store, &keyed, first, NULL), 0);
    spec_t plain = {.max_queued = 2};
    assert_int_equal(s_insert_spec(f->store, &plain, NULL, NULL), 0);
    assert_int_equal(s_insert_spec(f->store, &plain, NULL, NULL), -1);
    assert_int_equal(img_error_code(), IMG_E_QUEUE_FULL);
    assert_int_equal(job_store_count(f->store, JOB_QUEUED), 2);
    assert_int_equal(job_store_has_room(f->store, 2), -1);
    assert_int_equal(img_error_code(), IMG_E_QUEUE_FULL);
    assert_int_equal(job_store_has_room(f->store, 3), 0);

    assert_int_equal(s_insert_spec(f->store, &keyed, NULL, replayed), 1);
    assert_string_equal(replayed, first);
    spec_t new_key = {.key = "k2", .hash = "h2", .max_queued = 2};
    assert_int_equal(s_insert_spec(f->store, &new_key, NULL, NULL), -1);
    assert_int_equal(img_error_code(), IMG_E_QUEUE_FULL);
    /* the refused insert took no key: k2 is free once there is room */
    spec_t roomy = new_key;
    roomy.max_queued = 3;
    assert_int_equal(s_insert_spec(f->store, &roomy, NULL, NULL), 0);

    spec_t reused = {.status = JOB_COMPLETE, .finished_at = 2, .max_queued = 1};
    assert_int_equal(s_insert_spec(f->store, &reused, NULL, NULL), 0);
    assert_int_equal(job_store_count(f->store, JOB_QUEUED), 3);
}

static void test_idempotency_forgotten_after_24h(void **state)
{
    fixture_t *f = *state;
    char first[JOB_ID_LEN + 1], second[JOB_ID_LEN + 1], replayed[JOB_ID_LEN + 1];
    spec_t spec = {.key = "k", .hash = "h1"};
    spec_t other = {.key = "k", .hash = "h2"};
    assert_int_equal(s_insert_spec(f->store, &spec, first, NULL), 0);

    /* 23 h 59 min old: remembered */
    s_sql(f, "UPDATE idempotency SET created_at = created_at - 86340000");
    assert_int_equal(s_insert_spec(f->store, &spec, NULL, replayed), 1);
    assert_string_equal(replayed, first);
    assert_int_equal(s_insert_spec(f->store, &other, NULL, replayed), -1);
    assert_int_equal(img_error_code(), IMG_E_IDEMPOTENCY_MISMATCH);

    /* 24 h and a minute: forgotten, the key is free for any request */
    s_sql(f, "UPDATE idempotency SET created_at = created_at - 120000");
    assert_int_equal(s_insert_spec(f->store, &other, second, NULL), 0);
    assert_string_not_equal(second, first);
    /* and now it is the new job's */
    assert_int_equal(s_insert_spec(f->store, &other, NULL, replayed), 1);
    assert_string_equal(replayed, second);
    assert_int_equal(s_insert_spec(f->store, &spec, NULL, replayed), -1);
    assert_int_equal(img_error_code(), IMG_E_IDEMPOTENCY_MISMATCH);
    assert_int_equal(job_store_count(f->store, JOB_QUEUED), 2);
}

static void test_idempotency_key_freed_by_delete(void **state)
{
    fixture_t *f = *state;
    char first[JOB_ID_LEN + 1], second[JOB_ID_LEN + 1], replayed[JOB_ID_LEN + 1];
    spec_t spec = {.key = "k", .hash = "h1"};
    assert_int_equal(s_insert_spec(f->store, &spec, first, NULL), 0);
    assert_int_equal(job_store_delete(f->store, first, NULL), 0);
    /* a retry with the key of a deleted job makes a new one */
    assert_int_equal(s_insert_spec(f->store, &spec, second, replayed), 0);
    assert_string_not_equal(second, first);
    assert_int_equal(s_insert_spec(f->store, &spec, NULL, replayed), 1);
    assert_string_equal(replayed, second);
}

enum { RACE_THREADS = 6, RACE_ROUNDS = 15 };

typedef struct {
    job_store_t *store;
    pthread_barrier_t *go;
    int round;
    int rc[RACE_ROUNDS];
    char id[RACE_ROUNDS][JOB_ID_LEN + 1];
    char replayed[RACE_ROUNDS][JOB_ID_LEN + 1];
} racer_t;

static void *s_racer(void *arg)
{
    racer_t *r = arg;
    for (int round = 0; round < RACE_ROUNDS; round++) {
        job_t job = {0};
        char key[16];
        snprintf(key, sizeof key, "race-%d", round);
        job_id_new(job.id);
        strcpy(job.operation, "resize");
        strcpy(job.client, "key:racer");
        job_insert_t opts = {.idempotency_key = key,
                             .request_hash = "same-hash",
                             .callback_url = "http://example.test/cb"};
        memcpy(r->id[round], job.id, sizeof job.id);
        pthread_barrier_wait(r->go);
        r->rc[round] = job_store_insert(r->store, &job, &opts, r->replayed[round]);
        if (r->rc[round] < 0)
            fprintf(stderr, "racer: %s\n", img_error_message());
    }
    return NULL;
}

/* Identical inserts racing (threads of two handles: two replicas) make
 * one job; every other gets its id. */
static void test_idempotency_race_makes_one_job(void **state)
{
    fixture_t *f = *state;
    job_store_t *second = job_store_open(f->url);
    assert_non_null(second);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, RACE_THREADS);
    static racer_t racers[RACE_THREADS];
    pthread_t threads[RACE_THREADS];
    memset(racers, 0, sizeof racers);
    for (int t = 0; t < RACE_THREADS; t++) {
        racers[t].store = t % 2 ? second : f->store;
        racers[t].go = &go;
        assert_int_equal(pthread_create(&threads[t], NULL, s_racer, &racers[t]), 0);
    }
    for (int t = 0; t < RACE_THREADS; t++)
        pthread_join(threads[t], NULL);
    for (int round = 0; round < RACE_ROUNDS; round++) {
        int winners = 0;
        const char *winner = NULL;
        for (int t = 0; t < RACE_THREADS; t++)
            if (racers[t].rc[round] == 0) {
                winners++;
                winner = racers[t].id[round];
            }
        assert_int_equal(winners, 1);
        for (int t = 0; t < RACE_THREADS; t++) {
            if (racers[t].rc[round] == 0)
                continue;
            assert_int_equal(racers[t].rc[round], 1);
            assert_string_equal(racers[t].replayed[round], winner);
        }
        assert_int_equal(s_status_of(f->store, winner), JOB_QUEUED);
    }
    assert_int_equal(job_store_count(f->store, JOB_QUEUED), RACE_ROUNDS);
    assert_int_equal(s_sql_int(f, "SELECT count(*) FROM callbacks"), RACE_ROUNDS);
    pthread_barrier_destroy(&go);
    job_store_destroy(&second);
}

/* ---- reusable results ---- */

static void test_find_cached(void **state)
{
    fixture_t *f = *state;
    char a[JOB_ID_LEN + 1], b[JOB_ID_LEN + 1], c[JOB_ID_LEN + 1], d[JOB_ID_LEN + 1];
    job_t job;
    spec_t keyed = {.cache_key = "ck"};
    assert_int_equal(job_store_find_cached(f->store, "ck", &job), 0);
    assert_int_equal(s_insert_spec(f->store, &keyed, a, NULL), 0);
    assert_int_equal(s_insert_spec(f->store, &keyed, b, NULL), 0);
    assert_int_equal(s_insert_spec(f->store, &keyed, c, NULL), 0);
    s_insert(f->store, "resize", 1, d);                               /* no key */
    assert_int_equal(job_store_find_cached(f->store, "ck", &job), 0); /* queued */
    s_claim_ok(f->store, "e", 5000, &job);
    job_clear(&job);
    assert_int_equal(job_store_find_cached(f->store, "ck", &job), 0); /* processing */
    json_t *result = json_pack("{s:i}", "width", 33);
    assert_int_equal(job_store_finish(f->store, a, 1, result, NULL, NULL, 100), 1);
    assert_int_equal(job_store_find_cached(f->store, "ck", &job), 1);
    assert_string_equal(job.id, a);
    assert_int_equal(job.status, JOB_COMPLETE);
    assert_true(json_equal(job.result, result));
    job_clear(&job);
    assert_int_equal(job_store_find_cached(f->store, "other", &job), 0);
    /* a failed job's result is no result */
    s_claim_ok(f->store, "e", 5000, &job);
    job_clear(&job);
    assert_int_equal(job_store_finish(f->store, b, 1, NULL, "timeout", "slow", 110), 1);
    assert_int_equal(job_store_find_cached(f->store, "ck", &job), 1);
    assert_string_equal(job.id, a);
    job_clear(&job);
    /* the newest complete one wins */
    s_claim_ok(f->store, "e", 5000, &job);
    job_clear(&job);
    assert_int_equal(job_store_finish(f->store, c, 1, result, NULL, NULL, 120), 1);
    assert_int_equal(job_store_find_cached(f->store, "ck", &job), 1);
    assert_string_equal(job.id, c);
    job_clear(&job);
    /* until it is gone */
    assert_int_equal(job_store_delete(f->store, c, NULL), 0);
    assert_int_equal(job_store_find_cached(f->store, "ck", &job), 1);
    assert_string_equal(job.id, a);
    job_clear(&job);
    assert_int_equal(job_store_purge(f->store, 105, NULL, NULL), 1);
    assert_int_equal(job_store_find_cached(f->store, "ck", &job), 0);
    json_decref(result);
}

/* ---- the webhook outbox ---- */

static void s_expect_callback(job_store_t *store, const char *id, const char *state, int attempts,
                              int last_status)
{
    job_t job;
    assert_int_equal(job_store_get(store, id, &job), 0);
    assert_non_null(job.callback);
    assert_string_equal(json_string_value(json_object_get(job.callback, "url")),
                        "https://example.test/hook");
    assert_string_equal(json_string_value(json_object_get(job.callback, "state")), state);
    assert_int_equal(json_integer_value(json_object_get(job.callback, "attempts")), attempts);
    json_t *last = json_object_get(job.callback, "last_status");
    if (last_status < 0)
        assert_true(json_is_null(last));
    else
        assert_int_equal(json_integer_value(last), last_status);
    job_clear(&job);
}

static void test_outbox(void **state)
{
    fixture_t *f = *state;
    char a[JOB_ID_LEN + 1], b[JOB_ID_LEN + 1], c[JOB_ID_LEN + 1];
    job_delivery_t d[4];
    job_t job;
    spec_t hooked = {.callback = "https://example.test/hook"};
    assert_int_equal(s_insert_spec(f->store, &hooked, a, NULL), 0);
    assert_int_equal(s_insert_spec(f->store, &hooked, b, NULL), 0);
    s_insert(f->store, "resize", 3, c);
    s_expect_callback(f->store, a, "pending", 0, -1);
    assert_int_equal(job_store_outbox_claim(f->store, INT64_MAX - 1, INT64_MAX, d, 4), 0);
    s_claim_ok(f->store, "e", 5000, &job); /* a */
    job_clear(&job);
    assert_int_equal(job_store_outbox_claim(f->store, INT64_MAX - 1, INT64_MAX, d, 4), 0);
    assert_int_equal(s_due_heard(&f->heard), 0); /* queued or running: nothing due */

    /* a finishes at 1000: its delivery is due then, and the listener hears so */
    assert_int_equal(s_finish_ok(f->store, a, 1, 1000), 1);
    assert_int_equal(s_due_heard(&f->heard), 1);
    assert_int_equal(job_store_outbox_claim(f->store, 999, 2000, d, 4), 0);
    assert_int_equal(job_store_outbox_claim(f->store, 1000, 2000, d, 4), 1);
    assert_string_equal(d[0].id, a);
    assert_string_equal(d[0].url, "https://example.test/hook");
    assert_int_equal(d[0].attempts, 0);
    /* leased: nobody else takes it until the lease lapses */
    assert_int_equal(job_store_outbox_claim(f->store, 1500, 2500, d, 4), 0);
    assert_int_equal(job_store_outbox_claim(f->store, 2000, 2500, d, 4), 0);
    assert_int_equal(job_store_outbox_claim(f->store, 2001, 3000, d, 4), 1);
    assert_string_equal(d[0].id, a);

    /* not delivered: due again at retry_at */
    assert_int_equal(job_store_outbox_record(f->store, a, 503, false, 5000), 0);
    s_expect_callback(f->store, a, "pending", 1, 503);
    assert_int_equal(job_store_outbox_claim(f->store, 4999, 6000, d, 4), 0);
    assert_int_equal(job_store_outbox_claim(f->store, 5000, 6000, d, 4), 1);
    assert_int_equal(d[0].attempts, 1);
    /* delivered: never again */
    assert_int_equal(job_store_outbox_record(f->store, a, 204, true, 0), 0);
    s_expect_callback(f->store, a, "delivered", 2, 204);
    assert_int_equal(job_store_outbox_claim(f->store, INT64_MAX - 1, INT64_MAX, d, 4), 0);

    /* b's engine is lost on its only attempt: failed by the expiry, due */
    s_claim_ok(f->store, "e", 5000, &job);
    job_clear(&job);
    assert_int_equal(job_store_expire(f->store, 7000, 1), 1);
    assert_int_equal(s_due_heard(&f->heard), 2);
    assert_int_equal(job_store_outbox_claim(f->store, 6999, 8000, d, 4), 0);
    assert_int_equal(job_store_outbox_claim(f->store, 7000, 8000, d, 4), 1);
    assert_string_equal(d[0].id, b);
    /* no answer and no more tries: failed for good */
    assert_int_equal(job_store_outbox_record(f->store, b, 0, false, 0), 0);
    s_expect_callback(f->store, b, "failed", 1, 0);
    assert_int_equal(job_store_outbox_claim(f->store, INT64_MAX - 1, INT64_MAX, d, 4), 0);
    /* c has none; an unknown id is no error */
    assert_int_equal(job_store_get(f->store, c, &job), 0);
    assert_null(job.callback);
    job_clear(&job);
    assert_int_equal(job_store_outbox_record(f->store, c, 200, true, 0), 0);
    /* nor does c's end make anything due, ended well or by expiry */
    s_claim_ok(f->store, "e", 5000, &job);
    assert_string_equal(job.id, c);
    assert_int_equal(s_finish_ok(f->store, c, job.dispatch, 9000), 1);
    job_clear(&job);
    char e[JOB_ID_LEN + 1];
    s_insert(f->store, "resize", 4, e);
    s_claim_ok(f->store, "e", 5000, &job);
    job_clear(&job);
    assert_int_equal(job_store_expire(f->store, 9000, 1), 1);
    assert_int_equal(s_due_heard(&f->heard), 2);
}

static void test_outbox_max_and_delete(void **state)
{
    fixture_t *f = *state;
    enum { N = 5 };
    char ids[N][JOB_ID_LEN + 1];
    job_delivery_t d[N];
    spec_t done = {.status = JOB_COMPLETE, .finished_at = 1, .callback = "https://x.test/h"};
    for (int i = 0; i < N; i++)
        assert_int_equal(s_insert_spec(f->store, &done, ids[i], NULL), 0);
    assert_int_equal(job_store_delete(f->store, ids[4], NULL), 0); /* its delivery goes too */
    int64_t now = job_now_ms();
    assert_int_equal(job_store_outbox_claim(f->store, now, INT64_MAX, d, 2), 2);
    assert_int_equal(job_store_outbox_claim(f->store, now, INT64_MAX, &d[2], 3), 2);
    assert_int_equal(job_store_outbox_claim(f->store, now, INT64_MAX, d, 3), 0);
}

enum { OUTBOX_N = 60 };

typedef struct {
    job_store_t *store;
    pthread_barrier_t *go;
    char ids[OUTBOX_N][JOB_ID_LEN + 1];
    int n, errors;
} deliverer_t;

static void *s_deliverer(void *arg)
{
    deliverer_t *r = arg;
    job_delivery_t d[3];
    pthread_barrier_wait(r->go);
    for (;;) {
        int n = job_store_outbox_claim(r->store, job_now_ms(), INT64_MAX, d, 3);
        if (n <= 0) {
            r->errors += n < 0;
            break;
        }
        for (int i = 0; i < n && r->n < OUTBOX_N; i++)
            memcpy(r->ids[r->n++], d[i].id, JOB_ID_LEN + 1);
        for (int i = 0; i < n; i++)
            if (job_store_outbox_record(r->store, d[i].id, 200, true, 0) < 0)
                r->errors++;
    }
    return NULL;
}

static int s_cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Two replicas delivering at once: every call made once. */
static void test_outbox_claims_disjoint(void **state)
{
    fixture_t *f = *state;
    job_store_t *second = job_store_open(f->url);
    assert_non_null(second);
    spec_t done = {.status = JOB_COMPLETE, .finished_at = 1, .callback = "https://x.test/h"};
    for (int i = 0; i < OUTBOX_N; i++)
        assert_int_equal(s_insert_spec(f->store, &done, NULL, NULL), 0);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 4);
    static deliverer_t ds[4];
    pthread_t threads[4];
    memset(ds, 0, sizeof ds);
    for (int t = 0; t < 4; t++) {
        ds[t].store = t % 2 ? second : f->store;
        ds[t].go = &go;
        assert_int_equal(pthread_create(&threads[t], NULL, s_deliverer, &ds[t]), 0);
    }
    static char all[4 * OUTBOX_N][JOB_ID_LEN + 1];
    int total = 0;
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        assert_int_equal(ds[t].errors, 0);
        for (int i = 0; i < ds[t].n; i++)
            memcpy(all[total++], ds[t].ids[i], JOB_ID_LEN + 1);
    }
    assert_int_equal(total, OUTBOX_N);
    qsort(all, (size_t)total, sizeof all[0], s_cmp_id);
    for (int i = 1; i < total; i++)
        assert_string_not_equal(all[i - 1], all[i]);
    assert_int_equal(s_sql_int(f, "SELECT count(*) FROM callbacks WHERE state = 'delivered' "
                                  "AND attempts = 1"),
                     OUTBOX_N);
    pthread_barrier_destroy(&go);
    job_store_destroy(&second);
}

/* ---- change notices ---- */

/* Every change is announced with its job's id; renewals, lease ends and
 * replays are not changes anyone waits for. */
static void test_notices_every_change(void **state)
{
    fixture_t *f = *state;
    heard_t *h = &f->heard;
    char a[JOB_ID_LEN + 1], b[JOB_ID_LEN + 1], c[JOB_ID_LEN + 1], s1[JOB_ID_LEN + 1];
    job_t job;
    int m = s_heard_mark(h);
    spec_t hooked = {.callback = "https://example.test/hook", .key = "ka", .hash = "h"};
    assert_int_equal(s_insert_spec(f->store, &hooked, a, NULL), 0);
    s_wait_changed(h, a, m);
    m = s_heard_mark(h);
    assert_int_equal(job_store_claim(f->store, "e1", "b1", 1000, &job), 1);
    job_clear(&job);
    s_wait_changed(h, a, m);
    m = s_heard_mark(h);
    assert_int_equal(job_store_mark_started(f->store, a, 1, 10), 1);
    s_wait_changed(h, a, m);

    /* not announced: a renewal, the end of an engine's leases, a replay */
    m = s_heard_mark(h);
    assert_int_equal(job_store_renew(f->store, a, "e1", "b2", 2000), 1);
    assert_int_equal(job_store_release_engine(f->store, "e1", "b2"), 1);
    assert_int_equal(s_insert_spec(f->store, &hooked, NULL, NULL), 1);
    s_insert(f->store, "resize", 2, s1); /* a change after them all */
    int at = s_wait_changed(h, s1, m);
    assert_false(s_heard_between(h, a, m, at));

    m = s_heard_mark(h);
    assert_int_equal(s_finish_ok(f->store, a, 1, 20), 1);
    s_wait_changed(h, a, m);
    m = s_heard_mark(h);
    assert_int_equal(job_store_outbox_record(f->store, a, 500, false, 30), 0);
    s_wait_changed(h, a, m);

    m = s_heard_mark(h);
    assert_int_equal(job_store_claim(f->store, "e1", "b1", 1000, &job), 1); /* s1 */
    memcpy(b, job.id, sizeof b);
    job_clear(&job);
    s_wait_changed(h, b, m);
    m = s_heard_mark(h);
    assert_int_equal(job_store_requeue(f->store, b, 1), 1);
    s_wait_changed(h, b, m);
    m = s_heard_mark(h);
    assert_int_equal(job_store_claim(f->store, "e1", "b1", 1000, &job), 1);
    job_clear(&job);
    s_wait_changed(h, b, m);
    m = s_heard_mark(h);
    assert_int_equal(job_store_expire(f->store, 5000, 3), 1);
    s_wait_changed(h, b, m);
    m = s_heard_mark(h);
    assert_int_equal(job_store_delete(f->store, b, NULL), 0);
    s_wait_changed(h, b, m);

    s_insert(f->store, "resize", 3, c);
    m = s_heard_mark(h);
    assert_int_equal(job_store_purge(f->store, INT64_MAX, NULL, NULL), 1); /* a */
    s_wait_changed(h, a, m);
}

/* Progress reaches the listener without a write: the job's row is as it was. */
static void test_progress_without_write(void **state)
{
    fixture_t *f = *state;
    heard_t *h = &f->heard;
    char id[JOB_ID_LEN + 1], other[JOB_ID_LEN + 1], before[64], after[64];
    job_t job;
    s_insert(f->store, "resize", 1, id);
    s_claim_ok(f->store, "e1", 5000, &job);
    job_clear(&job);
    raw_t raw;
    s_raw_open(f->url, &raw);
    char sql[128];
    /* PostgreSQL: the row's version; SQLite: the file's, as another connection sees it */
    if (s_run.pg)
        snprintf(sql, sizeof sql, "SELECT xmin FROM jobs WHERE id = '%s'", id);
    else
        snprintf(sql, sizeof sql, "PRAGMA data_version");
    s_raw_text(&raw, sql, before, sizeof before);
    int m = s_heard_mark(h);
    assert_int_equal(job_store_publish_progress(f->store, id, 42), 0);
    s_wait_progress(h, id, 42);
    s_raw_text(&raw, sql, after, sizeof after);
    assert_string_equal(before, after);
    s_raw_close(&raw);
    /* not a change either */
    s_insert(f->store, "resize", 2, other);
    int at = s_wait_changed(h, other, m);
    assert_false(s_heard_between(h, id, m, at));
    assert_int_equal(job_store_get(f->store, id, &job), 0);
    assert_int_equal(job.progress, -1); /* not stored */
    job_clear(&job);
}

/* PostgreSQL: a change made through one store (replica) is heard by every
 * store on the database; SQLite: by the store that made it. */
static void test_notices_across_stores(void **state)
{
    fixture_t *f = *state;
    heard_t *other_heard = calloc(1, sizeof *other_heard);
    assert_non_null(other_heard);
    s_heard_init(other_heard);
    job_store_t *other = job_store_open(f->url);
    assert_non_null(other);
    s_listen(other, other_heard);
    char id[JOB_ID_LEN + 1];
    int m_own = s_heard_mark(&f->heard), m_other = s_heard_mark(other_heard);
    s_insert(f->store, "resize", 1, id);
    s_wait_changed(&f->heard, id, m_own);
    assert_int_equal(job_store_publish_progress(f->store, id, 7), 0);
    s_wait_progress(&f->heard, id, 7);
    if (s_run.pg) {
        s_wait_changed(other_heard, id, m_other);
        s_wait_progress(other_heard, id, 7);
        /* and back */
        job_t job;
        m_own = s_heard_mark(&f->heard);
        assert_int_equal(job_store_claim(other, "e1", "b2", 5000, &job), 1);
        job_clear(&job);
        s_wait_changed(&f->heard, id, m_own);
    }
    job_store_destroy(&other);
    s_heard_clear(other_heard);
    free(other_heard);
}

/* ---- persistence and schema ---- */

static void test_persistence_across_reopen(void **state)
{
    fixture_t *f = *state;
    char a[JOB_ID_LEN + 1], b[JOB_ID_LEN + 1], c[JOB_ID_LEN + 1];
    job_t job;
    s_insert(f->store, "resize", 11, a);
    s_insert(f->store, "thumbnail", 12, b);
    s_insert(f->store, "info", 13, c);
    s_claim_ok(f->store, "e1", 5000, &job);
    job_clear(&job);
    json_t *result = json_pack("{s:i, s:[i, s]}", "width", 7, "list", 1, "two");
    assert_int_equal(job_store_finish(f->store, a, 1, result, NULL, NULL, 99), 1);
    assert_int_equal(job_store_get(f->store, c, &job), 0);
    int64_t seq_c = job.seq;
    job_clear(&job);
    /* the newest: its seq is not reused */
    assert_int_equal(job_store_delete(f->store, c, NULL), 0);

    job_store_destroy(&f->store);
    f->store = job_store_open(f->url);
    assert_non_null(f->store);
    s_listen(f->store, &f->heard);

    assert_int_equal(job_store_get(f->store, a, &job), 0);
    assert_int_equal(job.status, JOB_COMPLETE);
    assert_true(json_equal(job.result, result));
    assert_int_equal(job.finished_at, 99);
    assert_int_equal(job.created_at, 11);
    assert_int_equal(job.attempts, 1);
    job_clear(&job);
    s_claim_ok(f->store, "e2", 5000, &job);
    assert_string_equal(job.id, b);
    assert_string_equal(job.operation, "thumbnail");
    job_clear(&job);
    char d[JOB_ID_LEN + 1];
    s_insert(f->store, "resize", 14, d);
    assert_int_equal(job_store_get(f->store, d, &job), 0);
    assert_true(job.seq > seq_c);
    job_clear(&job);
    json_decref(result);
}

static void test_newer_schema_is_refused(void **state)
{
    fixture_t *f = *state;
    job_store_destroy(&f->store);
    if (s_run.pg)
        s_sql(f, "INSERT INTO schema_version VALUES (999, 0)");
    else
        s_sql(f, "PRAGMA user_version = 999");
    img_error_clear();
    assert_null(job_store_open(f->url));
    assert_int_equal(img_error_code(), IMG_E_INTERNAL);
    assert_non_null(strstr(img_error_message(), "999"));
}

enum { OPENERS = 6 };

typedef struct {
    const char *url;
    pthread_barrier_t *go;
    job_store_t *store;
    char error[512];
} opener_t;

static void *s_opener(void *arg)
{
    opener_t *o = arg;
    pthread_barrier_wait(o->go);
    o->store = job_store_open(o->url);
    if (!o->store)
        snprintf(o->error, sizeof o->error, "%s", img_error_message());
    return NULL;
}

/* Replicas starting at once on a new database: one migrates, all open. */
static void test_concurrent_open_migrates_once(void **state)
{
    fixture_t *f = *state;
    char url[1024];
    s_fresh_url(f, url, sizeof url);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, OPENERS);
    opener_t openers[OPENERS];
    pthread_t threads[OPENERS];
    for (int t = 0; t < OPENERS; t++) {
        openers[t] = (opener_t){.url = url, .go = &go};
        assert_int_equal(pthread_create(&threads[t], NULL, s_opener, &openers[t]), 0);
    }
    for (int t = 0; t < OPENERS; t++)
        pthread_join(threads[t], NULL);
    for (int t = 0; t < OPENERS; t++)
        if (!openers[t].store)
            fail_msg("open %d: %s", t, openers[t].error);
    char id[JOB_ID_LEN + 1];
    s_insert(openers[0].store, "resize", 1, id);
    for (int t = 0; t < OPENERS; t++) {
        assert_int_equal(s_status_of(openers[t].store, id), JOB_QUEUED);
        job_store_destroy(&openers[t].store);
    }
    raw_t raw;
    s_raw_open(url, &raw);
    if (s_run.pg)
        assert_int_equal(s_raw_int(&raw, "SELECT count(*) - max(version) FROM schema_version"), 0);
    else
        assert_int_equal(s_raw_int(&raw, "PRAGMA user_version"), 2);
    s_raw_close(&raw);
    pthread_barrier_destroy(&go);
}

/* ---- concurrent claims ---- */

enum { CONC_JOBS = 200, CONC_THREADS = 6 };

typedef struct {
    job_store_t *store;
    pthread_barrier_t *go;
    char engine[16];
    char ids[CONC_JOBS][JOB_ID_LEN + 1];
    int n;
    int errors;
} claimer_t;

static void *s_claimer(void *arg)
{
    claimer_t *c = arg;
    pthread_barrier_wait(c->go);
    for (;;) {
        job_t job;
        int rc = job_store_claim(c->store, c->engine, "broker", INT64_MAX, &job);
        if (rc == 0)
            break;
        if (rc < 0 || c->n >= CONC_JOBS) {
            c->errors++;
            break;
        }
        memcpy(c->ids[c->n++], job.id, JOB_ID_LEN + 1);
        if (job_store_mark_started(c->store, job.id, job.dispatch, 1) != 1 ||
            s_finish_ok(c->store, job.id, job.dispatch, 2) != 1)
            c->errors++;
        job_clear(&job);
    }
    return NULL;
}

/* Threads of two stores (two replicas, or two processes on one SQLite
 * file) claim at once: every job once, never one twice. */
static void test_concurrent_claims(void **state)
{
    fixture_t *f = *state;
    job_store_t *second = job_store_open(f->url);
    assert_non_null(second);
    for (int i = 0; i < CONC_JOBS; i++)
        s_insert(f->store, "resize", i + 1, NULL);

    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, CONC_THREADS);
    static claimer_t claimers[CONC_THREADS];
    pthread_t threads[CONC_THREADS];
    memset(claimers, 0, sizeof claimers);
    for (int t = 0; t < CONC_THREADS; t++) {
        claimers[t].store = t % 2 ? second : f->store;
        claimers[t].go = &go;
        snprintf(claimers[t].engine, sizeof claimers[t].engine, "e%d", t);
        assert_int_equal(pthread_create(&threads[t], NULL, s_claimer, &claimers[t]), 0);
    }
    static char all[CONC_JOBS][JOB_ID_LEN + 1];
    int total = 0;
    for (int t = 0; t < CONC_THREADS; t++) {
        pthread_join(threads[t], NULL);
        assert_int_equal(claimers[t].errors, 0);
        for (int i = 0; i < claimers[t].n; i++) {
            assert_true(total < CONC_JOBS);
            memcpy(all[total++], claimers[t].ids[i], JOB_ID_LEN + 1);
        }
    }
    assert_int_equal(total, CONC_JOBS);
    qsort(all, CONC_JOBS, sizeof all[0], s_cmp_id);
    for (int i = 1; i < CONC_JOBS; i++)
        assert_string_not_equal(all[i - 1], all[i]);
    assert_int_equal(job_store_count(f->store, JOB_COMPLETE), CONC_JOBS);
    assert_int_equal(job_store_count(second, JOB_QUEUED), 0);
    assert_int_equal(s_sql_int(f, "SELECT count(*) FROM jobs WHERE dispatch = 1 AND attempts = 1"),
                     CONC_JOBS);
    pthread_barrier_destroy(&go);
    job_store_destroy(&second);
}

/* ---- PostgreSQL's connections ---- */

/* Ends every connection to the test's database but the caller's, and waits
 * until their servers have gone; how many there were. */
static long long s_pg_kick(const fixture_t *f)
{
    /* CASE: the caller's own connection is never asked to end */
    return s_sql_int(f, "SELECT count(*) FILTER (WHERE CASE WHEN pid = pg_backend_pid() THEN "
                        "false ELSE pg_terminate_backend(pid, 30000) END) FROM pg_stat_activity "
                        "WHERE datname = current_database()");
}

typedef struct {
    job_store_t *store;
    pthread_barrier_t *go;
    char id[JOB_ID_LEN + 1];
    int errors;
    char error[512];
} reader_t;

static void *s_reader(void *arg)
{
    reader_t *r = arg;
    pthread_barrier_wait(r->go);
    for (int i = 0; i < 10; i++) {
        job_t job;
        if (job_store_get(r->store, r->id, &job) < 0) {
            r->errors++;
            snprintf(r->error, sizeof r->error, "%s", img_error_message());
        } else {
            job_clear(&job);
        }
    }
    return NULL;
}

/* Four threads read at once (every pooled connection in use): no error. */
static void s_read_in_parallel(job_store_t *store, const char *id)
{
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 4);
    reader_t readers[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        readers[t] = (reader_t){.store = store, .go = &go};
        memcpy(readers[t].id, id, JOB_ID_LEN + 1);
        assert_int_equal(pthread_create(&threads[t], NULL, s_reader, &readers[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        if (readers[t].errors)
            fail_msg("reader %d: %d errors: %s", t, readers[t].errors, readers[t].error);
    }
    pthread_barrier_destroy(&go);
}

/* The server ends every connection (as in a restart): the next calls work
 * on new ones, and the listener comes back, saying that it was away. */
static void test_pg_connections_come_back(void **state)
{
    fixture_t *f = *state;
    heard_t *h = &f->heard;
    char id[JOB_ID_LEN + 1], later[JOB_ID_LEN + 1];
    s_insert(f->store, "resize", 1, id);
    s_read_in_parallel(f->store, id);
    for (int round = 0; round < 2; round++) {
        int m = s_heard_mark(h);
        assert_true(s_pg_kick(f) >= 2); /* the pool's and the listener's */
        s_wait_changed(h, "", m);       /* the listener is back, and says so */
        job_t job;
        assert_int_equal(job_store_get(f->store, id, &job), 0);
        job_clear(&job);
        s_read_in_parallel(f->store, id);
        m = s_heard_mark(h);
        s_insert(f->store, "resize", 2, later);
        s_wait_changed(h, later, m);
    }
    assert_int_equal(job_store_count(f->store, JOB_QUEUED), 3);
}

static void test_pg_unreachable_server(void **state)
{
    (void)state;
    img_error_clear();
    assert_null(job_store_open("postgresql://img:s3cret-pw@127.0.0.1:1/jobs"));
    assert_int_equal(img_error_code(), IMG_E_INTERNAL);
    assert_non_null(strstr(img_error_message(), "job store: cannot connect to 127.0.0.1:1"));
    assert_null(strstr(img_error_message(), "s3cret-pw"));
    img_error_clear();
    assert_null(job_store_open("postgres://img:s3cret-pw@/jobs?host=/nonexistent/dir"));
    assert_int_equal(img_error_code(), IMG_E_INTERNAL);
    assert_non_null(strstr(img_error_message(), "job store: cannot connect to /nonexistent/dir"));
    assert_null(strstr(img_error_message(), "s3cret-pw"));
}

static void test_pg_bad_url_is_config_error(void **state)
{
    (void)state;
    img_error_clear();
    assert_null(job_store_open("postgresql://img:s3cret-pw@localhost/jobs?no_such_option=1"));
    assert_int_equal(img_error_code(), IMG_E_CONFIG);
    assert_non_null(strstr(img_error_message(), "no_such_option"));
    assert_null(strstr(img_error_message(), "s3cret-pw"));
}

/* ---- main ---- */

static int s_load_pg_url(void)
{
    const char *url = getenv("IMG_TEST_PG_URL");
    if (url && *url) {
        snprintf(s_run.base_url, sizeof s_run.base_url, "%s", url);
        return 0;
    }
    const char *file = getenv("IMG_TEST_PG_URL_FILE");
    FILE *fp = file ? fopen(file, "r") : NULL;
    if (!fp || !fgets(s_run.base_url, sizeof s_run.base_url, fp)) {
        fprintf(stderr, "test_job_store: set IMG_TEST_PG_URL, or IMG_TEST_PG_URL_FILE to the file "
                        "pg_cluster.sh wrote\n");
        if (fp)
            fclose(fp);
        return -1;
    }
    fclose(fp);
    s_run.base_url[strcspn(s_run.base_url, "\r\n")] = '\0';
    return 0;
}

#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "sqlite") != 0 && strcmp(argv[1], "postgresql") != 0)) {
        fprintf(stderr, "usage: %s sqlite|postgresql\n", argv[0]);
        return 2;
    }
    s_run.pg = strcmp(argv[1], "postgresql") == 0;
    if (s_run.pg) {
        if (s_load_pg_url() < 0)
            return 2;
        char sql[96];
        snprintf(s_run.db, sizeof s_run.db, "img_test_store_%d", (int)getpid());
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", s_run.db);
        s_admin(NULL, sql);
    }
    const struct CMUnitTest both[] = {
        T(test_insert_get_round_trip),
        T(test_get_unknown_is_not_found),
        T(test_duplicate_insert_fails),
        T(test_insert_complete),
        T(test_claim_oldest_first_and_empty),
        T(test_mark_started_current_dispatch_only),
        T(test_attempts_charged_started_at_kept),
        T(test_renew_only_by_holder),
        T(test_finish_applies_once),
        T(test_requeue_only_that_dispatch),
        T(test_unstarted_loss_not_charged),
        T(test_expire_requeues_then_fails),
        T(test_late_requeue_uncharges_once),
        T(test_release_engine),
        T(test_delete),
        T(test_list_pagination),
        T(test_list_client_filter),
        T(test_count),
        T(test_purge),
        T(test_idempotency_replay_and_mismatch),
        T(test_idempotency_forgotten_after_24h),
        T(test_queue_bound_after_replay),
        T(test_idempotency_key_freed_by_delete),
        T(test_idempotency_race_makes_one_job),
        T(test_find_cached),
        T(test_outbox),
        T(test_outbox_max_and_delete),
        T(test_outbox_claims_disjoint),
        T(test_notices_every_change),
        T(test_progress_without_write),
        T(test_notices_across_stores),
        T(test_persistence_across_reopen),
        T(test_newer_schema_is_refused),
        T(test_concurrent_open_migrates_once),
        T(test_concurrent_claims),
    };
    const struct CMUnitTest pg_only[] = {
        T(test_pg_connections_come_back),
        cmocka_unit_test(test_pg_unreachable_server),
        cmocka_unit_test(test_pg_bad_url_is_config_error),
    };
    int failed = cmocka_run_group_tests_name(s_run.pg ? "job_store.postgresql" : "job_store.sqlite",
                                             both, NULL, NULL);
    if (s_run.pg)
        failed +=
            cmocka_run_group_tests_name("job_store.postgresql.connections", pg_only, NULL, NULL);
    if (s_run.pg) {
        char sql[96];
        snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", s_run.db);
        s_admin(NULL, sql);
    }
    return failed;
}
