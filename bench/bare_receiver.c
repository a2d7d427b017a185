/* bare_receiver — the floor under the cost of accepting an upload: the
 * least any HTTP service must do to take an upload durably, and nothing else.
 *
 * Each POST's body (Content-Length; chunked bodies are refused with 411) is
 * read from the socket in 256 KiB pieces and written to a new file in --dir;
 * the file's write-out is started at its end (as img-rest does), then the
 * file and the folder's entry are synced and its pages dropped from the page
 * cache (img-engine drops an input's after its job); the answer is 200 with
 * {"bytes": the body bytes stored}. No parsing of the body, no hashing, no
 * image check, no database: what is left is the kernel's work (copying the
 * bytes from the socket and into the page cache, writing them to disk) and
 * HTTP's least. GET /health answers 200. One thread per connection,
 * keep-alive. The files are left for the caller to delete with --dir.
 *
 *   bare_receiver --port 8090 --dir /tmp/uploads
 */
#define _GNU_SOURCE /* memmem, sync_file_range, accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX (64 * 1024)
#define READ_SIZE (256 * 1024)

typedef struct {
    int fd;     /* the connection */
    int dir_fd; /* --dir, shared */
    char head[HEAD_MAX + 1];
    size_t have; /* bytes in head: the request head and what followed it */
    char *buf;   /* READ_SIZE, for bodies */
} conn_t;

static atomic_ulong g_next_file;

static void s_fail(const char *what)
{
    fprintf(stderr, "bare_receiver: %s\n", what);
    exit(2);
}

/* Writes len bytes to fd, a file or the connection (SIGPIPE is ignored). */
static int s_write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Sends an answer; 0 to go on with the connection, -1 to close it (as
 * close_it asks, or when sending failed). */
static int s_answer(conn_t *c, int status, const char *reason, const char *json, bool close_it)
{
    char out[512];
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n%s\r\n%s",
                     status, reason, strlen(json), close_it ? "Connection: close\r\n" : "", json);
    return s_write_all(c->fd, out, (size_t)n) < 0 || close_it ? -1 : 0;
}

/* Reads until c->head holds a whole request head: its length (with the
 * blank line); 0 when there is none, *failed telling a bad or cut one from
 * a peer that closed between requests. */
static size_t s_read_head(conn_t *c, bool *failed)
{
    *failed = false;
    for (;;) {
        char *end = memmem(c->head, c->have, "\r\n\r\n", 4);
        if (end)
            return (size_t)(end - c->head) + 4;
        if (c->have == HEAD_MAX) {
            *failed = true;
            return 0;
        }
        ssize_t n = recv(c->fd, c->head + c->have, HEAD_MAX - c->have, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *failed = c->have > 0;
            return 0;
        }
        c->have += (size_t)n;
    }
}

/* The value of header name in the head (NUL-terminated), or NULL. */
static const char *s_header(const char *head, const char *name)
{
    size_t len = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        const char *p = line + 2;
        if (strncasecmp(p, name, len) == 0 && p[len] == ':') {
            p += len + 1;
            while (*p == ' ' || *p == '\t')
                p++;
            return p;
        }
    }
    return NULL;
}

/* Stores the body: `early` bytes of it already read (in c->head after the
 * head), the rest read from the socket. Returns 0, or -1 (the connection is
 * then unusable). */
