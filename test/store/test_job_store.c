/* test_job_store — the SQLite job store on a fresh database file per test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "img_error.h"
#include "job_id.h"
#include "job_store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char dir[512];
    char path[600];
    job_store_t *store;
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "%s/job_store_XXXXXX", TEST_BINARY_DIR);
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/jobs.db", f->dir);
    f->store = job_store_open_sqlite(f->path);
    assert_non_null(f->store);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    job_store_destroy(&f->store);
    assert_null(f->store);
    job_store_destroy(&f->store); /* harmless twice */
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[640];
        snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Inserts a queued job of operation op; its id goes to id_out (may be NULL). */
static void s_insert(job_store_t *store, const char *op, int64_t created_at,
                     char id_out[JOB_ID_LEN + 1])
{
    job_t job = {0};
    assert_int_equal(job_id_new(job.id), 0);
    snprintf(job.operation, sizeof job.operation, "%s", op);
    job.created_at = created_at;
    job.params = json_pack("{s:i, s:s}", "width", 120, "fit", "cover");
    job.input = json_pack("{s:i, s:i, s:s, s:i}", "width", 640, "height", 480, "format", "jpeg",
                          "bytes", 12345);
    assert_int_equal(job_store_insert(store, &job), 0);
    if (id_out)
        memcpy(id_out, job.id, JOB_ID_LEN + 1);
    job_clear(&job);
}

/* Claims a job and has its worker say it started (the usual case). */
static void s_claim_ok(job_store_t *store, const char *worker, int64_t lease, job_t *out)
{
    assert_int_equal(job_store_claim(store, worker, lease, out), 1);
    if (out->dispatches == 1)
        assert_int_equal(out->started_at, 0); /* claimed is not started */
    char id[JOB_ID_LEN + 1];
    memcpy(id, out->id, sizeof id);
    assert_int_equal(job_store_mark_started(store, id, out->dispatches, job_now_ms()), 1);
    job_clear(out);
    assert_int_equal(job_store_get(store, id, out), 0);
}

static job_status_t s_status_of(job_store_t *store, const char *id)
{
    job_t job;
    assert_int_equal(job_store_get(store, id, &job), 0);
    job_status_t status = job.status;
    job_clear(&job);
    return status;
}

static void test_insert_get_round_trip(void **state)
{
    fixture_t *f = *state;
    char id[JOB_ID_LEN + 1];
    s_insert(f->store, "resize", 1700000000123, id);

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
    assert_string_equal(job.lease_owner, "");
    assert_null(job.result);
    assert_string_equal(job.error_code, "");
    json_t *params = json_pack("{s:i, s:s}", "width", 120, "fit", "cover");
    json_t *input = json_pack("{s:i, s:i, s:s, s:i}", "width", 640, "height", 480, "format", "jpeg",
                              "bytes", 12345);
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
    assert_int_equal(job_store_insert(f->store, &job), 0);
    strcpy(job.operation, "dither");
    img_error_clear();
    assert_int_equal(job_store_insert(f->store, &job), -1);
    assert_int_not_equal(img_error_code(), IMG_E_NONE);
    assert_int_equal(job_store_count(f->store, JOB_QUEUED), 1);
    job_t got;
    assert_int_equal(job_store_get(f->store, job.id, &got), 0);
    assert_string_equal(got.operation, "resize"); /* the first one is untouched */
    job_clear(&got);
}

static void test_claim_oldest_first_and_empty(void **state)
{
    fixture_t *f = *state;
    job_t job;
    assert_int_equal(job_store_claim(f->store, "w1", 5000, &job), 0);

    char ids[3][JOB_ID_LEN + 1];
    /* created_at decreasing: the order is the order of insertion (seq) */
    for (int i = 0; i < 3; i++)
        s_insert(f->store, "resize", 3000 - i, ids[i]);
    for (int i = 0; i < 3; i++) {
        int64_t before = job_now_ms();
        s_claim_ok(f->store, "w1", 90000 + i, &job);
        assert_string_equal(job.id, ids[i]);
        assert_int_equal(job.status, JOB_PROCESSING);
        assert_int_equal(job.attempts, 1);
        assert_string_equal(job.lease_owner, "w1");
        assert_int_equal(job.lease_expires, 90000 + i);
        assert_true(job.started_at >= before && job.started_at <= job_now_ms());
        assert_true(json_is_object(job.params));
        job_clear(&job);
    }
    assert_int_equal(job_store_claim(f->store, "w1", 5000, &job), 0);
}

