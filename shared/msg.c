#include "msg.h"

#include "img_error.h"

#include <stdlib.h>
#include <string.h>

static const char *const s_type_names[MSG_TYPE_COUNT] = {
    [MSG_READY] = "ready",     [MSG_HEARTBEAT] = "heartbeat",
    [MSG_STARTED] = "started", [MSG_DONE] = "done",
    [MSG_BYE] = "bye",         [MSG_RELEASE] = "release",
    [MSG_JOB] = "job",         [MSG_PING] = "ping",
    [MSG_CANCEL] = "cancel",
};

const char *msg_type_name(msg_type_t type)
{
    if ((int)type < 0 || type >= MSG_TYPE_COUNT)
        return NULL;
    return s_type_names[type];
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
    json_decref(m->result);
    memset(m, 0, sizeof *m);
}

/* ---- shared field rules (used by both directions) ---- */

static bool s_name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

static bool s_worker_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= MSG_WORKER_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

static int s_check(const msg_t *m)
{
    switch (m->type) {
    case MSG_READY:
        if (!s_worker_ok(m->worker) || m->credit < 1 || m->credit > 1024)
            goto bad;
        return 0;
    case MSG_HEARTBEAT:
        if (!s_worker_ok(m->worker) || m->free_threads < 0 || m->free_threads > 1024 ||
            m->n_held < 0 || m->n_held > MSG_MAX_HELD || (m->n_held && !m->held))
            goto bad;
        for (int i = 0; i < m->n_held; i++)
            if (!job_id_valid(m->held[i]))
                goto bad;
        return 0;
    case MSG_BYE:
        return s_worker_ok(m->worker) ? 0 : -1;
    case MSG_STARTED:
    case MSG_RELEASE:
        if (!job_id_valid(m->id) || m->attempt < 1)
            goto bad;
        return 0;
    case MSG_DONE:
        if (!job_id_valid(m->id) || m->attempt < 1)
            goto bad;
        if (m->ok ? !json_is_object(m->result) : !s_name_ok(m->error_code, sizeof m->error_code))
            goto bad;
        return 0;
    case MSG_JOB:
        if (!job_id_valid(m->id) || !s_name_ok(m->operation, MSG_OP_MAX) ||
            !json_is_object(m->params) || m->attempt < 1 || m->timeout_ms < 1)
            goto bad;
        return 0;
    case MSG_CANCEL:
        return job_id_valid(m->id) ? 0 : -1;
    case MSG_PING:
        return 0;
    default:
        break;
    }
bad:
    return -1;
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
    size_t n = 0;
    for (const char *p = text; *p && n + 1 < sizeof copy; p++)
        copy[n++] = (unsigned char)*p >= 0x80 ? '?' : *p;
    copy[n] = '\0';
    return json_string(copy);
}

