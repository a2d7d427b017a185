/* test_msg — protocol version 2: every message type round-trips field by
 * field (the fields walked from msg_schema's tables), literal wire texts
 * decode to the right fields, and malformed messages are refused: another
 * version, an unknown type, each required field missing, each integer out
 * of its bounds, bad values of every kind, a result with a failed status. */
#include "test_support.h"

#include "img_error.h"
#include "msg.h"
#include "msg_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
#define ID2 "3f2504e0-4f89-41d3-9a0c-0305e82c3302"
#define MAX_LEN 65536

/* A valid message of type t with every field set (done: complete if ok). */
static void s_sample(msg_type_t t, bool ok, msg_t *m)
{
    msg_init(m, t);
    snprintf(m->engine, sizeof m->engine, "host-12-abcdef01");
    m->credit = 4;
    m->free_threads = 3;
    m->n_held = 2;
    m->held = calloc(2, sizeof *m->held);
    assert_non_null(m->held);
    strcpy(m->held[0], ID);
    strcpy(m->held[1], ID2);
    strcpy(m->id, ID);
    strcpy(m->operation, "resize");
    m->params = json_pack("{s:i, s:s}", "width", 256, "fit", "cover");
    m->input = json_pack("{s:i, s:i, s:s, s:i, s:i, s:i}", "width", 4000, "height", 3000, "format",
                         "jpeg", "bytes", 4900000, "pages", 1, "orientation", 6);
    m->dispatch = 7;
    m->timeout_ms = 60000;
    m->percent = 42;
    strcpy(m->request_id, "req-9f8e7d");
    m->ok = ok;
    if (t == MSG_DONE && ok)
        m->result = json_pack("{s:i, s:i, s:s, s:i}", "width", 256, "height", 160, "format", "jpeg",
                              "bytes", 1234);
    if (t == MSG_DONE && !ok) {
        strcpy(m->error_code, "timeout");
        strcpy(m->error_message, "the job took longer than 60 s");
    }
}

static const void *s_at(const msg_t *m, const msg_field_t *f)
{
    return (const char *)m + f->offset;
}

/* Every field of a's type is the same in b. */
static void s_assert_same_fields(const msg_t *a, const msg_t *b)
{
    const msg_schema_t *schema = msg_schema(a->type);
    assert_int_equal(b->type, a->type);
    for (const msg_field_t *f = schema->fields; f->name; f++) {
        const void *x = s_at(a, f), *y = s_at(b, f);
        switch (f->kind) {
        case MSG_F_ENGINE:
        case MSG_F_NAME:
        case MSG_F_ID:
        case MSG_F_TOKEN:
            assert_string_equal(x, y);
            break;
        case MSG_F_INT:
            assert_int_equal(*(const int *)x, *(const int *)y);
            break;
        case MSG_F_OBJECT:
            if (*(json_t *const *)x || *(json_t *const *)y)
                assert_true(json_equal(*(json_t *const *)x, *(json_t *const *)y));
            break;
        case MSG_F_IDS:
            assert_int_equal(a->n_held, b->n_held);
            for (int i = 0; i < a->n_held; i++)
                assert_string_equal(a->held[i], b->held[i]);
            break;
        case MSG_F_STATUS:
            assert_int_equal(a->ok, b->ok);
            break;
        case MSG_F_ERROR:
            assert_string_equal(a->error_code, b->error_code);
            assert_string_equal(a->error_message, b->error_message);
            break;
        }
    }
}

/* Encodes in, decodes it into out; returns the text (caller frees). */
static char *s_roundtrip(const msg_t *in, msg_t *out)
{
    size_t len;
    char *text = msg_encode(in, &len);
    if (!text)
        fail_msg("%s does not encode: %s", msg_type_name(in->type), img_error_message());
    assert_int_equal(len, strlen(text));
    if (msg_decode(text, len, MAX_LEN, out) != 0)
        fail_msg("%s does not decode: %s", text, img_error_message());
    s_assert_same_fields(in, out);
    /* and encodes again to the very same text */
    char *again = msg_encode(out, NULL);
    assert_non_null(again);
    assert_string_equal(again, text);
    free(again);
    return text;
}