static void test_attempts_increment_started_at_kept(void **state)
{
    fixture_t *f = *state;
    char id[JOB_ID_LEN + 1];
    job_t job;
    s_insert(f->store, "resize", 1, id);
    s_claim_ok(f->store, "w1", 5000, &job);
    int64_t first_start = job.started_at;
    job_clear(&job);
    for (int attempt = 2; attempt <= 4; attempt++) {
        usleep(3000); /* so that a later claim would have a later time */
        assert_int_equal(job_store_release_worker(f->store, "w1"), 1);
        assert_int_equal(job_store_expire(f->store, 1, 100), 1);
        s_claim_ok(f->store, "w1", 5000, &job);
        assert_string_equal(job.id, id);
        assert_int_equal(job.attempts, attempt);
        assert_int_equal(job.started_at, first_start);
        job_clear(&job);
    }
}

static void test_renew_only_by_owner(void **state)
{
    fixture_t *f = *state;
    char id[JOB_ID_LEN + 1], other[JOB_ID_LEN + 1];
    job_t job;
    s_insert(f->store, "resize", 1, id);
    s_claim_ok(f->store, "w1", 5000, &job);
    job_clear(&job);

    assert_int_equal(job_store_renew(f->store, id, "w2", 9999), 0);
    assert_int_equal(job_store_get(f->store, id, &job), 0);
    assert_int_equal(job.lease_expires, 5000);
    job_clear(&job);

    assert_int_equal(job_store_renew(f->store, id, "w1", 7000), 1);
    assert_int_equal(job_store_get(f->store, id, &job), 0);
    assert_int_equal(job.lease_expires, 7000);
    assert_string_equal(job.lease_owner, "w1");
    job_clear(&job);

    assert_int_equal(job_id_new(other), 0);
    assert_int_equal(job_store_renew(f->store, other, "w1", 7000), 0);

    assert_int_equal(job_store_finish(f->store, id, 1, NULL, NULL, NULL, 100), 1);
    assert_int_equal(job_store_renew(f->store, id, "w1", 8000), 0);
}

static void test_finish_applies_once(void **state)
{
    fixture_t *f = *state;
    char a[JOB_ID_LEN + 1], b[JOB_ID_LEN + 1], c[JOB_ID_LEN + 1];
    job_t job;
    s_insert(f->store, "resize", 1, a);
    s_insert(f->store, "resize", 2, b);
    s_insert(f->store, "resize", 3, c);
    s_claim_ok(f->store, "w1", 5000, &job);
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
    assert_string_equal(job.lease_owner, "");
    assert_string_equal(job.error_code, "");
    job_clear(&job);
    assert_int_equal(result->refcount, 1); /* not stolen */

    /* wrong attempt: ignored, still processing */
    s_claim_ok(f->store, "w1", 5000, &job);
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
    assert_null(job.result);
    job_clear(&job);

    /* a queued job: ignored */
    assert_int_equal(job_store_finish(f->store, c, 0, result, NULL, NULL, 10), 0);
    assert_int_equal(job_store_finish(f->store, c, 1, result, NULL, NULL, 10), 0);
    assert_int_equal(s_status_of(f->store, c), JOB_QUEUED);

    json_decref(result);
    json_decref(late);
}

