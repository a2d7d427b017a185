#define _GNU_SOURCE /* memmem, memrchr */
#include "multipart.h"

#include "img_error.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The delimiter is CRLF "--" boundary. A chunk is searched for it whole
 * (memmem); one cut by the chunk's end is carried over as the count of its
 * bytes matched. Since a boundary holds no CR, such a partial match can only
 * begin at the chunk's last CR, and when the next chunk does not complete it
 * the bytes matched were plain data (they equal a prefix of the delimiter
 * and are emitted from it) and the differing byte is examined afresh. */
#define DELIM_MAX (4 + MULTIPART_BOUNDARY_MAX)

typedef enum {
    S_PREAMBLE,    /* before the first boundary: ignored */
    S_AFTER_DELIM, /* just after a boundary: "--", padding, CRLF */
    S_AFTER_CR,    /* after a boundary and CR: LF */
    S_CLOSE_DASH,  /* after a boundary and "-": "-" */
    S_HEADERS,     /* a part's header lines */
    S_BODY,        /* a part's bytes, up to the next delimiter */
    S_EPILOGUE,    /* after the closing boundary: ignored */
    S_FAILED,
} state_t;

struct multipart {
    multipart_callbacks_t cb;
    void *arg;
    char delim[DELIM_MAX + 1];
    size_t delim_len;
    state_t state;
    size_t match; /* bytes of delim matched so far */
    int parts;
    /* the header line being read, with room for its CR and a NUL */
    char line[MULTIPART_MAX_LINE + 2];
    size_t line_len;
    int n_headers;
    /* what the current part's headers said */
    bool have_disposition, have_filename, have_type;
    char name[MULTIPART_MAX_LINE + 1];
    char filename[MULTIPART_MAX_LINE + 1];
    char type[MULTIPART_MAX_LINE + 1];
    /* a Content-Disposition parameter's value; kept here rather than on the
     * stack, civetweb threads having small stacks */
    char scratch[MULTIPART_MAX_LINE + 1];
};

/* ---- small lexical helpers ---- */

static bool s_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static const char *s_skip_ows(const char *p)
{
    while (s_is_ows(*p))
        p++;
    return p;
}

/* RFC 7230 tchar */
static bool s_is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/* RFC 2046 bchars */
static bool s_is_bchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("'()+_,-./:=? ", c));
}

