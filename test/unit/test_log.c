/* log: every line stays one line of its format, whatever its values hold
 * and however long they are: JSON lines parse (a value too long is cut, its
 * string and the object closed), logfmt values that hold a blank, a control
 * character, a quote, a backslash or '=' are quoted and escaped, and the
 * request and job ids are never crowded out. */
#include "test_support.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_BYTES 2048 /* log.c's bound, with the newline */
#define MAX_FIELDS 32

/* ---- what log writes to stderr -------------------------------------------- */

static FILE *s_file;
static int s_saved_fd = -1;

/* Puts stderr back (a failed assertion may have left it captured). */
static void s_restore(void)
{
    if (s_saved_fd >= 0) {
        dup2(s_saved_fd, STDERR_FILENO);
        close(s_saved_fd);
        s_saved_fd = -1;
    }
    if (s_file)
        fclose(s_file);
    s_file = NULL;
}

static void s_capture_begin(void)
{
    s_restore();
    fflush(stderr);
    s_file = tmpfile();
    assert_non_null(s_file);
    s_saved_fd = dup(STDERR_FILENO);
    assert_true(s_saved_fd >= 0);
    assert_true(dup2(fileno(s_file), STDERR_FILENO) >= 0);
}

/* What was written since s_capture_begin, NUL-terminated (caller frees). */
static char *s_capture_end(size_t *len)
{
    fflush(stderr);
    FILE *file = s_file;
    s_file = NULL;
    s_restore();
    long size = lseek(fileno(file), 0, SEEK_END);
    char *out = size >= 0 ? malloc((size_t)size + 1) : NULL;
    bool read_all = out && pread(fileno(file), out, (size_t)size, 0) == size;
    fclose(file);
    assert_true(read_all);
    out[size] = '\0';
    *len = (size_t)size;
    return out;
}

/* One line: its bytes end with the only newline, and there are at most
 * LINE_MAX_BYTES of them. */
static void s_assert_one_line(const char *line, size_t len)
{
    assert_true(len > 0);
    assert_true(len <= LINE_MAX_BYTES);
    assert_int_equal(line[len - 1], '\n');
    assert_ptr_equal(strchr(line, '\n'), line + len - 1);
    assert_int_equal(strlen(line), len); /* no NUL inside */
}

/* value as a string of n bytes: filler repeated (whole copies, then the
 * rest of a last one: it may end in a cut UTF-8 sequence). Caller frees. */
static char *s_filled(const char *filler, size_t n)
{
    char *v = malloc(n + 1);
    assert_non_null(v);
    size_t f = strlen(filler);
    for (size_t i = 0; i < n; i++)
        v[i] = filler[i % f];
    v[n] = '\0';
    return v;
}

/* got is value, or a beginning of value followed by "..." (cut). */
static bool s_is_value_or_cut(const char *got, const char *value)
{
    if (strcmp(got, value) == 0)
        return true;
    size_t n = strlen(got);
    return n >= 3 && strcmp(got + n - 3, "...") == 0 && strncmp(got, value, n - 3) == 0;
}

/* ---- JSON ------------------------------------------------------------------ */

static const char *const s_fillers[] = {
    "a",            /* one byte each */
    "\xc3\xa9",     /* é: two-byte UTF-8 */
    "\xe2\x82\xac", /* €: three bytes */
    "\xf0\x9f\x98\x80",
    "\"",     /* escaped as \" */
    "\\",     /* escaped as \\ */
    "\n",     /* escaped as \n */
    "\x01",   /* escaped as \u0001 */
    "ab \t=", /* a mix */
};

/* Parses one JSON line (asserting it is one) and checks the fields every
 * line has; caller decrefs. */
static json_t *s_json_line(size_t *line_len)
{
    size_t len;
    char *text = s_capture_end(&len);
    s_assert_one_line(text, len);
    json_error_t err;
    json_t *o = json_loads(text, 0, &err);
    if (!o)
        fail_msg("not JSON (%s at %d): %.200s ... %.200s", err.text, err.position, text,
                 len > 200 ? text + len - 200 : text);
    assert_true(json_is_object(o));
    assert_string_equal(json_string_value(json_object_get(o, "program")), "test-log");
    assert_string_equal(json_string_value(json_object_get(o, "request_id")), "rid-1");
    assert_string_equal(json_string_value(json_object_get(o, "job_id")), "job-1");
    assert_non_null(json_string_value(json_object_get(o, "ts")));
    free(text);
    if (line_len)
        *line_len = len;
    return o;
}

