/* test_engine_worker — the engine's worker: a decoded `job` message in, the
 * `done` message out, through job_runner on a real job folder; directly
 * (worker_run_job) and through the worker actor's pipe. */
#include "test_support.h"

#include "img_error.h"
#include "msg.h"
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A job message for the folder's job (params as JSON text). */
static void s_job(const ts_folder_t *f, msg_t *job, const char *op, const char *params_json)
{
    msg_init(job, MSG_JOB);
    memcpy(job->id, f->id, sizeof job->id);
    snprintf(job->operation, sizeof job->operation, "%s", op);
    job->params = json_loads(params_json, 0, NULL);
    assert_non_null(job->params);
    job->dispatch = 3;
    job->timeout_ms = 30000;
    snprintf(job->request_id, sizeof job->request_id, "req-1");
}

/* Runs job, checks the done is for it and a valid message; caller clears done. */
static void s_run(ts_folder_t *f, const msg_t *job, msg_t *done)
{
    worker_env_t env = {.cfg = &f->cfg, .clock = f->clock};
    atomic_int progress = -1;
    worker_run_job(&env, job, done, &progress);
    if (done->ok) /* a job that ran reported its progress, short of 100 */
        assert_in_range(atomic_load(&progress), 0, 99);
    assert_int_equal(done->type, MSG_DONE);
    assert_string_equal(done->id, job->id);
    assert_int_equal(done->dispatch, job->dispatch);
    /* what the engine forwards to the broker must encode and decode back */
    size_t len;
    char *text = msg_encode(done, &len);
    if (!text)
        fail_msg("done does not encode: %s", img_error_message());
    msg_t again;
    assert_int_equal(msg_decode(text, len, 65536, &again), 0);
    assert_int_equal(again.ok, done->ok);
    assert_string_equal(again.error_code, done->error_code);
    msg_clear(&again);
    free(text);
}

static void s_expect_failed(ts_folder_t *f, const char *op, const char *params, const char *code)
{
    msg_t job, done;
    s_job(f, &job, op, params);
    s_run(f, &job, &done);
    assert_false(done.ok);
    assert_null(done.result);
    assert_string_equal(done.error_code, code);
    assert_true(strlen(done.error_message) > 0);
    /* no server path in what a client will read */
    assert_null(strstr(done.error_message, f->root));
    msg_clear(&job);
    msg_clear(&done);
}

static void test_resize_job_completes(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_gradient(300, 200, 0), "jpeg");
    msg_t job, done;
    s_job(f, &job, "resize", "{\"width\":\"150\"}");
    s_run(f, &job, &done);
    if (!done.ok)
        fail_msg("%s: %s", done.error_code, done.error_message);
    assert_int_equal(json_integer_value(json_object_get(done.result, "width")), 150);
    assert_int_equal(json_integer_value(json_object_get(done.result, "height")), 100);
    assert_string_equal(json_string_value(json_object_get(done.result, "format")), "jpeg");
    assert_string_equal(done.error_code, "");
    char out[PATH_MAX];
    ts_result_path(f, "jpeg", out, sizeof out);
    VipsImage *r = ts_load(out);
    assert_int_equal(r->Xsize, 150);
    g_object_unref(r);
    msg_clear(&job);
    msg_clear(&done);
}

static void test_json_job_completes(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_gradient(30, 20, TS_ALPHA), "png");
    msg_t job, done;
    s_job(f, &job, "info", "{}");
    s_run(f, &job, &done);
    assert_true(done.ok);
    assert_int_equal(json_integer_value(json_object_get(done.result, "width")), 30);
    assert_true(json_is_true(json_object_get(done.result, "has_alpha")));
    assert_int_equal(ts_count_files(f->dir, "result."), 0);
    msg_clear(&job);
    msg_clear(&done);
}

static void test_failures_become_failed_dones(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_gradient(300, 200, 0), "png");
    s_expect_failed(f, "explode", "{}", "invalid_parameter");
    s_expect_failed(f, "resize", "{\"width\":0}", "invalid_parameter");
    s_expect_failed(f, "resize", "{\"width\":\"wide\"}", "invalid_parameter");
    s_expect_failed(f, "diff", "{}", "missing_file"); /* no in_image1 / in_image2 */
    f->cfg.max_pixels = 100;
    s_expect_failed(f, "resize", "{\"width\":10}", "image_too_large");
    config_defaults(&f->cfg);
    snprintf(f->cfg.data_dir, sizeof f->cfg.data_dir, "%s", f->root);
    ts_write_input(f, "file", "GIF89a", 6); /* a header and nothing more */
    s_expect_failed(f, "resize", "{\"width\":10}", "unsupported_media_type");
    assert_int_equal(ts_count_files(f->dir, "result."), 0);
}

static void test_timeout_is_reported(void **state)
{
    ts_folder_t *f = *state;
    f->cfg.max_pixels = 400000000;
    ts_save_input(f, "file", ts_gradient(4000, 4000, 0), "jpeg");
    msg_t job, done;
    s_job(f, &job, "resize",
          "{\"width\":16000,\"height\":16000,\"fit\":\"fill\",\"format\":\"png\"}");
    job.timeout_ms = 100;
    s_run(f, &job, &done);
    assert_false(done.ok);
    assert_string_equal(done.error_code, "timeout");
    assert_string_equal(done.error_message, "the job took longer than 0.1 s");
    assert_int_equal(ts_count_files(f->dir, "result."), 0);
    assert_int_equal(ts_count_files(f->dir, ".result-"), 0);
    msg_clear(&job);
    msg_clear(&done);
}

/* The actor: the job message's ownership passes with it; the done comes back. */
static void test_actor_runs_jobs(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_gradient(300, 200, 0), "png");
    worker_env_t env = {.cfg = &f->cfg, .clock = f->clock};
    atomic_int progress = -1;
    zactor_t *worker = worker_new(&env, &progress);
    assert_non_null(worker);
    for (int i = 0; i < 2; i++) {
        msg_t *job = calloc(1, sizeof *job);
        assert_non_null(job);
        s_job(f, job, "thumbnail", i == 0 ? "{\"size\":\"32\"}" : "{\"size\":0}");
        job->dispatch = 10 + i;
        assert_int_equal(worker_send_job(worker, &job), 0);
        assert_null(job); /* taken */
        msg_t *done = worker_recv_done(worker);
        assert_non_null(done);
        assert_int_equal(done->type, MSG_DONE);
        assert_string_equal(done->id, f->id);
        assert_int_equal(done->dispatch, 10 + i);
        if (i == 0) {
            assert_true(done->ok);
            assert_int_equal(json_integer_value(json_object_get(done->result, "width")), 32);
        } else {
            assert_false(done->ok);
            assert_string_equal(done->error_code, "invalid_parameter");
        }
        msg_clear(done);
        free(done);
    }
    zactor_destroy(&worker);
    assert_null(worker);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, ts_setup, ts_teardown)

int main(int argc, char **argv)
{
    (void)argc;
    if (ts_vips_init(argv[0]))
        return 1;
    const struct CMUnitTest tests[] = {
        T(test_resize_job_completes),
        T(test_json_job_completes),
        T(test_failures_become_failed_dones),
        T(test_timeout_is_reported),
        T(test_actor_runs_jobs),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    vips_shutdown();
    return rc;
}
