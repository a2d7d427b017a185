/* test_crash_report — what a crashed engine leaves for the next one: each
 * case forks a child that holds jobs as the engine does (slots, the job its
 * thread runs, jobs waiting for their commit) and dies of SIGABRT; the
 * parent, like the supervisor, collects the jobs to hand back. Only the job
 * that crashed stays charged; a job waiting for its commit is handed back
 * even when the crash cannot be pinned on one running job. */
#include "test_support.h"

#include "crash_report.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define A "00000000-0000-4000-8000-00000000000a"
#define B "00000000-0000-4000-8000-00000000000b"
#define C "00000000-0000-4000-8000-00000000000c"
#define D "00000000-0000-4000-8000-00000000000d"

typedef void (*hold_fn)(void);

/* Forks a child that runs hold() and aborts; collects what it reported. */
static int s_crash(hold_fn hold, const crash_job_t **innocent)
{
    assert_int_equal(crash_report_open(), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        crash_report_install();
        hold();
        raise(SIGABRT);
        _exit(0); /* not reached: the handler dies of the signal */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    crash_report_collect();
    return crash_report_innocents(innocent);
}

static bool s_has(const crash_job_t *jobs, int n, const char *id, int dispatch)
{
    for (int i = 0; i < n; i++)
        if (strcmp(jobs[i].id, id) == 0 && jobs[i].dispatch == dispatch)
            return true;
    return false;
}

/* A runs on the thread that crashed, B beside it, C waits for its commit,
 * D's commit is over. */
static void s_culprit_known(void)
{
    crash_report_slot(0, A, 1);
    crash_report_slot(1, B, 2);
    crash_report_committing_add(C, 3);
    crash_report_committing_add(D, 4);
    crash_report_committing_remove(D);
    crash_report_current(A, 1);
}

static void test_only_the_culprit_is_charged(void **state)
{
    (void)state;
    const crash_job_t *innocent;
    int n = s_crash(s_culprit_known, &innocent);
    assert_int_equal(n, 2);
    assert_true(s_has(innocent, n, B, 2));
    assert_true(s_has(innocent, n, C, 3));
}

/* A and B run; the crash is on a thread that runs no job (libvips'), so it
 * cannot be pinned; C waits for its commit. */
static void s_culprit_unknown(void)
{
    crash_report_slot(0, A, 1);
    crash_report_slot(1, B, 2);
    crash_report_committing_add(C, 3);
}

static void test_a_committing_job_is_never_charged(void **state)
{
    (void)state;
    const crash_job_t *innocent;
    int n = s_crash(s_culprit_unknown, &innocent);
    assert_int_equal(n, 1);
    assert_true(s_has(innocent, n, C, 3));
}

/* Only A runs, the crash is on another thread: A is the culprit. Three wait
 * for their commit; the first one's is over (the last moves into its place). */
static void s_one_running(void)
{
    crash_report_slot(1, A, 7);
    crash_report_committing_add(B, 1);
    crash_report_committing_add(C, 2);
    crash_report_committing_add(D, 3);
    crash_report_committing_remove(B);
}

static void test_the_one_running_job_is_the_culprit(void **state)
{
    (void)state;
    const crash_job_t *innocent;
    int n = s_crash(s_one_running, &innocent);
    assert_int_equal(n, 2);
    assert_true(s_has(innocent, n, C, 2));
    assert_true(s_has(innocent, n, D, 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_the_culprit_is_charged),
        cmocka_unit_test(test_a_committing_job_is_never_charged),
        cmocka_unit_test(test_the_one_running_job_is_the_culprit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
