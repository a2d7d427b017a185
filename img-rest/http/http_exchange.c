#include "http_exchange.h"

#include "http_cors.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

double http_exchange_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool s_request_id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n >= HTTP_REQUEST_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
            return false;
    return true;
}

/* 32 random hex digits. */
static void s_new_request_id(char out[HTTP_REQUEST_ID_MAX])
{
    unsigned char rnd[16] = {0};
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        memcpy(rnd, &ts, sizeof ts < sizeof rnd ? sizeof ts : sizeof rnd);
    }
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(out + 2 * i, 3, "%02x", rnd[i]);
}

void http_exchange_begin(http_exchange_t *ex, struct mg_connection *conn, const char *cors_origins)
{
    const char *given = mg_get_header(conn, "X-Request-Id");
    memset(ex, 0, sizeof *ex);
    ex->started = http_exchange_now();
    ex->route = "-";
    if (s_request_id_ok(given))
        snprintf(ex->request_id, sizeof ex->request_id, "%s", given);
    else
        s_new_request_id(ex->request_id);
    ex->cors_origin = http_cors_allow(cors_origins, mg_get_header(conn, "Origin"));
    ex->vary_origin = cors_origins && *cors_origins && strcmp(cors_origins, "*") != 0;
    mg_set_user_connection_data(conn, ex);
}

void http_exchange_end(http_exchange_t *ex, struct mg_connection *conn)
{
    (void)ex;
    mg_set_user_connection_data(conn, NULL);
}

http_exchange_t *http_exchange_of(const struct mg_connection *conn)
{
    return conn ? mg_get_user_connection_data(conn) : NULL;
}
