#include "webhooks.h"

#include "img_error.h"
#include "job.h"
#include "log.h"
#include "webhook_secret.h"
#include "webhook_target.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define BATCH 16
#define CALL_TIMEOUT_MS 10000
#define LEASE_MS 60000 /* no other replica takes a claimed delivery for this long */
#define IDLE_MS 1000   /* the outbox is looked at least this often */
#define BACKOFF_CAP_MS (15 * 60 * 1000)
#define POLL_MS 200 /* while calls are in flight */
#define DUE_MAX 64  /* retries remembered to wake for on time; more wait for the next look */

/* One call in flight. */
typedef struct call {
    job_delivery_t d;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    char host[256];
    const char *allow;
    struct call *next; /* in webhooks.calls */
} call_t;

struct webhooks {
    const img_config_t *cfg;
    job_store_t *store;
    char secret[WEBHOOK_SECRET_MAX];
    CURLM *multi;
    call_t *calls;        /* in flight; the thread's own */
    int64_t due[DUE_MAX]; /* when retries it scheduled are due (0: free); the thread's own */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop, woken;
};

/* ---- one call ---- */

/* libcurl's socket opener: refuses an address webhook_target does not allow. */
static curl_socket_t s_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
    const call_t *c = arg;
    (void)purpose;
    if (!webhook_target_addr_ok(&addr->addr, c->host, c->allow)) {
        log_warn("webhooks: job %s: %s resolves to a refused address; not called", c->d.id,
                 c->host);
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype, addr->protocol);
}

static size_t s_discard(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n;
}

static void s_call_free(call_t *c)
{
    if (!c)
        return;
    curl_slist_free_all(c->headers);
    if (c->easy)
        curl_easy_cleanup(c->easy);
    free(c->body);
    free(c);
}

/* The host of the call's URL, for the address check. */
static void s_host(call_t *c)
{
    CURLU *u = curl_url();
    char *host = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, c->d.url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        size_t n = strlen(host);
        bool bracketed = n > 1 && host[0] == '[' && host[n - 1] == ']';
        snprintf(c->host, sizeof c->host, "%.*s", (int)(bracketed ? n - 2 : n),
                 bracketed ? host + 1 : host);
    }
    curl_free(host);
    curl_url_cleanup(u);
}

static int s_headers(webhooks_t *self, call_t *c, const job_t *job)
{
    char line[1024], signature[160];
    long long t = (long long)time(NULL);
    if (webhook_secret_sign(self->secret, t, c->body, signature, sizeof signature) < 0)
        return -1;
    const char *event = job->status == JOB_COMPLETE ? "job.complete" : "job.failed";
    const char *lines[] = {"Content-Type: application/json; charset=utf-8",
                           NULL,
                           NULL,
                           NULL,
                           "User-Agent: img-rest",
                           "Expect:"};
    char ev[64], sig[200], rid[200];
    snprintf(ev, sizeof ev, "X-Img-Event: %s", event);
    snprintf(sig, sizeof sig, "X-Img-Signature: %s", signature);
    snprintf(rid, sizeof rid, "X-Request-Id: %s", job->request_id[0] ? job->request_id : job->id);
    lines[1] = ev, lines[2] = sig, lines[3] = rid;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        snprintf(line, sizeof line, "%s", lines[i]);
        struct curl_slist *grown = curl_slist_append(c->headers, line);
        if (!grown)
            return -1;
        c->headers = grown;
    }
    return 0;
}

/* A call for delivery d, or NULL (the job is gone: nothing to deliver). */
static call_t *s_call_new(webhooks_t *self, const job_delivery_t *d)
{
    job_t job;
    if (job_store_get(self->store, d->id, &job) < 0)
        return NULL;
    call_t *c = calloc(1, sizeof *c);
    json_t *status = job_to_json(&job);
    if (c) {
        c->d = *d;
        c->allow = self->cfg->webhook_allow;
        c->body = json_dumps(status, JOB_JSON_FLAGS);
        c->easy = curl_easy_init();
        s_host(c);
    }
    json_decref(status);
    if (!c || !c->body || !c->easy || s_headers(self, c, &job) < 0) {
        job_clear(&job);
        s_call_free(c);
        return NULL;
    }
    job_clear(&job);
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, c->d.url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    /* straight to the target: through a proxy (http_proxy in the
     * environment), the address checked at connect time would be the proxy's */
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)CALL_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, s_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, c);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_discard);
    curl_easy_setopt(e, CURLOPT_PRIVATE, c);
    return c;
}

/* The wait before try `attempts` + 1: 1 s, 2 s, 4 s, ... +-20 %. */
static int64_t s_backoff_ms(int attempts)
{
    int64_t base = attempts < 20 ? 1000LL << attempts : BACKOFF_CAP_MS;
    if (base > BACKOFF_CAP_MS)
        base = BACKOFF_CAP_MS;
    unsigned int r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (unsigned int)time(NULL);
    return base * 8 / 10 + (int64_t)(r % (unsigned int)(base * 4 / 10 + 1));
}

/* Remembers that a retry is due at `at`, so that the thread wakes for it
 * then rather than at its next look at the outbox (the back-off would be
 * rounded up to IDLE_MS). When full, the latest is forgotten. */
static void s_due_add(webhooks_t *self, int64_t at)
{
    int latest = 0;
    for (int i = 0; i < DUE_MAX; i++) {
        if (self->due[i] == 0) {
            self->due[i] = at;
            return;
        }
        if (self->due[i] > self->due[latest])
            latest = i;
    }
    if (at < self->due[latest])
        self->due[latest] = at;
}

/* Forgets the retries due by `claimed` (the outbox was just claimed then). */
static void s_due_forget(webhooks_t *self, int64_t claimed)
{
    for (int i = 0; i < DUE_MAX; i++)
        if (self->due[i] <= claimed)
            self->due[i] = 0;
}

