/* The dispatcher's parts: the worker table (credit, round-robin, expiry)
 * and job_events (wake-ups that cannot be missed). */
#include "job.h"
#include "job_events.h"
#include "worker_table.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void test_touch_adds_once(void **state)
{
    (void)state;
    worker_table_t t;
    bool added;
    worker_table_init(&t);
    worker_t *a = worker_table_touch(&t, "a", 100, &added);
    assert_true(added);
    assert_int_equal(a->credit, 0);
    a->credit = 2;
    assert_ptr_equal(worker_table_touch(&t, "a", 200, &added), a);
    assert_false(added);
    assert_int_equal(a->credit, 2);
    assert_true(a->last_seen_ms == 200);
    assert_null(worker_table_find(&t, "b"));
}

static void test_round_robin_over_credit(void **state)
{
    (void)state;
    worker_table_t t;
    bool added;
    worker_table_init(&t);
    worker_t *a = worker_table_touch(&t, "a", 0, &added);
    worker_t *b = worker_table_touch(&t, "b", 0, &added);
    worker_t *c = worker_table_touch(&t, "c", 0, &added);
    assert_null(worker_table_next_with_credit(&t));
    a->credit = 2;
    b->credit = 2;
    c->credit = 1;
    c->draining = true;
    const char *order[4];
    for (int i = 0; i < 4; i++) {
        worker_t *w = worker_table_next_with_credit(&t);
        assert_non_null(w);
        w->credit--;
        order[i] = w->name;
    }
    assert_string_equal(order[0], "a");
    assert_string_equal(order[1], "b");
    assert_string_equal(order[2], "a");
    assert_string_equal(order[3], "b");
    assert_null(worker_table_next_with_credit(&t)); /* c drains: never chosen */
    assert_int_equal(worker_table_active(&t), 2);
}

static int s_lost;
static void s_count_lost(const char *name, void *arg)
{
    (void)arg;
    s_lost += strcmp(name, "old") == 0 ? 1 : 100;
}

static void test_expire_removes_silent_workers(void **state)
{
    (void)state;
    worker_table_t t;
    bool added;
    worker_table_init(&t);
    worker_table_touch(&t, "old", 100, &added);
    worker_table_touch(&t, "new", 900, &added);
    s_lost = 0;
    assert_int_equal(worker_table_expire(&t, 500, s_count_lost, NULL), 1);
    assert_int_equal(s_lost, 1);
    assert_null(worker_table_find(&t, "old"));
    assert_non_null(worker_table_find(&t, "new"));
    assert_int_equal(t.count, 1);
}

static void test_table_full(void **state)
{
    (void)state;
    static worker_table_t t;
    bool added;
    char name[16];
    worker_table_init(&t);
    for (int i = 0; i < WORKER_TABLE_MAX; i++) {
        snprintf(name, sizeof name, "w%d", i);
        assert_non_null(worker_table_touch(&t, name, 0, &added));
    }
    assert_null(worker_table_touch(&t, "one-too-many", 0, &added));
}

static void *s_notify_later(void *arg)
{
    usleep(100 * 1000);
    job_events_notify(arg);
    return NULL;
}

static void test_events_wake_and_timeout(void **state)
{
    (void)state;
    job_events_t *ev = job_events_new();
    assert_non_null(ev);
    uint64_t g = job_events_generation(ev);
    /* nothing happens: waits until the deadline */
    int64_t t0 = job_now_ms();
    assert_true(job_events_wait(ev, g, t0 + 150) == g);
    assert_true(job_now_ms() - t0 >= 140);
    /* a notify from another thread wakes the waiter well before the deadline */
    pthread_t th;
    pthread_create(&th, NULL, s_notify_later, ev);
    t0 = job_now_ms();
    assert_true(job_events_wait(ev, g, t0 + 5000) == g + 1);
    assert_true(job_now_ms() - t0 < 2000);
    pthread_join(th, NULL);
    /* a notify that came before the wait is not missed */
    job_events_notify(ev);
    t0 = job_now_ms();
    assert_true(job_events_wait(ev, g + 1, t0 + 5000) == g + 2);
    assert_true(job_now_ms() - t0 < 100);
    job_events_destroy(&ev);
    assert_null(ev);
    job_events_destroy(&ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_touch_adds_once),
        cmocka_unit_test(test_round_robin_over_credit),
        cmocka_unit_test(test_expire_removes_silent_workers),
        cmocka_unit_test(test_table_full),
        cmocka_unit_test(test_events_wake_and_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
