/* http_server — civetweb, configured and bounded: listening ports, a fixed
 * number of worker threads, a request timeout, no directory listing, no
 * file serving of its own (every request, from the first, and every error
 * civetweb finds itself go through http_routes).
 *
 * civetweb gives each open connection a thread for its whole life, so that
 * idle connections never starve other clients: a connection reaches a
 * thread only once its client sent something (TCP_DEFER_ACCEPT, up to
 * http_timeout_ms), and while fewer than a quarter of the threads (at
 * least 2) are free, answers close their connection instead of keeping it
 * for the client's next request. */
#ifndef IMG_HTTP_SERVER_H
#define IMG_HTTP_SERVER_H

#include "rest_app.h"

typedef struct http_server http_server_t;

/* Starts serving; app is not owned and must outlive the server. NULL with img_error. */
http_server_t *http_server_new(const rest_app_t *app);

/* Stops accepting, lets requests in progress finish, frees. */
void http_server_destroy(http_server_t **self);

/* The first listening port (useful when configured as 0). */
int http_server_port(const http_server_t *self);

#endif
