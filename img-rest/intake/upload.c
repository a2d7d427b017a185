#include "upload.h"

#include "file_cache.h"
#include "img_error.h"
#include "job_files.h"
#include "multipart.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <xxhash.h>
#if defined(__x86_64__) || defined(__i386__)
/* XXH3 with the widest vector unit the CPU has (AVX2, AVX-512), chosen at
 * run time by libxxhash; the digest is the same as the plain functions'.
 * Hashing a 5 MB upload took 0.75 ms of img-rest's CPU with the SSE2 build. */
#include <xxh_x86dispatch.h>
#endif

/* The multipart callbacks' state for one request. */
typedef struct {
    const op_def_t *op;
    const char *dir;
    upload_t *out;
    int input;          /* index of the input being written, or -1 */
    int fd;             /* its file, or -1 */
    XXH3_state_t *hash; /* of its bytes */
    char *pending;      /* its bytes not yet written (UPLOAD_WRITE_SIZE) */
    size_t n_pending;
    char field[UPLOAD_MAX_FIELD_NAME + 1];
    char value[UPLOAD_MAX_FIELD_VALUE];
    size_t value_len;
} receiver_t;

static int s_input_index(const op_def_t *op, const char *name)
{
    for (int i = 0; i < op->n_inputs; i++) {
        const op_input_t *in = &op->inputs[i];
        if (strcmp(in->name, name) == 0 || (in->alias && strcmp(in->alias, name) == 0))
            return i;
    }
    return -1;
}

static int s_input_begin(receiver_t *r, int i)
{
    const char *name = r->op->inputs[i].name;
    if (r->out->have[i]) {
        img_error_set(IMG_E_BAD_REQUEST, "the file field '%s' is sent twice", name);
        return -1;
    }
    char path[PATH_MAX];
    if (job_files_input(r->dir, name, path, sizeof path) < 0)
        return -1;
    r->fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0640);
    if (r->fd < 0) {
        img_error_set_io(errno, "cannot create an input file");
        return -1;
    }
    if (XXH3_128bits_reset(r->hash) != XXH_OK) {
        img_error_set(IMG_E_INTERNAL, "cannot hash an input");
        return -1;
    }
    r->input = i;
    r->out->have[i] = true;
    return 0;
}

static bool s_utf8_ok(const char *s, size_t len)
{
    json_t *j = json_stringn(s, len);
    json_decref(j);
    return j != NULL;
}

static int s_field_begin(receiver_t *r, const char *name)
{
    size_t n = strlen(name);
    if (n > UPLOAD_MAX_FIELD_NAME) {
        img_error_set(IMG_E_INVALID_PARAMETER, "a form field name is longer than %d bytes",
                      UPLOAD_MAX_FIELD_NAME);
        return -1;
    }
    if (!s_utf8_ok(name, n)) {
        img_error_set(IMG_E_BAD_REQUEST, "a form field name is not UTF-8");
        return -1;
    }
    if (json_object_get(r->out->fields, name)) {
        img_error_set(IMG_E_INVALID_PARAMETER, "parameter '%s' is given twice", name);
        return -1;
    }
    if (json_object_size(r->out->fields) >= UPLOAD_MAX_FIELDS) {
        img_error_set(IMG_E_INVALID_PARAMETER, "too many form fields (at most %d)",
                      UPLOAD_MAX_FIELDS);
        return -1;
    }
    memcpy(r->field, name, n + 1);
    r->value_len = 0;
    return 0;
}

static int s_on_begin(void *arg, const char *name, const char *filename, const char *type)
{
    (void)filename; /* never used: not for a path, not for the format */
    (void)type;     /* the format is recognised from the bytes */
    receiver_t *r = arg;
    int i = s_input_index(r->op, name);
    return i >= 0 ? s_input_begin(r, i) : s_field_begin(r, name);
}

static int s_write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            img_error_set_io(errno, "cannot write an input file");
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Hashes input bytes and writes them to the input's file. */
static int s_consume(receiver_t *r, const char *data, size_t len)
{
    if (XXH3_128bits_update(r->hash, data, len) != XXH_OK) {
        img_error_set(IMG_E_INTERNAL, "cannot hash an input");
        return -1;
    }
    return s_write_all(r->fd, data, len);
}

static int s_flush(receiver_t *r)
{
    size_t n = r->n_pending;
    r->n_pending = 0;
    return n > 0 ? s_consume(r, r->pending, n) : 0;
}

/* Small pieces of an input gather in the pending buffer; a large one goes
 * straight to the file when nothing is pending (no copy). */
static int s_input_data(receiver_t *r, const char *data, size_t len)
{
    r->out->bytes[r->input] += (long long)len;
    if (r->n_pending + len > UPLOAD_WRITE_SIZE && s_flush(r) < 0)
        return -1;
    if (r->n_pending == 0 && len >= UPLOAD_DIRECT_MIN)
        return s_consume(r, data, len);
    memcpy(r->pending + r->n_pending, data, len);
    r->n_pending += len;
    return 0;
}

static int s_on_data(void *arg, const char *data, size_t len)
{
    receiver_t *r = arg;
    if (r->fd >= 0)
        return s_input_data(r, data, len);
    if (len > sizeof r->value - r->value_len) {
        img_error_set(IMG_E_INVALID_PARAMETER,
                      "the value of parameter '%s' is longer than %d bytes", r->field,
                      UPLOAD_MAX_FIELD_VALUE);
        return -1;
    }
    memcpy(r->value + r->value_len, data, len);
    r->value_len += len;
    return 0;
}

