#include "broker_socket.h"

#include "curve.h"
#include "img_error.h"
#include "log.h"
#include "str_list.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes one public certificate per allowed key into a fresh folder under
 * $TMPDIR (else /tmp). zauth reads the folder again when it changes, so it
 * stays until the socket is closed. */
static int s_write_allowed(broker_socket_t *self, const char *list)
{
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(self->cert_dir, sizeof self->cert_dir, "%s/img-curve-XXXXXX",
                     tmp && *tmp ? tmp : "/tmp");
    if (n < 0 || (size_t)n >= sizeof self->cert_dir || !mkdtemp(self->cert_dir)) {
        self->cert_dir[0] = '\0';
        img_error_set(IMG_E_INTERNAL, "cannot create a folder for CURVE certificates");
        return -1;
    }
    str_list_t it;
    const char *item;
    size_t len;
    str_list_begin(&it, list);
    for (int n = 0; str_list_next(&it, &item, &len); n++) {
        char key[CURVE_KEY_LEN + 1] = "";
        if (len == CURVE_KEY_LEN)
            memcpy(key, item, len);
        if (!curve_key_valid(key)) {
            img_error_set(IMG_E_CONFIG, "curve_allowed_clients: key %d is not a Z85 key", n + 1);
            return -1;
        }
        uint8_t pub[32];
        zmq_z85_decode(pub, key);
        zcert_t *cert = zcert_new_from(pub, pub); /* only the public part is saved */
        char path[600];
        snprintf(path, sizeof path, "%s/client-%d.key", self->cert_dir, n);
        int rc = cert ? zcert_save_public(cert, path) : -1;
        zcert_destroy(&cert);
        if (rc < 0) {
            img_error_set(IMG_E_INTERNAL, "cannot write a CURVE certificate");
            return -1;
        }
    }
    return 0;
}

static int s_curve(broker_socket_t *self, const img_config_t *cfg)
{
    if (!curve_key_valid(cfg->curve_server_secret) || !curve_key_valid(cfg->curve_server_public)) {
        img_error_set(IMG_E_CONFIG, "curve_server_public/secret must be Z85 keys "
                                    "(img-rest --curve-keypair makes a pair)");
        return -1;
    }
    self->auth = zactor_new(zauth, NULL);
    if (!self->auth) {
        img_error_set(IMG_E_INTERNAL, "cannot start the ZeroMQ authenticator");
        return -1;
    }
    if (cfg->curve_allowed_clients[0]) {
        if (s_write_allowed(self, cfg->curve_allowed_clients) < 0)
            return -1;
        zstr_sendx(self->auth, "CURVE", self->cert_dir, NULL);
    } else {
        log_warn("broker: CURVE on, but curve_allowed_clients is empty: any worker that "
                 "knows the server's public key may connect");
        zstr_sendx(self->auth, "CURVE", CURVE_ALLOW_ANY, NULL);
    }
    zsock_wait(self->auth);
    zsock_set_zap_domain(self->router, "img");
    zsock_set_curve_server(self->router, 1);
    zsock_set_curve_secretkey(self->router, cfg->curve_server_secret);
    return 0;
}

int broker_socket_open(broker_socket_t *self, const img_config_t *cfg)
{
    memset(self, 0, sizeof *self);
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->router) {
        img_error_set(IMG_E_INTERNAL, "cannot create the ZeroMQ socket");
        return -1;
    }
    zsock_set_router_handover(self->router, 1);
    zsock_set_router_mandatory(self->router, 1);
    zsock_set_maxmsgsize(self->router, cfg->max_message_bytes);
    zsock_set_linger(self->router, 0);
    zsock_set_rcvtimeo(self->router, 0);
    zsock_set_sndtimeo(self->router, 0);
    if (cfg->curve_server_secret[0] && s_curve(self, cfg) < 0)
        goto fail;
    if (zsock_bind(self->router, "%s", cfg->broker_bind) < 0) {
        img_error_set(IMG_E_INTERNAL, "cannot bind %s: %s", cfg->broker_bind,
                      zmq_strerror(zmq_errno()));
        goto fail;
    }
    return 0;
fail:
    broker_socket_close(self);
    return -1;
}

static void s_remove_dir(const char *dir)
{
    zdir_t *d = zdir_new(dir, NULL);
    if (d) {
        zdir_remove(d, true);
        zdir_destroy(&d);
    }
}

void broker_socket_close(broker_socket_t *self)
{
    zsock_destroy(&self->router);
    zactor_destroy(&self->auth);
    if (self->cert_dir[0])
        s_remove_dir(self->cert_dir);
    self->cert_dir[0] = '\0';
}