static void test_every_type_roundtrips(void **state)
{
    (void)state;
    int types = 0;
    for (int t = 0; t < MSG_TYPE_COUNT; t++) {
        for (int ok = 0; ok < 2; ok++) {
            if (!ok && t != MSG_DONE)
                continue;
            msg_t in, out;
            s_sample((msg_type_t)t, ok, &in);
            char *text = s_roundtrip(&in, &out);
            /* On the wire: v, type and the type's fields, nothing else. */
            json_t *o = json_loads(text, 0, NULL);
            assert_non_null(o);
            assert_int_equal(json_integer_value(json_object_get(o, "v")), 2);
            assert_string_equal(json_string_value(json_object_get(o, "type")),
                                msg_type_name((msg_type_t)t));
            size_t expected = 2;
            for (const msg_field_t *f = msg_schema((msg_type_t)t)->fields; f->name; f++) {
                bool here = !f->with_status || (f->with_status > 0) == (bool)ok;
                expected += here;
                if (here != (json_object_get(o, f->name) != NULL))
                    fail_msg("%s: field %s", text, f->name);
            }
            assert_int_equal(json_object_size(o), expected);
            json_decref(o);
            free(text);
            msg_clear(&in);
            msg_clear(&out);
            msg_clear(&out); /* harmless twice */
            types++;
        }
    }
    assert_int_equal(types, MSG_TYPE_COUNT + 1);
}

/* Decodes a literal text, which must be valid. */
static void s_decode(const char *text, msg_t *m)
{
    img_error_clear();
    if (msg_decode(text, strlen(text), MAX_LEN, m) != 0)
        fail_msg("refused %s: %s", text, img_error_message());
}

/* The wire names of version 2, written out. */
static void test_wire_texts(void **state)
{
    (void)state;
    msg_t m;
    s_decode("{\"v\":2,\"type\":\"ready\",\"engine\":\"e-1\",\"credit\":2}", &m);
    assert_int_equal(m.type, MSG_READY);
    assert_string_equal(m.engine, "e-1");
    assert_int_equal(m.credit, 2);
    msg_clear(&m);
    s_decode("{\"v\":2,\"type\":\"heartbeat\",\"engine\":\"e\",\"free\":1,\"held\":[\"" ID "\"]}",
             &m);
    assert_int_equal(m.free_threads, 1);
    assert_int_equal(m.n_held, 1);
    assert_string_equal(m.held[0], ID);
    msg_clear(&m);
    s_decode("{\"v\":2,\"type\":\"heartbeat\",\"engine\":\"e\",\"free\":0,\"held\":[]}", &m);
    assert_int_equal(m.n_held, 0);
    assert_null(m.held);
    msg_clear(&m);
    s_decode("{\"v\":2,\"type\":\"progress\",\"id\":\"" ID "\",\"dispatch\":5,\"percent\":100}",
             &m);
    assert_int_equal(m.type, MSG_PROGRESS);
    assert_int_equal(m.dispatch, 5);
    assert_int_equal(m.percent, 100);
    msg_clear(&m);
    s_decode("{\"v\":2,\"type\":\"job\",\"id\":\"" ID "\",\"operation\":\"resize\",\"params\":{},"
             "\"dispatch\":1,\"timeout_ms\":1000,\"request_id\":\"abc-123\"}",
             &m);
    assert_string_equal(m.request_id, "abc-123");
    assert_int_equal(m.timeout_ms, 1000);
    msg_clear(&m);
    /* request_id is optional: absent is "" and is not sent */
    s_decode("{\"v\":2,\"type\":\"job\",\"id\":\"" ID "\",\"operation\":\"resize\",\"params\":{},"
             "\"dispatch\":1,\"timeout_ms\":1000}",
             &m);
    assert_string_equal(m.request_id, "");
    char *text = msg_encode(&m, NULL);
    assert_non_null(text);
    assert_null(strstr(text, "request_id"));
    free(text);
    msg_clear(&m);
    s_decode("{\"v\":2,\"type\":\"done\",\"id\":\"" ID "\",\"dispatch\":2,\"status\":\"failed\","
             "\"error\":{\"code\":\"worker_lost\",\"message\":\"gone\"}}",
             &m);
    assert_false(m.ok);
    assert_string_equal(m.error_code, "worker_lost");
    assert_string_equal(m.error_message, "gone");
    msg_clear(&m);
    /* unknown extra fields are ignored */
    s_decode("{\"v\":2,\"type\":\"ping\",\"later\":[1,2]}", &m);
    assert_int_equal(m.type, MSG_PING);
    s_decode("{\"v\":2,\"type\":\"cancel\",\"id\":\"" ID "\",\"why\":\"deleted\"}", &m);
    assert_string_equal(m.id, ID);
    msg_clear(&m);
}

