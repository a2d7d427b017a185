/* test_result_cache — a complete job lends its result to a submit of the same
 * fingerprint only when the inputs are the same bytes (the input digests are
 * fast, not collision-proof: here a collision is staged by giving two jobs
 * the same cache key), and never when the result file is gone. Real files in
 * a temporary data folder, a real SQLite job store. */
#include "test_support.h"

#include "img_error.h"
#include "job_files.h"
#include "ts_store.h"
#include "op_catalog.h"
#include "result_cache.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define KEY "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define INPUT_BYTES "these bytes stand for an uploaded image"
#define RESULT_BYTES "and these for its result"

typedef struct {
    ts_folder_t *folder; /* its job is the complete one that lends */
    job_store_t *store;
    const op_def_t *op;
    char dir[PATH_MAX]; /* the folder of the submit that may borrow */
    job_t job;          /* that submit */
} fixture_t;

static void s_insert_lender(fixture_t *fx)
{
    job_t job = {.status = JOB_COMPLETE, .created_at = 1, .finished_at = 2, .progress = -1};
    memcpy(job.id, fx->folder->id, sizeof job.id);
    snprintf(job.operation, sizeof job.operation, "resize");
    snprintf(job.cache_key, sizeof job.cache_key, "%s", KEY);
    job.params = json_pack("{s:i}", "width", 10);
    job.result = json_pack("{s:i, s:i, s:s, s:i}", "width", 10, "height", 5, "format", "jpeg",
                           "bytes", (int)strlen(RESULT_BYTES));
    assert_int_equal(job_store_insert(fx->store, &job, NULL, NULL), 0);
    job_clear(&job);
}

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    fx->folder = ts_folder_new("result-cache");
    fx->store = ts_store_open(fx->folder);
    fx->op = op_catalog_find("resize");
    assert_non_null(fx->op);
    ts_write_input(fx->folder, "file", INPUT_BYTES, strlen(INPUT_BYTES));
    char result[PATH_MAX];
    ts_result_path(fx->folder, "jpeg", result, sizeof result);
    ts_write_file(result, RESULT_BYTES, strlen(RESULT_BYTES));
    s_insert_lender(fx);

    fx->job.progress = -1;
    fx->job.status = JOB_QUEUED;
    fx->job.created_at = 3;
    assert_int_equal(job_id_new(fx->job.id), 0);
    snprintf(fx->job.cache_key, sizeof fx->job.cache_key, "%s", KEY);
    assert_int_equal(job_files_create(fx->folder->root, fx->job.id, fx->dir, sizeof fx->dir), 0);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    job_clear(&fx->job);
    job_store_destroy(&fx->store);
    ts_folder_destroy(&fx->folder);
    free(fx);
    return 0;
}

/* The submit's input: `bytes`. */
static void s_submit_input(fixture_t *fx, const char *bytes)
{
    char path[PATH_MAX];
    assert_int_equal(job_files_input(fx->dir, "file", path, sizeof path), 0);
    ts_write_file(path, bytes, strlen(bytes));
}

static int s_lend(fixture_t *fx)
{
    return result_cache_lend(fx->store, fx->folder->root, fx->op, fx->dir, &fx->job);
}

static void s_expect_not_lent(fixture_t *fx)
{
    assert_int_equal(s_lend(fx), 0);
    assert_int_equal(fx->job.status, JOB_QUEUED);
    assert_null(fx->job.result);
    assert_int_equal(ts_count_files(fx->dir, "result."), 0);
    assert_int_equal(img_error_code(), IMG_E_NONE);
}

static void test_same_bytes_lend_the_result(void **state)
{
    fixture_t *fx = *state;
    s_submit_input(fx, INPUT_BYTES);
    assert_int_equal(s_lend(fx), 1);
    assert_int_equal(fx->job.status, JOB_COMPLETE);
    assert_true(json_is_true(json_object_get(fx->job.result, "cached")));
    assert_int_equal(json_integer_value(json_object_get(fx->job.result, "width")), 10);
    char result[PATH_MAX];
    assert_int_equal(job_files_result(fx->dir, "jpg", result, sizeof result), 0);
    FILE *fp = fopen(result, "rb");
    assert_non_null(fp);
    char got[64] = "";
    size_t n = fread(got, 1, sizeof got - 1, fp);
    fclose(fp);
    assert_int_equal(n, strlen(RESULT_BYTES));
    assert_string_equal(got, RESULT_BYTES);
}

/* Same length, one byte apart: a digest collision must not lend. */
static void test_colliding_digest_other_bytes_do_not(void **state)
{
    fixture_t *fx = *state;
    char other[] = INPUT_BYTES;
    other[sizeof other - 2] ^= 1;
    s_submit_input(fx, other);
    s_expect_not_lent(fx);
}

static void test_longer_input_does_not(void **state)
{
    fixture_t *fx = *state;
    s_submit_input(fx, INPUT_BYTES " and more");
    s_expect_not_lent(fx);
}

static void test_gone_result_file_does_not(void **state)
{
    fixture_t *fx = *state;
    char result[PATH_MAX];
    ts_result_path(fx->folder, "jpeg", result, sizeof result);
    assert_int_equal(unlink(result), 0);
    s_submit_input(fx, INPUT_BYTES);
    s_expect_not_lent(fx);
}

static void test_other_key_finds_nothing(void **state)
{
    fixture_t *fx = *state;
    s_submit_input(fx, INPUT_BYTES);
    fx->job.cache_key[0] ^= 1;
    s_expect_not_lent(fx);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_same_bytes_lend_the_result), T(test_colliding_digest_other_bytes_do_not),
        T(test_longer_input_does_not),      T(test_gone_result_file_does_not),
        T(test_other_key_finds_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
