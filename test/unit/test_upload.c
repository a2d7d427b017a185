/* upload: upload_receive() fed from an in-memory body (upload_body_t, no
 * HTTP at all: pieces of any size, read errors, the bound, when the client
 * is told to proceed), and from a real civetweb server in this process, with
 * raw HTTP requests over TCP (chunked bodies, lying lengths, early ends):
 * the files it writes and the errors it answers. */
#include "test_support.h"

#include "img_error.h"
#include "upload.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define BND "----TestBoundary42"
#define MAX_BYTES 4096

static const op_def_t s_op = {
    .name = "fake",
    .n_inputs = 2,
    .inputs = {{"file", "image"}, {"image1", NULL}},
};

/* What the handler saw, for the test thread. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    char dir[PATH_MAX];
    long long max_bytes;
    int rc;
    img_errcode_t code;
    char message[512];
    upload_t u; /* fields replaced by their JSON text */
    char fields[4096];
} seen_t;

static seen_t s_seen = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
static struct mg_context *s_ctx;
static int s_port;

static int s_mg_read(void *ctx, char *buf, size_t len)
{
    return mg_read(ctx, buf, len);
}

static int s_handler(struct mg_connection *conn, void *cbdata)
{
    seen_t *s = cbdata;
    upload_t u;
    /* the request's body as the HTTP layer hands it over (h_submit.c) */
    upload_body_t body = {.read = s_mg_read,
                          .ctx = conn,
                          .content_type = mg_get_header(conn, "Content-Type"),
                          .content_length = mg_get_request_info(conn)->content_length};
    img_error_clear();
    int rc = upload_receive(&body, &s_op, s->dir, s->max_bytes, &u);
    img_errcode_t code = img_error_code();
    char *fields = json_dumps(u.fields, JSON_SORT_KEYS | JSON_COMPACT);

    pthread_mutex_lock(&s->lock);
    s->rc = rc;
    s->code = code;
    snprintf(s->message, sizeof s->message, "%s", img_error_message());
    s->u = u;
    s->u.fields = NULL;
    snprintf(s->fields, sizeof s->fields, "%s", fields ? fields : "");
    s->done++;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);

    free(fields);
    upload_clear(&u);
    int status = rc == 0 ? 200 : img_error_http_status(code);
    mg_printf(conn, "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);
    return status;
}

static int s_setup(void **state)
{
    (void)state;
    mg_init_library(0);
    const char *options[] = {"listening_ports",    "127.0.0.1:0", "num_threads", "2",
                             "request_timeout_ms", "5000",        NULL};
    s_ctx = mg_start(NULL, NULL, options);
    if (!s_ctx)
        return -1;
    mg_set_request_handler(s_ctx, "/upload", s_handler, &s_seen);
    struct mg_server_port ports[4];
    int n = mg_get_server_ports(s_ctx, 4, ports);
    if (n < 1 || ports[0].port <= 0)
        return -1;
    s_port = ports[0].port;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    mg_stop(s_ctx);
    mg_exit_library();
    return 0;
}

/* ---- a growable byte buffer ---- */

typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static void s_add(buf_t *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        b->cap = (b->len + len + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
}

static void s_addf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_addf(buf_t *b, const char *fmt, ...)
{
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof tmp);
    s_add(b, tmp, (size_t)n);
}

static void s_part(buf_t *b, const char *name, const char *filename, const char *data, size_t len)
{
    s_addf(b, "--" BND "\r\nContent-Disposition: form-data; name=\"%s\"", name);
    if (filename)
        s_addf(b, "; filename=\"%s\"\r\nContent-Type: application/octet-stream", filename);
    s_addf(b, "\r\n\r\n");
    s_add(b, data, len);
    s_addf(b, "\r\n");
}

static void s_close(buf_t *b)
{
    s_addf(b, "--" BND "--\r\n");
}

/* ---- the client ---- */

/* Sends head then body (chunked in pieces of `chunked` bytes if > 0; with
 * Content-Length otherwise unless no_length), waits for the handler and
 * returns the HTTP status of the reply (0 if none could be read). */
