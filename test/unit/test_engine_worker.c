/* The engine's worker: a job message in, the `done` message out — through
 * the registry, parameter validation and op_run, on a real job folder. */
#include "config.h"
#include "img_error.h"
#include "msg.h"
#include "worker.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vips/vips.h>

#include <cmocka.h>

#define ID "3f2504e0-4f89-41d3-9a0c-0305e82c3301"

static img_config_t s_cfg;
static char s_dir[1024];

static int s_setup(void **state)
{
    (void)state;
    config_defaults(&s_cfg);
    snprintf(s_cfg.data_dir, sizeof s_cfg.data_dir, "%s/engine_worker_%d", TEST_BINARY_DIR,
             (int)getpid());
    char jobs[600];
    snprintf(jobs, sizeof jobs, "%s/jobs", s_cfg.data_dir);
    mkdir(s_cfg.data_dir, 0750);
    mkdir(jobs, 0750);
    snprintf(s_dir, sizeof s_dir, "%s/%s", jobs, ID);
    mkdir(s_dir, 0750);
    /* a 300x200 gradient JPEG as the job's input */
    VipsImage *x = NULL, *u = NULL;
    char in[1200];
    snprintf(in, sizeof in, "%s/in_file", s_dir);
    if (vips_xyz(&x, 300, 200, NULL) || vips_cast(x, &u, VIPS_FORMAT_UCHAR, NULL) ||
        vips_jpegsave(u, in, "Q", 90, NULL))
        return -1;
    g_object_unref(x);
    g_object_unref(u);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_cfg.data_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *s_job(const char *op, const char *params_json)
{
    static char text[1024];
    snprintf(text, sizeof text,
             "{\"v\":1,\"type\":\"job\",\"id\":\"" ID "\",\"operation\":\"%s\",\"params\":%s,"
             "\"attempt\":3,\"timeout_ms\":30000}",
             op, params_json);
    return text;
}

static void s_decode_done(const char *text, msg_t *done)
{
    assert_non_null(text);
    assert_int_equal(msg_decode(text, strlen(text), 65536, done), 0);
    assert_int_equal(done->type, MSG_DONE);
    assert_string_equal(done->id, ID);
    assert_int_equal(done->attempt, 3);
}

static void test_resize_job_completes(void **state)
{
    (void)state;
    msg_t done;
    char *text = worker_run_job(&s_cfg, s_job("resize", "{\"width\":\"150\"}"));
    s_decode_done(text, &done);
    assert_true(done.ok);
    assert_int_equal(json_integer_value(json_object_get(done.result, "width")), 150);
    assert_int_equal(json_integer_value(json_object_get(done.result, "height")), 100);
    assert_string_equal(json_string_value(json_object_get(done.result, "format")), "jpeg");
    char out[1200];
    snprintf(out, sizeof out, "%s/result.jpg", s_dir);
    VipsImage *r = vips_image_new_from_file(out, NULL);
    assert_non_null(r);
    assert_int_equal(vips_image_get_width(r), 150);
    g_object_unref(r);
    msg_clear(&done);
    free(text);
}

static void test_unknown_operation_fails(void **state)
{
    (void)state;
    msg_t done;
    char *text = worker_run_job(&s_cfg, s_job("explode", "{}"));
    s_decode_done(text, &done);
    assert_false(done.ok);
    assert_string_equal(done.error_code, "invalid_parameter");
    msg_clear(&done);
    free(text);
}

static void test_bad_params_fail_without_work(void **state)
{
    (void)state;
    msg_t done;
    char *text = worker_run_job(&s_cfg, s_job("resize", "{\"width\":0}"));
    s_decode_done(text, &done);
    assert_false(done.ok);
    assert_string_equal(done.error_code, "invalid_parameter");
    assert_non_null(strstr(done.error_message, "width"));
    msg_clear(&done);
    free(text);
}

static void test_missing_input_fails(void **state)
{
    (void)state;
    msg_t done;
    char *text = worker_run_job(&s_cfg, s_job("diff", "{}")); /* no in_image1/in_image2 */
    s_decode_done(text, &done);
    assert_false(done.ok);
    assert_true(strlen(done.error_message) > 0);
    assert_null(strstr(done.error_message, s_cfg.data_dir)); /* no server paths leak */
    msg_clear(&done);
    free(text);
}

static void test_invalid_job_message_is_refused(void **state)
{
    (void)state;
    assert_null(worker_run_job(&s_cfg, "{\"v\":1,\"type\":\"job\"}"));
    assert_null(worker_run_job(&s_cfg, "{\"v\":1,\"type\":\"ping\"}"));
    assert_null(worker_run_job(&s_cfg, "garbage"));
}

int main(void)
{
    if (VIPS_INIT("test_engine_worker"))
        return 1;
    vips_cache_set_max(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resize_job_completes),
        cmocka_unit_test(test_unknown_operation_fails),
        cmocka_unit_test(test_bad_params_fail_without_work),
        cmocka_unit_test(test_missing_input_fails),
        cmocka_unit_test(test_invalid_job_message_is_refused),
    };
    int rc = cmocka_run_group_tests(tests, s_setup, s_teardown);
    vips_shutdown();
    return rc;
}
