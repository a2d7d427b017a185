/* test_op_params — every declared parameter of every registered operation is
 * validated strictly: bounds, types, choices, aliases, defaults, unknown names;
 * plus the config-dependent checks of resize and thumbnail. */
#include "config.h"
#include "img_error.h"
#include "op.h"
#include "op_params.h"
#include "op_registry.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* raw {key: value} validated against op; NULL expected. */
static void s_expect_invalid(const op_def_t *op, const char *key, json_t *value,
                             const char *must_mention)
{
    json_t *raw = json_object();
    json_object_set_new(raw, key, value);
    img_error_clear();
    json_t *out = op_params_validate(op, raw);
    if (out) {
        char *dump = json_dumps(raw, 0);
        fail_msg("%s accepted %s", op->name, dump);
    }
    assert_int_equal(img_error_code(), IMG_E_INVALID_PARAMETER);
    if (!strstr(img_error_message(), must_mention))
        fail_msg("message '%s' does not mention '%s'", img_error_message(), must_mention);
    json_decref(raw);
}

static json_t *s_expect_valid(const op_def_t *op, const char *key, json_t *value)
{
    json_t *raw = json_object();
    json_object_set_new(raw, key, value);
    json_t *out = op_params_validate(op, raw);
    if (!out)
        fail_msg("%s refused %s: %s", op->name, key, img_error_message());
    json_decref(raw);
    return out;
}

static void s_check_int(const op_def_t *op, const op_param_t *p, const char *key)
{
    char text[32], range[96];
    snprintf(range, sizeof range, "%s must be an integer from %d to %d", key, p->min, p->max);
    snprintf(text, sizeof text, "%d", p->min - 1);
    s_expect_invalid(op, key, json_string(text), range);
    snprintf(text, sizeof text, "%d", p->max + 1);
    s_expect_invalid(op, key, json_string(text), range);
    s_expect_invalid(op, key, json_integer((json_int_t)p->max + 1), range);
    s_expect_invalid(op, key, json_integer((json_int_t)p->min - 1), range);
    static const char *const bad[] = {"abc", "1.5", "",   "100px", " 10",
                                      "10 ", "+10", "-0", "0x10",  "99999999999999999999999999",
                                      NULL};
    for (const char *const *b = bad; *b; b++)
        s_expect_invalid(op, key, json_string(*b), range);
    s_expect_invalid(op, key, json_real(p->min), range);
    s_expect_invalid(op, key, json_true(), range);

    int vals[2] = {p->min, p->max};
    for (int i = 0; i < 2; i++) {
        snprintf(text, sizeof text, "%d", vals[i]);
        json_t *out = s_expect_valid(op, key, json_string(text));
        assert_int_equal(op_param_int(out, p->name, -12345), vals[i]);
        assert_null(json_object_get(out, p->alias ? p->alias : "\x01"));
        json_decref(out);
        out = s_expect_valid(op, key, json_integer(vals[i]));
        assert_true(json_is_integer(json_object_get(out, p->name)));
        assert_int_equal(op_param_int(out, p->name, -12345), vals[i]);
        json_decref(out);
    }
}

static void s_check_enum(const op_def_t *op, const op_param_t *p, const char *key)
{
    char expect[128];
    snprintf(expect, sizeof expect, "%s must be one of %s", key, p->choices[0]);
    for (const char *const *c = p->choices; *c; c++) {
        json_t *out = s_expect_valid(op, key, json_string(*c));
        assert_string_equal(op_param_str(out, p->name, "?"), *c);
        json_decref(out);
        /* The message lists every choice. */
        s_expect_invalid(op, key, json_string("no-such-choice"), *c);
    }
    s_expect_invalid(op, key, json_string("no-such-choice"), expect);
    s_expect_invalid(op, key, json_string(""), expect);
    s_expect_invalid(op, key, json_integer(1), expect);
    char upper[64];
    snprintf(upper, sizeof upper, "%s", p->choices[0]);
    upper[0] = (char)(upper[0] - 32);
    s_expect_invalid(op, key, json_string(upper), expect);
}

