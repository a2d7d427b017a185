/* config: defaults, file, environment, bad values (IMG_E_CONFIG), the
 * README table, comma lists and the command line both programs share. */
#include "test_support.h"

#include "cli.h"
#include "config.h"
#include "image_format.h"
#include "img_error.h"
#include "str_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char s_path[256];

static void s_write(const char *text)
{
    snprintf(s_path, sizeof s_path, "%s/test_config_%d.conf", TEST_BINARY_DIR, (int)getpid());
    FILE *f = fopen(s_path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_defaults(void **state)
{
    (void)state;
    img_config_t cfg;
    config_defaults(&cfg);
    assert_string_equal(cfg.data_dir, "./data");
    assert_string_equal(cfg.http_listen, "8080");
    assert_int_equal(cfg.default_width, 100);
    assert_int_equal(cfg.default_height, 100);
    assert_int_equal(cfg.max_attempts, 3);
    assert_true(cfg.max_pixels == 100000000LL);
    assert_int_equal(cfg.engine_threads, 0);
    /* the job store: SQLite in the data folder unless told */
    assert_string_equal(cfg.db_url, "");
}

/* Every key's default is a value config_set accepts, and is what
 * config_defaults sets. */
static void test_defaults_valid(void **state)
{
    (void)state;
    img_config_t defaults, cfg;
    config_defaults(&defaults);
    assert_true(config_key_count() >= 30);
    for (size_t i = 0; i < config_key_count(); i++) {
        const char *key, *def, *help;
        config_key_info(i, &key, &def, &help);
        assert_true(strlen(help) > 0);
        memset(&cfg, 0, sizeof cfg);
        if (config_set(&cfg, key, def) != 0)
            fail_msg("default of %s refused: %s", key, img_error_message());
        config_defaults(&cfg);
        assert_int_equal(config_set(&cfg, key, def), 0);
        assert_memory_equal(&cfg, &defaults, sizeof cfg);
    }
}

static void test_db_url(void **state)
{
    (void)state;
    img_config_t cfg;
    setenv("IMG_DB_URL", "postgresql://img@db/img", 1);
    assert_int_equal(config_load(&cfg, NULL), 0);
    unsetenv("IMG_DB_URL");
    assert_string_equal(cfg.db_url, "postgresql://img@db/img");
    s_write("db_url = /var/lib/img/jobs.db\n");
    assert_int_equal(config_load(&cfg, s_path), 0);
    assert_string_equal(cfg.db_url, "/var/lib/img/jobs.db");
    remove(s_path);
    /* the old name is gone */
    assert_int_equal(config_set(&cfg, "db_path", "x"), -1);
    assert_int_equal(img_error_code(), IMG_E_CONFIG);
}

static void test_file_and_env(void **state)
{
    (void)state;
    img_config_t cfg;
    s_write("# comment\n\n  data_dir =  /tmp/x  \nmax_queued=7\nmax_pixels = 5000000000\n");
    setenv("IMG_MAX_QUEUED", "9", 1);
    assert_int_equal(config_load(&cfg, s_path), 0);
    unsetenv("IMG_MAX_QUEUED");
    assert_string_equal(cfg.data_dir, "/tmp/x");
    assert_int_equal(cfg.max_queued, 9); /* the environment wins */
    assert_true(cfg.max_pixels == 5000000000LL);
    remove(s_path);
}

static void s_expect_bad(const char *text, const char *needle)
{
    img_config_t cfg;
    s_write(text);
    img_error_clear();
    assert_int_equal(config_load(&cfg, s_path), -1);
    assert_int_equal(img_error_code(), IMG_E_CONFIG);
    if (!strstr(img_error_message(), needle))
        fail_msg("'%s' not in '%s'", needle, img_error_message());
    remove(s_path);
}

static void test_bad_files(void **state)
{
    (void)state;
    s_expect_bad("nonsense_key = 1\n", "unknown setting 'nonsense_key'");
    s_expect_bad("max_queued = many\n", "max_queued");
    s_expect_bad("max_queued = 0\n", "from 1 to");
    s_expect_bad("max_queued = 12abc\n", "max_queued");
    s_expect_bad("heartbeat_ms\n", ":1: expected 'key = value'");
    s_expect_bad("log_level = loud\n", "log_level");
    s_expect_bad("max_attempts = 99999999999999999999\n", "max_attempts");
    img_config_t cfg;
    assert_int_equal(config_load(&cfg, "/nonexistent/img.conf"), -1);
    assert_int_equal(img_error_code(), IMG_E_CONFIG);
    assert_non_null(strstr(img_error_message(), "cannot open"));
}

static void test_bad_env(void **state)
{
    (void)state;
    img_config_t cfg;
    setenv("IMG_HTTP_THREADS", "1", 1);
    assert_int_equal(config_load(&cfg, NULL), -1);
    unsetenv("IMG_HTTP_THREADS");
    assert_int_equal(img_error_code(), IMG_E_CONFIG);
    assert_non_null(strstr(img_error_message(), "IMG_HTTP_THREADS"));
    setenv("IMG_LOG_LEVEL", "loud", 1);
    assert_int_equal(config_load(&cfg, NULL), -1);
    unsetenv("IMG_LOG_LEVEL");
    assert_int_equal(img_error_code(), IMG_E_CONFIG);
}

static void test_long_string_refused(void **state)
{
    (void)state;
    img_config_t cfg;
    config_defaults(&cfg);
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(config_set(&cfg, "data_dir", big), -1);
    assert_int_equal(img_error_code(), IMG_E_CONFIG);
    assert_string_equal(cfg.data_dir, "./data");
    /* a configuration error is never a client's error */
    assert_string_equal(img_error_code_name(IMG_E_CONFIG), "config");
    assert_int_equal(img_error_code_from_name("config"), IMG_E_CONFIG);
}

/* Every key is documented in the README's configuration table. */
static void test_readme_lists_every_key(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/README.md", TEST_SOURCE_ROOT);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char text[200000];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    for (size_t i = 0; i < config_key_count(); i++) {
        const char *key, *def, *help;
        char cell[128];
        config_key_info(i, &key, &def, &help);
        snprintf(cell, sizeof cell, "| `%s` | `%s` |", key, def);
        if (!strstr(text, cell))
            fail_msg("README.md has no row starting %s", cell);
    }
}

/* Comma-separated settings: items trimmed, empty items reported. */
static void test_str_list(void **state)
{
    (void)state;
    str_list_t it;
    const char *item;
    size_t len;
    const char *want[] = {"jpeg", "png", "", "web p"};
    int n = 0;
    str_list_begin(&it, " jpeg,png , ,web p ");
    while (str_list_next(&it, &item, &len)) {
        assert_true(n < 4);
        assert_int_equal(len, strlen(want[n]));
        assert_memory_equal(item, want[n], len);
        n++;
    }
    assert_int_equal(n, 4);
    str_list_begin(&it, "");
    assert_false(str_list_next(&it, &item, &len));
    str_list_begin(&it, NULL);
    assert_false(str_list_next(&it, &item, &len));
    assert_true(img_format_in_list("png", "jpeg, png"));
    assert_false(img_format_in_list("pn", "jpeg, png"));
    assert_false(img_format_in_list("png", "jpeg,pngs"));
}

/* The command line both programs share. */
static void test_cli(void **state)
{
    (void)state;
    static const cli_spec_t spec = {"img-test", "curve_server", "print-something"};
    img_config_t cfg;
    cli_flags_t extra;
    char prog[] = "img-test", c[] = "-c", v[] = "--version", bad[] = "--bogus",
         own[] = "--print-something", unsupervised[] = "--no-supervisor", stray[] = "stray";
    s_write("max_queued = 7\n");
    char *load[] = {prog, c, s_path, own, NULL};
    assert_int_equal(cli_start(&spec, 4, load, &cfg, &extra), -1);
    assert_true(extra.extra);
    assert_false(extra.no_supervisor);
    char *both[] = {prog, unsupervised, c, s_path, NULL};
    assert_int_equal(cli_start(&spec, 4, both, &cfg, &extra), -1);
    assert_false(extra.extra);
    assert_true(extra.no_supervisor);
    assert_int_equal(cfg.max_queued, 7);
    char *version[] = {prog, v, NULL};
    assert_int_equal(cli_start(&spec, 2, version, &cfg, &extra), 0);
    char *unknown[] = {prog, bad, NULL};
    assert_int_equal(cli_start(&spec, 2, unknown, &cfg, &extra), CLI_EXIT_CONFIG);
    char *extra_arg[] = {prog, stray, NULL};
    assert_int_equal(cli_start(&spec, 2, extra_arg, &cfg, &extra), CLI_EXIT_CONFIG);
    s_write("max_queued = none\n");
    char *bad_config[] = {prog, c, s_path, NULL};
    assert_int_equal(cli_start(&spec, 3, bad_config, &cfg, &extra), CLI_EXIT_CONFIG);
    remove(s_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_defaults_valid),
        cmocka_unit_test(test_db_url),
        cmocka_unit_test(test_file_and_env),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_bad_env),
        cmocka_unit_test(test_long_string_refused),
        cmocka_unit_test(test_readme_lists_every_key),
        cmocka_unit_test(test_str_list),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
