/* op_params — strict validation of an operation's parameters.
 *
 * Integers given as text are digits only: no sign, no blanks, no decimal
 * point, no unit, not empty ("100px", "1.5", " 7", "+3", "" are refused);
 * values too long to fit are reported as out of range. Choices match exactly
 * (case-sensitive). Messages name the parameter as the client spelled it and
 * say what is allowed.
 */
#include "op_params.h"

#include "img_error.h"

#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static const op_param_t *s_find(const op_def_t *op, const char *key)
{
    for (const op_param_t *p = op->params; p && p->name; p++)
        if (strcmp(p->name, key) == 0 || (p->alias && strcmp(p->alias, key) == 0))
            return p;
    return NULL;
}

/* "width, height, fit" into out. */
static void s_names(const op_def_t *op, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (const op_param_t *p = op->params; p && p->name && n < size; p++)
        n += (size_t)snprintf(out + n, size - n, "%s%s", n ? ", " : "", p->name);
}

static void s_choices(const op_param_t *p, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (const char *const *c = p->choices; c && *c && n < size; c++)
        n += (size_t)snprintf(out + n, size - n, "%s%s", n ? ", " : "", *c);
}

static int s_unknown(const op_def_t *op, const char *key)
{
    char names[256];
    s_names(op, names, sizeof names);
    if (names[0])
        img_error_set(IMG_E_INVALID_PARAMETER, "unknown parameter '%.64s' (%s accepts %s)", key,
                      op->name, names);
    else
        img_error_set(IMG_E_INVALID_PARAMETER, "unknown parameter '%.64s' (%s takes no parameters)",
                      key, op->name);
    return -1;
}

static int s_bad_int(const op_param_t *p, const char *given)
{
    img_error_set(IMG_E_INVALID_PARAMETER, "%s must be an integer from %d to %d", given, p->min,
                  p->max);
    return -1;
}

/* Digits only, into *value; false on anything else or on overflow. */
static bool s_parse_digits(const char *s, long long *value)
{
    long long v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return false;
        int d = *s - '0';
        if (v > (LLONG_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *value = v;
    return true;
}

static json_t *s_convert_int(const op_param_t *p, const char *given, const json_t *v)
{
    long long value;
    if (json_is_integer(v))
        value = (long long)json_integer_value(v);
    else if (!json_is_string(v) || !s_parse_digits(json_string_value(v), &value))
        return s_bad_int(p, given), NULL;
    if (value < p->min || value > p->max)
        return s_bad_int(p, given), NULL;
    return json_integer(value);
}

static json_t *s_convert_enum(const op_param_t *p, const char *given, const json_t *v)
{
    const char *s = json_string_value(v);
    for (const char *const *c = p->choices; s && c && *c; c++)
        if (strcmp(*c, s) == 0)
            return json_string(s);
    char choices[256];
    s_choices(p, choices, sizeof choices);
    img_error_set(IMG_E_INVALID_PARAMETER, "%s must be one of %s", given, choices);
    return NULL;
}

static json_t *s_default(const op_param_t *p)
{
    if (p->type == OP_PARAM_INT)
        return json_integer(p->def);
    return json_string(p->def_choice);
}

/* Puts p's value (or default) into out; 0 or -1 with the error set. */
static int s_take(const op_param_t *p, const json_t *raw, json_t *out)
{
    const json_t *by_name = raw ? json_object_get(raw, p->name) : NULL;
    const json_t *by_alias = (raw && p->alias) ? json_object_get(raw, p->alias) : NULL;
    if (by_name && by_alias) {
        img_error_set(IMG_E_INVALID_PARAMETER, "%s was given twice (as %s and as %s)", p->name,
                      p->name, p->alias);
        return -1;
    }
    const json_t *v = by_name ? by_name : by_alias;
    const char *given = by_name ? p->name : p->alias;
    json_t *value;
    if (!v) {
        if (!p->has_default)
            return 0;
        value = s_default(p);
    } else if (p->type == OP_PARAM_INT) {
        value = s_convert_int(p, given, v);
    } else {
        value = s_convert_enum(p, given, v);
    }
    if (!value)
        return -1;
    json_object_set_new(out, p->name, value);
    return 0;
}

json_t *op_params_validate(const op_def_t *op, const json_t *raw)
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
        if (s_take(p, raw, out) != 0) {
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

const char *op_param_str(const json_t *params, const char *name, const char *dflt)
{
    const json_t *v = params ? json_object_get(params, name) : NULL;
    return json_is_string(v) ? json_string_value(v) : dflt;
}