char *msg_encode(const msg_t *m, size_t *len)
{
    if (s_check(m) < 0) {
        img_error_set(IMG_E_INTERNAL, "refusing to encode an invalid '%s' message",
                      msg_type_name(m->type) ? msg_type_name(m->type) : "?");
        return NULL;
    }
    json_t *o = json_pack("{s:i, s:s}", "v", MSG_VERSION, "type", msg_type_name(m->type));
    switch (m->type) {
    case MSG_READY:
        json_object_set_new(o, "worker", json_string(m->worker));
        json_object_set_new(o, "credit", json_integer(m->credit));
        break;
    case MSG_HEARTBEAT: {
        json_t *held = json_array();
        for (int i = 0; i < m->n_held; i++)
            json_array_append_new(held, json_string(m->held[i]));
        json_object_set_new(o, "worker", json_string(m->worker));
        json_object_set_new(o, "free", json_integer(m->free_threads));
        json_object_set_new(o, "held", held);
        break;
    }
    case MSG_BYE:
        json_object_set_new(o, "worker", json_string(m->worker));
        break;
    case MSG_STARTED:
    case MSG_RELEASE:
        json_object_set_new(o, "id", json_string(m->id));
        json_object_set_new(o, "attempt", json_integer(m->attempt));
        break;
    case MSG_DONE:
        json_object_set_new(o, "id", json_string(m->id));
        json_object_set_new(o, "attempt", json_integer(m->attempt));
        json_object_set_new(o, "status", json_string(m->ok ? "complete" : "failed"));
        if (m->ok)
            json_object_set(o, "result", m->result);
        else
            json_object_set_new(o, "error",
                                json_pack("{s:s, s:o}", "code", m->error_code, "message",
                                          s_text(m->error_message)));
        break;
    case MSG_JOB:
        json_object_set_new(o, "id", json_string(m->id));
        json_object_set_new(o, "operation", json_string(m->operation));
        json_object_set(o, "params", m->params);
        json_object_set_new(o, "attempt", json_integer(m->attempt));
        json_object_set_new(o, "timeout_ms", json_integer(m->timeout_ms));
        break;
    case MSG_CANCEL:
        json_object_set_new(o, "id", json_string(m->id));
        break;
    default:
        break;
    }
    char *text = json_dumps(o, JSON_COMPACT);
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

static int s_get_str(json_t *o, const char *key, char *dst, size_t size)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v) || json_string_length(v) >= size ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        img_error_set(IMG_E_BAD_REQUEST, "field '%s' must be a string shorter than %zu bytes", key,
                      size);
        return -1;
    }
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int s_get_int(json_t *o, const char *key, int lo, int hi, int *dst)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        img_error_set(IMG_E_BAD_REQUEST, "field '%s' must be an integer from %d to %d", key, lo,
                      hi);
        return -1;
    }
    *dst = (int)json_integer_value(v);
    return 0;
}

static int s_get_id(json_t *o, char dst[JOB_ID_LEN + 1])
{
    json_t *v = json_object_get(o, "id");
    if (!json_is_string(v) || !job_id_valid(json_string_value(v))) {
        img_error_set(IMG_E_BAD_REQUEST, "field 'id' must be a lowercase UUIDv4");
        return -1;
    }
    memcpy(dst, json_string_value(v), JOB_ID_LEN + 1);
    return 0;
}

static int s_get_held(json_t *o, msg_t *m)
{
    json_t *arr = json_object_get(o, "held");
    if (!json_is_array(arr) || json_array_size(arr) > MSG_MAX_HELD) {
        img_error_set(IMG_E_BAD_REQUEST, "field 'held' must be an array of at most %d ids",
                      MSG_MAX_HELD);
        return -1;
    }
    m->n_held = (int)json_array_size(arr);
    if (m->n_held == 0)
        return 0;
    m->held = calloc((size_t)m->n_held, sizeof *m->held);
    if (!m->held) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return -1;
    }
    for (int i = 0; i < m->n_held; i++) {
        json_t *v = json_array_get(arr, (size_t)i);
        if (!json_is_string(v) || !job_id_valid(json_string_value(v))) {
            img_error_set(IMG_E_BAD_REQUEST, "field 'held' must hold job ids");
            return -1;
        }
        memcpy(m->held[i], json_string_value(v), JOB_ID_LEN + 1);
    }
    return 0;
}

static int s_get_done(json_t *o, msg_t *m)
{
    char status[16];
    if (s_get_str(o, "status", status, sizeof status) < 0)
        return -1;
    if (strcmp(status, "complete") == 0) {
        json_t *r = json_object_get(o, "result");
        if (!json_is_object(r)) {
            img_error_set(IMG_E_BAD_REQUEST, "a complete 'done' needs a 'result' object");
            return -1;
        }
        m->ok = true;
        m->result = json_incref(r);
        return 0;
    }
    if (strcmp(status, "failed") != 0) {
        img_error_set(IMG_E_BAD_REQUEST, "field 'status' must be complete or failed");
        return -1;
    }
    json_t *code = json_object_get(json_object_get(o, "error"), "code");
    if (!json_is_string(code) || !s_name_ok(json_string_value(code), sizeof m->error_code)) {
        img_error_set(IMG_E_BAD_REQUEST, "a failed 'done' needs an 'error' with a snake_case code");
        return -1;
    }
    snprintf(m->error_code, sizeof m->error_code, "%s", json_string_value(code));
    json_t *msg = json_object_get(json_object_get(o, "error"), "message");
    if (json_is_string(msg))
        snprintf(m->error_message, sizeof m->error_message, "%s", json_string_value(msg));
    return 0;
}

