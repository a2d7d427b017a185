/* job_id: generation and the strict validation of ids from clients; and
 * instance names (an engine's identity on the wire). */
#include "test_support.h"

#include "img_error.h"
#include "instance_name.h"
#include "job_id.h"
#include "msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static void test_instance_names(void **state)
{
    (void)state;
    char a[64], b[64], pid[32];
    assert_int_equal(instance_name_new(a, sizeof a), 0);
    assert_int_equal(instance_name_new(b, sizeof b), 0);
    assert_string_not_equal(a, b); /* the random part */
    /* <host>-<pid>-<8 hex digits> */
    snprintf(pid, sizeof pid, "-%ld-", (long)getpid());
    assert_non_null(strstr(a, pid));
    const char *hex = strrchr(a, '-') + 1;
    assert_int_equal(strlen(hex), 8);
    assert_int_equal(strspn(hex, "0123456789abcdef"), 8);
    /* a valid engine name for the protocol */
    msg_t bye;
    msg_init(&bye, MSG_BYE);
    snprintf(bye.engine, sizeof bye.engine, "%s", a);
    char *text = msg_encode(&bye, NULL);
    assert_non_null(text);
    free(text);
    /* too small a buffer is an error, not a cut name */
    char tiny[8];
    assert_int_equal(instance_name_new(tiny, sizeof tiny), -1);
    assert_int_equal(img_error_code(), IMG_E_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_ids_are_valid_and_distinct),
        cmocka_unit_test(test_invalid_ids),
        cmocka_unit_test(test_instance_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