/* Values of every length around the line's bound, of characters of every
 * width and escape: every line is one JSON object with the ids, and each
 * value is whole or a cut beginning of itself. */
static void test_json_long_values_stay_json(void **state)
{
    (void)state;
    log_init("test-log", IMG_LOG_DEBUG, IMG_LOG_JSON);
    log_context_set("rid-1", "job-1");
    for (size_t f = 0; f < sizeof s_fillers / sizeof s_fillers[0]; f++) {
        size_t width = strlen(s_fillers[f]);
        for (size_t n = width; n < 2 * LINE_MAX_BYTES + 100; n += n < 1800 ? 397 : 13) {
            char *value = s_filled(s_fillers[f], n - n % width); /* whole characters */
            /* an event: a value, then a short field */
            s_capture_begin();
            log_event(IMG_LOG_INFO, "ev", "k", value, "after", "x", NULL);
            size_t len;
            json_t *o = s_json_line(&len);
            assert_string_equal(json_string_value(json_object_get(o, "event")), "ev");
            assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
            const char *k = json_string_value(json_object_get(o, "k"));
            assert_non_null(k);
            assert_true(s_is_value_or_cut(k, value));
            if (strcmp(k, value) != 0) /* cut: the fields after it are left out */
                assert_null(json_object_get(o, "after"));
            else if (len < LINE_MAX_BYTES - 60) /* room for it */
                assert_string_equal(json_string_value(json_object_get(o, "after")), "x");
            else /* whole but the line is full: left out, or there */
                assert_true(!json_object_get(o, "after") ||
                            strcmp(json_string_value(json_object_get(o, "after")), "x") == 0);
            json_decref(o);
            /* a message */
            s_capture_begin();
            log_msg(IMG_LOG_WARN, "%s", value);
            o = s_json_line(NULL);
            const char *msg = json_string_value(json_object_get(o, "msg"));
            assert_non_null(msg);
            assert_true(s_is_value_or_cut(msg, value));
            json_decref(o);
            free(value);
        }
    }
    log_context_set(NULL, NULL);
}

/* A value a little too long: the line is as long as it may be, and what
 * is kept of the value is its beginning. */
static void test_json_cut_keeps_the_beginning(void **state)
{
    (void)state;
    log_init("test-log", IMG_LOG_DEBUG, IMG_LOG_JSON);
    log_context_set("rid-1", "job-1");
    char *value = s_filled("0123456789", 3000);
    s_capture_begin();
    log_event(IMG_LOG_ERROR, "ev", "k", value, NULL);
    json_t *o = s_json_line(NULL);
    const char *k = json_string_value(json_object_get(o, "k"));
    assert_true(strlen(k) > 1500);
    assert_true(strlen(k) < 2000);
    assert_true(s_is_value_or_cut(k, value));
    assert_string_not_equal(k, value);
    json_decref(o);
    free(value);
    log_context_set(NULL, NULL);
}

/* Bytes that are not UTF-8 become U+FFFD: the line is still valid JSON
 * (jansson refuses invalid UTF-8). */
