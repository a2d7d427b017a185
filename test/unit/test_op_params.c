/* test_op_params — parameters validated from the declarations: every
 * parameter of every operation in the catalogue (bounds, types, choices,
 * aliases, defaults, unknown names, sizes in pixels bounded by
 * max_output_dim), and the kinds no catalogue operation uses yet (NUMBER,
 * STEPS, required) through a declaration made here. */
#include "test_support.h"

#include "img_error.h"
#include "op_catalog.h"
#include "op_params.h"

#include <stdio.h>
#include <string.h>

static img_config_t s_cfg;

static int s_setup(void **state)
{
    (void)state;
    config_defaults(&s_cfg);
    return 0;
}

/* A valid value of every required parameter of op but `except`: the rest
 * of a request that tests one parameter. */
static json_t *s_required(const op_def_t *op, const char *except)
{
    json_t *raw = json_object();
    for (const op_param_t *p = op->params; p && p->name; p++) {
        if (!p->required || (except && strcmp(p->name, except) == 0))
            continue;
        json_t *v = p->type == OP_PARAM_ENUM    ? json_string(p->choices[0])
                    : p->type == OP_PARAM_STEPS ? json_pack("[{s:s}]", "op", "flip")
                    : p->type == OP_PARAM_INT   ? json_integer((json_int_t)p->min)
                                                : json_real(p->min);
        json_object_set_new(raw, p->name, v);
    }
    return raw;
}

/* raw {key: value} (value taken, with op's other required parameters)
 * validated against op: refused, with a message that mentions must_mention. */
static void s_expect_invalid(const op_def_t *op, const char *key, json_t *value,
                             const char *must_mention)
{
    json_t *raw = s_required(op, key);
    json_object_set_new(raw, key, value);
    img_error_clear();
    json_t *out = op_params_validate(op, raw, &s_cfg);
    if (out) {
        char *dump = json_dumps(raw, 0);
        fail_msg("%s accepted %s", op->name, dump);
    }
    assert_int_equal(img_error_code(), IMG_E_INVALID_PARAMETER);
    if (!strstr(img_error_message(), must_mention))
        fail_msg("message '%s' does not mention '%s'", img_error_message(), must_mention);
    json_decref(raw);
}

/* The same, accepted: the validated object (caller owns). */
static json_t *s_expect_valid(const op_def_t *op, const char *key, json_t *value)
{
    json_t *raw = s_required(op, key);
    json_object_set_new(raw, key, value);
    json_t *out = op_params_validate(op, raw, &s_cfg);
    if (!out)
        fail_msg("%s refused %s: %s", op->name, key, img_error_message());
    json_decref(raw);
    return out;
}

/* The largest value allowed: a size in pixels is also bounded by the setting. */
static int s_max(const op_param_t *p)
{
    return p->pixels && s_cfg.max_output_dim < p->max ? s_cfg.max_output_dim : (int)p->max;
}

