/* test_utf8_text — text is made valid UTF-8 as jansson judges it: what it
 * accepts is left as it is, anything else is accepted once cleaned, and a
 * character cut by a bounded format (as in img_error's messages) becomes
 * '?' instead of making the message unusable in JSON. */
#include "img_error.h"
#include "utf8_text.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void s_cleans_to(const char *in, const char *want)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", in);
    utf8_text_clean(buf);
    assert_string_equal(buf, want);
}

static void test_valid_text_is_kept(void **state)
{
    (void)state;
    s_cleans_to("", "");
    s_cleans_to("plain ASCII", "plain ASCII");
    s_cleans_to("\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9");                         /* été */
    s_cleans_to("\xe2\x82\xac \xf0\x9f\x99\x82", "\xe2\x82\xac \xf0\x9f\x99\x82"); /* € 🙂 */
    s_cleans_to("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");                           /* U+10FFFF */
}

static void test_invalid_bytes_become_question_marks(void **state)
{
    (void)state;
    s_cleans_to("a\xc3", "a?");                 /* cut at the end */
    s_cleans_to("a\xe2\x82", "a??");            /* cut at the end */
    s_cleans_to("\x80x", "?x");                 /* a lone continuation byte */
    s_cleans_to("\xc0\x80", "??");              /* overlong NUL */
    s_cleans_to("\xe0\x80\xaf", "???");         /* overlong '/' */
    s_cleans_to("\xed\xa0\x80", "???");         /* a surrogate */
    s_cleans_to("\xf4\x90\x80\x80", "????");    /* past U+10FFFF */
    s_cleans_to("\xf5\x80", "??");              /* never a lead byte */
    s_cleans_to("\xc3(\xc3\xa9", "?(\xc3\xa9"); /* the next valid one kept */
}

/* Random bytes: what jansson accepts is unchanged, and after cleaning
 * jansson accepts everything. */
static void test_agrees_with_jansson(void **state)
{
    (void)state;
    static const unsigned char pool[] = {'a',  0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed,
                                         0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x90, 0xa0, 0x8f};
    srand(7);
    for (int round = 0; round < 200000; round++) {
        char s[8], copy[8];
        int n = 1 + rand() % 6;
        for (int i = 0; i < n; i++)
            s[i] = (char)pool[rand() % sizeof pool];
        s[n] = '\0';
        memcpy(copy, s, sizeof s);
        json_t *before = json_string(s);
        utf8_text_clean(copy);
        json_t *after = json_string(copy);
        assert_non_null(after);
        if (before)
            assert_string_equal(copy, s);
        json_decref(before);
        json_decref(after);
    }
}

static void test_copy_cuts_and_cleans(void **state)
{
    (void)state;
    char out[4];
    utf8_text_copy(out, sizeof out, "ab\xc3\xa9");
    assert_string_equal(out, "ab?");
    utf8_text_copy(out, sizeof out, "\xe2\x82\xac");
    assert_string_equal(out, "\xe2\x82\xac");
}

static void test_error_messages_are_valid(void **state)
{
    (void)state;
    img_error_set(IMG_E_INVALID_PARAMETER, "unknown parameter '%.4s'", "ab\xc3\xa9\xc3\xa9");
    assert_string_equal(img_error_message(), "unknown parameter 'ab\xc3\xa9'");
    img_error_set(IMG_E_INVALID_PARAMETER, "unknown parameter '%.3s'", "ab\xc3\xa9");
    assert_string_equal(img_error_message(), "unknown parameter 'ab?'");
    json_t *j = json_string(img_error_message());
    assert_non_null(j);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_text_is_kept),
        cmocka_unit_test(test_invalid_bytes_become_question_marks),
        cmocka_unit_test(test_agrees_with_jansson),
        cmocka_unit_test(test_copy_cuts_and_cleans),
        cmocka_unit_test(test_error_messages_are_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
