/* http_exchange — one request and its answer, as every part of the HTTP
 * layer sees it.
 *
 * The route table begins an exchange for each request (on its stack) and
 * ends it once the handler has answered; in between, the exchange is found
 * from the connection. It holds the request id (the client's X-Request-Id
 * when it is 1-128 visible ASCII characters, otherwise a new one), the CORS
 * origin to allow, how much of the request body the handler read, and what
 * was answered (status, body bytes), for the access log and the metrics.
 */
#ifndef IMG_HTTP_EXCHANGE_H
#define IMG_HTTP_EXCHANGE_H

#include <civetweb.h>
#include <stdbool.h>

#define HTTP_REQUEST_ID_MAX 129

typedef struct {
    char request_id[HTTP_REQUEST_ID_MAX];
    const char *cors_origin; /* Access-Control-Allow-Origin's value, or NULL */
    bool vary_origin;        /* the answer depends on Origin (a list of origins) */
    const char *route;       /* the matched route's pattern, or "-" */
    double started;          /* monotonic seconds */
    long long body_read;     /* request body bytes the handler read */
    bool body_done;          /* the handler read the body to its end */
    int status;              /* the answer's status (0: none yet) */
    const char *error_code;  /* an error answer's code, or NULL */
    long long bytes;         /* the answer's body bytes */
    bool close;              /* the answer closes the connection */
} http_exchange_t;

/* Begins ex for conn's current request; cors_origins is the setting. */
void http_exchange_begin(http_exchange_t *ex, struct mg_connection *conn, const char *cors_origins);
/* Ends it: the connection no longer points at ex. */
void http_exchange_end(http_exchange_t *ex, struct mg_connection *conn);

/* The exchange of conn's current request, or NULL outside one (an error
 * civetweb answers itself, before any route). */
http_exchange_t *http_exchange_of(const struct mg_connection *conn);

/* Seconds on the monotonic clock. */
double http_exchange_now(void);

#endif