static bool s_boundary_ok(const char *b)
{
    size_t n = strlen(b);
    if (n == 0 || n > MULTIPART_BOUNDARY_MAX || b[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!s_is_bchar(b[i]))
            return false;
    return true;
}

/* Reads a quoted-string (p at the opening quote) into out; backslash escapes
 * the next character. Returns the position after the closing quote, or NULL
 * if unterminated or longer than size - 1. */
static const char *s_quoted(const char *p, char *out, size_t size)
{
    size_t n = 0;
    for (p++; *p != '"'; p++) {
        if (*p == '\\')
            p++;
        if (*p == '\0' || n + 1 >= size)
            return NULL;
        out[n++] = *p;
    }
    out[n] = '\0';
    return p + 1;
}

/* A bare parameter value: anything up to ';', white space or a quote. */
static const char *s_bare(const char *p, char *out, size_t size)
{
    size_t n = 0;
    for (; *p && *p != ';' && *p != '"' && !s_is_ows(*p); p++) {
        if ((unsigned char)*p < 0x20 || n + 1 >= size)
            return NULL;
        out[n++] = *p;
    }
    if (n == 0)
        return NULL;
    out[n] = '\0';
    return p;
}

/* The next `; name=value` of a header value. *p is just after the previous
 * item. Returns 1 and advances *p past the parameter, 0 at the end, -1 if
 * malformed or too long for the buffers. */
static int s_param_next(const char **p, char *name, size_t nsize, char *value, size_t vsize)
{
    const char *s = s_skip_ows(*p);
    while (*s == ';')
        s = s_skip_ows(s + 1);
    if (*s == '\0')
        return 0;
    size_t n = 0;
    while (s_is_tchar(*s)) {
        if (n + 1 >= nsize)
            return -1;
        name[n++] = *s++;
    }
    if (n == 0)
        return -1;
    name[n] = '\0';
    s = s_skip_ows(s);
    if (*s != '=')
        return -1;
    s = s_skip_ows(s + 1);
    s = *s == '"' ? s_quoted(s, value, vsize) : s_bare(s, value, vsize);
    if (!s)
        return -1;
    s = s_skip_ows(s);
    if (*s != ';' && *s != '\0')
        return -1;
    *p = s;
    return 1;
}

/* Checks that header value v starts with the media or disposition type
 * `type` (any case) and returns what follows it, or NULL. */
static const char *s_type_is(const char *v, const char *type)
{
    size_t n = strlen(type);
    v = s_skip_ows(v);
    if (strncasecmp(v, type, n) != 0)
        return NULL;
    v = s_skip_ows(v + n);
    return *v == ';' || *v == '\0' ? v : NULL;
}

/* ---- Content-Type ---- */

int multipart_boundary(const char *content_type, char *out, size_t size)
{
    char name[32], value[1024];
    const char *p = content_type ? s_type_is(content_type, "multipart/form-data") : NULL;
    if (!p) {
        img_error_set(IMG_E_UNSUPPORTED_MEDIA_TYPE, "the request body must be multipart/form-data");
        return -1;
    }
    int rc;
    while ((rc = s_param_next(&p, name, sizeof name, value, sizeof value)) == 1) {
        if (strcasecmp(name, "boundary") != 0)
            continue;
        if (!s_boundary_ok(value) || strlen(value) >= size)
            break;
        strcpy(out, value);
        return 0;
    }
    img_error_set(IMG_E_BAD_REQUEST, rc == 1   ? "the multipart boundary is invalid"
                                     : rc == 0 ? "the Content-Type has no multipart boundary"
                                               : "the Content-Type header is malformed");
    return -1;
}

/* ---- life cycle ---- */

multipart_t *multipart_new(const char *boundary, const multipart_callbacks_t *cb, void *arg)
{
    assert(boundary && cb);
    if (!s_boundary_ok(boundary)) {
        img_error_set(IMG_E_BAD_REQUEST, "the multipart boundary is invalid");
        return NULL;
    }
    multipart_t *mp = calloc(1, sizeof *mp);
    if (!mp) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return NULL;
    }
    mp->cb = *cb;
    mp->arg = arg;
    mp->delim_len = (size_t)snprintf(mp->delim, sizeof mp->delim, "\r\n--%s", boundary);
    mp->state = S_PREAMBLE;
    mp->match = 2; /* the body may open with the boundary: a CRLF is implied */
    return mp;
}

void multipart_destroy(multipart_t **mp)
{
    if (!mp || !*mp)
        return;
    free(*mp);
    *mp = NULL;
}

/* ---- parsing ---- */

static int s_fail(multipart_t *mp, const char *message)
{
    img_error_set(IMG_E_BAD_REQUEST, "malformed multipart body: %s", message);
    mp->state = S_FAILED;
    return -1;
}

/* A callback's result: on -1 the parse stops with the callback's error. */
static int s_cb_result(multipart_t *mp, int rc)
{
    if (rc < 0)
        mp->state = S_FAILED;
    return rc < 0 ? -1 : 0;
}

static int s_emit(multipart_t *mp, const char *data, size_t len)
{
    if (len == 0 || mp->state != S_BODY || !mp->cb.on_part_data)
        return 0;
    return s_cb_result(mp, mp->cb.on_part_data(mp->arg, data, len));
}

static int s_delimiter_found(multipart_t *mp)
{
    bool in_part = mp->state == S_BODY;
    mp->state = S_AFTER_DELIM;
    if (in_part && mp->cb.on_part_end)
        return s_cb_result(mp, mp->cb.on_part_end(mp->arg));
    return 0;
}

/* Where a delimiter may begin in the last bytes of data[from..len), cut off
 * by the end of the chunk: at the last CR, if the bytes from it are a prefix
 * of the delimiter (the delimiter's only CR is its first byte). len if none.
 * Bytes before from belong to what came before (a part's header lines end
 * with CRLF): a CR there never starts the delimiter. */
