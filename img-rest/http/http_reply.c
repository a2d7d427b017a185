#define _GNU_SOURCE /* strcasestr */
#include "http_reply.h"

#include "http_cors.h"
#include "http_exchange.h"
#include "job.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define JSON_TYPE "application/json; charset=utf-8"
#define DRAIN_MAX (64 * 1024) /* an unread body up to this is read away, not closed on */
#define COPY_BUF (64 * 1024)

static bool s_is_head(struct mg_connection *conn)
{
    const char *method = mg_get_request_info(conn)->request_method;
    return method && strcmp(method, "HEAD") == 0;
}

static bool s_has_token(const char *header, const char *token)
{
    return header && strcasestr(header, token) != NULL;
}

/* Reads away a small unread request body; false if the connection must
 * close instead (a large or unknown remainder). */
static bool s_settle_body(struct mg_connection *conn, http_exchange_t *ex)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    bool chunked = s_has_token(mg_get_header(conn, "Transfer-Encoding"), "chunked");
    if (ex->body_done || (ri->content_length <= 0 && !chunked))
        return true;
    if (chunked || ri->content_length - ex->body_read > DRAIN_MAX)
        return false;
    char buf[4096];
    int n;
    while ((n = mg_read(conn, buf, sizeof buf)) > 0)
        ex->body_read += n;
    ex->body_done = n == 0;
    return ex->body_done;
}

/* Keep the connection? The client's wish, and a settled body. */
static bool s_keep_alive(struct mg_connection *conn, http_exchange_t *ex)
{
    const char *connection = mg_get_header(conn, "Connection");
    const char *version = mg_get_request_info(conn)->http_version;
    bool wanted = version && strcmp(version, "1.1") == 0 ? !s_has_token(connection, "close")
                                                         : s_has_token(connection, "keep-alive");
    return wanted && ex && !ex->close && s_settle_body(conn, ex);
}

/* civetweb's reason phrase, but for the ones it spells wrong or lacks. */
static const char *s_reason(struct mg_connection *conn, int status)
{
    switch (status) {
    case 422:
        return "Unprocessable Entity";
    case 507:
        return "Insufficient Storage";
    default:
        return mg_get_response_code_text(conn, status);
    }
}

#define BODY_NONE (-1)   /* 204, 304: no body, no Content-Length */
#define BODY_STREAM (-2) /* a stream: no Content-Length, the connection closes at its end */

/* The status line and every common header; length: the body's bytes, or
 * BODY_NONE, BODY_STREAM. */
static void s_head(struct mg_connection *conn, int status, const char *content_type,
                   long long length, const char *extra)
{
    http_exchange_t *ex = http_exchange_of(conn);
    bool keep = length != BODY_STREAM && s_keep_alive(conn, ex);
    if (!keep)
        mg_disable_connection_keep_alive(conn);
    if (ex) {
        ex->status = status;
        ex->close = !keep;
    }
    char length_line[48] = "", type_line[160] = "", cors[256] = "", vary[24] = "";
    if (length >= 0)
        snprintf(length_line, sizeof length_line, "Content-Length: %lld\r\n", length);
    if (content_type)
        snprintf(type_line, sizeof type_line, "Content-Type: %s\r\n", content_type);
    if (ex && ex->cors_origin)
        snprintf(cors, sizeof cors,
                 "Access-Control-Allow-Origin: %s\r\nAccess-Control-Expose-Headers: %s\r\n",
                 ex->cors_origin, HTTP_CORS_EXPOSE_HEADERS);
    /* whatever the Origin, so that a cache never gives one origin's answer to another */
    if (ex && ex->vary_origin)
        snprintf(vary, sizeof vary, "Vary: Origin\r\n");
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\n%s%s"
              "X-Content-Type-Options: nosniff\r\n"
              "X-Request-Id: %s\r\n"
              "%s%s"
              "Connection: %s\r\n"
              "%s\r\n",
              status, s_reason(conn, status), type_line, length_line, ex ? ex->request_id : "-",
              cors, vary, keep ? "keep-alive" : "close", extra ? extra : "");
}

static int s_send(struct mg_connection *conn, int status, const char *content_type,
                  const char *extra, const void *body, size_t len)
{
    s_head(conn, status, content_type, (long long)len, extra);
    if (len && !s_is_head(conn) && mg_write(conn, body, len) > 0) {
        http_exchange_t *ex = http_exchange_of(conn);
        if (ex)
            ex->bytes += (long long)len;
    }
    return status;
}

bool http_reply_etag_matches(struct mg_connection *conn, const char *etag)
{
    const char *inm = mg_get_header(conn, "If-None-Match");
    return etag && inm && (strstr(inm, etag) != NULL || strcmp(inm, "*") == 0);
}

int http_reply_empty(struct mg_connection *conn, int status, const char *extra_headers)
{
    s_head(conn, status, NULL, BODY_NONE, extra_headers);
    return status;
}

int http_reply_bytes(struct mg_connection *conn, int status, const char *content_type,
                     const char *extra_headers, const void *body, size_t len)
{
    return s_send(conn, status, content_type, extra_headers, body, len);
}

