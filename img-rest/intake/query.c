#include "query.h"

#include "img_error.h"

#include <stdbool.h>
#include <string.h>

static int s_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0, n) into out (room for max bytes and a NUL). Returns the
 * decoded length; -1 with IMG_E_BAD_REQUEST for a bad escape or an encoded
 * NUL; -2 (error not set) if the result is longer than max. */
static long s_decode(const char *s, size_t n, char *out, size_t max)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < n ? s_hex(s[i + 1]) : -1;
            int lo = hi >= 0 ? s_hex(s[i + 2]) : -1;
            if (lo < 0) {
                img_error_set(IMG_E_BAD_REQUEST, "the query string holds a bad percent escape");
                return -1;
            }
            c = (char)(hi << 4 | lo);
            if (c == '\0') {
                img_error_set(IMG_E_BAD_REQUEST, "the query string holds an encoded NUL byte");
                return -1;
            }
            i += 2;
        }
        if (len == max)
            return -2;
        out[len++] = c;
    }
    out[len] = '\0';
    return (long)len;
}

static bool s_utf8_ok(const char *s, size_t len)
{
    json_t *j = json_stringn(s, len);
    json_decref(j);
    return j != NULL;
}

/* One `name=value` piece, s[0, n) with n > 0, added to params. */
static int s_piece(const char *s, size_t n, json_t *params, const json_t *into)
{
    char name[QUERY_MAX_NAME + 1], value[QUERY_MAX_VALUE + 1];
    const char *eq = memchr(s, '=', n);
    size_t name_n = eq ? (size_t)(eq - s) : n;
    long name_len = s_decode(s, name_n, name, QUERY_MAX_NAME);
    if (name_len == -1)
        return -1;
    if (name_len == -2) {
        img_error_set(IMG_E_INVALID_PARAMETER, "a query parameter name is longer than %d bytes",
                      QUERY_MAX_NAME);
        return -1;
    }
    if (name_len == 0) {
        img_error_set(IMG_E_INVALID_PARAMETER, "a query parameter has an empty name");
        return -1;
    }
    if (!s_utf8_ok(name, (size_t)name_len)) {
        img_error_set(IMG_E_BAD_REQUEST, "a query parameter name is not UTF-8");
        return -1;
    }
    long value_len = eq ? s_decode(eq + 1, n - name_n - 1, value, QUERY_MAX_VALUE) : 0;
    if (!eq)
        value[0] = '\0';
    if (value_len == -1)
        return -1;
    if (value_len == -2) {
        img_error_set(IMG_E_INVALID_PARAMETER,
                      "the value of parameter '%s' is longer than %d bytes", name, QUERY_MAX_VALUE);
        return -1;
    }
    if (json_object_get(params, name) || json_object_get(into, name)) {
        img_error_set(IMG_E_INVALID_PARAMETER, "parameter '%s' is given twice", name);
        return -1;
    }
    json_t *v = json_stringn(value, (size_t)value_len);
    if (!v) {
        img_error_set(IMG_E_BAD_REQUEST, "the value of parameter '%s' is not UTF-8", name);
        return -1;
    }
    if (json_object_set_new(params, name, v) < 0) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return -1;
    }
    return 0;
}

int query_parse(const char *query, json_t *into)
{
    if (!query || !*query)
        return 0;
    json_t *params = json_object();
    if (!params) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return -1;
    }
    int rc = 0, count = 0;
    for (const char *p = query; rc == 0 && *p;) {
        size_t n = strcspn(p, "&");
        if (n > 0 && ++count > QUERY_MAX_PARAMS) {
            img_error_set(IMG_E_INVALID_PARAMETER, "too many query parameters (at most %d)",
                          QUERY_MAX_PARAMS);
            rc = -1;
        } else if (n > 0) {
            rc = s_piece(p, n, params, into);
        }
        p += n;
        if (*p == '&')
            p++;
    }
    if (rc == 0 && json_object_update(into, params) < 0) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        rc = -1;
    }
    json_decref(params);
    return rc;
}
