/* job_id: generation and the strict validation of ids from clients. */
#include "job_id.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static void test_new_ids_are_valid_and_distinct(void **state)
{
    (void)state;
    char a[JOB_ID_LEN + 1], b[JOB_ID_LEN + 1];
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(job_id_new(a), 0);
        assert_int_equal(job_id_new(b), 0);
        assert_true(job_id_valid(a));
        assert_string_not_equal(a, b);
        assert_int_equal(a[14], '4');
        assert_non_null(strchr("89ab", a[19]));
    }
}

static void test_invalid_ids(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "abc",
        "../../etc/passwd",
        "3F2504E0-4F89-41D3-9A0C-0305E82C3301", /* upper case */
        "3f2504e0-4f89-11d3-9a0c-0305e82c3301", /* version 1 */
        "3f2504e0-4f89-41d3-7a0c-0305e82c3301", /* bad variant */
        "{3f2504e0-4f89-41d3-9a0c-0305e82c3301}",
        "3f2504e04f8941d39a0c0305e82c3301",
        "3f2504e0-4f89-41d3-9a0c-0305e82c330",
        "3f2504e0-4f89-41d3-9a0c-0305e82c33011",
        "3f2504e0-4f89-41d3-9a0c-0305e82c330g",
        "3f2504e0_4f89-41d3-9a0c-0305e82c3301",
        "3f2504e0-4f89-41d3-9a0c-0305e82c33/1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (job_id_valid(bad[i]))
            fail_msg("'%s' accepted", bad[i]);
    assert_false(job_id_valid(NULL));
    assert_true(job_id_valid("3f2504e0-4f89-41d3-9a0c-0305e82c3301"));
    assert_true(job_id_valid("3f2504e0-4f89-41d3-bfff-0305e82c3301"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_ids_are_valid_and_distinct),
        cmocka_unit_test(test_invalid_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
