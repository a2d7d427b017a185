/* multipart: the streaming parser gives the same parts whatever the chunking
 * of its input, finds boundaries only where they are, refuses malformed
 * bodies and enforces its limits. */
#include "img_error.h"
#include "multipart.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define B "XbOuNdArY"

/* What the callbacks saw, in a canonical text: "[name|filename|type]" at a
 * part's start ("~" for NULL), its bytes, "[end]" at its end. Data chunks are
 * concatenated, so the log does not depend on how the input was split. */
typedef struct {
    char *log;
    size_t len, cap;
    int fail_at_part; /* on_part_begin of this part (1-based) fails; 0: never */
    int parts;
} rec_t;

static void s_append(rec_t *r, const char *data, size_t len)
{
    if (r->len + len + 1 > r->cap) {
        r->cap = (r->len + len + 1) * 2;
        r->log = realloc(r->log, r->cap);
        assert_non_null(r->log);
    }
    memcpy(r->log + r->len, data, len);
    r->len += len;
    r->log[r->len] = '\0';
}

static int s_begin(void *arg, const char *name, const char *filename, const char *type)
{
    rec_t *r = arg;
    char head[3 * 8200];
    assert_non_null(name);
    assert_true(name[0] != '\0');
    if (++r->parts == r->fail_at_part) {
        img_error_set(IMG_E_INVALID_PARAMETER, "refused by the test");
        return -1;
    }
    snprintf(head, sizeof head, "[%s|%s|%s]", name, filename ? filename : "~", type ? type : "~");
    s_append(r, head, strlen(head));
    return 0;
}

static int s_data(void *arg, const char *data, size_t len)
{
    assert_true(len > 0);
    s_append(arg, data, len);
    return 0;
}

static int s_end(void *arg)
{
    s_append(arg, "[end]", 5);
    return 0;
}

static const multipart_callbacks_t s_cb = {s_begin, s_data, s_end};

/* Parses body in pieces of chunk bytes (0: all at once); returns feed's or
 * finish's result, the log in *r (caller frees r->log). */
static int s_parse(const char *body, size_t len, size_t chunk, rec_t *r)
{
    memset(r, 0, sizeof *r);
    s_append(r, "", 0);
    img_error_clear();
    multipart_t *mp = multipart_new(B, &s_cb, r);
    assert_non_null(mp);
    int rc = 0;
    if (chunk == 0)
        chunk = len ? len : 1;
    for (size_t i = 0; rc == 0 && i < len; i += chunk)
        rc = multipart_feed(mp, body + i, len - i < chunk ? len - i : chunk);
    if (rc == 0)
        rc = multipart_finish(mp);
    multipart_destroy(&mp);
    assert_null(mp);
    return rc;
}

/* Every chunking gives the same result and log as the whole body. */
static void s_check_all_chunkings(const char *body, size_t len, int want_rc, const char *want_log,
                                  size_t want_log_len)
{
    for (size_t chunk = 0; chunk <= len; chunk++) {
        rec_t r;
        int rc = s_parse(body, len, chunk, &r);
        if (rc != want_rc)
            fail_msg("chunk %zu: rc %d, want %d (%s)", chunk, rc, want_rc, img_error_message());
        if (rc < 0)
            assert_int_equal(img_error_code(), IMG_E_BAD_REQUEST);
        if (want_log) {
            assert_int_equal(r.len, want_log_len);
            assert_memory_equal(r.log, want_log, want_log_len);
        }
        free(r.log);
    }
}

#define CHECK_OK(body, log) s_check_all_chunkings(body, sizeof(body) - 1, 0, log, sizeof(log) - 1)
#define CHECK_BAD(body) s_check_all_chunkings(body, sizeof(body) - 1, -1, NULL, 0)

static void test_two_parts_with_preamble_and_epilogue(void **state)
{
    (void)state;
    CHECK_OK("This is a preamble --" B " not yet\r\n"
             "--" B "\r\n"
             "Content-Disposition: form-data; name=\"width\"\r\n"
             "\r\n"
             "640\r\n"
             "--" B "\r\n"
             "content-disposition: FORM-DATA; filename=\"cat.png\"; name=file\r\n"
             "Content-Type:   image/png  \r\n"
             "X-Other: ignored\r\n"
             "\r\n"
             "\x89PNG\r\n\x1a\n\r\n"
             "--" B "--\r\n"
             "epilogue --" B "\r\n garbage",
             "[width|~|~]640[end][file|cat.png|image/png]\x89PNG\r\n\x1a\n[end]");
}

