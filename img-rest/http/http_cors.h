/* http_cors — which browser origins may read img-rest's answers.
 *
 * cors_origins is empty (no CORS headers: same-origin use only), `*` (any
 * origin), or a comma list of origins ("https://app.example.com"). For an
 * allowed Origin every answer, errors included, carries
 * Access-Control-Allow-Origin and Access-Control-Expose-Headers, and a
 * preflight OPTIONS is answered 204 with the allowed methods and headers.
 */
#ifndef IMG_HTTP_CORS_H
#define IMG_HTTP_CORS_H

#include <stdbool.h>

/* The headers a browser may send and read (API.md, CORS). */
#define HTTP_CORS_ALLOW_HEADERS                                                                    \
    "Authorization, X-API-Key, Content-Type, Idempotency-Key, X-Request-Id"
#define HTTP_CORS_EXPOSE_HEADERS                                                                   \
    "Location, Retry-After, ETag, X-Request-Id, Idempotent-Replayed, Allow"

/* The value of Access-Control-Allow-Origin for a request's Origin header
 * (NULL: none) under the cors_origins setting list: "*", the origin itself,
 * or NULL when it is not allowed (or CORS is off). */
const char *http_cors_allow(const char *list, const char *origin);

/* True if list is a valid cors_origins setting ("", "*", or origins). */
bool http_cors_valid(const char *list);

#endif