static void s_refused(const char *text)
{
    msg_t m;
    memset(&m, 0x5a, sizeof m); /* decode must empty it */
    img_error_clear();
    if (msg_decode(text, strlen(text), MAX_LEN, &m) == 0)
        fail_msg("accepted: %s", text);
    assert_int_equal(img_error_code(), IMG_E_BAD_REQUEST);
    assert_true(strlen(img_error_message()) > 0);
    assert_null(m.params);
    assert_null(m.result);
    assert_null(m.held);
}

/* Each required field of each type, taken out of a valid message, is
 * refused, with the field named; an optional one may go. */
static void test_each_missing_field_refused(void **state)
{
    (void)state;
    int removed = 0;
    for (int t = 0; t < MSG_TYPE_COUNT; t++) {
        for (int ok = 0; ok < 2; ok++) {
            msg_t in;
            s_sample((msg_type_t)t, ok, &in);
            char *text = msg_encode(&in, NULL);
            assert_non_null(text);
            for (const msg_field_t *f = msg_schema((msg_type_t)t)->fields; f->name; f++) {
                json_t *o = json_loads(text, 0, NULL);
                if (json_object_del(o, f->name) != 0) {
                    json_decref(o);
                    continue; /* not sent with this status */
                }
                char *cut = json_dumps(o, JSON_COMPACT);
                msg_t m;
                int rc = msg_decode(cut, strlen(cut), MAX_LEN, &m);
                if (f->optional && !f->with_status) {
                    if (rc != 0)
                        fail_msg("optional field removed, refused: %s", cut);
                    msg_clear(&m);
                } else {
                    if (rc == 0)
                        fail_msg("accepted without %s: %s", f->name, cut);
                    if (!strstr(img_error_message(), f->name))
                        fail_msg("'%s' does not name %s", img_error_message(), f->name);
                }
                removed++;
                free(cut);
                json_decref(o);
            }
            free(text);
            msg_clear(&in);
        }
    }
    assert_true(removed >= 20);
}

