/* http_guard: open routes, API keys (constant-time compare of keys of any
 * length) and the per-key / per-address token bucket, through
 * http_guard_check_values with a fake clock. Which routes are open is
 * http_routes.c's table; the guard is told. */
#include "test_support.h"

#include "config.h"
#include "http_guard.h"
#include "img_error.h"

#include <stdio.h>
#include <string.h>

#define T0 1000000LL /* fake monotonic clock, ms */

static http_guard_t *s_guard(const char *keys, int per_min)
{
    img_config_t cfg;
    config_defaults(&cfg);
    snprintf(cfg.api_keys, sizeof cfg.api_keys, "%s", keys);
    cfg.rate_limit_per_min = per_min;
    http_guard_t *g = http_guard_new(&cfg);
    assert_non_null(g);
    return g;
}

/* 0, or the img_error code of a refusal (a closed route). */
static int s_check(http_guard_t *g, const char *key, const char *client, long long now, int *retry)
{
    img_error_clear();
    if (http_guard_check_values(g, key, client, false, now, retry) == 0)
        return 0;
    assert_true(strlen(img_error_message()) > 0);
    return (int)img_error_code();
}

static void test_open_routes(void **state)
{
    (void)state;
    http_guard_t *g = s_guard("secret", 1);
    int retry = 0;
    /* An open route needs no key and never counts against the limit. */
    for (int n = 0; n < 5; n++) {
        img_error_clear();
        assert_int_equal(http_guard_check_values(g, NULL, "10.0.0.1", true, T0, &retry), 0);
        assert_int_equal(http_guard_check_values(g, "wrong", "10.0.0.1", true, T0, &retry), 0);
        assert_int_equal(img_error_code(), IMG_E_NONE);
    }
    /* A closed one needs the key, and the one token is still there. */
    assert_int_equal(s_check(g, NULL, "10.0.0.1", T0, &retry), IMG_E_UNAUTHORIZED);
    assert_int_equal(s_check(g, "wrong", "10.0.0.1", T0, &retry), IMG_E_UNAUTHORIZED);
    assert_int_equal(s_check(g, "secret", "10.0.0.1", T0, &retry), 0);
    assert_int_equal(s_check(g, "secret", "10.0.0.1", T0, &retry), IMG_E_RATE_LIMITED);
    /* Open routes still pass once the bucket is empty. */
    assert_int_equal(http_guard_check_values(g, "secret", "10.0.0.1", true, T0, &retry), 0);
    http_guard_destroy(&g);
    assert_null(g);
    http_guard_destroy(&g); /* twice is harmless */
}

static void test_keys(void **state)
{
    (void)state;
    http_guard_t *g = s_guard(" alpha-key-1 , beta ", 0);
    int retry = 0;
    assert_int_equal(s_check(g, NULL, "c", T0, &retry), IMG_E_UNAUTHORIZED);
    assert_int_equal(s_check(g, "alpha-key-1", "c", T0, &retry), 0);
    assert_int_equal(s_check(g, "beta", "c", T0, &retry), 0);
    /* Wrong keys of every length: shorter, longer, prefix, same length. */
    static const char *const wrong[] = {"",
                                        "a",
                                        "alpha",
                                        "alpha-key-",
                                        "alpha-key-12",
                                        "alpha-key-1 ",
                                        " beta",
                                        "betb",
                                        "BETA",
                                        "beta-and-a-much-longer-tail-than-any-key-we-know"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++)
        assert_int_equal(s_check(g, wrong[i], "c", T0, &retry), IMG_E_UNAUTHORIZED);
    http_guard_destroy(&g);

    /* Without keys every request passes. */
    g = s_guard("", 0);
    assert_int_equal(s_check(g, NULL, "c", T0, &retry), 0);
    assert_int_equal(s_check(g, "anything", "c", T0, &retry), 0);
    http_guard_destroy(&g);
}

