#include "broker_link.h"

#include "curve.h"
#include "img_error.h"
#include "log.h"
#include "str_list.h"

#include <stdlib.h>
#include <string.h>

#define MAX_BROKERS 16
#define KEPT_MAX 256 /* completions kept for a move */

typedef struct {
    char *text; /* the encoded `done` */
    size_t len;
    int64_t sent_ms;
} kept_t;

struct broker_link {
    const img_config_t *cfg;
    char name[MSG_ENGINE_MAX];
    char endpoints[MAX_BROKERS][CONFIG_STR_MAX];
    int n_endpoints, current;
    zsock_t *dealer;
    int64_t heard_ms;
    kept_t kept[KEPT_MAX];
    int n_kept;
};

static int s_parse_endpoints(broker_link_t *self)
{
    str_list_t it;
    const char *item;
    size_t len;
    str_list_begin(&it, self->cfg->broker_connect);
    while (str_list_next(&it, &item, &len)) {
        if (len == 0 || len >= CONFIG_STR_MAX || self->n_endpoints == MAX_BROKERS) {
            img_error_set(IMG_E_CONFIG,
                          "broker_connect must list 1 to %d endpoints, comma-separated",
                          MAX_BROKERS);
            return -1;
        }
        memcpy(self->endpoints[self->n_endpoints], item, len);
        self->endpoints[self->n_endpoints++][len] = '\0';
    }
    if (self->n_endpoints == 0) {
        img_error_set(IMG_E_CONFIG, "broker_connect is empty");
        return -1;
    }
    return 0;
}

/* The engine's name picks its first broker: engines spread over replicas. */
static int s_first(const char *name, int n)
{
    unsigned h = 2166136261u;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return (int)(h % (unsigned)n);
}

broker_link_t *broker_link_new(const img_config_t *cfg, const char *name)
{
    broker_link_t *self = calloc(1, sizeof *self);
    if (!self) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    snprintf(self->name, sizeof self->name, "%s", name);
    if (s_parse_endpoints(self) < 0) {
        free(self);
        return NULL;
    }
    self->current = s_first(name, self->n_endpoints);
    return self;
}

void broker_link_destroy(broker_link_t **pself)
{
    if (!pself || !*pself)
        return;
    broker_link_t *self = *pself;
    zsock_destroy(&self->dealer); /* lingers to flush the last messages */
    for (int i = 0; i < self->n_kept; i++)
        free(self->kept[i].text);
    free(self);
    *pself = NULL;
}

/* CURVE client: the broker's public key and this engine's key pair. */
static int s_curve(broker_link_t *self)
{
    const img_config_t *cfg = self->cfg;
    if (!curve_key_valid(cfg->curve_server_public) || !curve_key_valid(cfg->curve_client_public) ||
        !curve_key_valid(cfg->curve_client_secret)) {
        img_error_set(IMG_E_CONFIG, "CURVE needs curve_server_public, curve_client_public "
                                    "and curve_client_secret as Z85 keys");
        return -1;
    }
    zsock_set_curve_serverkey(self->dealer, cfg->curve_server_public);
    zsock_set_curve_publickey(self->dealer, cfg->curve_client_public);
    zsock_set_curve_secretkey(self->dealer, cfg->curve_client_secret);
    return 0;
}

int broker_link_connect(broker_link_t *self, int64_t now_ms)
{
    const char *endpoint = self->endpoints[self->current];
    /* a broker left for silence gets nothing more: what it was owed is
     * resent to the next (the kept completions), and a heartbeat flushed
     * to it later would make it take a gone socket for an engine */
    if (self->dealer)
        zsock_set_linger(self->dealer, 0);
    zsock_destroy(&self->dealer);
    if (!(self->dealer = zsock_new(ZMQ_DEALER))) {
        img_error_set(IMG_E_INTERNAL, "cannot create the ZeroMQ socket");
        return -1;
    }
    zsock_set_identity(self->dealer, self->name);
    if (self->cfg->curve_server_public[0] && s_curve(self) < 0)
        return -1;
    zsock_set_maxmsgsize(self->dealer, self->cfg->max_message_bytes);
    zsock_set_linger(self->dealer, 2000);
    zsock_set_rcvtimeo(self->dealer, 0);
    zsock_set_sndtimeo(self->dealer, 0);
    zsock_set_reconnect_ivl(self->dealer, 200);
    zsock_set_reconnect_ivl_max(self->dealer, 2000);
    if (zsock_connect(self->dealer, "%s", endpoint) < 0) {
        img_error_set(IMG_E_CONFIG, "broker_connect: cannot connect to %s", endpoint);
        return -1;
    }
    self->heard_ms = now_ms;
    return 0;
}