/* Each integer field at its bounds is accepted, past them refused. */
static void test_integer_bounds(void **state)
{
    (void)state;
    int checked = 0;
    for (int t = 0; t < MSG_TYPE_COUNT; t++) {
        for (const msg_field_t *f = msg_schema((msg_type_t)t)->fields; f->name; f++) {
            if (f->kind != MSG_F_INT)
                continue;
            long long values[4] = {f->min, f->max, (long long)f->min - 1, (long long)f->max + 1};
            for (int i = 0; i < 4; i++) {
                msg_t in, m;
                s_sample((msg_type_t)t, true, &in);
                char *text = msg_encode(&in, NULL);
                json_t *o = json_loads(text, 0, NULL);
                json_object_set_new(o, f->name, json_integer(values[i]));
                char *changed = json_dumps(o, JSON_COMPACT);
                int rc = msg_decode(changed, strlen(changed), MAX_LEN, &m);
                if (i < 2) {
                    if (rc != 0)
                        fail_msg("refused %s: %s", changed, img_error_message());
                    assert_int_equal(*(const int *)s_at(&m, f), values[i]);
                    msg_clear(&m);
                } else {
                    if (rc == 0)
                        fail_msg("accepted %s", changed);
                    assert_non_null(strstr(img_error_message(), f->name));
                }
                /* the same value on the encoding side */
                *(int *)((char *)&in + f->offset) = (int)values[i];
                char *encoded = msg_encode(&in, NULL);
                assert_true((encoded != NULL) == (i < 2));
                free(encoded);
                free(changed);
                free(text);
                json_decref(o);
                msg_clear(&in);
            }
            checked++;
        }
    }
    /* credit, free, dispatch (started, progress, done, release, job), percent, timeout_ms */
    assert_int_equal(checked, 9);
}