typedef struct {
    const char *content_type; /* NULL: no header */
    const char *extra_headers;
    size_t chunked;
    long long content_length; /* -1: the body's length */
    bool no_length;
    bool half_close; /* shut the write side after sending */
} req_t;

static int s_send(const req_t *req, const char *body, size_t len)
{
    pthread_mutex_lock(&s_seen.lock);
    int done_before = s_seen.done;
    pthread_mutex_unlock(&s_seen.lock);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);

    buf_t m = {0};
    s_addf(&m, "POST /upload HTTP/1.1\r\nHost: localhost\r\n");
    if (req->content_type)
        s_addf(&m, "Content-Type: %s\r\n", req->content_type);
    if (req->extra_headers)
        s_addf(&m, "%s", req->extra_headers);
    if (req->chunked)
        s_addf(&m, "Transfer-Encoding: chunked\r\n");
    else if (!req->no_length)
        s_addf(&m, "Content-Length: %lld\r\n",
               req->content_length >= 0 ? req->content_length : (long long)len);
    s_addf(&m, "\r\n");
    if (req->chunked) {
        for (size_t i = 0; i < len; i += req->chunked) {
            size_t n = len - i < req->chunked ? len - i : req->chunked;
            s_addf(&m, "%zx\r\n", n);
            s_add(&m, body + i, n);
            s_addf(&m, "\r\n");
        }
        s_addf(&m, "0\r\n\r\n");
    } else if (len) {
        s_add(&m, body, len);
    }
    /* the server may stop reading and close: send errors are expected then */
    for (size_t off = 0; off < m.len;) {
        ssize_t n = send(fd, m.p + off, m.len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    free(m.p);
    if (req->half_close)
        shutdown(fd, SHUT_WR);

    /* wait for the handler */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&s_seen.lock);
    while (s_seen.done == done_before)
        if (pthread_cond_timedwait(&s_seen.cond, &s_seen.lock, &until) != 0)
            break;
    bool handled = s_seen.done != done_before;
    pthread_mutex_unlock(&s_seen.lock);
    assert_true(handled);

    char reply[256] = "";
    size_t got = 0;
    ssize_t n;
    /* up to the end of the reply's head: the server may hold the connection
     * open a while to drain a body it did not read */
    while (got < sizeof reply - 1 && (n = recv(fd, reply + got, sizeof reply - 1 - got, 0)) > 0) {
        got += (size_t)n;
        reply[got] = '\0';
        if (strstr(reply, "\r\n\r\n"))
            break;
    }
    reply[got] = '\0';
    close(fd);
    int status = 0;
    sscanf(reply, "HTTP/1.1 %d", &status);
    return status;
}

/* ---- fixtures: a fresh job folder per test ---- */

static ts_folder_t *s_folder;

static int s_fresh_dir(void **state)
{
    (void)state;
    s_folder = ts_folder_new("upload");
    snprintf(s_seen.dir, sizeof s_seen.dir, "%s", s_folder->dir);
    s_seen.max_bytes = MAX_BYTES;
    return 0;
}

static int s_remove_dir(void **state)
{
    (void)state;
    ts_folder_destroy(&s_folder);
    return 0;
}

/* The names of the files in the job folder, sorted, space-separated. */
static void s_dir_list(char *out, size_t size)
{
    struct dirent **list;
    int n = scandir(s_seen.dir, &list, NULL, alphasort);
    assert_true(n >= 0);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (list[i]->d_name[0] != '.') {
            if (out[0])
                strncat(out, " ", size - strlen(out) - 1);
            strncat(out, list[i]->d_name, size - strlen(out) - 1);
        }
        free(list[i]);
    }
    free(list);
}