static void test_expire_requeues_then_fails(void **state)
{
    fixture_t *f = *state;
    char id[JOB_ID_LEN + 1], live[JOB_ID_LEN + 1];
    job_t job;
    s_insert(f->store, "resize", 1, id);
    s_insert(f->store, "resize", 2, live);

    s_claim_ok(f->store, "w1", 1000, &job); /* id */
    job_clear(&job);
    s_claim_ok(f->store, "w2", 1000000, &job); /* live: lease far ahead */
    job_clear(&job);

    assert_int_equal(job_store_expire(f->store, 1000, 3), 0); /* not before the lease end */
    assert_int_equal(job_store_expire(f->store, 2000, 3), 1);
    assert_int_equal(job_store_get(f->store, id, &job), 0);
    assert_int_equal(job.status, JOB_QUEUED);
    assert_int_equal(job.attempts, 1);
    assert_string_equal(job.lease_owner, "w1"); /* the lost holder stays named */
    assert_int_equal(job.lease_expires, 0);
    assert_int_equal(job.finished_at, 0);
    job_clear(&job);
    assert_int_equal(s_status_of(f->store, live), JOB_PROCESSING);

    for (int attempt = 2; attempt <= 3; attempt++) {
        s_claim_ok(f->store, "w1", 1000, &job);
        assert_string_equal(job.id, id);
        assert_int_equal(job.attempts, attempt);
        job_clear(&job);
        assert_int_equal(job_store_expire(f->store, 2000 + attempt, 3), 1);
    }
    assert_int_equal(job_store_get(f->store, id, &job), 0);
    assert_int_equal(job.status, JOB_FAILED);
    assert_int_equal(job.attempts, 3);
    assert_string_equal(job.error_code, "worker_lost");
    assert_non_null(strstr(job.error_message, "attempted 3 times"));
    assert_int_equal(job.finished_at, 2003);
    assert_string_equal(job.lease_owner, "");
    job_clear(&job);
    assert_int_equal(job_store_count(f->store, JOB_QUEUED), 0);
    /* a late finish of the lost attempt changes nothing */
    assert_int_equal(job_store_finish(f->store, id, 3, NULL, NULL, NULL, 3000), 0);
    assert_int_equal(s_status_of(f->store, id), JOB_FAILED);
    assert_int_equal(s_status_of(f->store, live), JOB_PROCESSING);
}

static void test_release_worker(void **state)
{
    fixture_t *f = *state;
    char ids[3][JOB_ID_LEN + 1];
    job_t job;
    for (int i = 0; i < 3; i++)
        s_insert(f->store, "resize", i + 1, ids[i]);
    s_claim_ok(f->store, "w1", 5000, &job);
    job_clear(&job);
    s_claim_ok(f->store, "w2", 5000, &job);
    job_clear(&job);
    s_claim_ok(f->store, "w1", 5000, &job);
    job_clear(&job);

    assert_int_equal(job_store_release_worker(f->store, "nobody"), 0);
    assert_int_equal(job_store_release_worker(f->store, "w1"), 2);
    /* the leases are over, the jobs wait for the expiry pass */
    assert_int_equal(job_store_count(f->store, JOB_PROCESSING), 3);
    assert_int_equal(job_store_expire(f->store, 1, 3), 2);
    assert_int_equal(job_store_count(f->store, JOB_QUEUED), 2);
    assert_int_equal(job_store_count(f->store, JOB_PROCESSING), 1);
    assert_int_equal(s_status_of(f->store, ids[1]), JOB_PROCESSING);
    assert_int_equal(job_store_get(f->store, ids[0], &job), 0);
    assert_int_equal(job.status, JOB_QUEUED);
    assert_int_equal(job.attempts, 1);
    job_clear(&job);
    assert_int_equal(job_store_release_worker(f->store, "w1"), 0);
    /* a late hand-back of that dispatch (its engine restarted after a crash
     * of another job) un-charges the attempt, once */
    assert_int_equal(job_store_requeue(f->store, ids[0], 1), 1);
    assert_int_equal(job_store_requeue(f->store, ids[0], 1), 0);
    assert_int_equal(job_store_get(f->store, ids[0], &job), 0);
    assert_int_equal((job.status == JOB_QUEUED) + job.attempts, 1);
    job_clear(&job);

    /* a job whose worker dies on its last attempt fails instead of looping */
    s_claim_ok(f->store, "w3", 5000, &job);
    job_clear(&job);
    assert_int_equal(job_store_release_worker(f->store, "w3"), 1);
    assert_int_equal(job_store_expire(f->store, 1, 1), 1);
    assert_int_equal(job_store_count(f->store, JOB_FAILED), 1);
}