static void s_check_int(const op_def_t *op, const op_param_t *p, const char *key)
{
    char text[32], range[96];
    int min = (int)p->min, max = s_max(p);
    snprintf(range, sizeof range, "%s must be an integer from %d to %d", key, min, max);
    snprintf(text, sizeof text, "%d", min - 1);
    s_expect_invalid(op, key, json_string(text), range);
    snprintf(text, sizeof text, "%d", max + 1);
    s_expect_invalid(op, key, json_string(text), range);
    s_expect_invalid(op, key, json_integer((json_int_t)max + 1), range);
    s_expect_invalid(op, key, json_integer((json_int_t)min - 1), range);
    static const char *const bad[] = {"abc", "1.5", "",   "100px", " 10",
                                      "10 ", "+10", "-0", "0x10",  "99999999999999999999999999",
                                      NULL};
    for (const char *const *b = bad; *b; b++)
        s_expect_invalid(op, key, json_string(*b), range);
    s_expect_invalid(op, key, json_real(min), range);
    s_expect_invalid(op, key, json_true(), range);
    s_expect_invalid(op, key, json_null(), range);

    int vals[2] = {min, max};
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

static void s_check_number(const op_def_t *op, const op_param_t *p, const char *key)
{
    char text[64], range[128];
    snprintf(range, sizeof range, "%s must be a number from %.15g to %.15g", key, p->min, p->max);
    static const char *const bad[] = {"abc", "", "1e2", ".5", "5.", "1.2.3", "-1", " 1", NULL};
    for (const char *const *b = bad; *b; b++)
        s_expect_invalid(op, key, json_string(*b), range);
    snprintf(text, sizeof text, "%.15g", p->max + 1);
    s_expect_invalid(op, key, json_string(text), range);
    s_expect_invalid(op, key, json_real(p->min / 2), range);
    s_expect_invalid(op, key, json_true(), range);
    /* the bounds, as text and as JSON numbers (a message's integer too) */
    double vals[2] = {p->min, p->max};
    for (int i = 0; i < 2; i++) {
        snprintf(text, sizeof text, "%.15g", vals[i]);
        json_t *out = s_expect_valid(op, key, json_string(text));
        assert_true(op_param_number(out, p->name, -1) == vals[i]);
        json_decref(out);
        out = s_expect_valid(op, key, json_real(vals[i]));
        assert_true(op_param_number(out, p->name, -1) == vals[i]);
        json_decref(out);
    }
    json_t *out = s_expect_valid(op, key, json_integer((json_int_t)p->max));
    assert_true(json_is_real(json_object_get(out, p->name)));
    json_decref(out);
}

/* steps: a JSON array of min..max objects, as text or as the array. */
static void s_check_steps(const op_def_t *op, const op_param_t *p, const char *key)
{
    char expect[128];
    snprintf(expect, sizeof expect, "%s must be a JSON array of %.15g to %.15g objects", key,
             p->min, p->max);
    static const char *const bad[] = {"",        "{}",       "[]",         "[1]",
                                      "[{}, 2]", "not json", "{\"op\":1}", NULL};
    for (const char *const *b = bad; *b; b++)
        s_expect_invalid(op, key, json_string(*b), expect);
    json_t *too_many = json_array();
    for (int i = 0; i <= (int)p->max; i++)
        json_array_append_new(too_many, json_pack("{s:s}", "op", "flip"));
    s_expect_invalid(op, key, too_many, expect);
    json_t *out = s_expect_valid(op, key, json_string("[{\"op\":\"flip\"},{\"op\":\"blur\"}]"));
    assert_int_equal(json_array_size(json_object_get(out, p->name)), 2);
    json_decref(out);
}

static void test_every_param_of_every_op(void **state)
{
    (void)state;
    size_t checked = 0, pixels = 0;
    assert_true(op_catalog_count() >= 5);
    for (size_t i = 0; i < op_catalog_count(); i++) {
        const op_def_t *op = op_catalog_at(i);
        for (const op_param_t *p = op->params; p && p->name; p++, checked++) {
            const char *keys[2] = {p->name, p->alias};
            pixels += p->pixels;
            for (int k = 0; k < 2 && keys[k]; k++) {
                if (p->type == OP_PARAM_INT)
                    s_check_int(op, p, keys[k]);
                else if (p->type == OP_PARAM_ENUM)
                    s_check_enum(op, p, keys[k]);
                else if (p->type == OP_PARAM_NUMBER)
                    s_check_number(op, p, keys[k]);
                else if (p->type == OP_PARAM_STEPS)
                    s_check_steps(op, p, keys[k]);
                else
                    fail_msg("%s.%s: a kind this test does not cover", op->name, p->name);
            }
        }
    }
    /* resize 5, thumbnail 6, dither 3, diff 4, info 0 */
    assert_true(checked >= 18);
    assert_int_equal(pixels, 5); /* resize width, height; thumbnail size, width, height */
}

/* A size in pixels is bounded by max_output_dim, whatever the declaration allows. */
static void test_pixels_bounded_by_setting(void **state)
{
    (void)state;
    s_cfg.max_output_dim = 1000;
    const char *ops[] = {"resize", "resize", "thumbnail", "thumbnail", "thumbnail"};
    const char *keys[] = {"width", "height", "size", "width", "height"};
    for (int i = 0; i < 5; i++) {
        const op_def_t *op = op_catalog_find(ops[i]);
        char expect[64];
        snprintf(expect, sizeof expect, "%s must be an integer from 1 to 1000", keys[i]);
        s_expect_invalid(op, keys[i], json_string("1001"), expect);
        json_decref(s_expect_valid(op, keys[i], json_string("1000")));
    }
    /* not a size in pixels: not bounded by it */
    json_decref(s_expect_valid(op_catalog_find("diff"), "min_area", json_string("5000")));
    /* without a configuration, the declaration's own bound */
    json_t *raw = json_pack("{s:s}", "width", "100000");
    json_t *out = op_params_validate(op_catalog_find("resize"), raw, NULL);
    assert_non_null(out);
    assert_int_equal(op_param_int(out, "width", 0), 100000);
    json_decref(out);
    json_decref(raw);
}

static void test_defaults_filled_and_absent_stay_absent(void **state)
{
    (void)state;
    for (size_t i = 0; i < op_catalog_count(); i++) {
        const op_def_t *op = op_catalog_at(i);
        json_t *empty = s_required(op, NULL);
        json_t *out = op_params_validate(op, empty, &s_cfg);
        assert_non_null(out);
        if (json_object_size(empty) == 0) { /* no parameter at all is the same as none given */
            json_t *from_null = op_params_validate(op, NULL, &s_cfg);
            assert_non_null(from_null);
            assert_true(json_equal(out, from_null));
            json_decref(from_null);
        }
        size_t expected = 0;
        for (const op_param_t *p = op->params; p && p->name; p++) {
            json_t *v = json_object_get(out, p->name);
            if (p->required) { /* given: kept */
                assert_non_null(v);
                expected++;
                continue;
            }
            if (!p->has_default) {
                assert_null(v);
                continue;
            }
            expected++;
            if (p->type == OP_PARAM_INT)
                assert_int_equal(json_integer_value(v), p->def);
            else if (p->type == OP_PARAM_NUMBER)
                assert_true(json_real_value(v) == p->def);
            else
                assert_string_equal(json_string_value(v), p->def_choice);
        }
        assert_int_equal(json_object_size(out), expected);
        json_decref(out);
        json_decref(empty);
    }
    json_t *out = op_params_validate(op_catalog_find("resize"), NULL, &s_cfg);
    assert_string_equal(op_param_str(out, "fit", ""), "inside");
    assert_string_equal(op_param_str(out, "format", ""), "same");
    assert_null(json_object_get(out, "width"));
    assert_null(json_object_get(out, "quality"));
    json_decref(out);
    out = op_params_validate(op_catalog_find("thumbnail"), NULL, &s_cfg);
    assert_int_equal(op_param_int(out, "size", 0), 128);
    assert_string_equal(op_param_str(out, "crop", ""), "centre");
    json_decref(out);
}

static void test_unknown_parameter_is_named(void **state)
{
    (void)state;
    for (size_t i = 0; i < op_catalog_count(); i++) {
        const op_def_t *op = op_catalog_at(i);
        s_expect_invalid(op, "foo", json_string("1"), "unknown parameter 'foo'");
        /* Names are exact. */
        s_expect_invalid(op, "Width", json_string("1"), "'Width'");
    }
    /* One unknown among good ones is still refused; the message lists the names. */
    json_t *raw = json_pack("{s:s, s:s}", "width", "10", "bogus", "1");
    assert_null(op_params_validate(op_catalog_find("resize"), raw, &s_cfg));
    assert_non_null(strstr(img_error_message(), "'bogus'"));
    assert_non_null(strstr(img_error_message(), "width, height, fit, format, quality"));
    json_decref(raw);
    /* info takes none. */
    s_expect_invalid(op_catalog_find("info"), "width", json_string("1"), "takes no parameters");
}

static void test_alias_and_duplicate(void **state)
{
    (void)state;
    size_t aliases = 0;
    for (size_t i = 0; i < op_catalog_count(); i++) {
        const op_def_t *op = op_catalog_at(i);
        for (const op_param_t *p = op->params; p && p->name; p++) {
            if (!p->alias)
                continue;
            aliases++;
            char good[32];
            if (p->type == OP_PARAM_INT)
                snprintf(good, sizeof good, "%d", (int)p->min);
            else
                snprintf(good, sizeof good, "%s", p->choices[0]);
            json_t *raw = json_pack("{s:s}", p->alias, good);
            json_t *out = op_params_validate(op, raw, &s_cfg);
            assert_non_null(out);
            assert_non_null(json_object_get(out, p->name));
            assert_null(json_object_get(out, p->alias));
            json_decref(out);
            json_object_set_new(raw, p->name, json_string(good));
            assert_null(op_params_validate(op, raw, &s_cfg));
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
    assert_null(op_params_validate(op_catalog_find("resize"), arr, &s_cfg));
    assert_int_equal(img_error_code(), IMG_E_INVALID_PARAMETER);
    json_decref(arr);
}

/* ---- the kinds no catalogue operation uses yet ---- */

static const op_param_t s_made_params[] = {
    {.name = "ratio",
     .type = OP_PARAM_NUMBER,
     .min = 0.5,
     .max = 2,
     .has_default = true,
     .def = 1.25,
     .help = "A decimal number."},
    {.name = "count",
     .type = OP_PARAM_INT,
     .min = 1,
     .max = 9,
     .required = true,
     .help = "Needed."},
    {.name = "steps", .type = OP_PARAM_STEPS, .min = 1, .max = 3, .help = "A pipeline."},
    {.name = NULL},
};

static const op_def_t s_made = {
    .name = "made",
    .n_inputs = 1,
    .inputs = {{.name = "file"}},
    .params = s_made_params,
    .result_kind = OP_RESULT_JSON,
};

/* raw as JSON text, validated against s_made. */
static json_t *s_made_validate(const char *raw_text)
{
    json_t *raw = json_loads(raw_text, 0, NULL);
    assert_non_null(raw);
    img_error_clear();
    json_t *out = op_params_validate(&s_made, raw, &s_cfg);
    json_decref(raw);
    return out;
}

static void s_made_refused(const char *raw_text, const char *must_mention)
{
    json_t *out = s_made_validate(raw_text);
    if (out)
        fail_msg("accepted %s", raw_text);
    assert_int_equal(img_error_code(), IMG_E_INVALID_PARAMETER);
    if (!strstr(img_error_message(), must_mention))
        fail_msg("%s: message '%s' does not mention '%s'", raw_text, img_error_message(),
                 must_mention);
}

static void test_required(void **state)
{
    (void)state;
    s_made_refused("{}", "count is required");
    s_made_refused("{\"ratio\": \"1\"}", "count is required");
    json_t *out = s_made_validate("{\"count\": \"3\"}");
    assert_non_null(out);
    assert_int_equal(op_param_int(out, "count", 0), 3);
    /* the default of another parameter is filled, an absent one without a
     * default stays absent */
    assert_true(op_param_number(out, "ratio", 0) == 1.25);
    assert_true(json_is_real(json_object_get(out, "ratio")));
    assert_null(json_object_get(out, "steps"));
    json_decref(out);
}

static void test_number(void **state)
{
    (void)state;
    static const char *const good[][2] = {
        {"\"0.5\"", "0.5"}, {"\"2\"", "2"}, {"\"1.75\"", "1.75"}, {"1", "1"},
        {"0.5", "0.5"},     {"2.0", "2"},   {"\"01.5\"", "1.5"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char raw[96];
        snprintf(raw, sizeof raw, "{\"count\": 1, \"ratio\": %s}", good[i][0]);
        json_t *out = s_made_validate(raw);
        if (!out)
            fail_msg("refused %s: %s", raw, img_error_message());
        assert_true(json_is_real(json_object_get(out, "ratio")));
        assert_true(op_param_number(out, "ratio", -1) == strtod(good[i][1], NULL));
        json_decref(out);
    }
    static const char *const bad[] = {
        "\"0.49\"", "\"2.01\"", "0.25",   "3",    "\".5\"", "\"5.\"", "\"1.2.3\"", "\"1e0\"",
        "\"-1\"",   "\"+1\"",   "\" 1\"", "\"\"", "true",   "[1]",    "\"1,5\"",   "\"nan\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char raw[96];
        snprintf(raw, sizeof raw, "{\"count\": 1, \"ratio\": %s}", bad[i]);
        s_made_refused(raw, "ratio must be a number from 0.5 to 2");
    }
    /* an integer kind takes no decimal point, even from JSON */
    s_made_refused("{\"count\": 1.0}", "count must be an integer from 1 to 9");
}

static void test_steps(void **state)
{
    (void)state;
    /* as an array, or as its JSON text (a form field) */
    json_t *out = s_made_validate("{\"count\": 1, \"steps\": [{\"op\": \"resize\"}, {}]}");
    assert_non_null(out);
    json_t *steps = json_object_get(out, "steps");
    assert_int_equal(json_array_size(steps), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 0), "op")),
                        "resize");
    json_decref(out);
    out = s_made_validate("{\"count\": 1, \"steps\": \"[{\\\"a\\\": 1}, {}, {}]\"}");
    assert_non_null(out);
    assert_int_equal(json_array_size(json_object_get(out, "steps")), 3);
    json_decref(out);

    static const char *const bad[] = {
        "[]",                               /* fewer than min */
        "[{}, {}, {}, {}]",                 /* more than max */
        "[{}, 1]",                          /* not objects */
        "[[]]",                             /* not objects */
        "{}",                               /* not an array */
        "\"[{}\"",                          /* text that is not JSON */
        "\"{}\"",                           /* text that is not an array */
        "\"[{\\\"a\\\":1, \\\"a\\\":2}]\"", /* duplicate keys in the text */
        "3",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char raw[128];
        snprintf(raw, sizeof raw, "{\"count\": 1, \"steps\": %s}", bad[i]);
        s_made_refused(raw, "steps must be a JSON array of 1 to 3 objects");
    }
    /* the validated steps are a copy: the caller's raw object is not shared */
    json_t *raw = json_loads("{\"count\": 1, \"steps\": [{}]}", 0, NULL);
    out = op_params_validate(&s_made, raw, &s_cfg);
    assert_non_null(out);
    assert_ptr_not_equal(json_object_get(out, "steps"), json_object_get(raw, "steps"));
    json_decref(out);
    json_decref(raw);
}

static void test_values_read_back(void **state)
{
    (void)state;
    json_t *p = json_pack("{s:i, s:f, s:s}", "i", 7, "n", 2.5, "s", "x");
    assert_int_equal(op_param_int(p, "i", -1), 7);
    assert_int_equal(op_param_int(p, "s", -1), -1); /* wrong kind: the default */
    assert_int_equal(op_param_int(p, "none", -1), -1);
    assert_true(op_param_number(p, "n", 0) == 2.5);
    assert_true(op_param_number(p, "i", 0) == 7.0);
    assert_true(op_param_number(p, "s", -1) == -1);
    assert_string_equal(op_param_str(p, "s", "d"), "x");
    assert_string_equal(op_param_str(p, "i", "d"), "d");
    assert_string_equal(op_param_str(NULL, "s", "d"), "d");
    json_decref(p);
}

#define T(fn) cmocka_unit_test_setup(fn, s_setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_every_param_of_every_op),
        T(test_pixels_bounded_by_setting),
        T(test_defaults_filled_and_absent_stay_absent),
        T(test_unknown_parameter_is_named),
        T(test_alias_and_duplicate),
        T(test_not_an_object),
        T(test_required),
        T(test_number),
        T(test_steps),
        T(test_values_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