static void s_expect_file(const char *name, const char *data, size_t len)
{
    char path[PATH_MAX + 64], got[8192];
    snprintf(path, sizeof path, "%s/%s", s_seen.dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s was not written", name);
    size_t n = fread(got, 1, sizeof got, f);
    fclose(f);
    assert_int_equal(n, len);
    assert_memory_equal(got, data, len);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
}

static void s_expect_error(int status, img_errcode_t code, const char *in_message)
{
    assert_int_equal(s_seen.rc, -1);
    if (s_seen.code != code)
        fail_msg("code %s, want %s (%s)", img_error_code_name(s_seen.code),
                 img_error_code_name(code), s_seen.message);
    assert_int_equal(status, img_error_http_status(code));
    if (in_message && !strstr(s_seen.message, in_message))
        fail_msg("message '%s' lacks '%s'", s_seen.message, in_message);
}

static const char s_png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR--" BND "\r\n";

/* A body with both inputs (the first by its alias) and two fields. */
static void s_good_body(buf_t *b)
{
    s_part(b, "width", NULL, "640", 3);
    s_part(b, "image", "../../evil/path.png", s_png, sizeof s_png - 1);
    s_part(b, "fit", NULL, "cover", 5);
    s_part(b, "image1", "/etc/passwd", "second", 6);
    s_close(b);
}

static void s_expect_good(int status, size_t body_len)
{
    if (s_seen.rc != 0)
        fail_msg("upload failed: %s", s_seen.message);
    assert_int_equal(status, 200);
    assert_string_equal(s_seen.fields, "{\"fit\":\"cover\",\"width\":\"640\"}");
    assert_true(s_seen.u.have[0] && s_seen.u.have[1]);
    assert_int_equal(s_seen.u.bytes[0], sizeof s_png - 1);
    assert_int_equal(s_seen.u.bytes[1], 6);
    assert_int_equal(s_seen.u.body_bytes, body_len);
    char list[512];
    s_dir_list(list, sizeof list);
    assert_string_equal(list, "in_file in_image1");
    s_expect_file("in_file", s_png, sizeof s_png - 1);
    s_expect_file("in_image1", "second", 6);
}

static void test_normal_upload(void **state)
{
    (void)state;
    buf_t b = {0};
    s_good_body(&b);
    req_t req = {.content_type = "multipart/form-data; boundary=" BND, .content_length = -1};
    s_expect_good(s_send(&req, b.p, b.len), b.len);
    free(b.p);
}

static void test_chunked_upload(void **state)
{
    (void)state;
    buf_t b = {0};
    s_good_body(&b);
    req_t req = {.content_type = "Multipart/Form-Data; boundary=\"" BND "\"", .chunked = 7};
    s_expect_good(s_send(&req, b.p, b.len), b.len);
    free(b.p);
}

static void test_oversized_by_length(void **state)
{
    (void)state;
    req_t req = {.content_type = "multipart/form-data; boundary=" BND,
                 .content_length = MAX_BYTES + 1};
    int status = s_send(&req, "--" BND "\r\n", strlen("--" BND "\r\n"));
    s_expect_error(status, IMG_E_PAYLOAD_TOO_LARGE, NULL);
    assert_int_equal(s_seen.u.body_bytes, 0);
    char list[512];
    s_dir_list(list, sizeof list);
    assert_string_equal(list, "");
}

static void test_oversized_chunked(void **state)
{
    (void)state;
    buf_t b = {0};
    static char big[64 * 1024];
    memset(big, 'x', sizeof big);
    s_part(&b, "file", "a.png", big, sizeof big);
    s_part(&b, "image1", "b.png", "x", 1);
    s_close(&b);
    req_t req = {.content_type = "multipart/form-data; boundary=" BND, .chunked = 1000};
    int status = s_send(&req, b.p, b.len);
    s_expect_error(status, IMG_E_PAYLOAD_TOO_LARGE, NULL);
    /* it stopped reading at once: one byte past the bound */
    assert_int_equal(s_seen.u.body_bytes, MAX_BYTES + 1);
    assert_true(s_seen.u.bytes[0] < MAX_BYTES);
    free(b.p);
}

static void test_missing_file(void **state)
{
    (void)state;
    buf_t b = {0};
    s_part(&b, "width", NULL, "10", 2);
    s_part(&b, "image1", "b.png", "x", 1);
    s_close(&b);
    req_t req = {.content_type = "multipart/form-data; boundary=" BND, .content_length = -1};
    s_expect_error(s_send(&req, b.p, b.len), IMG_E_MISSING_FILE, "'file'");
    free(b.p);
}

static void test_missing_second_file(void **state)
{
    (void)state;
    buf_t b = {0};
    s_part(&b, "file", "a.png", "x", 1);
    s_close(&b);
    req_t req = {.content_type = "multipart/form-data; boundary=" BND, .content_length = -1};
    s_expect_error(s_send(&req, b.p, b.len), IMG_E_MISSING_FILE, "'image1'");
    free(b.p);
}

static void test_empty_file(void **state)
{
    (void)state;
    buf_t b = {0};
    s_part(&b, "image", "a.png", "", 0);
    s_part(&b, "image1", "b.png", "x", 1);
    s_close(&b);
    req_t req = {.content_type = "multipart/form-data; boundary=" BND, .content_length = -1};
    s_expect_error(s_send(&req, b.p, b.len), IMG_E_EMPTY_FILE, "'file'");
    free(b.p);
}

static void test_no_body(void **state)
{
    (void)state;
    req_t req = {.content_length = -1};
    s_expect_error(s_send(&req, "", 0), IMG_E_MISSING_FILE, "'file'");
}

static void test_wrong_content_type(void **state)
{
    (void)state;
    req_t req = {.content_type = "application/json", .content_length = -1};
    s_expect_error(s_send(&req, "{}", 2), IMG_E_UNSUPPORTED_MEDIA_TYPE, "multipart/form-data");
    req_t untyped = {.content_length = -1};
    s_expect_error(s_send(&untyped, "\x89PNG", 4), IMG_E_UNSUPPORTED_MEDIA_TYPE, NULL);
    req_t no_boundary = {.content_type = "multipart/form-data", .content_length = -1};
    s_expect_error(s_send(&no_boundary, "x", 1), IMG_E_BAD_REQUEST, NULL);
}

static void test_malformed_multipart(void **state)
{
    (void)state;
    const char *body = "--" BND "\r\nContent-Type: image/png\r\n\r\nxx\r\n--" BND "--\r\n";
    req_t req = {.content_type = "multipart/form-data; boundary=" BND, .content_length = -1};
    s_expect_error(s_send(&req, body, strlen(body)), IMG_E_BAD_REQUEST, NULL);
}

static void test_body_ends_early(void **state)
{
    (void)state;
    buf_t b = {0};
    s_part(&b, "file", "a.png", "abc", 3);
    s_part(&b, "image1", "b.png", "x", 1);
    /* no closing boundary, chunked */
    req_t req = {.content_type = "multipart/form-data; boundary=" BND, .chunked = 5};
    s_expect_error(s_send(&req, b.p, b.len), IMG_E_BAD_REQUEST, NULL);
    /* a Content-Length the client never sends */
    s_remove_dir(state);
    s_fresh_dir(state);
    req_t lying = {.content_type = "multipart/form-data; boundary=" BND,
                   .content_length = (long long)b.len + 100,
                   .half_close = true};
    s_expect_error(s_send(&lying, b.p, b.len), IMG_E_BAD_REQUEST, NULL);
    free(b.p);
}

static void test_input_twice(void **state)
{
    (void)state;
    buf_t b = {0};
    s_part(&b, "file", "a.png", "abc", 3);
    s_part(&b, "image", "a.png", "def", 3);
    s_close(&b);
    req_t req = {.content_type = "multipart/form-data; boundary=" BND, .content_length = -1};
    s_expect_error(s_send(&req, b.p, b.len), IMG_E_BAD_REQUEST, "'file'");
    s_expect_file("in_file", "abc", 3);
    free(b.p);
}

static void test_field_errors(void **state)
{
    (void)state;
    req_t req = {.content_type = "multipart/form-data; boundary=" BND, .content_length = -1};
    buf_t b = {0};
    s_part(&b, "width", NULL, "1", 1);
    s_part(&b, "width", NULL, "2", 1);
    s_close(&b);
    s_expect_error(s_send(&req, b.p, b.len), IMG_E_INVALID_PARAMETER, "'width'");

    b.len = 0;
    for (int i = 0; i <= UPLOAD_MAX_FIELDS; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        s_part(&b, name, NULL, "1", 1);
    }
    s_close(&b);
    s_expect_error(s_send(&req, b.p, b.len), IMG_E_INVALID_PARAMETER, NULL);

    char value[UPLOAD_MAX_FIELD_VALUE + 1];
    memset(value, 'v', sizeof value);
    b.len = 0;
    s_part(&b, "long", NULL, value, sizeof value);
    s_close(&b);
    s_expect_error(s_send(&req, b.p, b.len), IMG_E_INVALID_PARAMETER, "'long'");

    b.len = 0;
    s_part(&b, "bin", NULL, "a\0b", 3);
    s_close(&b);
    s_expect_error(s_send(&req, b.p, b.len), IMG_E_INVALID_PARAMETER, "'bin'");
    free(b.p);
}

static void test_existing_file_not_overwritten(void **state)
{
    (void)state;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/in_file", s_seen.dir);
    FILE *f = fopen(path, "w");
    fputs("keep", f);
    fclose(f);
    chmod(path, 0640);
    buf_t b = {0};
    s_good_body(&b);
    req_t req = {.content_type = "multipart/form-data; boundary=" BND, .content_length = -1};
    s_expect_error(s_send(&req, b.p, b.len), IMG_E_INTERNAL, NULL);
    s_expect_file("in_file", "keep", 4);
    free(b.p);
}

/* ---- an in-memory body, no HTTP ---- */

typedef struct {
    const char *data;
    size_t len, pos;
    size_t piece;         /* at most this many bytes a read (0: all asked) */
    long long fail_after; /* a read past this many bytes fails (-1: never) */
    int reads, proceeds;
    size_t read_at_proceed; /* bytes read when proceed was called */
} mem_body_t;

static int s_mem_read(void *ctx, char *buf, size_t len)
{
    mem_body_t *m = ctx;
    m->reads++;
    if (m->fail_after >= 0 && m->pos >= (size_t)m->fail_after)
        return -1;
    size_t n = m->len - m->pos;
    if (n > len)
        n = len;
    if (m->piece && n > m->piece)
        n = m->piece;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (int)n;
}

static void s_mem_proceed(void *ctx)
{
    mem_body_t *m = ctx;
    m->proceeds++;
    m->read_at_proceed = m->pos;
}

/* Receives data (content type ct, declared length: -1 unknown) with pieces
 * of at most piece bytes into the folder's job; rc, *out filled. */
static int s_mem_receive(mem_body_t *m, const char *ct, long long length, long long max_bytes,
                         upload_t *out)
{
    upload_body_t body = {.read = s_mem_read,
                          .proceed = s_mem_proceed,
                          .ctx = m,
                          .content_type = ct,
                          .content_length = length};
    img_error_clear();
    return upload_receive(&body, &s_op, s_folder->dir, max_bytes, out);
}

#define CT "multipart/form-data; boundary=" BND

static void test_memory_any_pieces(void **state)
{
    (void)state;
    buf_t b = {0};
    s_good_body(&b);
    const size_t pieces[] = {1, 2, 7, 100, 0};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        mem_body_t m = {.data = b.p, .len = b.len, .piece = pieces[i], .fail_after = -1};
        upload_t u;
        if (s_mem_receive(&m, CT, i % 2 ? -1 : (long long)b.len, MAX_BYTES, &u) != 0)
            fail_msg("pieces of %zu: %s", pieces[i], img_error_message());
        char *fields = json_dumps(u.fields, JSON_SORT_KEYS | JSON_COMPACT);
        assert_string_equal(fields, "{\"fit\":\"cover\",\"width\":\"640\"}");
        free(fields);
        assert_true(u.have[0] && u.have[1]);
        assert_int_equal(u.bytes[0], sizeof s_png - 1);
        assert_int_equal(u.bytes[1], 6);
        assert_int_equal(u.body_bytes, b.len);
        s_expect_file("in_file", s_png, sizeof s_png - 1);
        s_expect_file("in_image1", "second", 6);
        /* told to proceed once, before any byte was read */
        assert_int_equal(m.proceeds, 1);
        assert_int_equal(m.read_at_proceed, 0);
        upload_clear(&u);
        upload_clear(&u); /* harmless twice */
        char list[512];
        s_dir_list(list, sizeof list);
        assert_string_equal(list, "in_file in_image1");
        s_remove_dir(state);
        s_fresh_dir(state);
    }
    free(b.p);
}

