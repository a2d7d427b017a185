/* http_routes — every route of img-rest, in one table: its path, its
 * handler for each method, and whether it is open without an API key.
 *
 * A path matches segment by segment: a literal, `{op}` (the name of an
 * operation in the catalogue), `{id}` (any segment; handlers validate it) or
 * a final `*` (the rest of the path). One trailing slash is ignored
 * (`POST /resize/` is `POST /resize`). GET routes answer HEAD too. A path
 * that matches with another method answers 405 with Allow; no match, 404.
 * Every request passes the guard (API keys, rate limits) first, and every
 * answer, including civetweb's own refusals, is counted in the metrics and
 * has an access log line.
 */
#ifndef IMG_HTTP_ROUTES_H
#define IMG_HTTP_ROUTES_H

#include "rest_app.h"

#include <civetweb.h>
#include <stdbool.h>

/* Answers conn's request; keep_alive false closes the connection after the
 * answer whatever the client wants (http_server: the threads are short).
 * Returns the status sent. */
int http_routes_handle(struct mg_connection *conn, const rest_app_t *app, bool keep_alive);

/* Answers a request civetweb refused itself (http_reply_civetweb_error),
 * counted and logged as every other. Returns the status sent. */
int http_routes_refuse(struct mg_connection *conn, const rest_app_t *app, int status,
                       const char *message);

#endif
