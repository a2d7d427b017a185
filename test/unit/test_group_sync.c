/* test_group_sync — the SQLite store's shared fdatasync: every wait is
 * followed by a sync that began after it, waits that arrive together share
 * syncs, a failed sync is reported to its waiters. A real file on disk. */
#include "test_support.h"

#include "group_sync.h"
#include "img_error.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define RACERS 16

typedef struct {
    group_sync_t *sync;
    pthread_barrier_t *start;
    int rc;
} racer_t;

static group_sync_t *s_open_file(const ts_folder_t *f)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/wal", f->root);
    ts_write_file(path, "x", 1);
    group_sync_t *sync = group_sync_new(path);
    assert_non_null(sync);
    return sync;
}

static void test_each_lone_wait_runs_a_sync(void **state)
{
    group_sync_t *sync = s_open_file(*state);
    for (long i = 1; i <= 5; i++) {
        assert_int_equal(group_sync_wait(sync), 0);
        assert_int_equal(group_sync_count(sync), i);
    }
    group_sync_destroy(&sync);
    assert_null(sync);
}

static void *s_racer(void *arg)
{
    racer_t *r = arg;
    pthread_barrier_wait(r->start);
    r->rc = group_sync_wait(r->sync);
    return NULL;
}

static void test_waits_together_share_syncs(void **state)
{
    group_sync_t *sync = s_open_file(*state);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, RACERS);
    pthread_t threads[RACERS];
    racer_t racers[RACERS];
    for (int i = 0; i < RACERS; i++) {
        racers[i] = (racer_t){.sync = sync, .start = &start, .rc = -2};
        assert_int_equal(pthread_create(&threads[i], NULL, s_racer, &racers[i]), 0);
    }
    for (int i = 0; i < RACERS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(racers[i].rc, 0);
    }
    long syncs = group_sync_count(sync);
    assert_true(syncs >= 1);
    if (syncs >= RACERS)
        fail_msg("%ld syncs for %d waits that arrived together: none shared", syncs, RACERS);
    pthread_barrier_destroy(&start);
    group_sync_destroy(&sync);
}

/* /dev/null cannot be synced (EINVAL): the waiter hears of it. */
static void test_failed_sync_is_reported(void **state)
{
    (void)state;
    group_sync_t *sync = group_sync_new("/dev/null");
    assert_non_null(sync);
    img_error_clear();
    assert_int_equal(group_sync_wait(sync), -1);
    assert_non_null(strstr(img_error_message(), "could not be synced"));
    group_sync_destroy(&sync);
}

static void test_missing_file_refused(void **state)
{
    const ts_folder_t *f = *state;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/no-such-wal", f->root);
    img_error_clear();
    assert_null(group_sync_new(path));
    assert_int_not_equal(img_error_code(), IMG_E_NONE);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, ts_setup, ts_teardown)
    const struct CMUnitTest tests[] = {
        T(test_each_lone_wait_runs_a_sync),
        T(test_waits_together_share_syncs),
        T(test_failed_sync_is_reported),
        T(test_missing_file_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
