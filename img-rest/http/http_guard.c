#include "http_guard.h"

#include "img_error.h"
#include "str_list.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_KEYS 64
#define KEY_MAX 128
#define BUCKETS 4096 /* distinct clients tracked; the least recently seen is reused */

/* Tokens are counted in credits, 1/60000 of a token, so that the refill
 * (per_min credits a millisecond) is exact integer arithmetic. */
#define CREDITS_PER_TOKEN 60000LL

typedef struct {
    char who[KEY_MAX];
    long long credits;
    long long updated_ms;
} bucket_t;

struct http_guard {
    char keys[MAX_KEYS][KEY_MAX];
    int n_keys;
    int per_min;
    pthread_mutex_t lock;
    bucket_t *buckets;
};

static int s_parse_keys(http_guard_t *self, const char *list)
{
    str_list_t it;
    const char *key;
    size_t len;
    str_list_begin(&it, list);
    while (str_list_next(&it, &key, &len)) {
        if (len == 0 || len >= KEY_MAX || self->n_keys == MAX_KEYS) {
            img_error_set(IMG_E_CONFIG,
                          "api_keys: keys must be 1 to %d characters, at "
                          "most %d keys",
                          KEY_MAX - 1, MAX_KEYS);
            return -1;
        }
        memcpy(self->keys[self->n_keys], key, len);
        self->keys[self->n_keys++][len] = '\0';
    }
    return 0;
}

http_guard_t *http_guard_new(const img_config_t *cfg)
{
    http_guard_t *self = calloc(1, sizeof *self);
    if (!self || !(self->buckets = calloc(BUCKETS, sizeof *self->buckets))) {
        free(self);
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return NULL;
    }
    self->per_min = cfg->rate_limit_per_min;
    pthread_mutex_init(&self->lock, NULL);
    if (s_parse_keys(self, cfg->api_keys) < 0) {
        http_guard_destroy(&self);
        return NULL;
    }
    return self;
}

void http_guard_destroy(http_guard_t **pself)
{
    if (!pself || !*pself)
        return;
    pthread_mutex_destroy(&(*pself)->lock);
    free((*pself)->buckets);
    free(*pself);
    *pself = NULL;
}

/* Compares without leaking the position of the first difference through timing. */
static bool s_equal_ct(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

static bool s_key_known(const http_guard_t *self, const char *key)
{
    bool found = false;
    for (int i = 0; i < self->n_keys; i++)
        found |= s_equal_ct(key, self->keys[i]);
    return found;
}

/* Takes a token from who's bucket; -1 and the wait in seconds when empty. */
static int s_take_token(http_guard_t *self, const char *who, long long now_ms, int *retry_after)
{
    pthread_mutex_lock(&self->lock);
    bucket_t *b = NULL, *oldest = &self->buckets[0];
    for (int i = 0; i < BUCKETS && !b; i++) {
        bucket_t *c = &self->buckets[i];
        if (c->who[0] && strncmp(c->who, who, sizeof c->who - 1) == 0)
            b = c;
        else if (c->updated_ms < oldest->updated_ms)
            oldest = c;
    }
    long long full = self->per_min * CREDITS_PER_TOKEN;
    if (!b) {
        b = oldest;
        snprintf(b->who, sizeof b->who, "%s", who);
        b->credits = full;
        b->updated_ms = now_ms;
    }
    if (now_ms > b->updated_ms) { /* a clock going back adds nothing */
        long long elapsed = now_ms - b->updated_ms;
        b->credits = elapsed >= CREDITS_PER_TOKEN ? full : b->credits + elapsed * self->per_min;
        if (b->credits > full)
            b->credits = full;
        b->updated_ms = now_ms;
    }
    int rc = 0;
    if (b->credits >= CREDITS_PER_TOKEN) {
        b->credits -= CREDITS_PER_TOKEN;
    } else {
        /* Milliseconds until one token, rounded up to whole seconds. */
        long long wait_ms = (CREDITS_PER_TOKEN - b->credits + self->per_min - 1) / self->per_min;
        *retry_after = (int)((wait_ms + 999) / 1000);
        if (*retry_after < 1)
            *retry_after = 1;
        rc = -1;
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

int http_guard_check_values(http_guard_t *self, const char *key, const char *client, bool open,
                            long long now_ms, int *retry_after_s)
{
    if (open)
        return 0;
    if (self->n_keys > 0 && (!key || !s_key_known(self, key))) {
        img_error_set(IMG_E_UNAUTHORIZED, key ? "the API key is not valid"
                                              : "an API key is required (Authorization: "
                                                "Bearer <key> or X-API-Key)");
        return -1;
    }
    if (self->per_min > 0 &&
        s_take_token(self, self->n_keys > 0 ? key : client, now_ms, retry_after_s) < 0) {
        img_error_set(IMG_E_RATE_LIMITED, "more than %d requests a minute; retry in %d s",
                      self->per_min, *retry_after_s);
        return -1;
    }
    return 0;
}

/* The key a request gives, or NULL. */
static const char *s_key_of(struct mg_connection *conn)
{
    const char *key = mg_get_header(conn, "X-API-Key");
    const char *auth = mg_get_header(conn, "Authorization");
    if (!key && auth && strncasecmp(auth, "Bearer ", 7) == 0)
        key = auth + 7;
    return key;
}

void http_guard_client(const http_guard_t *self, struct mg_connection *conn, char *out, size_t size)
{
    const char *key = s_key_of(conn);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (self->n_keys > 0 && key && EVP_Digest(key, strlen(key), digest, &n, EVP_sha256(), NULL) &&
        n >= 8) {
        snprintf(out, size, "key:%02x%02x%02x%02x%02x%02x%02x%02x", digest[0], digest[1], digest[2],
                 digest[3], digest[4], digest[5], digest[6], digest[7]);
        return;
    }
    snprintf(out, size, "addr:%s", mg_get_request_info(conn)->remote_addr);
}

int http_guard_check(http_guard_t *self, struct mg_connection *conn, bool open, long long now_ms,
                     int *retry_after_s)
{
    const char *key = s_key_of(conn);
    return http_guard_check_values(self, key, mg_get_request_info(conn)->remote_addr, open, now_ms,
                                   retry_after_s);
}