static void test_bad_messages_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "{}",
        "null",
        /* the version */
        "{\"type\":\"ping\"}",
        "{\"v\":1,\"type\":\"ping\"}",
        "{\"v\":3,\"type\":\"ping\"}",
        "{\"v\":\"2\",\"type\":\"ping\"}",
        "{\"v\":2.0,\"type\":\"ping\"}",
        "{\"v\":2,\"v\":2,\"type\":\"ping\"}",
        /* the type */
        "{\"v\":2}",
        "{\"v\":2,\"type\":\"explode\"}",
        "{\"v\":2,\"type\":7}",
        "{\"v\":2,\"type\":\"Ping\"}",
        /* version 1 names are not version 2 names */
        "{\"v\":2,\"type\":\"ready\",\"worker\":\"w\",\"credit\":1}",
        "{\"v\":2,\"type\":\"started\",\"id\":\"" ID "\",\"attempt\":1}",
        /* engine names */
        "{\"v\":2,\"type\":\"ready\",\"engine\":\"has space\",\"credit\":1}",
        "{\"v\":2,\"type\":\"ready\",\"engine\":\"\",\"credit\":1}",
        "{\"v\":2,\"type\":\"ready\",\"engine\":\"caf\xc3\xa9\",\"credit\":1}",
        "{\"v\":2,\"type\":\"ready\",\"engine\":\"a\\u0000b\",\"credit\":1}",
        "{\"v\":2,\"type\":\"ready\",\"engine\":7,\"credit\":1}",
        "{\"v\":2,\"type\":\"bye\",\"engine\":"
        "\"0123456789012345678901234567890123456789012345678901"
        "234567890123\"}",
        /* integers */
        "{\"v\":2,\"type\":\"ready\",\"engine\":\"w\",\"credit\":\"1\"}",
        "{\"v\":2,\"type\":\"ready\",\"engine\":\"w\",\"credit\":1.0}",
        "{\"v\":2,\"type\":\"ready\",\"engine\":\"w\",\"credit\":9223372036854775807}",
        /* ids */
        "{\"v\":2,\"type\":\"cancel\",\"id\":\"../../etc/passwd\"}",
        "{\"v\":2,\"type\":\"cancel\",\"id\":\"3F2504E0-4F89-41D3-9A0C-0305E82C3301\"}",
        "{\"v\":2,\"type\":\"cancel\",\"id\":null}",
        "{\"v\":2,\"type\":\"heartbeat\",\"engine\":\"w\",\"free\":1,\"held\":[\"nope\"]}",
        "{\"v\":2,\"type\":\"heartbeat\",\"engine\":\"w\",\"free\":1,\"held\":{}}",
        "{\"v\":2,\"type\":\"heartbeat\",\"engine\":\"w\",\"free\":1,\"held\":[1]}",
        /* job */
        "{\"v\":2,\"type\":\"job\",\"id\":\"" ID "\",\"operation\":\"Resize!\","
        "\"params\":{},\"dispatch\":1,\"timeout_ms\":1}",
        "{\"v\":2,\"type\":\"job\",\"id\":\"" ID "\",\"operation\":\"\","
        "\"params\":{},\"dispatch\":1,\"timeout_ms\":1}",
        "{\"v\":2,\"type\":\"job\",\"id\":\"" ID "\",\"operation\":\"a_very_long_operation_name_"
        "indeed\",\"params\":{},\"dispatch\":1,\"timeout_ms\":1}",
        "{\"v\":2,\"type\":\"job\",\"id\":\"" ID "\",\"operation\":\"resize\","
        "\"params\":[],\"dispatch\":1,\"timeout_ms\":1}",
        "{\"v\":2,\"type\":\"job\",\"id\":\"" ID "\",\"operation\":\"resize\","
        "\"params\":{},\"dispatch\":1,\"timeout_ms\":1,\"request_id\":\"\"}",
        "{\"v\":2,\"type\":\"job\",\"id\":\"" ID "\",\"operation\":\"resize\","
        "\"params\":{},\"dispatch\":1,\"timeout_ms\":1,\"request_id\":\"a b\"}",
        "{\"v\":2,\"type\":\"job\",\"id\":\"" ID "\",\"operation\":\"resize\","
        "\"params\":{},\"dispatch\":1,\"timeout_ms\":1,\"request_id\":\"\xc3\xa9\"}",
        "{\"v\":2,\"type\":\"job\",\"id\":\"" ID "\",\"operation\":\"resize\","
        "\"params\":{},\"dispatch\":1,\"timeout_ms\":1,\"request_id\":5}",
        /* done */
        "{\"v\":2,\"type\":\"done\",\"id\":\"" ID "\",\"dispatch\":1,\"status\":\"complete\"}",
        "{\"v\":2,\"type\":\"done\",\"id\":\"" ID "\",\"dispatch\":1,\"status\":\"weird\","
        "\"result\":{}}",
        "{\"v\":2,\"type\":\"done\",\"id\":\"" ID "\",\"dispatch\":1,\"status\":true,"
        "\"result\":{}}",
        "{\"v\":2,\"type\":\"done\",\"id\":\"" ID "\",\"dispatch\":1,\"status\":\"failed\"}",
        "{\"v\":2,\"type\":\"done\",\"id\":\"" ID "\",\"dispatch\":1,\"status\":\"failed\","
        "\"error\":{\"code\":\"Not Snake\",\"message\":\"x\"}}",
        "{\"v\":2,\"type\":\"done\",\"id\":\"" ID "\",\"dispatch\":1,\"status\":\"failed\","
        "\"error\":{\"message\":\"x\"}}",
        "{\"v\":2,\"type\":\"done\",\"id\":\"" ID "\",\"dispatch\":1,\"status\":\"failed\","
        "\"error\":\"timeout\"}",
        /* a result with a failed status, an error with a complete one */
        "{\"v\":2,\"type\":\"done\",\"id\":\"" ID "\",\"dispatch\":1,\"status\":\"failed\","
        "\"error\":{\"code\":\"timeout\",\"message\":\"x\"},\"result\":{}}",
        "{\"v\":2,\"type\":\"done\",\"id\":\"" ID "\",\"dispatch\":1,\"status\":\"complete\","
        "\"result\":{},\"error\":{\"code\":\"timeout\",\"message\":\"x\"}}",
        "{\"v\":2,\"type\":\"done\",\"id\":\"" ID "\",\"dispatch\":1,\"status\":\"complete\","
        "\"result\":[]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        s_refused(bad[i]);

    /* request ids: 128 visible characters at most */
    char text[512], token[130];
    memset(token, 'r', 128);
    token[128] = '\0';
    snprintf(text, sizeof text,
             "{\"v\":2,\"type\":\"job\",\"id\":\"" ID "\",\"operation\":\"resize\","
             "\"params\":{},\"dispatch\":1,\"timeout_ms\":1,\"request_id\":\"%s\"}",
             token);
    msg_t m;
    s_decode(text, &m);
    assert_int_equal(strlen(m.request_id), 128);
    msg_clear(&m);
    token[128] = 'r';
    token[129] = '\0';
    snprintf(text, sizeof text,
             "{\"v\":2,\"type\":\"job\",\"id\":\"" ID "\",\"operation\":\"resize\","
             "\"params\":{},\"dispatch\":1,\"timeout_ms\":1,\"request_id\":\"%s\"}",
             token);
    s_refused(text);
}