static void test_bad_key_lists(void **state)
{
    (void)state;
    static const char *const bad[] = {"a,,b", ",", "a, ,b", ",x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        img_config_t cfg;
        config_defaults(&cfg);
        snprintf(cfg.api_keys, sizeof cfg.api_keys, "%s", bad[i]);
        img_error_clear();
        assert_null(http_guard_new(&cfg));
        assert_true(strlen(img_error_message()) > 0);
    }
    img_config_t cfg;
    config_defaults(&cfg);
    memset(cfg.api_keys, 'k', 200); /* longer than a key may be */
    cfg.api_keys[200] = '\0';
    assert_null(http_guard_new(&cfg));
}

static void test_bucket_refills(void **state)
{
    (void)state;
    http_guard_t *g = s_guard("k1,k2", 6); /* one token every 10 s */
    int retry = -1;
    for (int i = 0; i < 6; i++)
        assert_int_equal(s_check(g, "k1", "c", T0 + i, &retry), 0);
    assert_int_equal(s_check(g, "k1", "c", T0 + 6, &retry), IMG_E_RATE_LIMITED);
    assert_int_equal(retry, 10); /* the next token comes 10 s after the first request */
    /* Another key has its own bucket, whatever the client address. */
    assert_int_equal(s_check(g, "k2", "c", T0 + 6, &retry), 0);
    /* A refused request takes nothing; the token is back after 10 s. */
    assert_int_equal(s_check(g, "k1", "c", T0 + 9000, &retry), IMG_E_RATE_LIMITED);
    assert_int_equal(retry, 1);
    assert_int_equal(s_check(g, "k1", "c", T0 + 10000, &retry), 0);
    assert_int_equal(s_check(g, "k1", "c", T0 + 10001, &retry), IMG_E_RATE_LIMITED);
    assert_int_equal(retry, 10);
    /* A long pause refills to the limit, not beyond. */
    long long later = T0 + 3600 * 1000;
    for (int i = 0; i < 6; i++)
        assert_int_equal(s_check(g, "k1", "c", later, &retry), 0);
    assert_int_equal(s_check(g, "k1", "c", later, &retry), IMG_E_RATE_LIMITED);
    /* A clock going back neither refills nor breaks anything. */
    assert_int_equal(s_check(g, "k1", "c", T0, &retry), IMG_E_RATE_LIMITED);
    assert_true(retry >= 1 && retry <= 10);
    /* An unauthorized request is refused before the rate limit. */
    assert_int_equal(s_check(g, "nope", "c", later, &retry), IMG_E_UNAUTHORIZED);
    http_guard_destroy(&g);
}

static void test_bucket_per_address(void **state)
{
    (void)state;
    http_guard_t *g = s_guard("", 2); /* one token every 30 s */
    int retry = 0;
    assert_int_equal(s_check(g, NULL, "10.0.0.1", T0, &retry), 0);
    assert_int_equal(s_check(g, NULL, "10.0.0.1", T0, &retry), 0);
    assert_int_equal(s_check(g, NULL, "10.0.0.1", T0, &retry), IMG_E_RATE_LIMITED);
    assert_int_equal(retry, 30);
    assert_int_equal(s_check(g, NULL, "10.0.0.2", T0, &retry), 0);
    /* A key sent without keys configured does not give a new bucket. */
    assert_int_equal(s_check(g, "fresh", "10.0.0.1", T0, &retry), IMG_E_RATE_LIMITED);
    /* Many addresses: buckets are reused, nothing breaks, limits still hold. */
    char addr[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(addr, sizeof addr, "192.168.%d.%d", i / 256, i % 256);
        assert_int_equal(s_check(g, NULL, addr, T0 + 1 + i, &retry), 0);
    }
    assert_int_equal(s_check(g, NULL, "192.168.39.15", T0 + 20000, &retry), 0);
    assert_int_equal(s_check(g, NULL, "192.168.39.15", T0 + 20000, &retry), IMG_E_RATE_LIMITED);
    http_guard_destroy(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_routes),        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_bad_key_lists),      cmocka_unit_test(test_bucket_refills),
        cmocka_unit_test(test_bucket_per_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