static size_t s_partial_at(const multipart_t *mp, const char *data, size_t from, size_t len)
{
    size_t tail = len - from < mp->delim_len - 1 ? len - from : mp->delim_len - 1;
    const char *cr = memrchr(data + len - tail, '\r', tail);
    if (!cr)
        return len;
    size_t at = (size_t)(cr - data);
    return memcmp(cr, mp->delim, len - at) == 0 ? at : len;
}

/* Continues a delimiter begun in an earlier chunk from data[*pos]: 1 when it
 * is complete, 0 when it is not (the data ran out, or a byte differed: the
 * bytes matched were data after all and are passed on), -1 on error. */
static int s_continue_match(multipart_t *mp, const char *data, size_t len, size_t *pos)
{
    while (*pos < len && data[*pos] == mp->delim[mp->match]) {
        ++*pos;
        if (++mp->match == mp->delim_len) {
            mp->match = 0;
            return 1;
        }
    }
    if (*pos == len)
        return 0;
    size_t matched = mp->match;
    mp->match = 0;
    return s_emit(mp, mp->delim, matched);
}

/* PREAMBLE and BODY: looks for the delimiter from data[*pos], passing the
 * bytes before it on as part data (BODY) or dropping them (PREAMBLE), in
 * pieces as large as the chunk allows. */
static int s_scan(multipart_t *mp, const char *data, size_t len, size_t *pos)
{
    if (mp->match > 0) {
        int rc = s_continue_match(mp, data, len, pos);
        if (rc != 0)
            return rc < 0 ? -1 : s_delimiter_found(mp);
        if (mp->match > 0) /* the chunk ended inside the delimiter */
            return 0;
    }
    const char *rest = data + *pos;
    const char *found = memmem(rest, len - *pos, mp->delim, mp->delim_len);
    if (found) {
        size_t at = (size_t)(found - data);
        if (s_emit(mp, rest, at - *pos) < 0)
            return -1;
        *pos = at + mp->delim_len;
        return s_delimiter_found(mp);
    }
    size_t at = s_partial_at(mp, data, *pos, len);
    if (s_emit(mp, rest, at - *pos) < 0)
        return -1;
    mp->match = len - at;
    *pos = len;
    return 0;
}

static void s_part_reset(multipart_t *mp)
{
    mp->line_len = 0;
    mp->n_headers = 0;
    mp->have_disposition = mp->have_filename = mp->have_type = false;
    mp->name[0] = mp->filename[0] = mp->type[0] = '\0';
}

/* After a boundary: "--" ends the body, CRLF (after optional padding) starts
 * a part. */
static int s_after_delim(multipart_t *mp, char c)
{
    switch (mp->state) {
    case S_AFTER_DELIM:
        if (c == '-')
            mp->state = S_CLOSE_DASH;
        else if (c == '\r')
            mp->state = S_AFTER_CR;
        else if (!s_is_ows(c))
            return s_fail(mp, "unexpected bytes after a boundary");
        return 0;
    case S_CLOSE_DASH:
        if (c != '-')
            return s_fail(mp, "unexpected bytes after a boundary");
        mp->state = S_EPILOGUE;
        return 0;
    default: /* S_AFTER_CR */
        if (c != '\n')
            return s_fail(mp, "unexpected bytes after a boundary");
        if (++mp->parts > MULTIPART_MAX_PARTS)
            return s_fail(mp, "too many parts");
        s_part_reset(mp);
        mp->state = S_HEADERS;
        return 0;
    }
}

static int s_disposition(multipart_t *mp, const char *value)
{
    char pname[64];
    char *scratch = mp->scratch;
    const char *p = s_type_is(value, "form-data");
    if (!p)
        return s_fail(mp, "a part's Content-Disposition is not form-data");
    int rc;
    while ((rc = s_param_next(&p, pname, sizeof pname, scratch, sizeof mp->scratch)) == 1) {
        char *dest = NULL;
        if (strcasecmp(pname, "name") == 0)
            dest = mp->name;
        else if (strcasecmp(pname, "filename") == 0)
            dest = mp->filename, mp->have_filename = true;
        if (dest)
            strcpy(dest, scratch);
    }
    if (rc < 0)
        return s_fail(mp, "a part's Content-Disposition is malformed");
    if (mp->name[0] == '\0')
        return s_fail(mp, "a part has no field name");
    mp->have_disposition = true;
    return 0;
}

