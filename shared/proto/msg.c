/* msg — checks, encoding and decoding, all driven by msg_schema's tables. */
#include "msg.h"

#include "img_error.h"
#include "msg_schema.h"
#include "utf8_text.h"

#include <stdlib.h>
#include <string.h>

const char *msg_type_name(msg_type_t type)
{
    const msg_schema_t *schema = msg_schema(type);
    return schema ? schema->name : NULL;
}

void msg_init(msg_t *m, msg_type_t type)
{
    memset(m, 0, sizeof *m);
    m->type = type;
}

void msg_clear(msg_t *m)
{
    free(m->held);
    json_decref(m->params);
    json_decref(m->input);
    json_decref(m->result);
    memset(m, 0, sizeof *m);
}

/* ---- value rules, by kind ---- */

static bool s_engine_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= MSG_ENGINE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

static bool s_name_ok(const char *s, size_t size)
{
    size_t n = strlen(s);
    if (n == 0 || n >= size)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

static bool s_token_ok(const char *s, size_t size)
{
    size_t n = strlen(s);
    if (n == 0 || n >= size)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

/* Where field f's value lives in m. */
static void *s_at(const msg_t *m, const msg_field_t *f)
{
    return (char *)m + f->offset;
}

/* Is field f given in m (for optional fields)? */
static bool s_present(const msg_t *m, const msg_field_t *f)
{
    switch (f->kind) {
    case MSG_F_OBJECT:
        return *(json_t **)s_at(m, f) != NULL;
    case MSG_F_ERROR:
    case MSG_F_TOKEN:
        return ((const char *)s_at(m, f))[0] != '\0';
    default:
        return true;
    }
}

/* Must field f be present in m (with_status fields follow the status)? */
static bool s_wanted(const msg_t *m, const msg_field_t *f)
{
    if (f->with_status)
        return f->with_status > 0 ? m->ok : !m->ok;
    return !f->optional;
}

static bool s_value_ok(const msg_t *m, const msg_field_t *f)
{
    const void *v = s_at(m, f);
    switch (f->kind) {
    case MSG_F_ENGINE:
        return s_engine_ok(v);
    case MSG_F_NAME:
        return s_name_ok(v, f->size);
    case MSG_F_ID:
        return job_id_valid(v);
    case MSG_F_INT:
        return *(const int *)v >= f->min && *(const int *)v <= f->max;
    case MSG_F_OBJECT:
        return json_is_object(*(json_t *const *)v);
    case MSG_F_IDS:
        if (m->n_held < 0 || m->n_held > f->max || (m->n_held && !m->held))
            return false;
        for (int i = 0; i < m->n_held; i++)
            if (!job_id_valid(m->held[i]))
                return false;
        return true;
    case MSG_F_STATUS:
        return true;
    case MSG_F_ERROR:
        return s_name_ok(m->error_code, sizeof m->error_code);
    case MSG_F_TOKEN:
        return s_token_ok(v, f->size);
    }
    return false;
}

/* 0 if m is a valid message of its type, else -1 with the field's name in
 * img_error. */
static int s_check(const msg_t *m)
{
    const msg_schema_t *schema = msg_schema(m->type);
    if (!schema) {
        img_error_set(IMG_E_BAD_REQUEST, "unknown message type");
        return -1;
    }
    for (const msg_field_t *f = schema->fields; f->name; f++) {
        bool present = s_present(m, f);
        bool bad = present ? !s_value_ok(m, f) : s_wanted(m, f);
        if (present && f->with_status && !s_wanted(m, f))
            bad = true; /* e.g. a result with a failed status */
        if (bad) {
            img_error_set(IMG_E_BAD_REQUEST, "'%s' message: field '%s' is %s", schema->name,
                          f->name, present ? "invalid" : "missing");
            return -1;
        }
    }
    return 0;
}

/* ---- encode ---- */

/* A JSON string of text; bytes of a broken UTF-8 sequence (a message cut
 * mid-character) become '?', so that the message is never lost. */
static json_t *s_text(const char *text)
{
    json_t *j = json_string(text);
    if (j)
        return j;
    char copy[sizeof((msg_t *)0)->error_message];
    utf8_text_copy(copy, sizeof copy, text);
    return json_string(copy);
}

static json_t *s_encode_field(const msg_t *m, const msg_field_t *f)
{
    const void *v = s_at(m, f);
    switch (f->kind) {
    case MSG_F_ENGINE:
    case MSG_F_NAME:
    case MSG_F_ID:
    case MSG_F_TOKEN:
        return json_string(v);
    case MSG_F_INT:
        return json_integer(*(const int *)v);
    case MSG_F_OBJECT:
        return json_incref(*(json_t *const *)v);
    case MSG_F_IDS: {
        json_t *ids = json_array();
        for (int i = 0; i < m->n_held; i++)
            json_array_append_new(ids, json_string(m->held[i]));
        return ids;
    }
    case MSG_F_STATUS:
        return json_string(m->ok ? "complete" : "failed");
    case MSG_F_ERROR:
        return json_pack("{s:s, s:o}", "code", m->error_code, "message", s_text(m->error_message));
    }
    return NULL;
}

char *msg_encode(const msg_t *m, size_t *len)
{
    if (s_check(m) < 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", img_error_message());
        img_error_set(IMG_E_INTERNAL, "refusing to encode an invalid message: %s", why);
        return NULL;
    }
    const msg_schema_t *schema = msg_schema(m->type);
    json_t *o = json_pack("{s:i, s:s}", "v", MSG_VERSION, "type", schema->name);
    for (const msg_field_t *f = schema->fields; o && f->name; f++)
        if (s_present(m, f))
            json_object_set_new(o, f->name, s_encode_field(m, f));
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) {
        img_error_set(IMG_E_INTERNAL, "out of memory encoding a message");
        return NULL;
    }
    if (len)
        *len = strlen(text);
    return text;
}

/* ---- decode ---- */

/* A string value into a buffer of size bytes (no NUL inside). */
static int s_take_string(json_t *v, char *dst, size_t size)
{
    if (!json_is_string(v) || json_string_length(v) >= size ||
        strlen(json_string_value(v)) != json_string_length(v))
        return -1;
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int s_take_ids(json_t *v, const msg_field_t *f, msg_t *m)
{
    if (!json_is_array(v) || json_array_size(v) > (size_t)f->max)
        return -1;
    m->n_held = (int)json_array_size(v);
    if (m->n_held && !(m->held = calloc((size_t)m->n_held, sizeof *m->held)))
        return -1;
    for (int i = 0; i < m->n_held; i++)
        if (s_take_string(json_array_get(v, (size_t)i), m->held[i], sizeof m->held[i]) < 0)
            return -1;
    return 0;
}

static int s_take_error(json_t *v, msg_t *m)
{
    json_t *message = json_object_get(v, "message");
    if (!json_is_object(v) ||
        s_take_string(json_object_get(v, "code"), m->error_code, sizeof m->error_code) < 0)
        return -1;
    if (json_is_string(message))
        utf8_text_copy(m->error_message, sizeof m->error_message, json_string_value(message));
    return 0;
}

/* Stores the JSON value v of field f into m; the value rules are checked
 * afterwards by s_check. -1 if it has the wrong JSON type. */
static int s_decode_field(json_t *v, const msg_field_t *f, msg_t *m)
{
    void *dst = s_at(m, f);
    switch (f->kind) {
    case MSG_F_ENGINE:
    case MSG_F_NAME:
    case MSG_F_ID:
        return s_take_string(v, dst, f->size);
    case MSG_F_TOKEN:
        /* an empty token would read as absent: refused, not ignored */
        return s_take_string(v, dst, f->size) < 0 || !*(const char *)dst ? -1 : 0;
    case MSG_F_INT:
        if (!json_is_integer(v) || json_integer_value(v) < f->min || json_integer_value(v) > f->max)
            return -1;
        *(int *)dst = (int)json_integer_value(v);
        return 0;
    case MSG_F_OBJECT:
        if (!json_is_object(v))
            return -1;
        *(json_t **)dst = json_incref(v);
        return 0;
    case MSG_F_IDS:
        return s_take_ids(v, f, m);
    case MSG_F_STATUS:
        if (!json_is_string(v))
            return -1;
        m->ok = strcmp(json_string_value(v), "complete") == 0;
        return m->ok || strcmp(json_string_value(v), "failed") == 0 ? 0 : -1;
    case MSG_F_ERROR:
        return s_take_error(v, m);
    }
    return -1;
}

static int s_decode_fields(json_t *o, msg_t *m)
{
    const msg_schema_t *schema = msg_schema(m->type);
    for (const msg_field_t *f = schema->fields; f->name; f++) {
        json_t *v = json_object_get(o, f->name);
        if (!v && f->optional)
            continue;
        if (!v || s_decode_field(v, f, m) < 0) {
            img_error_set(IMG_E_BAD_REQUEST, "'%s' message: field '%s' is %s", schema->name,
                          f->name, v ? "invalid" : "missing");
            return -1;
        }
    }
    return s_check(m);
}

static msg_type_t s_type_by_name(json_t *t)
{
    for (int i = 0; json_is_string(t) && i < MSG_TYPE_COUNT; i++)
        if (strcmp(json_string_value(t), msg_type_name((msg_type_t)i)) == 0)
            return (msg_type_t)i;
    return MSG_TYPE_COUNT;
}

int msg_decode(const void *data, size_t len, size_t max_len, msg_t *out)
{
    memset(out, 0, sizeof *out);
    if (len == 0 || len > max_len) {
        img_error_set(IMG_E_BAD_REQUEST, "message of %zu bytes (allowed 1 to %zu)", len, max_len);
        return -1;
    }
    json_error_t jerr;
    json_t *o = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    int rc = -1;
    if (!json_is_object(o)) {
        /* jansson's own text may quote raw input bytes: give the position only */
        img_error_set(IMG_E_BAD_REQUEST, "message is not a JSON object (line %d, column %d)",
                      o ? 1 : jerr.line, o ? 1 : jerr.column);
    } else if (!json_is_integer(json_object_get(o, "v")) ||
               json_integer_value(json_object_get(o, "v")) != MSG_VERSION) {
        img_error_set(IMG_E_BAD_REQUEST, "message version must be %d", MSG_VERSION);
    } else if ((out->type = s_type_by_name(json_object_get(o, "type"))) == MSG_TYPE_COUNT) {
        img_error_set(IMG_E_BAD_REQUEST, "unknown message type");
    } else {
        rc = s_decode_fields(o, out);
    }
    json_decref(o);
    if (rc < 0)
        msg_clear(out);
    return rc;
}