int http_reply_json(struct mg_connection *conn, int status, const json_t *body,
                    const char *extra_headers)
{
    char *text = json_dumps(body, JOB_JSON_FLAGS);
    if (!text) {
        static const char oom[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        return s_send(conn, 500, JSON_TYPE, NULL, oom, sizeof oom - 1);
    }
    int rc = s_send(conn, status, JSON_TYPE, extra_headers, text, strlen(text));
    free(text);
    return rc;
}

int http_reply_json_etag(struct mg_connection *conn, const json_t *body, const char *etag)
{
    char headers[200];
    snprintf(headers, sizeof headers, "ETag: %s\r\nCache-Control: private, no-cache\r\n", etag);
    if (http_reply_etag_matches(conn, etag))
        return http_reply_empty(conn, 304, headers);
    return http_reply_json(conn, 200, body, headers);
}

/* The contract's JSON error with code, sent with status (0: the code's own). */
static int s_error(struct mg_connection *conn, int status, img_errcode_t code, const char *message,
                   const char *extra_headers)
{
    const char *name = img_error_code_name(code);
    if (!name || code == IMG_E_NONE || code == IMG_E_CONFIG) {
        code = IMG_E_INTERNAL;
        name = img_error_code_name(code);
    }
    json_t *body = json_pack("{s:{s:s, s:s}}", "error", "code", name, "message",
                             message && *message ? message : "internal error");
    http_exchange_t *ex = http_exchange_of(conn);
    if (ex)
        ex->error_code = name; /* a static string of img_error's table */
    int rc =
        http_reply_json(conn, status ? status : img_error_http_status(code), body, extra_headers);
    json_decref(body);
    return rc;
}

int http_reply_error(struct mg_connection *conn, img_errcode_t code, const char *message,
                     const char *extra_headers)
{
    return s_error(conn, 0, code, message, extra_headers);
}

int http_reply_img_error(struct mg_connection *conn, const char *extra_headers)
{
    return http_reply_error(conn, img_error_code(), img_error_message(), extra_headers);
}

int http_reply_method_not_allowed(struct mg_connection *conn, const char *allow)
{
    char headers[128];
    char message[128];
    snprintf(headers, sizeof headers, "Allow: %s\r\n", allow);
    snprintf(message, sizeof message, "this resource allows %s only", allow);
    return http_reply_error(conn, IMG_E_METHOD_NOT_ALLOWED, message, headers);
}

/* Copies fd's bytes to the connection. */
static void s_copy(struct mg_connection *conn, int fd)
{
    /* civetweb threads have small stacks: the buffer lives on the heap */
    char *buf = malloc(COPY_BUF);
    http_exchange_t *ex = http_exchange_of(conn);
    ssize_t n;
    while (buf && (n = read(fd, buf, COPY_BUF)) > 0) {
        if (mg_write(conn, buf, (size_t)n) <= 0)
            break;
        if (ex)
            ex->bytes += n;
    }
    free(buf);
}

int http_reply_file(struct mg_connection *conn, const char *path, const char *content_type,
                    const char *etag, const char *extra_headers)
{
    char headers[512];
    snprintf(headers, sizeof headers, "%s%s%s%s", etag ? "ETag: " : "", etag ? etag : "",
             etag ? "\r\n" : "", extra_headers ? extra_headers : "");
    if (http_reply_etag_matches(conn, etag))
        return http_reply_empty(conn, 304, headers);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return http_reply_error(conn, IMG_E_NOT_FOUND, "the file is not there", NULL);
    }
    s_head(conn, 200, content_type, (long long)st.st_size, headers);
    if (!s_is_head(conn))
        s_copy(conn, fd);
    close(fd);
    return 200;
}

int http_reply_stream(struct mg_connection *conn, const char *content_type,
                      const char *extra_headers)
{
    s_head(conn, 200, content_type, BODY_STREAM, extra_headers);
    return 200;
}

int http_reply_civetweb_error(struct mg_connection *conn, int status, const char *message)
{
    /* RFC 9112 6.3: an invalid Content-Length is a 400 (civetweb says 411) */
    if (status == 411)
        status = 400;
    img_errcode_t code = IMG_E_BAD_REQUEST;
    switch (status) {
    case 404:
        code = IMG_E_NOT_FOUND;
        break;
    case 405:
        code = IMG_E_METHOD_NOT_ALLOWED;
        break;
    case 413:
        code = IMG_E_PAYLOAD_TOO_LARGE;
        break;
    case 415:
        code = IMG_E_UNSUPPORTED_MEDIA_TYPE;
        break;
    default: /* 505 and civetweb's other refusals are the request's fault */
        code = status >= 500 && status != 505 ? IMG_E_INTERNAL : IMG_E_BAD_REQUEST;
    }
    http_exchange_t *ex = http_exchange_of(conn);
    if (ex)
        ex->close = true;
    return s_error(conn, status, code, message && *message ? message : "the request is malformed",
                   NULL);
}
