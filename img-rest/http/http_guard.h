/* http_guard — API keys and per-client rate limits, checked before a
 * route's handler runs.
 *
 * Both are off by default. With api_keys set, every route but the open ones
 * (http_routes.c's table says which) needs a key, given as
 * `Authorization: Bearer <key>` or `X-API-Key: <key>` (401 unauthorized
 * otherwise). With rate_limit_per_min > 0, each key (or, without keys, each
 * client address) has a token bucket of that many requests per minute
 * (429 rate_limited with Retry-After when empty). Thread-safe. */
#ifndef IMG_HTTP_GUARD_H
#define IMG_HTTP_GUARD_H

#include "config.h"

#include <civetweb.h>
#include <stdbool.h>

typedef struct http_guard http_guard_t;

/* Caller owns; NULL with img_error (e.g. an empty key in the list). */
http_guard_t *http_guard_new(const img_config_t *cfg);
void http_guard_destroy(http_guard_t **self);

/* open: the route needs no key (nor counts against a rate limit).
 * 0 to go on; -1 with img_error (IMG_E_UNAUTHORIZED or IMG_E_RATE_LIMITED) and,
 * for rate limits, *retry_after_s set. now_ms: a monotonic clock. */
int http_guard_check(http_guard_t *self, struct mg_connection *conn, bool open, long long now_ms,
                     int *retry_after_s);

/* Who sends the request, for its job and its idempotency keys: with API
 * keys on, "key:" and 16 hex digits of the key's SHA-256 (the key itself is
 * never stored); otherwise "addr:" and the client's address. */
void http_guard_client(const http_guard_t *self, struct mg_connection *conn, char *out,
                       size_t size);

/* The same decision from plain values (for tests): key may be NULL. */
int http_guard_check_values(http_guard_t *self, const char *key, const char *client, bool open,
                            long long now_ms, int *retry_after_s);

#endif