static void test_json_invalid_utf8_replaced(void **state)
{
    (void)state;
    log_init("test-log", IMG_LOG_DEBUG, IMG_LOG_JSON);
    log_context_set("rid-1", "job-1");
    s_capture_begin();
    log_event(IMG_LOG_INFO, "ev", "k",
              "ab\xff"
              "c\xc3(d\xed\xa0\x80"
              "e",
              NULL);
    json_t *o = s_json_line(NULL);
    assert_string_equal(json_string_value(json_object_get(o, "k")),
                        "ab\xef\xbf\xbd"
                        "c\xef\xbf\xbd(d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                        "e");
    json_decref(o);
    log_context_set(NULL, NULL);
}

/* ---- logfmt ---------------------------------------------------------------- */

typedef struct {
    char key[64];
    char value[LINE_MAX_BYTES];
} field_t;

/* Parses a logfmt line (without its newline): `key=bare` (no blank, quote
 * or '=') or `key="quoted"` with backslash escapes (\n, \t, \r, \uXXXX of
 * an ASCII control, else the next byte itself), separated by one blank.
 * The number of fields, or -1 if the line is not logfmt. */
static int s_logfmt_parse(const char *line, field_t *fields, int max)
{
    int n = 0;
    const char *p = line;
    while (*p) {
        if (n == max)
            return -1;
        field_t *f = &fields[n++];
        size_t k = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
        if (k == 0 || k >= sizeof f->key || p[k] != '=')
            return -1;
        memcpy(f->key, p, k);
        f->key[k] = '\0';
        p += k + 1;
        size_t v = 0;
        if (*p == '"') {
            for (p++; *p != '"'; p++) {
                if (!*p || (unsigned char)*p < 0x20 || v + 1 >= sizeof f->value)
                    return -1;
                if (*p == '\\') {
                    p++;
                    if (*p == 'n' || *p == 't' || *p == 'r') {
                        f->value[v++] = *p == 'n' ? '\n' : *p == 't' ? '\t' : '\r';
                    } else if (*p == 'u') {
                        unsigned code;
                        if (sscanf(p + 1, "%4x", &code) != 1 || code >= 0x80)
                            return -1;
                        f->value[v++] = (char)code;
                        p += 4;
                    } else if (*p) {
                        f->value[v++] = *p;
                    } else {
                        return -1;
                    }
                } else {
                    f->value[v++] = *p;
                }
            }
            p++;
        } else {
            for (; *p && *p != ' '; p++) {
                if ((unsigned char)*p < 0x21 || *p == '"' || *p == '=' || v + 1 >= sizeof f->value)
                    return -1;
                f->value[v++] = *p;
            }
        }
        f->value[v] = '\0';
        if (*p == ' ' && p[1])
            p++;
        else if (*p)
            return -1;
    }
    return n;
}

static const char *s_get(const field_t *fields, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(fields[i].key, key) == 0)
            return fields[i].value;
    return NULL;
}

/* One logfmt line captured, parsed into fields; the count. */
static int s_logfmt_line(field_t *fields, char **text)
{
    size_t len;
    *text = s_capture_end(&len);
    s_assert_one_line(*text, len);
    (*text)[len - 1] = '\0';
    int n = s_logfmt_parse(*text, fields, MAX_FIELDS);
    if (n < 0)
        fail_msg("not logfmt: %s", *text);
    return n;
}

/* Values with a newline (and no blank), a tab, quotes, '=', a backslash,
 * a control byte, or nothing: quoted and escaped, each read back as it
 * was; a plain value stays bare. */
static void test_logfmt_quotes_what_needs_it(void **state)
{
    (void)state;
    static const char *const pairs[][3] = {
        /* key, value, as written */
        {"plain", "abc", "plain=abc"},
        {"nl", "line1\nline2", "nl=\"line1\\nline2\""},
        {"cr", "a\rb", "cr=\"a\\rb\""},
        {"tab", "a\tb", "tab=\"a\\tb\""},
        {"blank", "a b", "blank=\"a b\""},
        {"quote", "say\"hi\"", "quote=\"say\\\"hi\\\"\""},
        {"eq", "a=b", "eq=\"a=b\""},
        {"bs", "c:\\x", "bs=\"c:\\\\x\""},
        {"ctl", "a\x01z", "ctl=\"a\\u0001z\""},
        {"del", "a\x7fz", "del=\"a\\u007fz\""},
        {"empty", "", "empty=\"\""},
    };
    field_t fields[MAX_FIELDS];
    char *text;
    log_init("test-log", IMG_LOG_DEBUG, IMG_LOG_LOGFMT);
    log_context_set("rid-1", NULL);
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        s_capture_begin();
        log_event(IMG_LOG_INFO, "ev", pairs[i][0], pairs[i][1], "after", "x", NULL);
        int n = s_logfmt_line(fields, &text);
        char want[128];
        snprintf(want, sizeof want,
                 " program=test-log level=info event=ev %s after=x request_id=rid-1", pairs[i][2]);
        assert_non_null(strstr(text, want));
        assert_string_equal(text + strlen(text) - strlen(want), want);
        assert_string_equal(s_get(fields, n, pairs[i][0]), pairs[i][1]);
        assert_string_equal(s_get(fields, n, "after"), "x");
        assert_null(s_get(fields, n, "job_id"));
        free(text);
    }
    /* a message with a newline in it */
    s_capture_begin();
    log_warn("first\nsecond");
    int n = s_logfmt_line(fields, &text);
    assert_non_null(strstr(text, " msg=\"first\\nsecond\" request_id=rid-1"));
    assert_string_equal(s_get(fields, n, "msg"), "first\nsecond");
    assert_string_equal(s_get(fields, n, "level"), "warn");
    free(text);
    log_context_set(NULL, NULL);
}

