/* http_routes — every route of img-rest, in one table: its path, its
 * handler for each method, and whether it is open without an API key.
 *
 * A path matches segment by segment: a literal, `{op}` (the name of an
 * operation in the catalogue), `{id}` (any segment; handlers validate it) or
 * a final `*` (the rest of the path). One trailing slash is ignored
 * (`POST /resize/` is `POST /resize`). GET routes answer HEAD too. A path
 * that matches with another method answers 405 with Allow; no match, 404.
 * Every request passes the guard (API keys, rate limits) first, and every
 * answer is counted in the metrics.
 */
#ifndef IMG_HTTP_ROUTES_H
#define IMG_HTTP_ROUTES_H

#include <civetweb.h>

/* civetweb request handler; cbdata is the rest_app_t. Returns the status sent. */
int http_routes_handle(struct mg_connection *conn, void *cbdata);

#endif