static void test_boundary_at_start_and_no_epilogue(void **state)
{
    (void)state;
    CHECK_OK("--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--" B "--",
             "[a|~|~]x[end]");
}

static void test_padding_after_boundary(void **state)
{
    (void)state;
    CHECK_OK("--" B " \t\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--" B "--",
             "[a|~|~]x[end]");
}

static void test_empty_part_and_empty_name_value(void **state)
{
    (void)state;
    CHECK_OK("--" B "\r\nContent-Disposition: form-data; name=\"e\"\r\n\r\n\r\n"
             "--" B "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\"\r\n\r\n"
             "\r\n--" B "--\r\n",
             "[e|~|~][end][f||~][end]");
}

static void test_boundary_lookalikes_in_data(void **state)
{
    (void)state;
    /* partial delimiters, a delimiter without its CRLF, CRs in a row, a
     * boundary with one character changed, and data ending in CR */
    CHECK_OK("--" B "\r\nContent-Disposition: form-data; name=d\r\n\r\n"
             "a\r\n--XbOuN\r\r\n--XbOuNdArx"
             "--" B "\r\n\r\n-\r\n--XbOuNdArX\r\n\r\r"
             "\r\n--" B "--",
             "[d|~|~]a\r\n--XbOuN\r\r\n--XbOuNdArx--" B "\r\n\r\n-\r\n--XbOuNdArX\r\n\r\r[end]");
}

/* A part's data may open with what looks like the start of a delimiter:
 * the CRLF that ends the part's headers is not the delimiter's CRLF, in any
 * chunking (a chunk ending just after "\r\n\r\n-" once passed on a piece
 * of data of a negative length). */
static void test_data_opening_like_a_delimiter(void **state)
{
    (void)state;
    CHECK_OK("--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\n--x\r\n"
             "--" B "\r\nContent-Disposition: form-data; name=b\r\n\r\n-\r\n"
             "--" B "\r\nContent-Disposition: form-data; name=c\r\n\r\n--" B "x\r\n"
             "--" B "--",
             "[a|~|~]--x[end][b|~|~]-[end][c|~|~]--" B "x[end]");
}

static void test_quoted_names(void **state)
{
    (void)state;
    CHECK_OK("--" B "\r\n"
             "Content-Disposition: form-data ; name = \"a \\\"q\\\" b\" ; "
             "filename=\"x;y\\\\z.png\"; filename*=UTF-8''ignored.png\r\n\r\n"
             "v\r\n--" B "--",
             "[a \"q\" b|x;y\\z.png|~]v[end]");
}

static void test_binary_data(void **state)
{
    (void)state;
    char body[1024], want[1024];
    size_t n = 0, w = 0;
    const char *head = "--" B "\r\nContent-Disposition: form-data; name=bin\r\n\r\n";
    n += (size_t)sprintf(body, "%s", head);
    w += (size_t)sprintf(want, "[bin|~|~]");
    for (int c = 0; c < 256; c++) {
        body[n++] = (char)c;
        want[w++] = (char)c;
    }
    n += (size_t)sprintf(body + n, "\r\n--" B "--\r\n");
    w += (size_t)sprintf(want + w, "[end]");
    s_check_all_chunkings(body, n, 0, want, w);
}

static void test_malformed(void **state)
{
    (void)state;
    CHECK_BAD("");
    CHECK_BAD("only a preamble");
    CHECK_BAD("--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nno close");
    CHECK_BAD("--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--" B);
    CHECK_BAD("--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--" B "-");
    CHECK_BAD("--" B "\r\nContent-Disposition: form-data; name=a\r\n");
    CHECK_BAD("--" B "\r\nContent-Type: text/plain\r\n\r\nx\r\n--" B "--");
    CHECK_BAD("--" B "\r\nContent-Disposition: form-data\r\n\r\nx\r\n--" B "--");
    CHECK_BAD("--" B "\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nx\r\n--" B "--");
    CHECK_BAD("--" B "\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--" B "--");
    CHECK_BAD("--" B "\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--" B "--");
    CHECK_BAD("--" B "\r\nContent-Disposition: form-data; name=a b\r\n\r\nx\r\n--" B "--");
    CHECK_BAD("--" B "\r\nContent-Disposition: form-data; name\r\n\r\nx\r\n--" B "--");
    CHECK_BAD("--" B "\r\nContent-Disposition: form-data; name=a\r\n"
              "Content-Disposition: form-data; name=b\r\n\r\nx\r\n--" B "--");
    CHECK_BAD("--" B "\r\nContent-Disposition: form-data; name=a\r\nNoColon\r\n\r\nx\r\n--" B "--");
    CHECK_BAD("--" B "\r\nContent-Disposition: form-data; name=a\n\nx\r\n--" B "--");
    CHECK_BAD("--" B "\r\nContent-Disposition: form-data; name=a\r\n folded\r\n\r\nx\r\n--" B "--");
    CHECK_BAD("--" B "xyz\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--" B "--");
    CHECK_BAD("--" B "\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--" B "--");
    CHECK_BAD("--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--" B "\r\n");
    /* the boundary itself inside a part's data */
    CHECK_BAD("--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--" B "x\r\n--" B
              "--");
    /* a NUL in a header line */
    s_check_all_chunkings(
        "--" B "\r\nContent-Disposition: form-data; name=a\0b\r\n\r\nx\r\n--" B "--",
        sizeof("--" B "\r\nContent-Disposition: form-data; name=a\0b\r\n\r\nx\r\n--" B "--") - 1,
        -1, NULL, 0);
}

