#include "op_params.h"

#include "img_error.h"

#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const op_param_t *s_find(const op_def_t *op, const char *key)
{
    for (const op_param_t *p = op->params; p && p->name; p++)
        if (strcmp(p->name, key) == 0 || (p->alias && strcmp(p->alias, key) == 0))
            return p;
    return NULL;
}

/* "a, b, c" from a list of names, into out. */
static void s_join(const char *const *names, size_t n, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%s", len ? ", " : "", names[i]);
}

static int s_unknown(const op_def_t *op, const char *key)
{
    const char *names[64] = {0};
    size_t n = 0;
    char list[512];
    for (const op_param_t *p = op->params; p && p->name && n < 64; p++)
        names[n++] = p->name;
    s_join(names, n, list, sizeof list);
    if (n)
        img_error_set(IMG_E_INVALID_PARAMETER, "unknown parameter '%.64s' (%s accepts %s)", key,
                      op->name, list);
    else
        img_error_set(IMG_E_INVALID_PARAMETER, "unknown parameter '%.64s' (%s takes no parameters)",
                      key, op->name);
    return -1;
}

static double s_max(const op_param_t *p, const img_config_t *cfg)
{
    return p->pixels && cfg && cfg->max_output_dim < p->max ? cfg->max_output_dim : p->max;
}

static json_t *s_out_of_range(const op_param_t *p, const char *given, const img_config_t *cfg)
{
    if (p->type == OP_PARAM_INT)
        img_error_set(IMG_E_INVALID_PARAMETER, "%s must be an integer from %.15g to %.15g", given,
                      p->min, s_max(p, cfg));
    else
        img_error_set(IMG_E_INVALID_PARAMETER, "%s must be a number from %.15g to %.15g", given,
                      p->min, s_max(p, cfg));
    return NULL;
}

/* Digits, and with `decimal` at most one '.' between digits; into *value.
 * false on anything else or on a value too long to hold. */
static bool s_parse_text(const char *s, bool decimal, double *value)
{
    size_t digits = 0, dots = 0, n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        if (isdigit((unsigned char)s[i]))
            digits++;
        else if (decimal && s[i] == '.' && i > 0 && i + 1 < n && dots == 0)
            dots++;
        else
            return false;
    }
    if (digits == 0 || n > 18)
        return false;
    *value = strtod(s, NULL);
    return true;
}

static json_t *s_convert_number(const op_param_t *p, const char *given, const json_t *v,
                                const img_config_t *cfg)
{
    bool integer = p->type == OP_PARAM_INT;
    double value;
    if (json_is_integer(v))
        value = (double)json_integer_value(v);
    else if (json_is_real(v) && !integer)
        value = json_real_value(v);
    else if (!json_is_string(v) || !s_parse_text(json_string_value(v), !integer, &value))
        return s_out_of_range(p, given, cfg);
    if (!(value >= p->min && value <= s_max(p, cfg)) || (integer && value != floor(value)))
        return s_out_of_range(p, given, cfg);
    return integer ? json_integer((json_int_t)value) : json_real(value);
}

static json_t *s_convert_enum(const op_param_t *p, const char *given, const json_t *v)
{
    char number[24];
    const char *s = json_string_value(v);
    if (json_is_integer(v)) { /* a choice that is a number ("90") may come as one */
        snprintf(number, sizeof number, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        s = number;
    }
    size_t n = 0;
    for (const char *const *c = p->choices; c && *c; c++, n++)
        if (s && strcmp(*c, s) == 0)
            return json_string(s);
    char list[256];
    s_join(p->choices, n, list, sizeof list);
    img_error_set(IMG_E_INVALID_PARAMETER, "%s must be one of %s", given, list);
    return NULL;
}

/* A JSON array of min..max objects, given as the array or as its text. */
static json_t *s_convert_steps(const op_param_t *p, const char *given, const json_t *v)
{
    json_t *array = NULL;
    if (json_is_string(v))
        array = json_loads(json_string_value(v), JSON_REJECT_DUPLICATES, NULL);
    else if (json_is_array(v))
        array = json_deep_copy(v);
    size_t n = json_array_size(array);
    bool ok = json_is_array(array) && n >= p->min && n <= p->max;
    for (size_t i = 0; ok && i < n; i++)
        ok = json_is_object(json_array_get(array, i));
    if (!ok) {
        json_decref(array);
        img_error_set(IMG_E_INVALID_PARAMETER, "%s must be a JSON array of %g to %g objects", given,
                      p->min, p->max);
        return NULL;
    }
    return array;
}

static json_t *s_default(const op_param_t *p)
{
    if (p->type == OP_PARAM_INT)
        return json_integer((json_int_t)p->def);
    if (p->type == OP_PARAM_NUMBER)
        return json_real(p->def);
    return json_string(p->def_choice);
}

static json_t *s_convert(const op_param_t *p, const char *given, const json_t *v,
                         const img_config_t *cfg)
{
    switch (p->type) {
    case OP_PARAM_INT:
    case OP_PARAM_NUMBER:
        return s_convert_number(p, given, v, cfg);
    case OP_PARAM_ENUM:
        return s_convert_enum(p, given, v);
    case OP_PARAM_STEPS:
        return s_convert_steps(p, given, v);
    }
    return NULL;
}

/* Puts p's value (or default) into out; 0 or -1 with the error set. */
static int s_take(const op_param_t *p, const json_t *raw, json_t *out, const img_config_t *cfg)
{
    const json_t *by_name = raw ? json_object_get(raw, p->name) : NULL;
    const json_t *by_alias = (raw && p->alias) ? json_object_get(raw, p->alias) : NULL;
    if (by_name && by_alias) {
        img_error_set(IMG_E_INVALID_PARAMETER, "%s was given twice (as %s and as %s)", p->name,
                      p->name, p->alias);
        return -1;
    }
    const json_t *v = by_name ? by_name : by_alias;
    json_t *value;
    if (!v && p->required) {
        img_error_set(IMG_E_INVALID_PARAMETER, "%s is required", p->name);
        return -1;
    }
    if (!v && !p->has_default)
        return 0;
    value = v ? s_convert(p, by_name ? p->name : p->alias, v, cfg) : s_default(p);
    if (!value)
        return -1;
    json_object_set_new(out, p->name, value);
    return 0;
}

json_t *op_params_validate(const op_def_t *op, const json_t *raw, const img_config_t *cfg)
{
    assert(op);
    if (raw && !json_is_object(raw)) {
        img_error_set(IMG_E_INVALID_PARAMETER, "the parameters must be an object");
        return NULL;
    }
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)raw, key, value)
    {
        if (!s_find(op, key))
            return s_unknown(op, key), NULL;
    }
    json_t *out = json_object();
    for (const op_param_t *p = op->params; p && p->name; p++) {
        if (s_take(p, raw, out, cfg) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

int op_param_int(const json_t *params, const char *name, int dflt)
{
    const json_t *v = params ? json_object_get(params, name) : NULL;
    return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

double op_param_number(const json_t *params, const char *name, double dflt)
{
    const json_t *v = params ? json_object_get(params, name) : NULL;
    return json_is_number(v) ? json_number_value(v) : dflt;
}

const char *op_param_str(const json_t *params, const char *name, const char *dflt)
{
    const json_t *v = params ? json_object_get(params, name) : NULL;
    return json_is_string(v) ? json_string_value(v) : dflt;
}
