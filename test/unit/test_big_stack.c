/* test_big_stack — calls run on the big-stack threads (the header probes):
 * a call's result and error come back to the caller; with a task beside
 * it (the folder's sync), both run at once, and the call's error wins over
 * the task's. */
#include "test_support.h"

#include "big_stack.h"
#include "img_error.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

/* Each side raises its own flag, then waits (up to 10 s) for the other's:
 * both see the other's flag only if they run at the same time. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool call_in, beside_in;
    bool call_saw, beside_saw;
    int call_rc, beside_rc;
} meet_t;

static bool s_meet(meet_t *m, bool *mine, const bool *theirs)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&m->lock);
    *mine = true;
    pthread_cond_broadcast(&m->changed);
    int rc = 0;
    while (!*theirs && rc == 0)
        rc = pthread_cond_timedwait(&m->changed, &m->lock, &until);
    bool saw = *theirs;
    pthread_mutex_unlock(&m->lock);
    return saw;
}

static int s_call(void *arg)
{
    meet_t *m = arg;
    m->call_saw = s_meet(m, &m->call_in, &m->beside_in);
    if (m->call_rc < 0)
        img_error_set(IMG_E_UNSUPPORTED_MEDIA_TYPE, "the call failed");
    return m->call_rc;
}

static int s_beside(void *arg)
{
    meet_t *m = arg;
    m->beside_saw = s_meet(m, &m->beside_in, &m->call_in);
    if (m->beside_rc < 0)
        img_error_set(IMG_E_INSUFFICIENT_STORAGE, "the task beside failed");
    return m->beside_rc;
}

/* One call through fresh big-stack threads: with a task beside it
 * (big_stack_call_beside), or alone (big_stack_call: nothing to meet). */
static int s_run(int call_rc, int beside_rc, bool beside, meet_t *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->changed, NULL);
    m->call_rc = call_rc;
    m->beside_rc = beside_rc;
    m->beside_in = !beside;
    big_stack_t *stacks = big_stack_new(1);
    assert_non_null(stacks);
    img_error_clear();
    int rc = beside ? big_stack_call_beside(stacks, s_call, m, s_beside, m)
                    : big_stack_call(stacks, s_call, m);
    big_stack_destroy(&stacks);
    pthread_cond_destroy(&m->changed);
    pthread_mutex_destroy(&m->lock);
    return rc;
}

static void test_both_run_at_once(void **state)
{
    (void)state;
    meet_t m;
    assert_int_equal(s_run(0, 0, true, &m), 0);
    assert_true(m.call_saw);
    assert_true(m.beside_saw);
}

static void test_the_calls_error_wins(void **state)
{
    (void)state;
    meet_t m;
    assert_int_equal(s_run(-1, -1, true, &m), -1);
    assert_int_equal(img_error_code(), IMG_E_UNSUPPORTED_MEDIA_TYPE);
    assert_string_equal(img_error_message(), "the call failed");
}

static void test_the_tasks_error_when_the_call_succeeds(void **state)
{
    (void)state;
    meet_t m;
    assert_int_equal(s_run(0, -1, true, &m), -1);
    assert_int_equal(img_error_code(), IMG_E_INSUFFICIENT_STORAGE);
    assert_string_equal(img_error_message(), "the task beside failed");
}

static void test_a_plain_call_carries_its_error(void **state)
{
    (void)state;
    meet_t m;
    assert_int_equal(s_run(-1, 0, false, &m), -1);
    assert_int_equal(img_error_code(), IMG_E_UNSUPPORTED_MEDIA_TYPE);
    assert_string_equal(img_error_message(), "the call failed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_run_at_once),
        cmocka_unit_test(test_the_calls_error_wins),
        cmocka_unit_test(test_the_tasks_error_when_the_call_succeeds),
        cmocka_unit_test(test_a_plain_call_carries_its_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
