/* test_dispatch_parts — the dispatcher's parts: the engine table (credit,
 * round-robin, expiry, resync, room) and job_events (wake-ups that cannot
 * be missed, the progress of running jobs, the bound on waiters). */
#include "test_support.h"

#include "job.h"
#include "job_events.h"
#include "engine_table.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void test_touch_adds_once(void **state)
{
    (void)state;
    engine_table_t t;
    bool added;
    engine_table_init(&t);
    engine_entry_t *a = engine_table_touch(&t, "a", 100, &added);
    assert_non_null(a);
    assert_true(added);
    assert_string_equal(a->name, "a");
    assert_int_equal(a->credit, 0);
    assert_true(a->resync); /* its credit is unknown until it says */
    assert_false(a->draining);
    a->credit = 2;
    a->resync = false;
    assert_ptr_equal(engine_table_touch(&t, "a", 200, &added), a);
    assert_false(added);
    assert_int_equal(a->credit, 2);
    assert_false(a->resync);
    assert_true(a->last_seen_ms == 200);
    assert_ptr_equal(engine_table_find(&t, "a"), a);
    assert_null(engine_table_find(&t, "b"));
    assert_int_equal(t.count, 1);
}

static void test_round_robin_over_credit(void **state)
{
    (void)state;
    engine_table_t t;
    bool added;
    engine_table_init(&t);
    engine_entry_t *a = engine_table_touch(&t, "a", 0, &added);
    engine_entry_t *b = engine_table_touch(&t, "b", 0, &added);
    engine_entry_t *c = engine_table_touch(&t, "c", 0, &added);
    assert_null(engine_table_next_with_credit(&t));
    a->credit = 2;
    b->credit = 2;
    c->credit = 1;
    c->draining = true;
    const char *order[4];
    for (int i = 0; i < 4; i++) {
        engine_entry_t *e = engine_table_next_with_credit(&t);
        assert_non_null(e);
        e->credit--;
        order[i] = e->name;
    }
    assert_string_equal(order[0], "a");
    assert_string_equal(order[1], "b");
    assert_string_equal(order[2], "a");
    assert_string_equal(order[3], "b");
    assert_null(engine_table_next_with_credit(&t)); /* c drains: never chosen */
    assert_int_equal(engine_table_active(&t), 2);
    /* one engine with much credit, another with little: turns while both have some */
    a->credit = 3;
    b->credit = 1;
    int to_a = 0;
    for (engine_entry_t *e; (e = engine_table_next_with_credit(&t)) != NULL; e->credit--)
        to_a += e == a;
    assert_int_equal(to_a, 3);
    assert_int_equal(a->credit + b->credit, 0);
}

typedef struct {
    char names[8][MSG_ENGINE_MAX];
    int n;
} lost_t;

static void s_lost(const char *name, void *arg)
{
    lost_t *l = arg;
    assert_true(l->n < 8);
    snprintf(l->names[l->n++], MSG_ENGINE_MAX, "%s", name);
}

static void test_expire_removes_silent_engines(void **state)
{
    (void)state;
    engine_table_t t;
    bool added;
    engine_table_init(&t);
    engine_table_touch(&t, "old", 100, &added);
    engine_table_touch(&t, "new", 900, &added);
    engine_table_touch(&t, "older", 50, &added);
    engine_table_touch(&t, "edge", 500, &added);
    lost_t lost = {.n = 0};
    assert_int_equal(engine_table_expire(&t, 500, s_lost, &lost), 2);
    assert_int_equal(lost.n, 2);
    assert_true((strcmp(lost.names[0], "old") == 0 && strcmp(lost.names[1], "older") == 0) ||
                (strcmp(lost.names[0], "older") == 0 && strcmp(lost.names[1], "old") == 0));
    assert_null(engine_table_find(&t, "old"));
    assert_null(engine_table_find(&t, "older"));
    assert_non_null(engine_table_find(&t, "new"));
    assert_non_null(engine_table_find(&t, "edge")); /* seen at the limit: kept */
    assert_int_equal(t.count, 2);
    /* the round-robin start stays within the table */
    engine_table_find(&t, "new")->credit = 1;
    assert_string_equal(engine_table_next_with_credit(&t)->name, "new");
}

static void s_count(const char *name, void *arg)
{
    (void)name;
    ++*(int *)arg;
}

static void test_table_full(void **state)
{
    (void)state;
    static engine_table_t t;
    bool added;
    char name[16];
    engine_table_init(&t);
    for (int i = 0; i < ENGINE_TABLE_MAX; i++) {
        snprintf(name, sizeof name, "e%d", i);
        assert_non_null(engine_table_touch(&t, name, 0, &added));
        assert_true(added);
    }
    assert_null(engine_table_touch(&t, "one-too-many", 0, &added));
    assert_false(added);
    /* the known ones are still found, and room comes back when one goes */
    assert_non_null(engine_table_touch(&t, "e7", 10, &added));
    int gone = 0;
    assert_int_equal(engine_table_expire(&t, 1, s_count, &gone), ENGINE_TABLE_MAX - 1);
    assert_int_equal(gone, ENGINE_TABLE_MAX - 1);
    assert_non_null(engine_table_touch(&t, "one-too-many", 0, &added));
    assert_true(added);
}

