#include "http_server.h"

#include "http_cors.h"
#include "http_reply.h"
#include "http_routes.h"
#include "img_error.h"
#include "log.h"

#include <civetweb.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct http_server {
    struct mg_context *ctx;
    const rest_app_t *app;
    atomic_int connections; /* open: each holds one of civetweb's threads */
    int keep_alive_max;     /* past this many, answers close their connection */
};

/* civetweb's user data: the server. */
static http_server_t *s_server_of(const struct mg_connection *conn)
{
    return mg_get_user_data(mg_get_context(conn));
}

/* Every request, from the first one: no handler registered after the
 * server started (a request in between would be civetweb's own 404). */
static int s_begin_request(struct mg_connection *conn)
{
    http_server_t *self = s_server_of(conn);
    bool keep = atomic_load(&self->connections) <= self->keep_alive_max;
    return http_routes_handle(conn, self->app, keep);
}

static int s_http_error(struct mg_connection *conn, int status, const char *message)
{
    http_routes_refuse(conn, s_server_of(conn)->app, status, message);
    return 0; /* answered */
}

static int s_connection_open(const struct mg_connection *conn, void **data)
{
    (void)data;
    atomic_fetch_add(&s_server_of(conn)->connections, 1);
    return 0;
}

static void s_connection_close(const struct mg_connection *conn)
{
    atomic_fetch_sub(&s_server_of(conn)->connections, 1);
}

/* A connection reaches civetweb (and takes a thread) only once its client
 * has sent something (TCP_DEFER_ACCEPT on each listening socket of port):
 * connections that stay silent wait in the kernel, not on a thread. Best
 * effort: without it, they hold a thread until http_timeout_ms. */
static void s_defer_accept(int port, int seconds)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name), listening = 0;
        socklen_t len = sizeof listening;
        struct sockaddr_storage addr;
        socklen_t alen = sizeof addr;
        if (fd <= 2 || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
            !listening || getsockname(fd, (struct sockaddr *)&addr, &alen) != 0)
            continue;
        int bound = addr.ss_family == AF_INET    ? ntohs(((struct sockaddr_in *)&addr)->sin_port)
                    : addr.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&addr)->sin6_port)
                                                 : -1;
        if (bound == port &&
            setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof seconds) != 0)
            log_warn("http: cannot defer accepting on port %d", port);
    }
    if (d)
        closedir(d);
}

static int s_log_message(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    log_warn("http: %s", message);
    return 1;
}

http_server_t *http_server_new(const rest_app_t *app)
{
    const img_config_t *cfg = app->cfg;
    char threads[16], timeout[16], idle[16], queue[16];
    if (!http_cors_valid(cfg->cors_origins)) {
        img_error_set(IMG_E_CONFIG,
                      "cors_origins must be empty, * or a comma list of http(s) "
                      "origins, not '%s'",
                      cfg->cors_origins);
        return NULL;
    }
    /* event streams hold a thread each for their whole life: they get their
     * own, so that open streams never take the threads requests need */
    snprintf(threads, sizeof threads, "%d", cfg->http_threads + cfg->max_event_streams);
    snprintf(timeout, sizeof timeout, "%d", cfg->http_timeout_ms);
    snprintf(idle, sizeof idle, "%d", cfg->keep_alive_timeout_ms);
    snprintf(queue, sizeof queue, "%d", cfg->http_threads);
    const char *options[] = {"listening_ports", cfg->http_listen, "num_threads", threads,
                             "request_timeout_ms", timeout, "enable_directory_listing", "no",
                             /* the router decodes each path segment itself */
                             "decode_url", "no",
                             /* persistent connections; an idle one is closed after
                              * keep_alive_timeout_ms (http_reply: an unread body closes) */
                             "enable_keep_alive", cfg->keep_alive_timeout_ms > 0 ? "yes" : "no",
                             "keep_alive_timeout_ms", idle, "connection_queue", queue,
                             "linger_timeout_ms", "1000",
                             /* an answer's head and body go out at once: with Nagle's
                              * algorithm, the body waited for the client's delayed
                              * ACK (40 ms per answer) */
                             "tcp_nodelay", "1",
                             /* CORS is ours (http_cors): civetweb's own is off */
                             "access_control_allow_origin", "", "access_control_allow_methods", "",
                             "access_control_allow_headers", "", NULL};
    http_server_t *self = calloc(1, sizeof *self);
    if (!self) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return NULL;
    }
    self->app = app;
    /* a quarter of the request threads (at least 2) is kept for new
     * clients: idle persistent connections never take them all */
    int reserve = cfg->http_threads / 4 > 2 ? cfg->http_threads / 4 : 2;
    self->keep_alive_max = cfg->http_threads + cfg->max_event_streams - reserve;
    struct mg_callbacks callbacks;
    memset(&callbacks, 0, sizeof callbacks);
    callbacks.log_message = s_log_message;
    callbacks.begin_request = s_begin_request;
    callbacks.http_error = s_http_error;
    callbacks.init_connection = s_connection_open;
    callbacks.connection_close = s_connection_close;
    mg_init_library(0);
    self->ctx = mg_start(&callbacks, self, options);
    if (!self->ctx) {
        img_error_set(IMG_E_INTERNAL, "cannot listen on %s", cfg->http_listen);
        free(self);
        mg_exit_library();
        return NULL;
    }
    s_defer_accept(http_server_port(self), cfg->http_timeout_ms / 1000);
    return self;
}

int http_server_port(const http_server_t *self)
{
    struct mg_server_port ports[4];
    int n = mg_get_server_ports(self->ctx, 4, ports);
    return n > 0 ? ports[0].port : -1;
}

void http_server_destroy(http_server_t **pself)
{
    if (!pself || !*pself)
        return;
    mg_stop((*pself)->ctx);
    mg_exit_library();
    free(*pself);
    *pself = NULL;
}