static void test_held_bounds(void **state)
{
    (void)state;
    msg_t in, out;
    s_sample(MSG_HEARTBEAT, true, &in);
    free(in.held);
    in.n_held = MSG_MAX_HELD;
    in.held = calloc(MSG_MAX_HELD + 1, sizeof *in.held);
    for (int i = 0; i <= MSG_MAX_HELD; i++)
        snprintf(in.held[i], sizeof in.held[i], "3f2504e0-4f89-41d3-9a0c-%012x", i);
    size_t len;
    char *text = msg_encode(&in, &len);
    assert_non_null(text);
    assert_int_equal(msg_decode(text, len, 1 << 20, &out), 0);
    assert_int_equal(out.n_held, MSG_MAX_HELD);
    assert_string_equal(out.held[MSG_MAX_HELD - 1], in.held[MSG_MAX_HELD - 1]);
    msg_clear(&out);
    free(text);
    in.n_held = MSG_MAX_HELD + 1;
    assert_null(msg_encode(&in, NULL));
    /* and on the wire */
    json_t *o = json_pack("{s:i, s:s, s:s, s:i, s:[]}", "v", 2, "type", "heartbeat", "engine", "e",
                          "free", 1, "held");
    for (int i = 0; i <= MSG_MAX_HELD; i++)
        json_array_append_new(json_object_get(o, "held"), json_string(in.held[i]));
    char *wire = json_dumps(o, JSON_COMPACT);
    assert_int_equal(msg_decode(wire, strlen(wire), 1 << 20, &out), -1);
    assert_null(out.held);
    free(wire);
    json_decref(o);
    msg_clear(&in);
}

static void test_size_and_length(void **state)
{
    (void)state;
    msg_t m;
    /* not NUL-terminated input is read by its length only */
    const char ping[] = "{\"v\":2,\"type\":\"ping\"}garbage";
    size_t len = strlen(ping) - 7;
    assert_int_equal(msg_decode(ping, len, MAX_LEN, &m), 0);
    assert_int_equal(m.type, MSG_PING);
    assert_int_equal(msg_decode(ping, len, len, &m), 0);
    /* larger than allowed: refused without parsing */
    assert_int_equal(msg_decode(ping, len, len - 1, &m), -1);
    assert_int_equal(img_error_code(), IMG_E_BAD_REQUEST);
    assert_int_equal(msg_decode(ping, 0, MAX_LEN, &m), -1);
    /* a refusal never quotes the input */
    const char evil[] = "{\"v\":2,\"type\":\"ping\"\xff\xfe secret";
    assert_int_equal(msg_decode(evil, strlen(evil), MAX_LEN, &m), -1);
    assert_null(strstr(img_error_message(), "secret"));
}

