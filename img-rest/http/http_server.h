/* http_server — civetweb, configured and bounded: listening ports, a fixed
 * number of worker threads, a request timeout, no directory listing, no
 * file serving of its own (every path goes through http_router). */
#ifndef IMG_HTTP_SERVER_H
#define IMG_HTTP_SERVER_H

#include "rest_app.h"

typedef struct http_server http_server_t;

/* Starts serving; app is not owned and must outlive the server. NULL with img_error. */
http_server_t *http_server_new(const rest_app_t *app);

/* Stops accepting, lets requests in progress finish, frees. */
void http_server_destroy(http_server_t **self);

/* The first listening port (useful when configured as 0). */
int http_server_port(http_server_t *self);

#endif
