/* http_reply — every answer img-rest sends goes through these. JSON bodies
 * are application/json; charset=utf-8 with a Content-Length; errors have the
 * contract's {"error": {"code", "message"}} form. Each returns the status
 * it sent, so handlers can `return http_reply_...(...)`. */
#ifndef IMG_HTTP_REPLY_H
#define IMG_HTTP_REPLY_H

#include "img_error.h"

#include <civetweb.h>
#include <jansson.h>

/* Sends body (not stolen) with status and extra header lines (each ending
 * "\r\n"; NULL for none). */
int http_reply_json(struct mg_connection *conn, int status, const json_t *body,
                    const char *extra_headers);

/* 200 with body and an ETag, or 304 if If-None-Match has it (a finished
 * job's JSON result, which never changes). */
int http_reply_json_etag(struct mg_connection *conn, const json_t *body, const char *etag);

/* Error with an explicit code and message. */
int http_reply_error(struct mg_connection *conn, img_errcode_t code, const char *message,
                     const char *extra_headers);

/* Error from this thread's img_error (code and message). */
int http_reply_img_error(struct mg_connection *conn, const char *extra_headers);

/* 405 with the Allow header. */
int http_reply_method_not_allowed(struct mg_connection *conn, const char *allow);

/* Sends a file with Content-Type mime and optional ETag (304 if it matches
 * If-None-Match). 404 JSON if it cannot be opened. */
int http_reply_file(struct mg_connection *conn, const char *path, const char *mime,
                    const char *etag, const char *extra_headers);

/* Plain text (metrics). */
int http_reply_text(struct mg_connection *conn, int status, const char *content_type,
                    const char *text, size_t len);

#endif