/* The time to wait, at most cap ms: until the next retry remembered. */
static int s_due_wait_ms(const webhooks_t *self, int cap)
{
    int64_t now = job_now_ms(), wait = cap;
    for (int i = 0; i < DUE_MAX; i++)
        if (self->due[i] && self->due[i] - now < wait)
            wait = self->due[i] - now;
    return wait > 0 ? (int)wait : 0;
}

/* Records how call c ended. */
static void s_record(webhooks_t *self, call_t *c, CURLcode result)
{
    long status = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    bool delivered = result == CURLE_OK && status >= 200 && status < 300;
    int attempts = c->d.attempts + 1;
    bool last = !delivered && attempts >= self->cfg->webhook_max_attempts;
    int64_t retry_at = delivered || last ? 0 : job_now_ms() + s_backoff_ms(c->d.attempts);
    if (job_store_outbox_record(self->store, c->d.id, (int)status, delivered, retry_at) < 0)
        log_error("webhooks: %s", img_error_message());
    else if (retry_at)
        s_due_add(self, retry_at);
    log_msg(delivered ? IMG_LOG_INFO : IMG_LOG_WARN, "webhooks: job %s: call %d to %s %s (%s)",
            c->d.id, attempts, c->host,
            delivered ? "delivered"
            : last    ? "failed for good"
                      : "failed, will retry",
            result == CURLE_OK ? "answered" : curl_easy_strerror(result));
}

/* ---- the thread ---- */

static int s_start_due(webhooks_t *self)
{
    job_delivery_t due[BATCH];
    int64_t now = job_now_ms();
    int n = job_store_outbox_claim(self->store, now, now + LEASE_MS, due, BATCH);
    s_due_forget(self, now);
    if (n < 0)
        log_error("webhooks: %s", img_error_message());
    for (int i = 0; i < n; i++) {
        call_t *c = s_call_new(self, &due[i]);
        if (c && curl_multi_add_handle(self->multi, c->easy) != CURLM_OK) {
            s_call_free(c);
            c = NULL;
        }
        if (c) {
            c->next = self->calls;
            self->calls = c;
        }
        if (!c) /* a job deleted meanwhile, or no memory: the lease lapses, or it is gone */
            log_warn("webhooks: job %s: cannot start its call now", due[i].id);
    }
    return n < 0 ? 0 : n;
}

static void s_finish_calls(webhooks_t *self)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(self->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        call_t *c = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        CURLcode result = m->data.result;
        curl_multi_remove_handle(self->multi, m->easy_handle);
        s_record(self, c, result);
        for (call_t **at = &self->calls; *at; at = &(*at)->next)
            if (*at == c) {
                *at = c->next;
                break;
            }
        s_call_free(c);
    }
}

/* Sleeps until woken, stopped, or timeout_ms; true if it should stop. */
static bool s_idle(webhooks_t *self, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    long long ns = until.tv_nsec + timeout_ms * 1000000LL;
    until.tv_sec += ns / 1000000000LL;
    until.tv_nsec = ns % 1000000000LL;
    pthread_mutex_lock(&self->lock);
    while (!self->stop && !self->woken &&
           pthread_cond_timedwait(&self->wake, &self->lock, &until) == 0)
        ;
    self->woken = false;
    bool stop = self->stop;
    pthread_mutex_unlock(&self->lock);
    return stop;
}

static void *s_run(void *arg)
{
    webhooks_t *self = arg;
    for (;;) {
        int running = 0;
        s_start_due(self);
        curl_multi_perform(self->multi, &running);
        s_finish_calls(self);
        if (running > 0) {
            curl_multi_poll(self->multi, NULL, 0, s_due_wait_ms(self, POLL_MS), NULL);
            pthread_mutex_lock(&self->lock);
            bool stop = self->stop;
            pthread_mutex_unlock(&self->lock);
            if (stop)
                break;
        } else if (s_idle(self, s_due_wait_ms(self, IDLE_MS))) {
            break;
        }
    }
    return NULL;
}

webhooks_t *webhooks_new(const img_config_t *cfg, job_store_t *store)
{
    if (!webhook_target_allow_valid(cfg->webhook_allow)) {
        img_error_set(IMG_E_CONFIG, "webhook_allow must list host names and CIDRs, not '%s'",
                      cfg->webhook_allow);
        return NULL;
    }
    webhooks_t *self = calloc(1, sizeof *self);
    if (!self) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->store = store;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->wake, NULL);
    if (webhook_secret_load(cfg, self->secret) < 0)
        goto fail;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(self->multi = curl_multi_init())) {
        img_error_set(IMG_E_INTERNAL, "cannot start libcurl");
        goto fail;
    }
    if (pthread_create(&self->thread, NULL, s_run, self) != 0) {
        img_error_set(IMG_E_INTERNAL, "cannot start the webhooks thread");
        goto fail;
    }
    return self;
fail:
    if (self->multi)
        curl_multi_cleanup(self->multi);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self);
    return NULL;
}

void webhooks_wake(webhooks_t *self)
{
    pthread_mutex_lock(&self->lock);
    self->woken = true;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
}

void webhooks_destroy(webhooks_t **pself)
{
    if (!pself || !*pself)
        return;
    webhooks_t *self = *pself;
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    curl_multi_wakeup(self->multi);
    pthread_join(self->thread, NULL);
    /* calls still in flight: their leases lapse, a later run makes them again */
    for (call_t *c = self->calls, *next; c; c = next) {
        next = c->next;
        curl_multi_remove_handle(self->multi, c->easy);
        s_call_free(c);
    }
    curl_multi_cleanup(self->multi);
    curl_global_cleanup();
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *pself = NULL;
}
