#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 2048 /* with its newline */
#define TAIL_MAX_BYTES 1024 /* the context fields: ids of at most 128 and 36 characters */
#define CUT_MARK "..."      /* ends a value cut to fit the line */
#define CUT_MARK_LEN (sizeof CUT_MARK - 1)
#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD, for a byte that is not UTF-8 */

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

/* ---- characters ---------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at p (1 to 4), or 0 if p does not
 * start one (a stray, overlong, surrogate or cut sequence). */
static size_t s_utf8_len(const unsigned char *p)
{
    size_t n = p[0] < 0x80                    ? 1
               : p[0] >= 0xC2 && p[0] <= 0xDF ? 2
               : p[0] >= 0xE0 && p[0] <= 0xEF ? 3
               : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4
                                              : 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0) ||
        (p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90))
        return 0;
    return n;
}

/* Drops an incomplete UTF-8 sequence at the end of text (text cut by
 * vsnprintf). */
static void s_trim_partial(char *text)
{
    size_t len = strlen(text), start = len;
    while (start > 0 && len - start < 4 && ((unsigned char)text[start - 1] & 0xC0) == 0x80)
        start--;
    if (start > 0 && ((unsigned char)text[start - 1] & 0xC0) == 0xC0 &&
        s_utf8_len((const unsigned char *)text + start - 1) == 0)
        text[start - 1] = '\0';
}

/* A value must be quoted in logfmt when a parser could split it or read
 * it otherwise: empty, or holding a blank, a control or non-ASCII byte, a
 * quote, a backslash or '='. */
static bool s_logfmt_quoted(const char *value)
{
    if (!*value)
        return true;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if (*p <= 0x20 || *p >= 0x7F || *p == '"' || *p == '\\' || *p == '=')
            return true;
    return false;
}

/* The character at p as written in a value: out (at most 6 bytes) and its
 * length; *used: the bytes of p it stands for. Quoted (JSON, quoted
 * logfmt): controls, quotes and backslashes escaped as in JSON; unquoted
 * (text): controls become blanks. Bytes that are not UTF-8 become U+FFFD. */
static size_t s_char(const char *p, bool quoted, char out[8], size_t *used)
{
    unsigned char c = (unsigned char)*p;
    size_t n = s_utf8_len((const unsigned char *)p);
    *used = n ? n : 1;
    if (n == 0) {
        memcpy(out, REPLACEMENT, sizeof REPLACEMENT - 1);
        return sizeof REPLACEMENT - 1;
    }
    if (n > 1) {
        memcpy(out, p, n);
        return n;
    }
    if ((c < 0x20 || c == 0x7F) && !quoted) {
        out[0] = ' ';
        return 1;
    }
    if (c < 0x20 || c == 0x7F) {
        const char *named = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
        if (named) {
            memcpy(out, named, 2);
            return 2;
        }
        snprintf(out, 8, "\\u%04x", c);
        return 6;
    }
    if (quoted && (c == '"' || c == '\\')) {
        out[0] = '\\';
        out[1] = (char)c;
        return 2;
    }
    out[0] = (char)c;
    return 1;
}

/* ---- a line ---------------------------------------------------------------- */

/* A line being built: its fields fill buf up to cap, which leaves room for
 * the line's end (the context fields, `}` in JSON, the newline). A value
 * that does not fit is cut (at a character, ending in CUT_MARK, its quote
 * closed) and the fields after it are left out: the line stays whole. */
typedef struct {
    char *buf; /* the caller's */
    size_t len, cap;
    bool full; /* a value was cut: nothing more goes in */
} line_t;

static void s_put(line_t *l, const char *text, size_t n)
{
    if (n > l->cap - l->len)
        n = l->cap - l->len;
    memcpy(l->buf + l->len, text, n);
    l->len += n;
}

static void s_puts(line_t *l, const char *text)
{
    s_put(l, text, strlen(text));
}

/* The bytes value takes once written (s_char), quotes excluded. */
static size_t s_written_len(const char *value, bool quoted)
{
    size_t total = 0, used;
    char out[8];
    for (const char *p = value; *p; p += used)
        total += s_char(p, quoted, out, &used);
    return total;
}

/* value quoted for the format: a JSON string, a logfmt value quoted when
 * s_logfmt_quoted says so, plain text otherwise; cut: value was cut
 * already (it ends in CUT_MARK). The caller left room for its quotes and
 * CUT_MARK. */
