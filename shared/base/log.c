#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 2048

static const char *s_program = "img";
static log_level_t s_level = IMG_LOG_INFO;
static log_format_t s_format = IMG_LOG_TEXT;
static const char *const s_upper[] = {"DEBUG", "INFO", "WARN", "ERROR"};
static const char *const s_lower[] = {"debug", "info", "warn", "error"};

static _Thread_local char s_request_id[130];
static _Thread_local char s_job_id[40];

void log_init(const char *program, log_level_t level, log_format_t format)
{
    s_program = program;
    s_level = level;
    s_format = format;
}

int log_level_parse(const char *name)
{
    for (int i = 0; name && i < 4; i++)
        if (strcmp(name, s_lower[i]) == 0)
            return i;
    return -1;
}

int log_format_parse(const char *name)
{
    static const char *const formats[] = {"text", "json", "logfmt"};
    for (int i = 0; name && i < 3; i++)
        if (strcmp(name, formats[i]) == 0)
            return i;
    return -1;
}

void log_context_set(const char *request_id, const char *job_id)
{
    snprintf(s_request_id, sizeof s_request_id, "%s", request_id ? request_id : "");
    snprintf(s_job_id, sizeof s_job_id, "%s", job_id ? job_id : "");
}

/* A line being built, never longer than LINE_MAX_BYTES. */
typedef struct {
    char buf[LINE_MAX_BYTES];
    size_t len;
} line_t;

static void s_put(line_t *l, const char *text, size_t n)
{
    if (n > sizeof l->buf - 1 - l->len)
        n = sizeof l->buf - 1 - l->len;
    memcpy(l->buf + l->len, text, n);
    l->len += n;
}

static void s_puts(line_t *l, const char *text)
{
    s_put(l, text, strlen(text));
}

/* value quoted for the format: JSON string escapes, or logfmt quoting
 * when it holds a blank, a quote or '='. Control bytes become blanks. */
static void s_value(line_t *l, const char *value)
{
    bool quote = s_format == IMG_LOG_JSON ||
                 (s_format == IMG_LOG_LOGFMT && (!*value || strpbrk(value, " \"=\t")));
    if (quote)
        s_put(l, "\"", 1);
    for (const char *p = value; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20)
            s_put(l, " ", 1);
        else if (quote && (c == '"' || c == '\\')) {
            s_put(l, "\\", 1);
            s_put(l, p, 1);
        } else
            s_put(l, p, 1);
    }
    if (quote)
        s_put(l, "\"", 1);
}

static void s_field(line_t *l, const char *key, const char *value)
{
    if (s_format == IMG_LOG_JSON) {
        s_puts(l, ",\"");
        s_puts(l, key);
        s_puts(l, "\":");
    } else {
        s_puts(l, " ");
        s_puts(l, key);
        s_puts(l, "=");
    }
    s_value(l, value);
}

static void s_begin(line_t *l, log_level_t level)
{
    struct timespec ts;
    struct tm tm;
    char stamp[48], base[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp, sizeof stamp, "%s.%03ldZ", base, ts.tv_nsec / 1000000L);
    l->len = 0;
    if (s_format == IMG_LOG_TEXT) {
        char head[128];
        snprintf(head, sizeof head, "%s %s %s", stamp, s_program, s_upper[level]);
        s_puts(l, head);
        return;
    }
    if (s_format == IMG_LOG_JSON) {
        s_puts(l, "{\"ts\":\"");
        s_puts(l, stamp);
        s_puts(l, "\"");
    } else {
        s_puts(l, "ts=");
        s_puts(l, stamp);
    }
    s_field(l, "program", s_program);
    s_field(l, "level", s_lower[level]);
}

static void s_end(line_t *l)
{
    if (s_request_id[0])
        s_field(l, "request_id", s_request_id);
    if (s_job_id[0])
        s_field(l, "job_id", s_job_id);
    if (s_format == IMG_LOG_JSON)
        s_puts(l, "}");
    if (l->len == sizeof l->buf - 1)
        l->len--; /* room for the newline */
    l->buf[l->len++] = '\n';
    /* one write per line so that threads never interleave inside a line */
    ssize_t rc = write(STDERR_FILENO, l->buf, l->len);
    (void)rc;
}

void log_msg(log_level_t level, const char *fmt, ...)
{
    if (level < s_level)
        return;
    line_t l;
    char text[LINE_MAX_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    s_begin(&l, level);
    if (s_format == IMG_LOG_TEXT) {
        s_puts(&l, " ");
        for (char *p = text; *p; p++)
            if ((unsigned char)*p < 0x20)
                *p = ' ';
        s_puts(&l, text);
    } else {
        s_field(&l, "msg", text);
    }
    s_end(&l);
}

void log_event(log_level_t level, const char *event, ...)
{
    if (level < s_level)
        return;
    line_t l;
    va_list ap;
    s_begin(&l, level);
    if (s_format == IMG_LOG_TEXT) {
        s_puts(&l, " ");
        s_puts(&l, event);
    } else {
        s_field(&l, "event", event);
    }
    va_start(ap, event);
    for (const char *key; (key = va_arg(ap, const char *)) != NULL;) {
        const char *value = va_arg(ap, const char *);
        s_field(&l, key, value ? value : "");
    }
    va_end(ap);
    s_end(&l);
}