static void *s_notify_later(void *arg)
{
    usleep(100 * 1000);
    job_events_notify(arg, "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    return NULL;
}

/* No upper bound on times (machines are noisy): a wait that is not woken
 * returns the generation it saw, one that is woken a newer one. */
static void test_events_wake_and_deadline(void **state)
{
    (void)state;
    job_events_t *ev = job_events_new();
    assert_non_null(ev);
    uint64_t g = job_events_generation(ev);
    /* nothing happens: waits until the deadline, not less */
    int64_t t0 = job_now_ms();
    assert_true(job_events_wait(ev, g, t0 + 150) == g);
    assert_true(job_now_ms() - t0 >= 150);
    /* a notify from another thread wakes the waiter before a far deadline */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, s_notify_later, ev), 0);
    assert_true(job_events_wait(ev, g, job_now_ms() + 600000) == g + 1);
    pthread_join(th, NULL);
    /* a notify that came before the wait is not missed: no wait at all */
    job_events_notify(ev, "3f2504e0-4f89-41d3-9a0c-0305e82c3302");
    assert_true(job_events_wait(ev, g + 1, job_now_ms() + 600000) == g + 2);
    /* a deadline already passed returns at once */
    assert_true(job_events_wait(ev, g + 2, job_now_ms() - 1000) == g + 2);
    job_events_destroy(&ev);
    assert_null(ev);
    job_events_destroy(&ev);
}

typedef struct {
    job_events_t *ev;
    const char *id;
} s_later_t;

/* Other jobs' changes and progress, then (after 100 ms) a change of l->id. */
static void *s_others_then_mine(void *arg)
{
    const s_later_t *l = arg;
    for (int i = 0; i < 50; i++) {
        job_events_notify(l->ev, "3f2504e0-4f89-41d3-9a0c-0305e82c3309");
        job_events_progress(l->ev, l->id, i);
    }
    usleep(100 * 1000);
    job_events_notify(l->ev, l->id);
    return NULL;
}

/* The ?wait of one job: woken by a change of that job (or of every job,
 * ""), never by other jobs' changes or by progress; a change that came
 * before the wait is not missed. */
static void test_events_wait_for_one_job(void **state)
{
    (void)state;
    job_events_t *ev = job_events_new();
    const char *mine = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    uint64_t g = job_events_generation(ev);
    /* other jobs only: waits until the deadline */
    job_events_notify(ev, "3f2504e0-4f89-41d3-9a0c-0305e82c3302");
    job_events_progress(ev, mine, 40);
    int64_t t0 = job_now_ms();
    job_events_wait_job(ev, mine, g, t0 + 150);
    assert_true(job_now_ms() - t0 >= 150);
    /* its own change, from another thread after 100 other notices */
    g = job_events_generation(ev);
    s_later_t l = {ev, mine};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, s_others_then_mine, &l), 0);
    t0 = job_now_ms();
    job_events_wait_job(ev, mine, g, t0 + 60000);
    uint64_t woken_at = job_events_generation(ev);
    pthread_join(th, NULL);
    assert_int_equal(woken_at, g + 101); /* by its own change, the last notice */
    /* a change before the wait (after `seen`), among others: no wait at all */
    g = job_events_generation(ev);
    job_events_notify(ev, mine);
    job_events_notify(ev, "3f2504e0-4f89-41d3-9a0c-0305e82c3302");
    t0 = job_now_ms();
    job_events_wait_job(ev, mine, g, t0 + 60000);
    assert_true(job_now_ms() - t0 < 60000);
    /* "" (what changed is unknown) concerns every job */
    g = job_events_generation(ev);
    job_events_notify(ev, "");
    t0 = job_now_ms();
    job_events_wait_job(ev, mine, g, t0 + 60000);
    assert_true(job_now_ms() - t0 < 60000);
    job_events_destroy(&ev);
}

/* The change feed: every notice in order with its kind, a reader that fell
 * more than the ring behind is told so, and the shutdown wakes a waiter. */
