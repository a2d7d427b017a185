/* http_reply — every answer img-rest sends goes through these.
 *
 * One place writes the status line and the headers every answer carries:
 * X-Request-Id, the CORS headers for an allowed origin, Connection,
 * Content-Length (streams excepted), X-Content-Type-Options, and the
 * caller's extra lines. JSON bodies are application/json; charset=utf-8;
 * errors have the contract's {"error": {"code", "message"}} form. HEAD gets
 * the headers without the body.
 *
 * Persistent connections: an answer keeps the connection open when the
 * client wants it (HTTP/1.1 by default) and the request's body has been
 * read to its end; a body the handler left unread is drained when small
 * (64 KiB at most), otherwise the answer says `Connection: close` and the
 * connection is closed, so an unread body is never read as the next request.
 *
 * Each function returns the status it sent, so handlers can `return
 * http_reply_...(...)`; extra_headers are whole lines, each ending "\r\n",
 * or NULL.
 */
#ifndef IMG_HTTP_REPLY_H
#define IMG_HTTP_REPLY_H

#include "img_error.h"

#include <civetweb.h>
#include <jansson.h>
#include <stdbool.h>

/* body (not stolen) as JSON. */
int http_reply_json(struct mg_connection *conn, int status, const json_t *body,
                    const char *extra_headers);

/* 200 with body and etag, or 304 if If-None-Match names it. */
int http_reply_json_etag(struct mg_connection *conn, const json_t *body, const char *etag);

/* The error {code, message}, with the code's status. */
int http_reply_error(struct mg_connection *conn, img_errcode_t code, const char *message,
                     const char *extra_headers);

/* The error from this thread's img_error (code and message). */
int http_reply_img_error(struct mg_connection *conn, const char *extra_headers);

/* 405 with the Allow header. */
int http_reply_method_not_allowed(struct mg_connection *conn, const char *allow);

/* An answer without a body: 204, 304. */
int http_reply_empty(struct mg_connection *conn, int status, const char *extra_headers);

/* len bytes of body with content_type. */
int http_reply_bytes(struct mg_connection *conn, int status, const char *content_type,
                     const char *extra_headers, const void *body, size_t len);

/* The file at path with content_type and an ETag (304 if If-None-Match
 * names it); 404 JSON if it cannot be opened. */
int http_reply_file(struct mg_connection *conn, const char *path, const char *content_type,
                    const char *etag, const char *extra_headers);

/* True if the request's If-None-Match names etag (or is "*"). */
bool http_reply_etag_matches(struct mg_connection *conn, const char *etag);

/* Starts a stream of unknown length (Server-Sent Events): 200 with
 * content_type; the body follows with mg_write; the connection closes at its
 * end. */
int http_reply_stream(struct mg_connection *conn, const char *content_type,
                      const char *extra_headers);

/* An error civetweb found itself (a malformed request line or header, a
 * header too large, an invalid Content-Length, bad chunking), answered with
 * the same JSON as ours and closing the connection: civetweb's status,
 * except 400 for its 411 (RFC 9112: an invalid Content-Length is a 400).
 * Returns the status sent. */
int http_reply_civetweb_error(struct mg_connection *conn, int status, const char *message);

#endif
