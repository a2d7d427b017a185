/* test_engine_worker — the engine's worker: a decoded `job` message in, the
 * `done` message out, through job_runner on a real job folder; directly
 * (worker_run_job) and through the worker actor's pipe; with the inputs'
 * headers the message carries (op_header), trusted only as far as the file
 * still matches them. */
#include "test_support.h"

#include "image_probe.h"
#include "img_error.h"
#include "msg.h"
#include "op_catalog.h"
#include "op_header.h"
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
    worker_run_job(&env, job, done, &progress, NULL); /* commits before the return */
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

/* The actor: the job message's ownership passes with it; the done comes
 * back, with an image result's commit still to run (the committer's). */
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
        result_commit_t *commit = NULL;
        msg_t *done = worker_recv_done(worker, &commit);
        assert_non_null(done);
        assert_int_equal(done->type, MSG_DONE);
        assert_string_equal(done->id, f->id);
        assert_int_equal(done->dispatch, 10 + i);
        if (i == 0) {
            assert_true(done->ok);
            assert_int_equal(json_integer_value(json_object_get(done->result, "width")), 32);
            /* written, measured, not yet under its name */
            char result[PATH_MAX];
            struct stat st;
            ts_result_path(f, json_string_value(json_object_get(done->result, "format")), result,
                           sizeof result);
            assert_non_null(commit);
            assert_true(result_commit_pending(commit));
            assert_int_equal(access(result, F_OK), -1);
            assert_int_equal(ts_count_files(f->dir, ".result-"), 1);
            assert_int_equal(result_commit_run(commit), 0);
            assert_int_equal(stat(result, &st), 0);
            assert_int_equal(st.st_size,
                             json_integer_value(json_object_get(done->result, "bytes")));
            assert_int_equal(ts_count_files(f->dir, ".result-"), 0);
            unlink(result);
        } else {
            assert_false(done->ok);
            assert_string_equal(done->error_code, "invalid_parameter");
            assert_null(commit); /* nothing written */
        }
        free(commit);
        msg_clear(done);
        free(done);
    }
    zactor_destroy(&worker);
    assert_null(worker);
}

/* ---- the inputs' headers in the message ---- */

/* job->input: op's inputs' headers as img-rest stores and sends them (a
 * probe of the folder's files under the default configuration, not the
 * engine's), before edit changes them. */
static void s_with_header(ts_folder_t *f, msg_t *job, void (*edit)(image_info_t *info, int i))
{
    const op_def_t *op = op_catalog_find(job->operation);
    image_info_t info[OP_MAX_INPUTS];
    img_config_t rest;
    config_defaults(&rest);
    assert_non_null(op);
    for (int i = 0; i < op->n_inputs; i++) {
        char path[PATH_MAX];
        ts_input_path(f, op->inputs[i].name, path, sizeof path);
        if (image_probe_file(path, &rest, &info[i]) != 0)
            fail_msg("probe: %s", img_error_message());
        if (edit)
            edit(&info[i], i);
    }
    job->input = op_header_json(op, info);
    assert_non_null(job->input);
}

/* Runs op with params on the folder's input(s) and header-edited headers;
 * asserts the done's code ("" = complete) and, failed, part of its message. */
static void s_expect_with_header(ts_folder_t *f, const char *op, const char *params,
                                 void (*edit)(image_info_t *info, int i), const char *code,
                                 const char *message_part)
{
    msg_t job, done;
    s_job(f, &job, op, params);
    s_with_header(f, &job, edit);
    s_run(f, &job, &done);
    if (strcmp(done.error_code, code) != 0)
        fail_msg("%s %s: expected '%s', got '%s': %s", op, params, code, done.error_code,
                 done.error_message);
    assert_int_equal(done.ok, code[0] == '\0');
    if (message_part && !strstr(done.error_message, message_part))
        fail_msg("'%s' does not say '%s'", done.error_message, message_part);
    msg_clear(&job);
    msg_clear(&done);
}

static void s_narrower(image_info_t *info, int i)
{
    (void)i;
    info->width -= 1;
}
static void s_longer_file(image_info_t *info, int i)
{
    (void)i;
    info->bytes += 1;
}
static void s_as_png(image_info_t *info, int i)
{
    (void)i;
    snprintf(info->format, sizeof info->format, "png");
}
static void s_as_svg(image_info_t *info, int i)
{
    (void)i;
    snprintf(info->format, sizeof info->format, "svg");
}
static void s_huge(image_info_t *info, int i)
{
    (void)i;
    info->width = info->height = 100000;
}
static void s_no_orientation(image_info_t *info, int i)
{
    (void)i;
    info->orientation = 0; /* out of range: not a whole header */
    info->width = 1;       /* would be refused if taken */
}

/* The header is what the engine plans with: a correct one gives the same
 * result as a probe, and each lie or change is caught before a pixel is
 * decoded, with the code the client will read. */
