#include "http_reply.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool s_etag_matches(struct mg_connection *conn, const char *etag)
{
    const char *inm = mg_get_header(conn, "If-None-Match");
    return etag && inm && (strstr(inm, etag) != NULL || strcmp(inm, "*") == 0);
}

static int s_not_modified(struct mg_connection *conn, const char *headers)
{
    mg_printf(conn, "HTTP/1.1 304 Not Modified\r\nConnection: close\r\n%s\r\n", headers);
    return 304;
}

static int s_send(struct mg_connection *conn, int status, const char *content_type,
                  const char *extra, const char *body, size_t len)
{
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\n"
              "Content-Type: %s\r\n"
              "Content-Length: %zu\r\n"
              "Cache-Control: no-store\r\n"
              "X-Content-Type-Options: nosniff\r\n"
              "Connection: close\r\n"
              "%s\r\n",
              status, mg_get_response_code_text(conn, status), content_type, len,
              extra ? extra : "");
    if (len && strcmp(mg_get_request_info(conn)->request_method, "HEAD") != 0)
        mg_write(conn, body, len);
    return status;
}

int http_reply_json_etag(struct mg_connection *conn, const json_t *body, const char *etag)
{
    char headers[160];
    snprintf(headers, sizeof headers, "ETag: %s\r\n", etag);
    if (s_etag_matches(conn, etag))
        return s_not_modified(conn, headers);
    return http_reply_json(conn, 200, body, headers);
}

int http_reply_text(struct mg_connection *conn, int status, const char *content_type,
                    const char *text, size_t len)
{
    return s_send(conn, status, content_type, NULL, text, len);
}

int http_reply_json(struct mg_connection *conn, int status, const json_t *body,
                    const char *extra_headers)
{
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text)
        return s_send(conn, 500, "application/json; charset=utf-8", NULL,
                      "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}", 55);
    int rc =
        s_send(conn, status, "application/json; charset=utf-8", extra_headers, text, strlen(text));
    free(text);
    return rc;
}

int http_reply_error(struct mg_connection *conn, img_errcode_t code, const char *message,
                     const char *extra_headers)
{
    const char *name = img_error_code_name(code);
    if (!name || code == IMG_E_NONE) {
        code = IMG_E_INTERNAL;
        name = img_error_code_name(code);
    }
    json_t *body = json_pack("{s:{s:s, s:s}}", "error", "code", name, "message",
                             message && *message ? message : "internal error");
    int rc = http_reply_json(conn, img_error_http_status(code), body, extra_headers);
    json_decref(body);
    return rc;
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

int http_reply_file(struct mg_connection *conn, const char *path, const char *mime,
                    const char *etag, const char *extra_headers)
{
    char headers[512];
    snprintf(headers, sizeof headers, "%s%s%s%s", etag ? "ETag: " : "", etag ? etag : "",
             etag ? "\r\n" : "", extra_headers ? extra_headers : "");
    if (s_etag_matches(conn, etag))
        return s_not_modified(conn, headers);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return http_reply_error(conn, IMG_E_NOT_FOUND, "the file is not there", NULL);
    }
    mg_printf(conn,
              "HTTP/1.1 200 OK\r\n"
              "Content-Type: %s\r\n"
              "Content-Length: %lld\r\n"
              "X-Content-Type-Options: nosniff\r\n"
              "Connection: close\r\n"
              "%s\r\n",
              mime, (long long)st.st_size, headers);
    /* civetweb threads have small stacks: the copy buffer lives on the heap */
    char *buf = malloc(65536);
    if (buf && strcmp(mg_get_request_info(conn)->request_method, "HEAD") != 0) {
        ssize_t n;
        while ((n = read(fd, buf, 65536)) > 0)
            if (mg_write(conn, buf, (size_t)n) <= 0)
                break;
    }
    free(buf);
    close(fd);
    return 200;
}
