/* test_load_job — h_load_job(), which every job route uses to read the job
 * of the path's id: found, or -1 with not_found for an invalid id, an
 * unknown one and another operation's job; and in every case *job is left
 * in a state job_clear() accepts (once a progress event for a deleted job
 * cleared a job the store had never written: a crash). A real SQLite store
 * in a temporary folder. */
#include "test_support.h"

#include "handlers.h"
#include "img_error.h"
#include "job_events.h"
#include "ts_store.h"
#include "op_catalog.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    ts_folder_t *folder; /* its id is the stored job's; its cfg the app's */
    rest_app_t app;
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    fx->folder = ts_folder_new("load-job");
    fx->app.cfg = &fx->folder->cfg;
    fx->app.store = ts_store_open(fx->folder);
    fx->app.events = job_events_new();
    assert_non_null(fx->app.events);
    ts_store_add_queued(fx->app.store, fx->folder);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    job_store_destroy(&fx->app.store);
    job_events_destroy(&fx->app.events);
    ts_folder_destroy(&fx->folder);
    free(fx);
    return 0;
}

/* Loads id (for op, NULL: any) into a job filled with garbage first. */
static int s_load(fixture_t *fx, const char *id, const char *op, job_t *job)
{
    http_req_t r = {.app = &fx->app, .id = id, .op = op ? op_catalog_find(op) : NULL};
    memset(job, 0x41, sizeof *job);
    img_error_clear();
    return h_load_job(&r, job);
}

static void s_refused_and_empty(fixture_t *fx, const char *id, const char *op)
{
    job_t job;
    assert_int_equal(s_load(fx, id, op, &job), -1);
    assert_int_equal(img_error_code(), IMG_E_NOT_FOUND);
    assert_null(job.params);
    assert_null(job.result);
    assert_string_equal(job.id, "");
    job_clear(&job); /* what a caller may do whatever the result */
}

static void test_found(void **state)
{
    fixture_t *fx = *state;
    job_t job;
    assert_int_equal(s_load(fx, fx->folder->id, "resize", &job), 0);
    assert_string_equal(job.id, fx->folder->id);
    assert_int_equal(json_integer_value(json_object_get(job.params, "width")), 10);
    assert_int_equal(job.progress, -1);
    job_clear(&job);
    assert_int_equal(s_load(fx, fx->folder->id, NULL, &job), 0);
    job_clear(&job);
}

static void test_invalid_id(void **state)
{
    s_refused_and_empty(*state, "../jobs.db", NULL);
}

static void test_unknown_id(void **state)
{
    s_refused_and_empty(*state, "6f9619ff-8b86-4011-b42d-00cf4fc964ff", NULL);
}

static void test_another_operations_job(void **state)
{
    fixture_t *fx = *state;
    s_refused_and_empty(fx, fx->folder->id, "thumbnail");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_found, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_id, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_id, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_another_operations_job, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