static void test_every_param_of_every_op(void **state)
{
    (void)state;
    size_t checked = 0;
    assert_true(op_registry_count() >= 5);
    for (size_t i = 0; i < op_registry_count(); i++) {
        const op_def_t *op = op_registry_at(i);
        for (const op_param_t *p = op->params; p && p->name; p++, checked++) {
            const char *keys[2] = {p->name, p->alias};
            for (int k = 0; k < 2 && keys[k]; k++) {
                if (p->type == OP_PARAM_INT)
                    s_check_int(op, p, keys[k]);
                else
                    s_check_enum(op, p, keys[k]);
            }
        }
    }
    assert_true(checked >= 12); /* resize 5, thumbnail 6, dither 1, diff 2 */
}

static void test_defaults_filled_and_absent_stay_absent(void **state)
{
    (void)state;
    for (size_t i = 0; i < op_registry_count(); i++) {
        const op_def_t *op = op_registry_at(i);
        json_t *empty = json_object();
        json_t *out = op_params_validate(op, empty);
        assert_non_null(out);
        json_t *from_null = op_params_validate(op, NULL);
        assert_non_null(from_null);
        assert_true(json_equal(out, from_null));
        size_t expected = 0;
        for (const op_param_t *p = op->params; p && p->name; p++) {
            json_t *v = json_object_get(out, p->name);
            if (!p->has_default) {
                assert_null(v);
                continue;
            }
            expected++;
            if (p->type == OP_PARAM_INT)
                assert_int_equal(json_integer_value(v), p->def);
            else
                assert_string_equal(json_string_value(v), p->def_choice);
        }
        assert_int_equal(json_object_size(out), expected);
        json_decref(out);
        json_decref(from_null);
        json_decref(empty);
    }
    const op_def_t *resize = op_registry_find("resize");
    json_t *out = op_params_validate(resize, NULL);
    assert_string_equal(op_param_str(out, "fit", ""), "inside");
    assert_string_equal(op_param_str(out, "format", ""), "same");
    assert_null(json_object_get(out, "width"));
    assert_null(json_object_get(out, "quality"));
    json_decref(out);
    const op_def_t *thumb = op_registry_find("thumbnail");
    out = op_params_validate(thumb, NULL);
    assert_int_equal(op_param_int(out, "size", 0), 128);
    assert_string_equal(op_param_str(out, "crop", ""), "centre");
    json_decref(out);
}

static void test_unknown_parameter_is_named(void **state)
{
    (void)state;
    for (size_t i = 0; i < op_registry_count(); i++) {
        const op_def_t *op = op_registry_at(i);
        s_expect_invalid(op, "foo", json_string("1"), "unknown parameter 'foo'");
        /* Names are exact. */
        s_expect_invalid(op, "Width", json_string("1"), "'Width'");
    }
    /* One unknown among good ones is still refused. */
    json_t *raw = json_pack("{s:s, s:s}", "width", "10", "bogus", "1");
    assert_null(op_params_validate(op_registry_find("resize"), raw));
    assert_non_null(strstr(img_error_message(), "'bogus'"));
    json_decref(raw);
    /* info takes none. */
    s_expect_invalid(op_registry_find("info"), "width", json_string("1"), "takes no parameters");
}

static void test_alias_and_duplicate(void **state)
{
    (void)state;
    size_t aliases = 0;
    for (size_t i = 0; i < op_registry_count(); i++) {
        const op_def_t *op = op_registry_at(i);
        for (const op_param_t *p = op->params; p && p->name; p++) {
            if (!p->alias)
                continue;
            aliases++;
            char good[32];
            if (p->type == OP_PARAM_INT)
                snprintf(good, sizeof good, "%d", p->min);
            else
                snprintf(good, sizeof good, "%s", p->choices[0]);
            json_t *raw = json_pack("{s:s}", p->alias, good);
            json_t *out = op_params_validate(op, raw);
            assert_non_null(out);
            assert_non_null(json_object_get(out, p->name));
            assert_null(json_object_get(out, p->alias));
            json_decref(out);
            json_object_set_new(raw, p->name, json_string(good));
            assert_null(op_params_validate(op, raw));
            assert_int_equal(img_error_code(), IMG_E_INVALID_PARAMETER);
            assert_non_null(strstr(img_error_message(), "given twice"));
            json_decref(raw);
        }
    }
    assert_true(aliases >= 1); /* dither: channels */
}