/* One complete header line (CRLF stripped, NUL-terminated). */
static int s_header(multipart_t *mp, char *line)
{
    if (++mp->n_headers > MULTIPART_MAX_HEADERS)
        return s_fail(mp, "too many part headers");
    char *colon = strchr(line, ':');
    if (!colon || colon == line)
        return s_fail(mp, "a part header line is malformed");
    *colon = '\0';
    for (const char *n = line; *n; n++)
        if (!s_is_tchar(*n))
            return s_fail(mp, "a part header name is malformed");
    const char *value = s_skip_ows(colon + 1);
    if (strcasecmp(line, "content-disposition") == 0) {
        if (mp->have_disposition)
            return s_fail(mp, "a part has two Content-Disposition headers");
        return s_disposition(mp, value);
    }
    if (strcasecmp(line, "content-type") == 0) {
        if (mp->have_type)
            return s_fail(mp, "a part has two Content-Type headers");
        size_t n = strlen(value);
        while (n > 0 && s_is_ows(value[n - 1]))
            n--;
        memcpy(mp->type, value, n);
        mp->type[n] = '\0';
        mp->have_type = true;
    }
    return 0;
}

static int s_headers_done(multipart_t *mp)
{
    if (!mp->have_disposition)
        return s_fail(mp, "a part has no Content-Disposition");
    mp->state = S_BODY;
    mp->match = 0;
    if (!mp->cb.on_part_begin)
        return 0;
    return s_cb_result(mp, mp->cb.on_part_begin(mp->arg, mp->name,
                                                mp->have_filename ? mp->filename : NULL,
                                                mp->have_type ? mp->type : NULL));
}

/* HEADERS: gathers a line up to LF from data[*pos]. */
static int s_header_bytes(multipart_t *mp, const char *data, size_t len, size_t *pos)
{
    const char *from = data + *pos;
    const char *lf = memchr(from, '\n', len - *pos);
    size_t n = lf ? (size_t)(lf - from) : len - *pos;
    if (mp->line_len + n > MULTIPART_MAX_LINE + 1)
        return s_fail(mp, "a part header line is too long");
    memcpy(mp->line + mp->line_len, from, n);
    mp->line_len += n;
    *pos += lf ? n + 1 : n;
    if (!lf)
        return 0;
    if (mp->line_len == 0 || mp->line[mp->line_len - 1] != '\r')
        return s_fail(mp, "a part header line does not end with CRLF");
    size_t line_len = mp->line_len - 1;
    mp->line[line_len] = '\0';
    mp->line_len = 0;
    if (memchr(mp->line, '\0', line_len) || memchr(mp->line, '\r', line_len))
        return s_fail(mp, "a part header line holds a control character");
    if (line_len == 0)
        return s_headers_done(mp);
    if (s_is_ows(mp->line[0]))
        return s_fail(mp, "folded part header lines are not supported");
    return s_header(mp, mp->line);
}

int multipart_feed(multipart_t *mp, const char *data, size_t len)
{
    assert(mp && (data || len == 0));
    size_t i = 0;
    while (i < len) {
        int rc = 0;
        switch (mp->state) {
        case S_PREAMBLE:
        case S_BODY:
            rc = s_scan(mp, data, len, &i);
            break;
        case S_AFTER_DELIM:
        case S_AFTER_CR:
        case S_CLOSE_DASH:
            rc = s_after_delim(mp, data[i++]);
            break;
        case S_HEADERS:
            rc = s_header_bytes(mp, data, len, &i);
            break;
        case S_EPILOGUE:
            i = len;
            break;
        case S_FAILED:
            return -1;
        }
        if (rc < 0)
            return -1;
    }
    return mp->state == S_FAILED ? -1 : 0;
}

int multipart_finish(multipart_t *mp)
{
    assert(mp);
    if (mp->state == S_FAILED)
        return -1;
    if (mp->state != S_EPILOGUE)
        return s_fail(mp, "the body ended before the closing boundary");
    return 0;
}
