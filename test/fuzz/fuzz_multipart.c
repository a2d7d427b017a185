/* libFuzzer target: the multipart parser, and upload_receive() over it.
 *
 * Input: two bytes choosing a split point, then a body delimited by the
 * boundary "bNd". The body is parsed whole, in two pieces split at that
 * point, in pieces of 1 + split % 97 bytes, and (when small) one byte at a
 * time; all runs must agree on the result, the error code and every callback
 * (part data concatenated), and callbacks must come in begin/data/end
 * order. The body is also tried as a Content-Type value for
 * multipart_boundary().
 *
 * The same body is then received by upload_receive() from an in-memory
 * upload_body_t (the HTTP layer's abstraction), read in pieces of the split
 * size and whole, with a bound on its size: both readings must agree
 * (result, error code, fields, input sizes; a body past the bound may be
 * refused for its size or for its first bytes), a success must have every
 * input with bytes, and no more than one byte past the bound is ever read.
 */
#include "img_error.h"
#include "multipart.h"
#include "upload.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* ---- upload_receive from memory ---- */

#define UPLOAD_BOUND 1024

static const op_def_t s_op = {
    .name = "fuzz",
    .n_inputs = 2,
    .inputs = {{.name = "file", .alias = "image"}, {.name = "image1", .alias = NULL}},
};

typedef struct {
    const char *data;
    size_t len, pos, piece;
} mem_body_t;

static int s_read(void *ctx, char *buf, size_t len)
{
    mem_body_t *m = ctx;
    size_t n = m->len - m->pos;
    n = n < len ? n : len;
    n = n < m->piece ? n : m->piece;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (int)n;
}

static char s_folder[64];

static void s_empty_dir(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/in_file", s_folder);
    unlink(path);
    snprintf(path, sizeof path, "%s/in_image1", s_folder);
    unlink(path);
}

static void s_remove_dir(void)
{
    s_empty_dir();
    rmdir(s_folder);
}

/* A job folder of our own, made once, removed at exit. */
static const char *s_dir(void)
{
    if (!s_folder[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(s_folder, sizeof s_folder, "%.40s/fuzz-upload-XXXXXX", tmp ? tmp : "/tmp");
        if (!mkdtemp(s_folder))
            __builtin_trap();
        atexit(s_remove_dir);
    }
    return s_folder;
}

typedef struct {
    int rc;
    img_errcode_t code;
    char *fields;
    long long bytes[OP_MAX_INPUTS];
} received_t;

static received_t s_receive(const char *body, size_t len, size_t piece)
{
    mem_body_t m = {.data = body, .len = len, .piece = piece ? piece : 1};
    upload_body_t b = {.read = s_read,
                       .ctx = &m,
                       .content_type = "multipart/form-data; boundary=" BOUNDARY,
                       .content_length = -1};
    upload_t u;
    img_error_clear();
    received_t r = {.rc = upload_receive(&b, &s_op, s_dir(), UPLOAD_BOUND, &u)};
    r.code = img_error_code();
    if (m.pos > UPLOAD_BOUND + 1 || u.body_bytes != (long long)m.pos)
        __builtin_trap(); /* read past the bound, or miscounted */
    if (r.rc == 0) {
        for (int i = 0; i < s_op.n_inputs; i++)
            if (!u.have[i] || u.bytes[i] <= 0)
                __builtin_trap();
        if (json_object_size(u.fields) > UPLOAD_MAX_FIELDS || m.pos != len)
            __builtin_trap();
    } else if (r.code == IMG_E_NONE) {
        __builtin_trap();
    }
    r.fields = json_dumps(u.fields, JSON_SORT_KEYS | JSON_COMPACT);
    memcpy(r.bytes, u.bytes, sizeof r.bytes);
    upload_clear(&u);
    s_empty_dir();
    return r;
}

static void s_upload(const char *body, size_t len, size_t split)
{
    received_t a = s_receive(body, len, len ? len : 1);
    received_t b = s_receive(body, len, split ? split : 1);
    /* the same body in other pieces: the same outcome; only a body past the
     * bound may be refused as too large by one reading and for what its
     * first bytes hold by the other (the bound is checked on each read) */
    bool too_large = a.code == IMG_E_PAYLOAD_TOO_LARGE || b.code == IMG_E_PAYLOAD_TOO_LARGE;
    if (a.rc != b.rc || (a.code != b.code && !too_large))
        __builtin_trap();
    if (a.rc == 0 && (strcmp(a.fields, b.fields) != 0 || memcmp(a.bytes, b.bytes, sizeof a.bytes)))
        __builtin_trap();
    free(a.fields);
    free(b.fields);
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
    s_same(whole, s_run(body, len, 0, 1 + split % 97));
    if (len <= BYTEWISE_MAX)
        s_same(whole, s_run(body, len, 0, 1));
    s_content_type(data + 2, len);
    /* half the inputs (it writes files: slower), in pieces of 1..512 bytes */
    if (data[0] & 0x80)
        s_upload(body, len, 1 + split % 512);
    return 0;
}
