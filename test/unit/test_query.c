/* query: URL query strings into a parameter object. */
#include "img_error.h"
#include "query.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void s_expect(json_t *o, const char *name, const char *value)
{
    json_t *v = json_object_get(o, name);
    if (!v)
        fail_msg("'%s' missing", name);
    assert_true(json_is_string(v));
    assert_string_equal(json_string_value(v), value);
}

static void test_empty(void **state)
{
    (void)state;
    json_t *o = json_object();
    assert_int_equal(query_parse(NULL, o), 0);
    assert_int_equal(query_parse("", o), 0);
    assert_int_equal(query_parse("&&", o), 0);
    assert_int_equal(json_object_size(o), 0);
    json_decref(o);
}

static void test_decoding(void **state)
{
    (void)state;
    json_t *o = json_object();
    assert_int_equal(
        query_parse("width=640&fit=cover&a+b=c+d&%41%2f=%e2%82%ac%2B&flag&e=&&x=1=2", o), 0);
    assert_int_equal(json_object_size(o), 7);
    s_expect(o, "width", "640");
    s_expect(o, "fit", "cover");
    s_expect(o, "a b", "c d");
    s_expect(o, "A/", "\xe2\x82\xac+");
    s_expect(o, "flag", "");
    s_expect(o, "e", "");
    s_expect(o, "x", "1=2");
    json_decref(o);
}

static void s_bad(const char *q, img_errcode_t code, const char *in_message)
{
    json_t *o = json_pack("{s:s}", "height", "10");
    img_error_clear();
    if (query_parse(q, o) != -1)
        fail_msg("'%s' accepted", q);
    assert_int_equal(img_error_code(), code);
    if (in_message && !strstr(img_error_message(), in_message))
        fail_msg("'%s': message '%s' lacks '%s'", q, img_error_message(), in_message);
    /* all or nothing */
    assert_int_equal(json_object_size(o), 1);
    s_expect(o, "height", "10");
    json_decref(o);
}

static void test_errors(void **state)
{
    (void)state;
    s_bad("a=1&b=%zz", IMG_E_BAD_REQUEST, NULL);
    s_bad("a=%4", IMG_E_BAD_REQUEST, NULL);
    s_bad("a=%", IMG_E_BAD_REQUEST, NULL);
    s_bad("a%=1", IMG_E_BAD_REQUEST, NULL);
    s_bad("a=x%00y", IMG_E_BAD_REQUEST, NULL);
    s_bad("a=%ff%fe", IMG_E_BAD_REQUEST, NULL);
    s_bad("%c3=1", IMG_E_BAD_REQUEST, NULL);
    s_bad("width=1&width=2", IMG_E_INVALID_PARAMETER, "'width'");
    s_bad("width=1&height=2", IMG_E_INVALID_PARAMETER, "'height'");
    s_bad("=1", IMG_E_INVALID_PARAMETER, NULL);
}

static void test_limits(void **state)
{
    (void)state;
    char q[8192];
    size_t n = 0;
    for (int i = 0; i < QUERY_MAX_PARAMS; i++)
        n += (size_t)sprintf(q + n, "p%d=%d&", i, i);
    json_t *o = json_object();
    assert_int_equal(query_parse(q, o), 0);
    assert_int_equal(json_object_size(o), QUERY_MAX_PARAMS);
    json_decref(o);
    sprintf(q + n, "one=more");
    s_bad(q, IMG_E_INVALID_PARAMETER, NULL);

    /* name: 64 bytes decoded is fine, 65 is not; escapes count once */
    char name[QUERY_MAX_NAME * 3 + 8];
    for (int i = 0; i < QUERY_MAX_NAME; i++)
        memcpy(name + 3 * i, "%61", 3);
    name[3 * QUERY_MAX_NAME] = '\0';
    snprintf(q, sizeof q, "%s=1", name);
    o = json_object();
    assert_int_equal(query_parse(q, o), 0);
    json_decref(o);
    snprintf(q, sizeof q, "%sb=1", name);
    s_bad(q, IMG_E_INVALID_PARAMETER, NULL);

    char value[QUERY_MAX_VALUE + 2];
    memset(value, 'v', QUERY_MAX_VALUE);
    value[QUERY_MAX_VALUE] = '\0';
    snprintf(q, sizeof q, "big=%s", value);
    o = json_object();
    assert_int_equal(query_parse(q, o), 0);
    assert_int_equal(strlen(json_string_value(json_object_get(o, "big"))), QUERY_MAX_VALUE);
    json_decref(o);
    snprintf(q, sizeof q, "big=%sv", value);
    s_bad(q, IMG_E_INVALID_PARAMETER, "'big'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_decoding),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