static int s_field_end(receiver_t *r)
{
    json_t *v = memchr(r->value, '\0', r->value_len) ? NULL : json_stringn(r->value, r->value_len);
    if (!v) {
        img_error_set(IMG_E_INVALID_PARAMETER, "the value of parameter '%s' is not UTF-8 text",
                      r->field);
        return -1;
    }
    if (json_object_set_new(r->out->fields, r->field, v) < 0) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return -1;
    }
    return 0;
}

static int s_on_end(void *arg)
{
    receiver_t *r = arg;
    if (r->fd < 0)
        return s_field_end(r);
    if (s_flush(r) < 0)
        return -1;
    XXH128_canonical_t digest;
    XXH128_canonicalFromHash(&digest, XXH3_128bits_digest(r->hash));
    memcpy(r->out->digest[r->input], digest.digest, sizeof digest.digest);
    file_cache_write_behind(r->fd);
    int rc = close(r->fd);
    r->fd = -1;
    if (rc < 0) {
        img_error_set_io(errno, "cannot write an input file");
        return -1;
    }
    return 0;
}

/* No Content-Type: an empty body is a missing file, anything else is of an
 * unsupported type. */
static int s_untyped(const upload_body_t *body, const op_def_t *op, upload_t *out)
{
    char c;
    int n = body->read(body->ctx, &c, 1);
    if (n > 0) {
        out->body_bytes = n;
        img_error_set(IMG_E_UNSUPPORTED_MEDIA_TYPE, "the request body must be multipart/form-data");
    } else {
        img_error_set(IMG_E_MISSING_FILE, "no file was uploaded in field '%s'",
                      op->n_inputs > 0 ? op->inputs[0].name : "file");
    }
    return -1;
}

static int s_check_inputs(const op_def_t *op, const upload_t *out)
{
    for (int i = 0; i < op->n_inputs; i++) {
        if (!out->have[i]) {
            img_error_set(IMG_E_MISSING_FILE, "no file was uploaded in field '%s'",
                          op->inputs[i].name);
            return -1;
        }
        if (out->bytes[i] == 0) {
            img_error_set(IMG_E_EMPTY_FILE, "the file in field '%s' is empty", op->inputs[i].name);
            return -1;
        }
    }
    return 0;
}

static int s_too_large(long long max_bytes)
{
    img_error_set(IMG_E_PAYLOAD_TOO_LARGE, "the request body is larger than %lld bytes", max_bytes);
    return -1;
}

/* Reads the body into mp, bounded by max_bytes. */
static int s_pump(const upload_body_t *body, multipart_t *mp, long long max_bytes, upload_t *out)
{
    char *buf = malloc(UPLOAD_READ_SIZE);
    if (!buf) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return -1;
    }
    int rc = 0;
    for (;;) {
        size_t want = UPLOAD_READ_SIZE;
        /* one byte past the bound is enough to know it is passed */
        if (max_bytes > 0 && max_bytes - out->body_bytes + 1 < (long long)want)
            want = (size_t)(max_bytes - out->body_bytes + 1);
        int n = body->read(body->ctx, buf, want);
        if (n < 0) {
            img_error_set(IMG_E_BAD_REQUEST, "the request body could not be read");
            rc = -1;
            break;
        }
        if (n == 0)
            break;
        out->body_bytes += n;
        if (max_bytes > 0 && out->body_bytes > max_bytes) {
            rc = s_too_large(max_bytes);
            break;
        }
        if (multipart_feed(mp, buf, (size_t)n) < 0) {
            rc = -1;
            break;
        }
    }
    free(buf);
    return rc;
}

int upload_receive(const upload_body_t *body, const op_def_t *op, const char *dir,
                   long long max_bytes, upload_t *out)
{
    memset(out, 0, sizeof *out);
    out->fields = json_object();
    if (!out->fields) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return -1;
    }
    const char *type = body->content_type;
    if (!type || !*type)
        return s_untyped(body, op, out);
    char boundary[MULTIPART_BOUNDARY_MAX + 1];
    if (multipart_boundary(type, boundary, sizeof boundary) < 0)
        return -1;
    if (max_bytes > 0 && body->content_length > max_bytes)
        return s_too_large(max_bytes);
    /* The checks that need no body passed: let a client that waits for it
     * (curl does, past 1 MiB) send the body now instead of after a delay. */
    if (body->proceed)
        body->proceed(body->ctx);

    receiver_t r = {.op = op, .dir = dir, .out = out, .input = -1, .fd = -1};
    const multipart_callbacks_t cb = {
        .on_part_begin = s_on_begin, .on_part_data = s_on_data, .on_part_end = s_on_end};
    multipart_t *mp = NULL;
    int rc = -1;
    r.hash = XXH3_createState();
    r.pending = malloc(UPLOAD_WRITE_SIZE);
    if (!r.hash || !r.pending)
        img_error_set(IMG_E_INTERNAL, "out of memory");
    else if ((mp = multipart_new(boundary, &cb, &r)))
        rc = s_pump(body, mp, max_bytes, out);
    if (rc == 0)
        rc = multipart_finish(mp);
    if (rc == 0)
        rc = s_check_inputs(op, out);
    if (r.fd >= 0)
        close(r.fd);
    multipart_destroy(&mp);
    XXH3_freeState(r.hash);
    free(r.pending);
    return rc;
}

void upload_clear(upload_t *u)
{
    if (!u)
        return;
    json_decref(u->fields);
    memset(u, 0, sizeof *u);
}