static void test_encode_refuses_invalid(void **state)
{
    (void)state;
    msg_t m;
    s_sample(MSG_JOB, true, &m);
    strcpy(m.id, "not-an-id");
    assert_null(msg_encode(&m, NULL));
    assert_int_equal(img_error_code(), IMG_E_INTERNAL);
    assert_non_null(strstr(img_error_message(), "'id'"));
    msg_clear(&m);

    s_sample(MSG_JOB, true, &m);
    json_decref(m.params);
    m.params = NULL;
    assert_null(msg_encode(&m, NULL));
    m.params = json_array();
    assert_null(msg_encode(&m, NULL));
    msg_clear(&m);

    s_sample(MSG_JOB, true, &m);
    strcpy(m.request_id, "has space");
    assert_null(msg_encode(&m, NULL));
    msg_clear(&m);

    /* done: complete without a result, failed without a code, failed with a result */
    s_sample(MSG_DONE, true, &m);
    json_decref(m.result);
    m.result = NULL;
    assert_null(msg_encode(&m, NULL));
    msg_clear(&m);
    s_sample(MSG_DONE, false, &m);
    m.error_code[0] = '\0';
    assert_null(msg_encode(&m, NULL));
    msg_clear(&m);
    s_sample(MSG_DONE, false, &m);
    m.result = json_object();
    assert_null(msg_encode(&m, NULL));
    assert_non_null(strstr(img_error_message(), "'result'"));
    msg_clear(&m);

    s_sample(MSG_READY, true, &m);
    strcpy(m.engine, "with space");
    assert_null(msg_encode(&m, NULL));
    msg_clear(&m);

    msg_init(&m, MSG_TYPE_COUNT);
    assert_null(msg_encode(&m, NULL));
    assert_null(msg_type_name(MSG_TYPE_COUNT));
    assert_null(msg_schema(MSG_TYPE_COUNT));
}

static void test_cut_utf8_message_still_goes_out(void **state)
{
    (void)state;
    msg_t in, out;
    s_sample(MSG_DONE, false, &in);
    strcpy(in.error_message, "caf\xc3"); /* "café" cut after the first byte of é */
    char *text = msg_encode(&in, NULL);
    assert_non_null(text);
    assert_int_equal(msg_decode(text, strlen(text), MAX_LEN, &out), 0);
    assert_string_equal(out.error_message, "caf?");
    free(text);
    msg_clear(&out);
    /* a whole character passes as it is */
    strcpy(in.error_message, "caf\xc3\xa9");
    text = msg_encode(&in, NULL);
    assert_int_equal(msg_decode(text, strlen(text), MAX_LEN, &out), 0);
    assert_string_equal(out.error_message, "caf\xc3\xa9");
    free(text);
    msg_clear(&out);
    msg_clear(&in);
}

static void test_schema_table(void **state)
{
    (void)state;
    /* who sends what */
    const msg_type_t from_engine[] = {MSG_READY, MSG_HEARTBEAT, MSG_STARTED, MSG_PROGRESS,
                                      MSG_DONE,  MSG_RELEASE,   MSG_BYE};
    for (size_t i = 0; i < sizeof from_engine / sizeof from_engine[0]; i++)
        assert_true(msg_schema(from_engine[i])->from_engine);
    assert_false(msg_schema(MSG_JOB)->from_engine);
    assert_false(msg_schema(MSG_PING)->from_engine);
    assert_false(msg_schema(MSG_CANCEL)->from_engine);
    /* every name distinct, every field's buffer holds its value */
    for (int t = 0; t < MSG_TYPE_COUNT; t++) {
        for (int u = t + 1; u < MSG_TYPE_COUNT; u++)
            assert_string_not_equal(msg_type_name((msg_type_t)t), msg_type_name((msg_type_t)u));
        for (const msg_field_t *f = msg_schema((msg_type_t)t)->fields; f->name; f++) {
            assert_true(f->offset + f->size <= sizeof(msg_t));
            if (f->kind == MSG_F_INT)
                assert_true(f->min <= f->max);
            if (f->with_status)
                assert_true(f->optional);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type_roundtrips),
        cmocka_unit_test(test_wire_texts),
        cmocka_unit_test(test_each_missing_field_refused),
        cmocka_unit_test(test_integer_bounds),
        cmocka_unit_test(test_bad_messages_refused),
        cmocka_unit_test(test_held_bounds),
        cmocka_unit_test(test_size_and_length),
        cmocka_unit_test(test_encode_refuses_invalid),
        cmocka_unit_test(test_cut_utf8_message_still_goes_out),
        cmocka_unit_test(test_schema_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