/* Refusals that need no body come before the client is told to send it. */
static void test_memory_no_proceed_before_refusals(void **state)
{
    (void)state;
    buf_t b = {0};
    s_good_body(&b);
    struct {
        const char *ct;
        long long length;
        img_errcode_t code;
    } cases[] = {
        {"application/json", (long long)b.len, IMG_E_UNSUPPORTED_MEDIA_TYPE},
        {"multipart/form-data", (long long)b.len, IMG_E_BAD_REQUEST},
        {"multipart/form-data; boundary=", (long long)b.len, IMG_E_BAD_REQUEST},
        {CT, MAX_BYTES + 1, IMG_E_PAYLOAD_TOO_LARGE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mem_body_t m = {.data = b.p, .len = b.len, .fail_after = -1};
        upload_t u;
        assert_int_equal(s_mem_receive(&m, cases[i].ct, cases[i].length, MAX_BYTES, &u), -1);
        assert_int_equal(img_error_code(), cases[i].code);
        assert_int_equal(m.proceeds, 0);
        assert_int_equal(m.pos, 0); /* nothing read */
        assert_int_equal(u.body_bytes, 0);
        upload_clear(&u);
    }
    /* without a type: an empty body is a missing file, any byte another type */
    mem_body_t empty = {.data = "", .len = 0, .fail_after = -1};
    upload_t u;
    assert_int_equal(s_mem_receive(&empty, NULL, 0, MAX_BYTES, &u), -1);
    assert_int_equal(img_error_code(), IMG_E_MISSING_FILE);
    assert_non_null(strstr(img_error_message(), "'file'"));
    upload_clear(&u);
    mem_body_t some = {.data = b.p, .len = b.len, .fail_after = -1};
    assert_int_equal(s_mem_receive(&some, "", -1, MAX_BYTES, &u), -1);
    assert_int_equal(img_error_code(), IMG_E_UNSUPPORTED_MEDIA_TYPE);
    assert_int_equal(some.proceeds, 0);
    upload_clear(&u);
    char list[512];
    s_dir_list(list, sizeof list);
    assert_string_equal(list, "");
    free(b.p);
}

static void test_memory_read_error(void **state)
{
    (void)state;
    buf_t b = {0};
    s_good_body(&b);
    mem_body_t m = {.data = b.p, .len = b.len, .piece = 20, .fail_after = 200};
    upload_t u;
    assert_int_equal(s_mem_receive(&m, CT, -1, MAX_BYTES, &u), -1);
    assert_int_equal(img_error_code(), IMG_E_BAD_REQUEST);
    assert_non_null(strstr(img_error_message(), "could not be read"));
    assert_int_equal(u.body_bytes, 200);
    upload_clear(&u);
    free(b.p);
}

/* A body of unknown length is read up to one byte past the bound, no more. */
static void test_memory_bound(void **state)
{
    (void)state;
    buf_t b = {0};
    static char big[3 * MAX_BYTES];
    memset(big, 'x', sizeof big);
    s_part(&b, "file", "a.png", big, sizeof big);
    s_part(&b, "image1", "b.png", "x", 1);
    s_close(&b);
    mem_body_t m = {.data = b.p, .len = b.len, .fail_after = -1};
    upload_t u;
    assert_int_equal(s_mem_receive(&m, CT, -1, MAX_BYTES, &u), -1);
    assert_int_equal(img_error_code(), IMG_E_PAYLOAD_TOO_LARGE);
    assert_int_equal(u.body_bytes, MAX_BYTES + 1);
    assert_int_equal(m.pos, MAX_BYTES + 1);
    upload_clear(&u);
    /* a body exactly at the bound passes */
    s_remove_dir(state);
    s_fresh_dir(state);
    buf_t e = {0};
    s_part(&e, "file", "a.png", "abc", 3);
    s_part(&e, "image1", "b.png", "x", 1);
    s_close(&e);
    mem_body_t exact = {.data = e.p, .len = e.len, .fail_after = -1};
    assert_int_equal(s_mem_receive(&exact, CT, -1, (long long)e.len, &u), 0);
    upload_clear(&u);
    /* no bound at all */
    s_remove_dir(state);
    s_fresh_dir(state);
    mem_body_t unbounded = {.data = b.p, .len = b.len, .fail_after = -1};
    assert_int_equal(s_mem_receive(&unbounded, CT, -1, 0, &u), 0);
    assert_int_equal(u.bytes[0], sizeof big);
    upload_clear(&u);
    free(b.p);
    free(e.p);
}

static void test_memory_text_checks(void **state)
{
    (void)state;
    struct {
        const char *name, *value;
        img_errcode_t code;
    } cases[] = {
        {"caf\xc3", "1", IMG_E_BAD_REQUEST},                /* name not UTF-8 */
        {"w", "caf\xc3", IMG_E_INVALID_PARAMETER},          /* value not UTF-8 */
        {"caf\xc3\xa9", "caf\xc3\xa9", IMG_E_MISSING_FILE}, /* both fine: then no file */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf_t b = {0};
        s_part(&b, cases[i].name, NULL, cases[i].value, strlen(cases[i].value));
        s_close(&b);
        mem_body_t m = {.data = b.p, .len = b.len, .fail_after = -1};
        upload_t u;
        assert_int_equal(s_mem_receive(&m, CT, -1, MAX_BYTES, &u), -1);
        assert_int_equal(img_error_code(), cases[i].code);
        upload_clear(&u);
        free(b.p);
    }
    /* a field name of 64 bytes is fine, 65 is not */
    char name[UPLOAD_MAX_FIELD_NAME + 2];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    buf_t b = {0};
    s_part(&b, name, NULL, "1", 1);
    s_close(&b);
    mem_body_t m = {.data = b.p, .len = b.len, .fail_after = -1};
    upload_t u;
    assert_int_equal(s_mem_receive(&m, CT, -1, MAX_BYTES, &u), -1);
    assert_int_equal(img_error_code(), IMG_E_INVALID_PARAMETER);
    upload_clear(&u);
    free(b.p);
    name[UPLOAD_MAX_FIELD_NAME] = '\0';
    b = (buf_t){0};
    s_part(&b, name, NULL, "1", 1);
    s_part(&b, "file", "a", "x", 1);
    s_part(&b, "image1", "b", "y", 1);
    s_close(&b);
    m = (mem_body_t){.data = b.p, .len = b.len, .fail_after = -1};
    assert_int_equal(s_mem_receive(&m, CT, -1, MAX_BYTES, &u), 0);
    assert_non_null(json_object_get(u.fields, name));
    upload_clear(&u);
    free(b.p);
}

/* The job folder cannot take the file: an internal error, named as such. */
static void test_memory_folder_gone(void **state)
{
    (void)state;
    buf_t b = {0};
    s_good_body(&b);
    char gone[PATH_MAX];
    snprintf(gone, sizeof gone, "%s/no-such-folder", s_folder->root);
    mem_body_t m = {.data = b.p, .len = b.len, .fail_after = -1};
    upload_body_t body = {
        .read = s_mem_read, .ctx = &m, .content_type = CT, .content_length = (long long)b.len};
    upload_t u;
    img_error_clear();
    assert_int_equal(upload_receive(&body, &s_op, gone, MAX_BYTES, &u), -1);
    assert_int_equal(img_error_code(), IMG_E_INTERNAL);
    assert_non_null(strstr(img_error_message(), "cannot create an input file"));
    upload_clear(&u);
    free(b.p);
}

/* An input is written behind as it ends (file_cache.h): once that write-out
 * is over, its pages are clean and one drop takes them all (without it they
 * would be dirty for the kernel's dirty expiry, 30 s by default). */
static void test_input_written_behind(void **state)
{
    (void)state;
    if (!ts_on_disk(s_folder->dir))
        skip();
    size_t size = 2 << 20;
    char *big = malloc(size);
    for (size_t i = 0; i < size; i++)
        big[i] = (char)(i * 7919 >> 3);
    buf_t b = {0};
    s_part(&b, "file", "a.jpg", big, size);
    s_part(&b, "image1", "b.jpg", "x", 1);
    s_close(&b);
    mem_body_t m = {.data = b.p, .len = b.len, .fail_after = -1};
    upload_t u;
    assert_int_equal(s_mem_receive(&m, CT, (long long)b.len, 0, &u), 0);
    upload_clear(&u);
    char path[PATH_MAX];
    ts_input_path(s_folder, "file", path, sizeof path);
    ts_wait_write_out(path);
    ts_expect_drop_empties(path);
    free(big);
    free(b.p);
}

/* An input's digest is the XXH3-128 of its bytes, in canonical (big-endian)
 * order, however the body arrives: the same as the library's plain one-shot
 * function computes (upload.c hashes with the CPU's widest vector unit), so
 * that idempotency and the result cache match across versions and CPUs. */
static void test_digest_any_pieces(void **state)
{
    size_t size = (1 << 20) + 12345;
    char *data = malloc(size);
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < size; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        data[i] = (char)(x >> 24);
    }
    XXH128_canonical_t want;
    XXH128_canonicalFromHash(&want, XXH3_128bits(data, size));
    buf_t b = {0};
    s_part(&b, "file", "a.jpg", data, size);
    s_part(&b, "image1", "b.jpg", "x", 1);
    s_close(&b);
    const size_t pieces[] = {1000, 65536, 65537, 0};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        mem_body_t m = {.data = b.p, .len = b.len, .piece = pieces[i], .fail_after = -1};
        upload_t u;
        assert_int_equal(s_mem_receive(&m, CT, (long long)b.len, 0, &u), 0);
        assert_int_equal(u.bytes[0], size);
        assert_memory_equal(u.digest[0], want.digest, UPLOAD_DIGEST_LEN);
        XXH128_canonical_t one;
        XXH128_canonicalFromHash(&one, XXH3_128bits("x", 1));
        assert_memory_equal(u.digest[1], one.digest, UPLOAD_DIGEST_LEN);
        upload_clear(&u);
        s_remove_dir(state);
        s_fresh_dir(state);
    }
    free(data);
    free(b.p);
}

#define T(f) cmocka_unit_test_setup_teardown(f, s_fresh_dir, s_remove_dir)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_memory_any_pieces),    T(test_memory_no_proceed_before_refusals),
        T(test_memory_read_error),    T(test_memory_bound),
        T(test_memory_text_checks),   T(test_memory_folder_gone),
        T(test_normal_upload),        T(test_chunked_upload),
        T(test_oversized_by_length),  T(test_oversized_chunked),
        T(test_missing_file),         T(test_missing_second_file),
        T(test_empty_file),           T(test_no_body),
        T(test_wrong_content_type),   T(test_malformed_multipart),
        T(test_body_ends_early),      T(test_input_twice),
        T(test_field_errors),         T(test_existing_file_not_overwritten),
        T(test_input_written_behind), T(test_digest_any_pieces),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