/* Drops the completions older than a lease: their leases have lapsed. */
static void s_forget_old(broker_link_t *self, int64_t now_ms)
{
    int k = 0;
    for (int i = 0; i < self->n_kept; i++) {
        if (now_ms - self->kept[i].sent_ms > self->cfg->lease_ms)
            free(self->kept[i].text);
        else
            self->kept[k++] = self->kept[i];
    }
    self->n_kept = k;
}

int broker_link_fail_over(broker_link_t *self, int64_t now_ms)
{
    const char *from = self->endpoints[self->current];
    self->current = (self->current + 1) % self->n_endpoints;
    log_warn("engine: broker %s silent for %lld ms; connecting to %s", from,
             (long long)(now_ms - self->heard_ms), self->endpoints[self->current]);
    if (broker_link_connect(self, now_ms) < 0)
        return -1;
    s_forget_old(self, now_ms);
    for (int i = 0; i < self->n_kept; i++)
        if (zsock_send(self->dealer, "b", self->kept[i].text, self->kept[i].len) < 0)
            log_warn("engine: cannot send a kept completion again");
    if (self->n_kept)
        log_info("engine: %d completion(s) sent again to %s", self->n_kept,
                 self->endpoints[self->current]);
    return 0;
}

zsock_t *broker_link_socket(broker_link_t *self)
{
    return self->dealer;
}

const char *broker_link_endpoint(const broker_link_t *self)
{
    return self->endpoints[self->current];
}

static void s_keep(broker_link_t *self, char *text, size_t len, int64_t now_ms)
{
    s_forget_old(self, now_ms);
    if (self->n_kept == KEPT_MAX) { /* the oldest goes */
        free(self->kept[0].text);
        memmove(self->kept, self->kept + 1, (KEPT_MAX - 1) * sizeof self->kept[0]);
        self->n_kept--;
    }
    self->kept[self->n_kept++] = (kept_t){text, len, now_ms};
}

void broker_link_send(broker_link_t *self, const msg_t *m, int64_t now_ms)
{
    size_t len;
    char *text = msg_encode(m, &len);
    if (!text) {
        log_error("engine: %s", img_error_message());
        return;
    }
    /* DEALER: queued while disconnected, up to the high-water mark */
    if (zsock_send(self->dealer, "b", text, len) < 0)
        log_warn("engine: cannot send '%s' to the broker", msg_type_name(m->type));
    if (m->type == MSG_DONE)
        s_keep(self, text, len, now_ms);
    else
        free(text);
}

int broker_link_recv(broker_link_t *self, msg_t **out, int64_t now_ms)
{
    zframe_t *frame = zframe_recv(self->dealer);
    *out = NULL;
    if (!frame)
        return 0;
    self->heard_ms = now_ms;
    msg_t *m = calloc(1, sizeof *m);
    int rc = -1;
    if (!m)
        log_warn("engine: dropped a message from the broker: out of memory");
    else if (zframe_more(frame) || msg_decode(zframe_data(frame), zframe_size(frame),
                                              (size_t)self->cfg->max_message_bytes, m) < 0)
        log_warn("engine: dropped a bad message from the broker: %s", img_error_message());
    else
        rc = 1;
    while (zsock_rcvmore(self->dealer)) { /* the rest of a multi-frame message */
        zframe_destroy(&frame);
        frame = zframe_recv(self->dealer);
    }
    zframe_destroy(&frame);
    if (rc == 1)
        *out = m;
    else
        free(m);
    return rc;
}

int64_t broker_link_silence(const broker_link_t *self, int64_t now_ms)
{
    return now_ms - self->heard_ms;
}
