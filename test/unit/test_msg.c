/* msg: every message type round-trips; malformed messages are refused. */
#include "img_error.h"
#include "msg.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define ID "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
#define MAX 65536

static void s_roundtrip(const msg_t *in, msg_t *out)
{
    size_t len;
    char *text = msg_encode(in, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    assert_int_equal(msg_decode(text, len, MAX, out), 0);
    assert_int_equal(out->type, in->type);
    free(text);
}

static void test_job_roundtrip(void **state)
{
    (void)state;
    msg_t in, out;
    msg_init(&in, MSG_JOB);
    strcpy(in.id, ID);
    strcpy(in.operation, "resize");
    in.params = json_pack("{s:i, s:s}", "width", 256, "fit", "cover");
    in.attempt = 2;
    in.timeout_ms = 60000;
    s_roundtrip(&in, &out);
    assert_string_equal(out.id, ID);
    assert_string_equal(out.operation, "resize");
    assert_int_equal(out.attempt, 2);
    assert_int_equal(out.timeout_ms, 60000);
    assert_true(json_equal(in.params, out.params));
    msg_clear(&in);
    msg_clear(&out);
    msg_clear(&out); /* harmless twice */
}

static void test_worker_messages_roundtrip(void **state)
{
    (void)state;
    msg_t in, out;
    msg_init(&in, MSG_HEARTBEAT);
    strcpy(in.worker, "host-12-abcdef01");
    in.free_threads = 3;
    in.n_held = 2;
    in.held = calloc(2, sizeof *in.held);
    strcpy(in.held[0], ID);
    strcpy(in.held[1], "3f2504e0-4f89-41d3-9a0c-0305e82c3302");
    s_roundtrip(&in, &out);
    assert_string_equal(out.worker, "host-12-abcdef01");
    assert_int_equal(out.free_threads, 3);
    assert_int_equal(out.n_held, 2);
    assert_string_equal(out.held[1], "3f2504e0-4f89-41d3-9a0c-0305e82c3302");
    msg_clear(&in);
    msg_clear(&out);

    msg_init(&in, MSG_READY);
    strcpy(in.worker, "w");
    in.credit = 4;
    s_roundtrip(&in, &out);
    assert_int_equal(out.credit, 4);
    msg_clear(&out);

    msg_init(&in, MSG_RELEASE);
    strcpy(in.id, ID);
    in.attempt = 1;
    s_roundtrip(&in, &out);
    assert_string_equal(out.id, ID);
    msg_clear(&out);
}

static void test_done_roundtrip(void **state)
{
    (void)state;
    msg_t in, out;
    msg_init(&in, MSG_DONE);
    strcpy(in.id, ID);
    in.attempt = 1;
    in.ok = true;
    in.result = json_pack("{s:i, s:i, s:s, s:i}", "width", 256, "height", 160, "format", "jpeg",
                          "bytes", 1234);
    s_roundtrip(&in, &out);
    assert_true(out.ok);
    assert_true(json_equal(in.result, out.result));
    msg_clear(&in);
    msg_clear(&out);

    msg_init(&in, MSG_DONE);
    strcpy(in.id, ID);
    in.attempt = 3;
    in.ok = false;
    strcpy(in.error_code, "timeout");
    strcpy(in.error_message, "the job took longer than 60 s");
    s_roundtrip(&in, &out);
    assert_false(out.ok);
    assert_string_equal(out.error_code, "timeout");
    assert_string_equal(out.error_message, "the job took longer than 60 s");
    assert_null(out.result);
    msg_clear(&out);

    /* a message cut in the middle of a UTF-8 character still goes out */
    strcpy(in.error_message, "caf\xc3"); /* "café" cut after the first byte of é */
    s_roundtrip(&in, &out);
    assert_string_equal(out.error_message, "caf?");
    msg_clear(&out);
}

static void test_bad_messages_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "{}",
        "{\"v\":2,\"type\":\"ping\"}",
        "{\"v\":\"1\",\"type\":\"ping\"}",
        "{\"v\":1,\"type\":\"explode\"}",
        "{\"v\":1,\"type\":7}",
        "{\"v\":1,\"type\":\"ready\",\"worker\":\"w\"}",
        "{\"v\":1,\"type\":\"ready\",\"worker\":\"w\",\"credit\":0}",
        "{\"v\":1,\"type\":\"ready\",\"worker\":\"w\",\"credit\":99999}",
        "{\"v\":1,\"type\":\"ready\",\"worker\":\"has space\",\"credit\":1}",
        "{\"v\":1,\"type\":\"ready\",\"worker\":\"\",\"credit\":1}",
        "{\"v\":1,\"type\":\"job\",\"id\":\"../../etc/passwd\",\"operation\":\"resize\","
        "\"params\":{},\"attempt\":1,\"timeout_ms\":1}",
        "{\"v\":1,\"type\":\"job\",\"id\":\"" ID "\",\"operation\":\"Resize!\","
        "\"params\":{},\"attempt\":1,\"timeout_ms\":1}",
        "{\"v\":1,\"type\":\"job\",\"id\":\"" ID "\",\"operation\":\"resize\","
        "\"params\":[],\"attempt\":1,\"timeout_ms\":1}",
        "{\"v\":1,\"type\":\"job\",\"id\":\"" ID "\",\"operation\":\"resize\","
        "\"params\":{},\"attempt\":0,\"timeout_ms\":1}",
        "{\"v\":1,\"type\":\"done\",\"id\":\"" ID "\",\"attempt\":1,\"status\":\"complete\"}",
        "{\"v\":1,\"type\":\"done\",\"id\":\"" ID "\",\"attempt\":1,\"status\":\"weird\"}",
        "{\"v\":1,\"type\":\"done\",\"id\":\"" ID "\",\"attempt\":1,\"status\":\"failed\","
        "\"error\":{\"code\":\"Not Snake\"}}",
        "{\"v\":1,\"type\":\"heartbeat\",\"worker\":\"w\",\"free\":1,\"held\":[\"nope\"]}",
        "{\"v\":1,\"type\":\"heartbeat\",\"worker\":\"w\",\"free\":1,\"held\":{}}",
        "{\"v\":1,\"v\":1,\"type\":\"ping\"}",
        "{\"v\":1,\"type\":\"cancel\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg_t m;
        img_error_clear();
        if (msg_decode(bad[i], strlen(bad[i]), MAX, &m) == 0)
            fail_msg("accepted: %s", bad[i]);
        assert_int_equal(img_error_code(), IMG_E_BAD_REQUEST);
        assert_true(strlen(img_error_message()) > 0);
        assert_null(m.params);
    }
    /* too big, and not NUL-terminated input is read by length only */
    msg_t m;
    const char ping[] = "{\"v\":1,\"type\":\"ping\"}garbage";
    assert_int_equal(msg_decode(ping, strlen(ping) - 7, MAX, &m), 0);
    assert_int_equal(msg_decode(ping, strlen(ping) - 7, 8, &m), -1);
}

static void test_encode_refuses_invalid(void **state)
{
    (void)state;
    msg_t m;
    msg_init(&m, MSG_JOB);
    strcpy(m.id, "not-an-id");
    assert_null(msg_encode(&m, NULL));
    msg_init(&m, MSG_TYPE_COUNT);
    assert_null(msg_encode(&m, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_roundtrip),
        cmocka_unit_test(test_worker_messages_roundtrip),
        cmocka_unit_test(test_done_roundtrip),
        cmocka_unit_test(test_bad_messages_refused),
        cmocka_unit_test(test_encode_refuses_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