static void test_events_feed(void **state)
{
    (void)state;
    job_events_t *ev = job_events_new();
    const char *a = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    const char *b = "3f2504e0-4f89-41d3-9a0c-0305e82c3302";
    job_event_t got[8];
    uint64_t since = job_events_generation(ev);
    job_events_notify(ev, a);
    job_events_progress(ev, b, 30);
    job_events_notify(ev, b);
    assert_int_equal(job_events_since(ev, &since, got, 8), 3);
    assert_string_equal(got[0].id, a);
    assert_int_equal(got[0].kind, JOB_EVENT_CHANGED);
    assert_string_equal(got[1].id, b);
    assert_int_equal(got[1].kind, JOB_EVENT_PROGRESS);
    assert_true(got[0].seq < got[1].seq && got[1].seq < got[2].seq);
    assert_int_equal(since, got[2].seq);
    assert_int_equal(job_events_since(ev, &since, got, 8), 0); /* nothing new */
    /* more than the ring holds: the reader learns it lost some, and catches up */
    for (int i = 0; i < JOB_EVENTS_RING + 5; i++)
        job_events_notify(ev, a);
    assert_int_equal(job_events_since(ev, &since, got, 8), -1);
    assert_int_equal(since, job_events_generation(ev));
    /* at most max at a time */
    for (int i = 0; i < 10; i++)
        job_events_notify(ev, b);
    assert_int_equal(job_events_since(ev, &since, got, 8), 8);
    assert_int_equal(job_events_since(ev, &since, got, 8), 2);
    /* the shutdown wakes a waiter with nothing new, for good */
    assert_false(job_events_shutting_down(ev));
    job_events_shutdown(ev);
    assert_true(job_events_shutting_down(ev));
    uint64_t g = job_events_generation(ev);
    assert_true(job_events_wait(ev, g, job_now_ms() + 600000) == g);
    job_events_destroy(&ev);
}

/* Waiters and streams are bounded apart. */
static void test_events_bounds(void **state)
{
    (void)state;
    job_events_t *ev = job_events_new();
    assert_true(job_events_enter(ev, 2));
    assert_true(job_events_enter(ev, 2));
    assert_false(job_events_enter(ev, 2));
    assert_true(job_events_stream_enter(ev, 1)); /* streams have their own count */
    assert_false(job_events_stream_enter(ev, 1));
    job_events_leave(ev);
    assert_true(job_events_enter(ev, 2));
    job_events_stream_leave(ev);
    assert_true(job_events_stream_enter(ev, 1));
    job_events_destroy(&ev);
}

static void test_progress_kept_in_memory(void **state)
{
    (void)state;
    job_events_t *ev = job_events_new();
    const char *a = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    const char *b = "3f2504e0-4f89-41d3-9a0c-0305e82c3302";
    assert_int_equal(job_events_progress_of(ev, a), -1);
    uint64_t g = job_events_generation(ev);
    job_events_progress(ev, a, 40);
    assert_true(job_events_generation(ev) > g); /* waiters are woken */
    job_events_progress(ev, b, 5);
    job_events_progress(ev, a, 70);
    assert_int_equal(job_events_progress_of(ev, a), 70);
    assert_int_equal(job_events_progress_of(ev, b), 5);
    /* the most recent JOB_EVENTS_PROGRESS_MAX jobs are kept, the oldest go */
    char id[64];
    for (int i = 0; i < JOB_EVENTS_PROGRESS_MAX - 1; i++) {
        snprintf(id, sizeof id, "3f2504e0-4f89-41d3-9a0c-%012d", i);
        job_events_progress(ev, id, i % 101);
    }
    assert_int_equal(job_events_progress_of(ev, b), -1); /* the oldest */
    assert_int_equal(job_events_progress_of(ev, a), 70);
    snprintf(id, sizeof id, "3f2504e0-4f89-41d3-9a0c-%012d", 0);
    assert_int_equal(job_events_progress_of(ev, id), 0);
    snprintf(id, sizeof id, "3f2504e0-4f89-41d3-9a0c-%012d", JOB_EVENTS_PROGRESS_MAX - 2);
    assert_int_equal(job_events_progress_of(ev, id), (JOB_EVENTS_PROGRESS_MAX - 2) % 101);
    job_events_destroy(&ev);
}

static void test_waiters_bounded(void **state)
{
    (void)state;
    job_events_t *ev = job_events_new();
    assert_true(job_events_enter(ev, 2));
    assert_true(job_events_enter(ev, 2));
    assert_false(job_events_enter(ev, 2));
    job_events_leave(ev);
    assert_true(job_events_enter(ev, 2));
    assert_false(job_events_enter(ev, 0) || job_events_enter(ev, 2));
    job_events_leave(ev);
    job_events_leave(ev);
    job_events_destroy(&ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_touch_adds_once),
        cmocka_unit_test(test_round_robin_over_credit),
        cmocka_unit_test(test_expire_removes_silent_engines),
        cmocka_unit_test(test_table_full),
        cmocka_unit_test(test_events_wake_and_deadline),
        cmocka_unit_test(test_events_wait_for_one_job),
        cmocka_unit_test(test_events_feed),
        cmocka_unit_test(test_events_bounds),
        cmocka_unit_test(test_progress_kept_in_memory),
        cmocka_unit_test(test_waiters_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