static void s_value(line_t *l, const char *value, bool cut)
{
    bool quoted =
        s_format == IMG_LOG_JSON || (s_format == IMG_LOG_LOGFMT && s_logfmt_quoted(value));
    size_t close = quoted ? 1 : 0, used;
    char out[8];
    if (quoted)
        s_put(l, "\"", 1);
    bool whole = l->len + s_written_len(value, quoted) + (cut ? CUT_MARK_LEN : 0) + close <= l->cap;
    size_t stop = whole && !cut ? l->cap - close : l->cap - close - CUT_MARK_LEN;
    for (const char *p = value; *p; p += used) {
        size_t n = s_char(p, quoted, out, &used);
        if (l->len + n > stop) {
            cut = true;
            l->full = true;
            break;
        }
        s_put(l, out, n);
    }
    if (cut)
        s_put(l, CUT_MARK, CUT_MARK_LEN);
    if (quoted)
        s_put(l, "\"", 1);
}

static void s_field_cut(line_t *l, const char *key, const char *value, bool cut)
{
    /* the key, its punctuation, two quotes and CUT_MARK: else the field is left out */
    if (l->full || l->len + strlen(key) + 6 + CUT_MARK_LEN > l->cap) {
        l->full = true;
        return;
    }
    if (s_format == IMG_LOG_JSON) {
        s_puts(l, ",\"");
        s_puts(l, key);
        s_puts(l, "\":");
    } else {
        s_puts(l, " ");
        s_puts(l, key);
        s_puts(l, "=");
    }
    s_value(l, value, cut);
}

static void s_field(line_t *l, const char *key, const char *value)
{
    s_field_cut(l, key, value, false);
}

/* The end of every line in buf (TAIL_MAX_BYTES): the thread's context
 * fields, and `}` in JSON. */
static void s_tail(line_t *tail, char *buf)
{
    *tail = (line_t){.buf = buf, .cap = TAIL_MAX_BYTES - 1};
    if (s_request_id[0])
        s_field(tail, "request_id", s_request_id);
    if (s_job_id[0])
        s_field(tail, "job_id", s_job_id);
    if (s_format == IMG_LOG_JSON)
        s_puts(tail, "}");
}

/* Starts l in buf (LINE_MAX_BYTES) with the time, the program and the
 * level; its fields may take what tail and the newline leave. */
static void s_begin(line_t *l, char *buf, const line_t *tail, log_level_t level)
{
    struct timespec ts;
    struct tm tm;
    char stamp[48], base[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp, sizeof stamp, "%s.%03ldZ", base, ts.tv_nsec / 1000000L);
    *l = (line_t){.buf = buf, .cap = LINE_MAX_BYTES - 1 - tail->len};
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

static void s_end(line_t *l, const line_t *tail)
{
    memcpy(l->buf + l->len, tail->buf, tail->len);
    l->len += tail->len;
    l->buf[l->len++] = '\n';
    /* one write per line so that threads never interleave inside a line */
    ssize_t rc = write(STDERR_FILENO, l->buf, l->len);
    (void)rc;
}

/* Text format: " text" after the head, cut like a value. */
static void s_text(line_t *l, const char *text, bool cut)
{
    if (l->len + 1 + CUT_MARK_LEN > l->cap)
        return;
    s_puts(l, " ");
    s_value(l, text, cut);
}

void log_msg(log_level_t level, const char *fmt, ...)
{
    if (level < s_level)
        return;
    line_t l, tail;
    char text[LINE_MAX_BYTES], line[LINE_MAX_BYTES], end[TAIL_MAX_BYTES];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    bool cut = n >= (int)sizeof text;
    if (cut)
        s_trim_partial(text);
    s_tail(&tail, end);
    s_begin(&l, line, &tail, level);
    if (s_format == IMG_LOG_TEXT)
        s_text(&l, text, cut);
    else
        s_field_cut(&l, "msg", text, cut);
    s_end(&l, &tail);
}

void log_event(log_level_t level, const char *event, ...)
{
    if (level < s_level)
        return;
    line_t l, tail;
    char line[LINE_MAX_BYTES], end[TAIL_MAX_BYTES];
    va_list ap;
    s_tail(&tail, end);
    s_begin(&l, line, &tail, level);
    if (s_format == IMG_LOG_TEXT)
        s_text(&l, event, false);
    else
        s_field(&l, "event", event);
    va_start(ap, event);
    for (const char *key; (key = va_arg(ap, const char *)) != NULL;) {
        const char *value = va_arg(ap, const char *);
        s_field(&l, key, value ? value : "");
    }
    va_end(ap);
    s_end(&l, &tail);
}