static int s_decode_fields(json_t *o, msg_t *m)
{
    switch (m->type) {
    case MSG_READY:
        return s_get_str(o, "worker", m->worker, sizeof m->worker) < 0 ||
                       s_get_int(o, "credit", 1, 1024, &m->credit) < 0
                   ? -1
                   : 0;
    case MSG_HEARTBEAT:
        return s_get_str(o, "worker", m->worker, sizeof m->worker) < 0 ||
                       s_get_int(o, "free", 0, 1024, &m->free_threads) < 0 || s_get_held(o, m) < 0
                   ? -1
                   : 0;
    case MSG_BYE:
        return s_get_str(o, "worker", m->worker, sizeof m->worker);
    case MSG_STARTED:
    case MSG_RELEASE:
        return s_get_id(o, m->id) < 0 || s_get_int(o, "attempt", 1, 1000000, &m->attempt) < 0 ? -1
                                                                                              : 0;
    case MSG_DONE:
        return s_get_id(o, m->id) < 0 || s_get_int(o, "attempt", 1, 1000000, &m->attempt) < 0 ||
                       s_get_done(o, m) < 0
                   ? -1
                   : 0;
    case MSG_JOB: {
        if (s_get_id(o, m->id) < 0 || s_get_str(o, "operation", m->operation, MSG_OP_MAX) < 0 ||
            s_get_int(o, "attempt", 1, 1000000, &m->attempt) < 0 ||
            s_get_int(o, "timeout_ms", 1, 86400000, &m->timeout_ms) < 0)
            return -1;
        json_t *p = json_object_get(o, "params");
        if (!json_is_object(p)) {
            img_error_set(IMG_E_BAD_REQUEST, "field 'params' must be an object");
            return -1;
        }
        m->params = json_incref(p);
        return 0;
    }
    case MSG_CANCEL:
        return s_get_id(o, m->id);
    case MSG_PING:
        return 0;
    default:
        return -1;
    }
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
    if (!json_is_object(o)) {
        /* jansson's own text may quote raw input bytes: give the position only */
        img_error_set(IMG_E_BAD_REQUEST, "message is not a JSON object (line %d, column %d)",
                      o ? 1 : jerr.line, o ? 1 : jerr.column);
        json_decref(o);
        return -1;
    }
    int rc = -1;
    json_t *v = json_object_get(o, "v");
    json_t *t = json_object_get(o, "type");
    if (!json_is_integer(v) || json_integer_value(v) != MSG_VERSION) {
        img_error_set(IMG_E_BAD_REQUEST, "message version must be %d", MSG_VERSION);
        goto done;
    }
    out->type = MSG_TYPE_COUNT;
    for (int i = 0; i < MSG_TYPE_COUNT && json_is_string(t); i++)
        if (strcmp(json_string_value(t), s_type_names[i]) == 0)
            out->type = (msg_type_t)i;
    if (out->type == MSG_TYPE_COUNT) {
        img_error_set(IMG_E_BAD_REQUEST, "unknown message type");
        goto done;
    }
    if (s_decode_fields(o, out) < 0)
        goto done;
    if (s_check(out) < 0) {
        img_error_set(IMG_E_BAD_REQUEST, "'%s' message has an invalid field value",
                      msg_type_name(out->type));
        goto done;
    }
    rc = 0;
done:
    json_decref(o);
    if (rc < 0)
        msg_clear(out);
    return rc;
}