static void test_requeue_only_that_attempt(void **state)
{
    fixture_t *f = *state;
    char id[JOB_ID_LEN + 1], queued[JOB_ID_LEN + 1];
    job_t job;
    s_insert(f->store, "resize", 1, id);
    s_insert(f->store, "resize", 2, queued);
    s_claim_ok(f->store, "w1", 5000, &job);
    job_clear(&job);
    assert_int_equal(job_store_requeue(f->store, id, 2), 0);
    assert_int_equal(job_store_requeue(f->store, queued, 0), 0);
    assert_int_equal(s_status_of(f->store, id), JOB_PROCESSING);
    assert_int_equal(job_store_requeue(f->store, id, 1), 1);
    assert_int_equal(job_store_requeue(f->store, id, 1), 0);
    assert_int_equal(job_store_get(f->store, id, &job), 0);
    assert_int_equal(job.status, JOB_QUEUED);
    assert_int_equal(job.attempts, 0); /* handed back: not charged */
    assert_int_equal(job.dispatches, 1);
    assert_string_equal(job.lease_owner, "");
    job_clear(&job);
    /* back at the head of the queue, with a new dispatch number */
    s_claim_ok(f->store, "w2", 5000, &job);
    assert_string_equal(job.id, id);
    assert_int_equal(job.attempts, 1);
    assert_int_equal(job.dispatches, 2);
    job_clear(&job);
    /* a late completion of the first dispatch changes nothing */
    assert_int_equal(job_store_finish(f->store, id, 1, NULL, NULL, NULL, 5), 0);
    assert_int_equal(job_store_finish(f->store, id, 2, NULL, NULL, NULL, 5), 1);
}

/* A dispatch lost before its worker started it costs no attempt. */
static void test_unstarted_loss_not_charged(void **state)
{
    fixture_t *f = *state;
    char id[JOB_ID_LEN + 1];
    job_t job;
    s_insert(f->store, "resize", 1, id);
    for (int i = 1; i <= 5; i++) {
        assert_int_equal(job_store_claim(f->store, "w1", 1000, &job), 1);
        assert_int_equal(job.dispatches, i);
        job_clear(&job);
        assert_int_equal(job_store_expire(f->store, 2000, 2), 1);
        /* a late hand-back of that uncharged dispatch un-charges nothing */
        assert_int_equal(job_store_requeue(f->store, id, i), 0);
    }
    assert_int_equal(job_store_get(f->store, id, &job), 0);
    assert_int_equal(job.status, JOB_QUEUED);
    assert_int_equal(job.attempts, 0);
    job_clear(&job);
    /* a started dispatch of an earlier number is not this one */
    assert_int_equal(job_store_claim(f->store, "w1", 1000, &job), 1);
    job_clear(&job);
    assert_int_equal(job_store_mark_started(f->store, id, 5, 7), 0);
    assert_int_equal(job_store_mark_started(f->store, id, 6, 7), 1);
    assert_int_equal(job_store_expire(f->store, 2000, 1), 1);
    assert_int_equal(s_status_of(f->store, id), JOB_FAILED);
}

static void test_delete(void **state)
{
    fixture_t *f = *state;
    char id[JOB_ID_LEN + 1], keep[JOB_ID_LEN + 1];
    job_t job;
    s_insert(f->store, "resize", 1, id);
    s_insert(f->store, "resize", 2, keep);
    job_t gone = {0};
    assert_int_equal(job_store_delete(f->store, id, &gone), 0);
    assert_string_equal(gone.id, id); /* the row as it was */
    job_clear(&gone);
    img_error_clear();
    assert_int_equal(job_store_get(f->store, id, &job), -1);
    assert_int_equal(img_error_code(), IMG_E_NOT_FOUND);
    img_error_clear();
    assert_int_equal(job_store_delete(f->store, id, NULL), -1);
    assert_int_equal(img_error_code(), IMG_E_NOT_FOUND);
    assert_int_equal(s_status_of(f->store, keep), JOB_QUEUED);
}