/* Long values, quoted or bare: the line parses, the ids are there, the
 * value is whole or a cut beginning of itself. */
static void test_logfmt_long_values(void **state)
{
    (void)state;
    static const char *const fillers[] = {"a", "a b", "\"", "\n", "\\x", "\xc3\xa9"};
    field_t fields[MAX_FIELDS];
    char *text;
    log_init("test-log", IMG_LOG_DEBUG, IMG_LOG_LOGFMT);
    log_context_set("rid-1", "job-1");
    for (size_t f = 0; f < sizeof fillers / sizeof fillers[0]; f++) {
        for (size_t n = 1800; n < 2 * LINE_MAX_BYTES; n += 17) {
            char *value = s_filled(fillers[f], n - n % strlen(fillers[f]));
            s_capture_begin();
            log_event(IMG_LOG_INFO, "ev", "k", value, "after", "x", NULL);
            int count = s_logfmt_line(fields, &text);
            assert_string_equal(s_get(fields, count, "request_id"), "rid-1");
            assert_string_equal(s_get(fields, count, "job_id"), "job-1");
            const char *k = s_get(fields, count, "k");
            assert_non_null(k);
            assert_true(s_is_value_or_cut(k, value));
            if (strcmp(k, value) != 0)
                assert_null(s_get(fields, count, "after"));
            free(text);
            free(value);
        }
    }
    log_context_set(NULL, NULL);
}

/* ---- text ------------------------------------------------------------------ */

/* For people: controls become blanks, a long message is cut, the ids end
 * the one line. */
static void test_text_is_one_line(void **state)
{
    (void)state;
    log_init("test-log", IMG_LOG_DEBUG, IMG_LOG_TEXT);
    log_context_set("rid-1", "job-1");
    char *value = s_filled("x\ny\r", 5000);
    s_capture_begin();
    log_info("rest: %s", value);
    size_t len;
    char *text = s_capture_end(&len);
    s_assert_one_line(text, len);
    assert_non_null(strstr(text, " test-log INFO rest: x y x y"));
    assert_non_null(strstr(text, "... request_id=rid-1 job_id=job-1\n"));
    free(text);
    free(value);
    log_context_set(NULL, NULL);
}

/* Below the level: nothing is written. */
static void test_level_filters(void **state)
{
    (void)state;
    log_init("test-log", IMG_LOG_WARN, IMG_LOG_TEXT);
    log_context_set(NULL, NULL);
    s_capture_begin();
    log_info("not this");
    log_event(IMG_LOG_DEBUG, "nor this", NULL);
    log_error("this");
    size_t len;
    char *text = s_capture_end(&len);
    s_assert_one_line(text, len);
    assert_non_null(strstr(text, " test-log ERROR this\n"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_long_values_stay_json),
        cmocka_unit_test(test_json_cut_keeps_the_beginning),
        cmocka_unit_test(test_json_invalid_utf8_replaced),
        cmocka_unit_test(test_logfmt_quotes_what_needs_it),
        cmocka_unit_test(test_logfmt_long_values),
        cmocka_unit_test(test_text_is_one_line),
        cmocka_unit_test(test_level_filters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