/* A body with n parts, each with extra_headers more header lines and a
 * Content-Disposition line padded to line_len bytes. */
static char *s_body(int n, int extra_headers, size_t line_len, size_t *len)
{
    size_t cap = (size_t)n * ((size_t)extra_headers * 16 + line_len + 64) + 64;
    char *b = malloc(cap), *p = b;
    for (int i = 0; i < n; i++) {
        p += sprintf(p, "--" B "\r\n");
        for (int h = 0; h < extra_headers; h++)
            p += sprintf(p, "X-H%d: v\r\n", h);
        const char *cd = "Content-Disposition: form-data; name=f; x=\"";
        size_t fill = line_len - strlen(cd) - 1;
        p += sprintf(p, "%s", cd);
        memset(p, 'y', fill);
        p += fill;
        p += sprintf(p, "\"\r\n\r\n%d\r\n", i);
    }
    p += sprintf(p, "--" B "--\r\n");
    *len = (size_t)(p - b);
    return b;
}

static void s_check_body(int n, int extra_headers, size_t line_len, int want_rc)
{
    size_t len;
    char *b = s_body(n, extra_headers, line_len, &len);
    size_t chunks[] = {0, 1, 7, 4096};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        rec_t r;
        assert_int_equal(s_parse(b, len, chunks[c], &r), want_rc);
        if (want_rc < 0)
            assert_int_equal(img_error_code(), IMG_E_BAD_REQUEST);
        else
            assert_int_equal(r.parts, n);
        free(r.log);
    }
    free(b);
}

static void test_limits(void **state)
{
    (void)state;
    s_check_body(MULTIPART_MAX_PARTS, 0, 60, 0);
    s_check_body(MULTIPART_MAX_PARTS + 1, 0, 60, -1);
    s_check_body(2, MULTIPART_MAX_HEADERS - 1, 60, 0);
    s_check_body(2, MULTIPART_MAX_HEADERS, 60, -1);
    s_check_body(2, 0, MULTIPART_MAX_LINE, 0);
    s_check_body(2, 0, MULTIPART_MAX_LINE + 1, -1);
}

static void test_callback_abort(void **state)
{
    (void)state;
    const char body[] = "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n"
                        "--" B "\r\nContent-Disposition: form-data; name=b\r\n\r\ny\r\n--" B "--";
    rec_t r = {.fail_at_part = 2};
    s_append(&r, "", 0);
    multipart_t *mp = multipart_new(B, &s_cb, &r);
    assert_int_equal(multipart_feed(mp, body, sizeof body - 1), -1);
    assert_int_equal(img_error_code(), IMG_E_INVALID_PARAMETER);
    assert_string_equal(r.log, "[a|~|~]x[end]");
    /* failed for good, and the callback's error stays */
    assert_int_equal(multipart_feed(mp, "x", 1), -1);
    assert_int_equal(multipart_finish(mp), -1);
    assert_int_equal(img_error_code(), IMG_E_INVALID_PARAMETER);
    multipart_destroy(&mp);
    multipart_destroy(&mp);
    free(r.log);
}

static void test_null_callbacks(void **state)
{
    (void)state;
    const multipart_callbacks_t none = {0};
    const char body[] = "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--" B "--";
    multipart_t *mp = multipart_new(B, &none, NULL);
    assert_int_equal(multipart_feed(mp, body, sizeof body - 1), 0);
    assert_int_equal(multipart_finish(mp), 0);
    multipart_destroy(&mp);
}