/* Pages through a list; checks newest-first order and returns the ids seen. */
static size_t s_list_all(job_store_t *store, const char *status, const char *op, int limit,
                         char (*seen)[JOB_ID_LEN + 1], size_t cap, void (*between)(void *),
                         void *arg)
{
    size_t total = 0;
    int64_t cursor = 0, last_seq = INT64_MAX;
    do {
        job_filter_t filter = {status, op, limit, cursor};
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
    size_t n = s_list_all(f->store, NULL, NULL, 10, seen, 100, s_insert_two, f->store);
    assert_int_equal(n, N);
    for (int i = 0; i < N; i++)
        assert_string_equal(seen[i], ids[N - 1 - i]);

    job_t *jobs;
    size_t got;
    int64_t cursor;

    /* filters: 13 of the first 25 are resize, plus one per page boundary */
    size_t resize = s_list_all(f->store, NULL, "resize", 4, seen, 100, NULL, NULL);
    size_t dither = s_list_all(f->store, NULL, "dither", 4, seen, 100, NULL, NULL);
    assert_int_equal(resize + dither, N + 2 * 3);
    assert_int_equal(resize, 13 + 3);

    job_t job;
    for (int i = 0; i < 3; i++) {
        s_claim_ok(f->store, "w", 5000, &job); /* ids[0] resize, ids[1] dither, ids[2] */
        job_clear(&job);
    }
    n = s_list_all(f->store, "processing", NULL, 2, seen, 100, NULL, NULL);
    assert_int_equal(n, 3);
    assert_string_equal(seen[0], ids[2]);
    assert_string_equal(seen[2], ids[0]);
    n = s_list_all(f->store, "processing", "resize", 1, seen, 100, NULL, NULL);
    assert_int_equal(n, 2);
    assert_string_equal(seen[0], ids[2]);
    assert_string_equal(seen[1], ids[0]);
    n = s_list_all(f->store, "complete", NULL, 10, seen, 100, NULL, NULL);
    assert_int_equal(n, 0);
    n = s_list_all(f->store, NULL, "nothing", 10, seen, 100, NULL, NULL);
    assert_int_equal(n, 0);

    /* last page exactly full -> next_seq 0 */
    job_filter_t three = {"processing", NULL, 3, 0};
    assert_int_equal(job_store_list(f->store, &three, &jobs, &got, &cursor), 0);
    assert_int_equal(got, 3);
    assert_int_equal(cursor, 0);
    for (size_t i = 0; i < got; i++)
        job_clear(&jobs[i]);
    free(jobs);

    /* bad filters are answered, not asserted */
    job_filter_t bad = {NULL, NULL, 0, 0};
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
        s_claim_ok(f->store, "w", 5000, &job);
        job_clear(&job);
    }
    assert_int_equal(job_store_finish(f->store, ids[0], 1, NULL, NULL, NULL, 9), 1);
    assert_int_equal(job_store_finish(f->store, ids[1], 1, NULL, "timeout", "slow", 9), 1);
    assert_int_equal(job_store_count(f->store, JOB_QUEUED), 2);
    assert_int_equal(job_store_count(f->store, JOB_PROCESSING), 1);
    assert_int_equal(job_store_count(f->store, JOB_COMPLETE), 1);
    assert_int_equal(job_store_count(f->store, JOB_FAILED), 1);
}

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
    for (int i = 0; i < 6; i++)
        s_insert(f->store, "resize", 1, ids[i]);
    for (int i = 0; i < 5; i++) {
        s_claim_ok(f->store, "w", 5000, &job);
        job_clear(&job);
    }
    /* 0 complete old, 1 failed old, 2 complete new, 3 failed exactly at the line,
     * 4 processing, 5 queued */
    assert_int_equal(job_store_finish(f->store, ids[0], 1, NULL, NULL, NULL, 1000), 1);
    assert_int_equal(job_store_finish(f->store, ids[1], 1, NULL, "timeout", "x", 1500), 1);
    assert_int_equal(job_store_finish(f->store, ids[2], 1, NULL, NULL, NULL, 5000), 1);
    assert_int_equal(job_store_finish(f->store, ids[3], 1, NULL, "timeout", "x", 2000), 1);

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
    removed.n = 0;
    assert_int_equal(job_store_purge(f->store, 2000, s_on_removed, &removed), 0);
    assert_int_equal(removed.n, 0);
    assert_int_equal(job_store_purge(f->store, INT64_MAX, NULL, NULL), 2);
    assert_int_equal(job_store_count(f->store, JOB_PROCESSING), 1);
    assert_int_equal(job_store_count(f->store, JOB_QUEUED), 1);
}