static void test_not_an_object(void **state)
{
    (void)state;
    json_t *arr = json_array();
    assert_null(op_params_validate(op_registry_find("resize"), arr));
    assert_int_equal(img_error_code(), IMG_E_INVALID_PARAMETER);
    json_decref(arr);
}

static void test_resize_check(void **state)
{
    (void)state;
    img_config_t cfg;
    config_defaults(&cfg);
    cfg.max_output_dim = 1000;
    cfg.default_width = 120;
    cfg.default_height = 80;
    const op_def_t *op = op_registry_find("resize");
    image_info_t in = {.width = 400, .height = 300, .pages = 1, .bands = 3, .orientation = 1};

    json_t *p = op_params_validate(op, NULL);
    assert_int_equal(op->check(p, &in, &cfg), 0);
    assert_int_equal(op_param_int(p, "width", 0), 120);
    assert_int_equal(op_param_int(p, "height", 0), 80);
    json_decref(p);

    json_t *raw = json_pack("{s:s}", "width", "1001");
    p = op_params_validate(op, raw);
    assert_non_null(p);
    assert_int_equal(op->check(p, &in, &cfg), -1);
    assert_string_equal(img_error_message(), "width must be an integer from 1 to 1000");
    json_decref(p);
    json_decref(raw);

    /* Only width: the default box is not filled in. */
    raw = json_pack("{s:s}", "width", "500");
    p = op_params_validate(op, raw);
    assert_int_equal(op->check(p, &in, &cfg), 0);
    assert_null(json_object_get(p, "height"));
    json_decref(p);
    json_decref(raw);

    /* The computed result is checked too: height only on a wide image. */
    in.width = 4000;
    in.height = 100;
    raw = json_pack("{s:s}", "height", "50");
    p = op_params_validate(op, raw);
    assert_int_equal(op->check(p, &in, &cfg), -1);
    assert_int_equal(img_error_code(), IMG_E_INVALID_PARAMETER);
    assert_non_null(strstr(img_error_message(), "2000x50"));
    json_decref(p);
    json_decref(raw);
    raw = json_pack("{s:s, s:s, s:s}", "width", "100", "height", "100", "fit", "outside");
    p = op_params_validate(op, raw);
    assert_int_equal(op->check(p, &in, &cfg), -1);
    assert_non_null(strstr(img_error_message(), "4000x100"));
    json_decref(p);
    json_decref(raw);
}

static void test_thumbnail_check(void **state)
{
    (void)state;
    img_config_t cfg;
    config_defaults(&cfg);
    cfg.max_output_dim = 500;
    const op_def_t *op = op_registry_find("thumbnail");
    image_info_t in = {.width = 400, .height = 300, .pages = 1, .bands = 3, .orientation = 1};
    const char *names[] = {"size", "width", "height"};
    for (int i = 0; i < 3; i++) {
        json_t *raw = json_pack("{s:s}", names[i], "501");
        json_t *p = op_params_validate(op, raw);
        assert_int_equal(op->check(p, &in, &cfg), -1);
        char expect[64];
        snprintf(expect, sizeof expect, "%s must be an integer from 1 to 500", names[i]);
        assert_string_equal(img_error_message(), expect);
        json_decref(p);
        json_object_set_new(raw, names[i], json_string("500"));
        p = op_params_validate(op, raw);
        assert_int_equal(op->check(p, &in, &cfg), 0);
        json_decref(p);
        json_decref(raw);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_param_of_every_op),
        cmocka_unit_test(test_defaults_filled_and_absent_stay_absent),
        cmocka_unit_test(test_unknown_parameter_is_named),
        cmocka_unit_test(test_alias_and_duplicate),
        cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_resize_check),
        cmocka_unit_test(test_thumbnail_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