static void s_boundary_ok(const char *ct, const char *want)
{
    char out[MULTIPART_BOUNDARY_MAX + 1];
    if (multipart_boundary(ct, out, sizeof out) != 0)
        fail_msg("'%s': %s", ct, img_error_message());
    assert_string_equal(out, want);
}

static void s_boundary_bad(const char *ct, img_errcode_t code)
{
    char out[MULTIPART_BOUNDARY_MAX + 1] = "";
    img_error_clear();
    if (multipart_boundary(ct, out, sizeof out) != -1)
        fail_msg("'%s' accepted", ct ? ct : "(null)");
    assert_int_equal(img_error_code(), code);
}

static void test_boundary_header(void **state)
{
    (void)state;
    s_boundary_ok("multipart/form-data; boundary=abc", "abc");
    s_boundary_ok("Multipart/Form-Data;BOUNDARY=\"a b:c\"", "a b:c");
    s_boundary_ok(
        "  multipart/form-data ; charset=utf-8; boundary = ----WebKitFormBoundary7MA4YWxk ",
        "----WebKitFormBoundary7MA4YWxk");
    s_boundary_ok("multipart/form-data; boundary=\"(a'b)+_,-./:=?\"; a=b", "(a'b)+_,-./:=?");
    char seventy[80];
    memset(seventy, 'z', 70);
    seventy[70] = '\0';
    char ct[128];
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%s", seventy);
    s_boundary_ok(ct, seventy);
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%sz", seventy);
    s_boundary_bad(ct, IMG_E_BAD_REQUEST);
    char small[8];
    assert_int_equal(
        multipart_boundary("multipart/form-data; boundary=12345678", small, sizeof small), -1);

    s_boundary_bad(NULL, IMG_E_UNSUPPORTED_MEDIA_TYPE);
    s_boundary_bad("", IMG_E_UNSUPPORTED_MEDIA_TYPE);
    s_boundary_bad("application/json", IMG_E_UNSUPPORTED_MEDIA_TYPE);
    s_boundary_bad("multipart/mixed; boundary=abc", IMG_E_UNSUPPORTED_MEDIA_TYPE);
    s_boundary_bad("multipart/form-datax; boundary=abc", IMG_E_UNSUPPORTED_MEDIA_TYPE);
    s_boundary_bad("multipart/form-data", IMG_E_BAD_REQUEST);
    s_boundary_bad("multipart/form-data; charset=utf-8", IMG_E_BAD_REQUEST);
    s_boundary_bad("multipart/form-data; boundary=", IMG_E_BAD_REQUEST);
    s_boundary_bad("multipart/form-data; boundary=\"\"", IMG_E_BAD_REQUEST);
    s_boundary_bad("multipart/form-data; boundary=\"abc", IMG_E_BAD_REQUEST);
    s_boundary_bad("multipart/form-data; boundary=\"q\\\"x\"", IMG_E_BAD_REQUEST);
    s_boundary_bad("multipart/form-data; boundary=\"ends in space \"", IMG_E_BAD_REQUEST);
    s_boundary_bad("multipart/form-data; boundary=a\x01b", IMG_E_BAD_REQUEST);
    s_boundary_bad("multipart/form-data; boundary=abc def", IMG_E_BAD_REQUEST);
    s_boundary_bad("multipart/form-data; =abc", IMG_E_BAD_REQUEST);
}

static void test_new_refuses_bad_boundaries(void **state)
{
    (void)state;
    const multipart_callbacks_t none = {0};
    const char *bad[] = {"", "a\r\nb", "trailing ", "\"q\"",
                         "12345678901234567890123456789012345678901234567890123456789012345678901"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        img_error_clear();
        assert_null(multipart_new(bad[i], &none, NULL));
        assert_int_equal(img_error_code(), IMG_E_BAD_REQUEST);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_parts_with_preamble_and_epilogue),
        cmocka_unit_test(test_boundary_at_start_and_no_epilogue),
        cmocka_unit_test(test_padding_after_boundary),
        cmocka_unit_test(test_empty_part_and_empty_name_value),
        cmocka_unit_test(test_boundary_lookalikes_in_data),
        cmocka_unit_test(test_data_opening_like_a_delimiter),
        cmocka_unit_test(test_quoted_names),
        cmocka_unit_test(test_binary_data),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_callback_abort),
        cmocka_unit_test(test_null_callbacks),
        cmocka_unit_test(test_boundary_header),
        cmocka_unit_test(test_new_refuses_bad_boundaries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