static void test_header_from_the_message(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_gradient(300, 200, 0), "jpeg");
    msg_t job, done;
    s_job(f, &job, "resize", "{\"width\":\"150\"}");
    s_with_header(f, &job, NULL);
    s_run(f, &job, &done);
    if (!done.ok)
        fail_msg("%s: %s", done.error_code, done.error_message);
    assert_int_equal(json_integer_value(json_object_get(done.result, "height")), 100);
    msg_clear(&job);
    msg_clear(&done);
    /* the pixels opened must fit the header: the file changed since */
    s_expect_with_header(f, "resize", "{\"width\":150}", s_narrower, "unsupported_media_type",
                         "the input changed after it was accepted");
    s_expect_with_header(f, "info", "{}", s_narrower, "unsupported_media_type",
                         "the input changed after it was accepted");
    s_expect_with_header(f, "resize", "{\"width\":150}", s_longer_file, "unsupported_media_type",
                         "the file changed after it was accepted");
    /* the format's own loader only: a JPEG is no PNG */
    s_expect_with_header(f, "resize", "{\"width\":150}", s_as_png, "processing_failed", NULL);
    s_expect_with_header(f, "resize", "{\"width\":150}", s_as_svg, "unsupported_media_type",
                         "'svg' is not an image format read here");
    /* this engine's own limits and formats */
    s_expect_with_header(f, "resize", "{\"width\":150}", s_huge, "image_too_large", NULL);
    snprintf(f->cfg.allowed_formats, sizeof f->cfg.allowed_formats, "png,webp");
    s_expect_with_header(f, "resize", "{\"width\":150}", NULL, "unsupported_media_type",
                         "jpeg images are not accepted");
    snprintf(f->cfg.allowed_formats, sizeof f->cfg.allowed_formats, "jpeg");
    /* a header that is not whole is not used: the file is probed */
    s_expect_with_header(f, "resize", "{\"width\":150}", s_no_orientation, "", NULL);
    assert_int_equal(ts_count_files(f->dir, ".result-"), 0);
}

static void s_as_heif(image_info_t *info, int i)
{
    (void)i;
    snprintf(info->format, sizeof info->format, "heif");
}

/* HEIF and AVIF share a loader: the engine tells them apart as the probe
 * does, so a header cannot pass one for the other (each may be allowed
 * alone). */
static void test_heif_is_not_avif(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_gradient(64, 48, 0), "avif");
    s_expect_with_header(f, "resize", "{\"width\":32,\"format\":\"png\"}", NULL, "", NULL);
    s_expect_with_header(f, "resize", "{\"width\":32,\"format\":\"png\"}", s_as_heif,
                         "unsupported_media_type", "the input changed after it was accepted");
}

/* Sizes whose product does not fit 64 bits are over any limit, not wrapped
 * under it. */
static void test_huge_header_does_not_wrap(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_gradient(30, 20, 0), "png");
    char path[PATH_MAX];
    ts_input_path(f, "file", path, sizeof path);
    image_info_t info = {0};
    assert_int_equal(image_probe_file(path, &f->cfg, &info), 0);
    info.width = info.height = INT32_MAX;
    info.pages = 3;
    assert_int_equal(image_probe_known(path, &f->cfg, &info), -1);
    assert_int_equal(img_error_code(), IMG_E_IMAGE_TOO_LARGE);
}

/* Several inputs: each one's header under "inputs", by name. */
static void test_headers_of_two_inputs(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "image1", ts_gradient(120, 80, 0), "png");
    ts_save_input(f, "image2", ts_gradient(120, 80, 0), "png");
    s_expect_with_header(f, "diff", "{}", NULL, "", NULL);
    s_expect_with_header(f, "diff", "{}", s_narrower, "unsupported_media_type",
                         "the input changed after it was accepted");
}

/* op_header: what img-rest writes the engine reads back, field for field;
 * values out of range are no header. */
static void test_header_json_reads_back(void **state)
{
    (void)state;
    const op_def_t *diff = op_catalog_find("diff"), *resize = op_catalog_find("resize");
    image_info_t in[2] = {{.width = 4000,
                           .height = 3000,
                           .pages = 1,
                           .orientation = 6,
                           .bytes = 4900000,
                           .format = "jpeg"},
                          {.width = 64,
                           .height = 48,
                           .pages = 3,
                           .orientation = 1,
                           .bytes = 5000000000LL,
                           .format = "webp"}};
    json_t *h = op_header_json(diff, in);
    assert_non_null(h);
    for (int i = 0; i < 2; i++) {
        image_info_t out = {0};
        assert_true(op_header_read(h, diff, i, &out));
        assert_int_equal(out.width, in[i].width);
        assert_int_equal(out.height, in[i].height);
        assert_int_equal(out.pages, in[i].pages);
        assert_int_equal(out.orientation, in[i].orientation);
        assert_true(out.bytes == in[i].bytes);
        assert_string_equal(out.format, in[i].format);
    }
    image_info_t out = {0};
    assert_true(op_header_read(h, resize, 0, &out)); /* the first input's, at the top */
    assert_int_equal(out.width, 4000);
    json_object_set_new(h, "pages", json_integer(0));
    assert_false(op_header_read(h, resize, 0, &out));
    json_object_set_new(h, "pages", json_integer(1));
    json_object_set_new(h, "format", json_string("a-format-name-too-long"));
    assert_false(op_header_read(h, resize, 0, &out));
    json_object_del(h, "format");
    assert_false(op_header_read(h, resize, 0, &out));
    assert_false(op_header_read(NULL, resize, 0, &out));
    assert_false(op_header_read(json_object_get(h, "inputs"), diff, 0, &out));
    json_decref(h);
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
        T(test_header_from_the_message),
        T(test_headers_of_two_inputs),
        T(test_heif_is_not_avif),
        T(test_huge_header_does_not_wrap),
        cmocka_unit_test(test_header_json_reads_back),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    vips_shutdown();
    return rc;
}