static int s_store_body(conn_t *c, const char *early, size_t n_early, long long length)
{
    char name[64];
    snprintf(name, sizeof name, "upload-%lu", atomic_fetch_add(&g_next_file, 1));
    int fd = openat(c->dir_fd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    int rc = s_write_all(fd, early, n_early);
    for (long long left = length - (long long)n_early; rc == 0 && left > 0;) {
        ssize_t n = recv(c->fd, c->buf, left < READ_SIZE ? (size_t)left : READ_SIZE, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || s_write_all(fd, c->buf, (size_t)n) < 0)
            rc = -1;
        else
            left -= n;
    }
    if (rc == 0) {
        (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        rc = fdatasync(fd) == 0 && fsync(c->dir_fd) == 0 ? 0 : -1;
        /* the pages, clean now, leave the page cache, as img-rest's do after
         * their job: the next uploads' writes then need no reclaim */
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    }
    close(fd);
    return rc;
}

/* The Content-Length value at cl: digits only, up to the line's end; -1
 * for anything else. */
static long long s_length(const char *cl)
{
    char *end;
    errno = 0;
    long long n = strtoll(cl, &end, 10);
    while (*end == ' ' || *end == '\t')
        end++;
    return end == cl || errno || n < 0 || (*end != '\r' && *end != '\0') ? -1 : n;
}

/* Drops the first n bytes of c->head: what follows is the next request's. */
static void s_consume_head(conn_t *c, size_t n)
{
    memmove(c->head, c->head + n, c->have - n);
    c->have -= n;
}

/* One request whose head (head_len bytes) is in c->head. 0 to go on with
 * the connection, -1 to close it. */
static int s_request(conn_t *c, size_t head_len)
{
    char saved = c->head[head_len];
    c->head[head_len] = '\0';
    bool is_post = strncmp(c->head, "POST ", 5) == 0;
    bool is_health = strncmp(c->head, "GET /health ", 12) == 0;
    const char *te = s_header(c->head, "Transfer-Encoding");
    const char *cl = s_header(c->head, "Content-Length");
    const char *conn = s_header(c->head, "Connection");
    bool close_it = conn && strncasecmp(conn, "close", 5) == 0;
    long long length = cl ? s_length(cl) : 0;
    c->head[head_len] = saved;
    if (is_health) {
        s_consume_head(c, head_len);
        return s_answer(c, 200, "OK", "{\"status\":\"ok\"}", close_it);
    }
    if (!is_post)
        return s_answer(c, 405, "Method Not Allowed", "{\"error\":\"POST only\"}", true);
    if (te || !cl)
        return s_answer(c, 411, "Length Required", "{\"error\":\"Content-Length only\"}", true);
    if (length < 0)
        return s_answer(c, 400, "Bad Request", "{\"error\":\"bad Content-Length\"}", true);
    size_t after = c->have - head_len;
    size_t early = (long long)after < length ? after : (size_t)length;
    if (s_store_body(c, c->head + head_len, early, length) < 0)
        return s_answer(c, 500, "Internal Server Error", "{\"error\":\"not stored\"}", true);
    s_consume_head(c, head_len + early);
    char json[64];
    snprintf(json, sizeof json, "{\"bytes\":%lld}", length);
    return s_answer(c, 200, "OK", json, close_it);
}

static void *s_connection(void *arg)
{
    conn_t *c = arg;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (;;) {
        bool failed;
        size_t head_len = s_read_head(c, &failed);
        if (failed)
            s_answer(c, 400, "Bad Request", "{\"error\":\"bad request head\"}", true);
        if (head_len == 0 || s_request(c, head_len) < 0)
            break;
    }
    close(c->fd);
    free(c->buf);
    free(c);
    return NULL;
}

static int s_listen(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 128) < 0)
        s_fail(strerror(errno));
    return fd;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
                                         {"dir", required_argument, NULL, 'd'},
                                         {NULL, 0, NULL, 0}};
    int port = 0, opt;
    const char *dir = NULL;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'p')
            port = atoi(optarg);
        else if (opt == 'd')
            dir = optarg;
        else
            s_fail("usage: bare_receiver --port PORT --dir DIR");
    }
    if (port < 1 || port > 65535 || !dir || optind != argc)
        s_fail("usage: bare_receiver --port PORT --dir DIR");
    int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0)
        s_fail("--dir is not a folder");
    int listener = s_listen(port);
    signal(SIGPIPE, SIG_IGN);
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
                usleep(10000); /* until a connection ends */
            else if (errno != EINTR && errno != ECONNABORTED)
                s_fail(strerror(errno));
            continue;
        }
        conn_t *c = calloc(1, sizeof *c);
        pthread_t thread;
        if (!c || !(c->buf = malloc(READ_SIZE))) {
            free(c);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->dir_fd = dir_fd;
        if (pthread_create(&thread, NULL, s_connection, c) != 0) {
            close(fd);
            free(c->buf);
            free(c);
            continue;
        }
        pthread_detach(thread);
    }
}
