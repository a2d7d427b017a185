/* http_router — maps a request's path and method to its handler.
 *
 * Routes: GET / | /openapi.json | /static/<file> | /health | /ready |
 * /metrics | /jobs | /jobs/<id>; DELETE /jobs/<id>; POST /<op>;
 * GET /<op>/status/<id> | /<op>/<id>, for every registered operation.
 * A known path with another method answers 405 with Allow; anything else
 * 404. Every answer is counted in the metrics. */
#ifndef IMG_HTTP_ROUTER_H
#define IMG_HTTP_ROUTER_H

#include <civetweb.h>

/* civetweb request handler; cbdata is the rest_app_t. Returns the status sent. */
int http_router_handle(struct mg_connection *conn, void *cbdata);

#endif
