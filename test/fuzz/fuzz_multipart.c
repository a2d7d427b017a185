/* libFuzzer target: the multipart parser.
 *
 * Input: two bytes choosing a split point, then a body delimited by the
 * boundary "bNd". The body is parsed whole, in two pieces split at that
 * point, and (when small) one byte at a time; the three runs must agree on
 * the result, the error code and every callback (part data concatenated),
 * and callbacks must come in begin/data/end order. The body is also tried as
 * a Content-Type value for multipart_boundary().
 */
#include "img_error.h"
#include "multipart.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BOUNDARY "bNd"
#define BYTEWISE_MAX 4096

typedef struct {
    uint64_t hash; /* FNV-1a over the canonical event stream */
    int in_part;
    int parts;
} trace_t;

static void s_hash(trace_t *t, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        t->hash = (t->hash ^ p[i]) * 1099511628211ULL;
}

static void s_hash_str(trace_t *t, const char *s)
{
    s_hash(t, s ? s : "\x01(null)", s ? strlen(s) + 1 : 8);
}

static int s_begin(void *arg, const char *name, const char *filename, const char *type)
{
    trace_t *t = arg;
    if (t->in_part || !name || !name[0] || ++t->parts > MULTIPART_MAX_PARTS)
        __builtin_trap();
    t->in_part = 1;
    s_hash(t, "B", 1);
    s_hash_str(t, name);
    s_hash_str(t, filename);
    s_hash_str(t, type);
    return 0;
}

static int s_data(void *arg, const char *data, size_t len)
{
    trace_t *t = arg;
    if (!t->in_part || len == 0)
        __builtin_trap();
    s_hash(t, data, len);
    return 0;
}

static int s_end(void *arg)
{
    trace_t *t = arg;
    if (!t->in_part)
        __builtin_trap();
    t->in_part = 0;
    s_hash(t, "E", 1);
    return 0;
}

typedef struct {
    int rc;
    img_errcode_t code;
    uint64_t hash;
} outcome_t;

/* Parses body in pieces of at most step bytes, the first one first bytes. */
static outcome_t s_run(const char *body, size_t len, size_t first, size_t step)
{
    static const multipart_callbacks_t cb = {s_begin, s_data, s_end};
    trace_t t = {.hash = 14695981039346656037ULL};
    img_error_clear();
    multipart_t *mp = multipart_new(BOUNDARY, &cb, &t);
    if (!mp)
        __builtin_trap();
    int rc = 0;
    size_t i = 0;
    if (first > len)
        first = len;
    if (first > 0)
        rc = multipart_feed(mp, body, first), i = first;
    for (; rc == 0 && i < len; i += step)
        rc = multipart_feed(mp, body + i, len - i < step ? len - i : step);
    if (rc == 0)
        rc = multipart_finish(mp);
    if (rc == 0 && t.in_part)
        __builtin_trap(); /* finished inside a part */
    if (rc < 0 && img_error_code() != IMG_E_BAD_REQUEST)
        __builtin_trap();
    multipart_destroy(&mp);
    return (outcome_t){rc, img_error_code(), t.hash};
}

static void s_same(outcome_t a, outcome_t b)
{
    if (a.rc != b.rc || a.code != b.code || a.hash != b.hash)
        __builtin_trap();
}

static void s_content_type(const uint8_t *data, size_t size)
{
    char ct[512], out[MULTIPART_BOUNDARY_MAX + 1];
    size_t n = size < sizeof ct - 1 ? size : sizeof ct - 1;
    memcpy(ct, data, n);
    ct[n] = '\0';
    if (multipart_boundary(ct, out, sizeof out) == 0) {
        size_t b = strlen(out);
        if (b == 0 || b > MULTIPART_BOUNDARY_MAX || strchr(out, '\r') || strchr(out, '\n'))
            __builtin_trap();
        /* what it accepts, the parser accepts */
        static const multipart_callbacks_t none = {0};
        multipart_t *mp = multipart_new(out, &none, NULL);
        if (!mp)
            __builtin_trap();
        multipart_destroy(&mp);
    } else if (img_error_code() != IMG_E_BAD_REQUEST &&
               img_error_code() != IMG_E_UNSUPPORTED_MEDIA_TYPE) {
        __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t split = (size_t)data[0] << 8 | data[1];
    const char *body = (const char *)data + 2;
    size_t len = size - 2;

    outcome_t whole = s_run(body, len, len, len ? len : 1);
    s_same(whole, s_run(body, len, split % (len + 1), len ? len : 1));
    if (len <= BYTEWISE_MAX)
        s_same(whole, s_run(body, len, 0, 1));
    s_content_type(data + 2, len);
    return 0;
}
