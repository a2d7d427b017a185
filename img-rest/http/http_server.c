#include "http_server.h"

#include "http_cors.h"
#include "http_reply.h"
#include "http_routes.h"
#include "img_error.h"
#include "log.h"

#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct http_server {
    struct mg_context *ctx;
};

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
                             /* CORS is ours (http_cors): civetweb's own is off */
                             "access_control_allow_origin", "", "access_control_allow_methods", "",
                             "access_control_allow_headers", "", NULL};
    http_server_t *self = calloc(1, sizeof *self);
    if (!self) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return NULL;
    }
    struct mg_callbacks callbacks;
    memset(&callbacks, 0, sizeof callbacks);
    callbacks.log_message = s_log_message;
    callbacks.http_error = http_reply_civetweb_error;
    mg_init_library(0);
    self->ctx = mg_start(&callbacks, NULL, options);
    if (!self->ctx) {
        img_error_set(IMG_E_INTERNAL, "cannot listen on %s", cfg->http_listen);
        free(self);
        mg_exit_library();
        return NULL;
    }
    mg_set_request_handler(self->ctx, "/", http_routes_handle, (void *)app);
    return self;
}

int http_server_port(http_server_t *self)
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