static void test_persistence_across_reopen(void **state)
{
    fixture_t *f = *state;
    char a[JOB_ID_LEN + 1], b[JOB_ID_LEN + 1], c[JOB_ID_LEN + 1];
    job_t job;
    s_insert(f->store, "resize", 11, a);
    s_insert(f->store, "thumbnail", 12, b);
    s_insert(f->store, "info", 13, c);
    s_claim_ok(f->store, "w1", 5000, &job);
    job_clear(&job);
    json_t *result = json_pack("{s:i}", "width", 7);
    assert_int_equal(job_store_finish(f->store, a, 1, result, NULL, NULL, 99), 1);
    assert_int_equal(job_store_get(f->store, c, &job), 0);
    int64_t seq_c = job.seq;
    job_clear(&job);
    assert_int_equal(job_store_delete(f->store, c, NULL),
                     0); /* the newest: its seq is not reused */

    job_store_destroy(&f->store);
    f->store = job_store_open_sqlite(f->path);
    assert_non_null(f->store);

    assert_int_equal(job_store_get(f->store, a, &job), 0);
    assert_int_equal(job.status, JOB_COMPLETE);
    assert_true(json_equal(job.result, result));
    assert_int_equal(job.finished_at, 99);
    assert_int_equal(job.created_at, 11);
    job_clear(&job);
    s_claim_ok(f->store, "w2", 5000, &job);
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
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    img_error_clear();
    assert_null(job_store_open_sqlite(f->path));
    assert_int_equal(img_error_code(), IMG_E_INTERNAL);
    assert_non_null(strstr(img_error_message(), "999"));
}

enum { CONC_JOBS = 200, CONC_THREADS = 4 };

typedef struct {
    job_store_t *store;
    char worker[16];
    char ids[CONC_JOBS][JOB_ID_LEN + 1];
    int n;
    int errors;
} claimer_t;

static void *s_claimer(void *arg)
{
    claimer_t *c = arg;
    for (;;) {
        job_t job;
        int rc = job_store_claim(c->store, c->worker, INT64_MAX, &job);
        if (rc == 0)
            break;
        if (rc < 0 || c->n >= CONC_JOBS) {
            c->errors++;
            break;
        }
        memcpy(c->ids[c->n++], job.id, JOB_ID_LEN + 1);
        if (job_store_finish(c->store, job.id, job.attempts, NULL, NULL, NULL, 1) != 1)
            c->errors++;
        job_clear(&job);
    }
    return NULL;
}

static int s_cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_concurrent_claims(void **state)
{
    fixture_t *f = *state;
    /* two connections (as two processes would have), two threads on each */
    job_store_t *second = job_store_open_sqlite(f->path);
    assert_non_null(second);
    for (int i = 0; i < CONC_JOBS; i++)
        s_insert(f->store, "resize", i + 1, NULL);

    static claimer_t claimers[CONC_THREADS];
    pthread_t threads[CONC_THREADS];
    memset(claimers, 0, sizeof claimers);
    for (int t = 0; t < CONC_THREADS; t++) {
        claimers[t].store = t % 2 ? second : f->store;
        snprintf(claimers[t].worker, sizeof claimers[t].worker, "w%d", t);
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
    job_store_destroy(&second);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_insert_get_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_get_unknown_is_not_found, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_insert_fails, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_claim_oldest_first_and_empty, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_attempts_increment_started_at_kept, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_renew_only_by_owner, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_finish_applies_once, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_expire_requeues_then_fails, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_release_worker, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_requeue_only_that_attempt, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unstarted_loss_not_charged, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_delete, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_list_pagination, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_count, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_purge, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_persistence_across_reopen, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_is_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_claims, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
