/* broker_socket — the dispatcher's ROUTER socket, with its options set
 * before it binds: handover of a reconnecting worker's identity, mandatory
 * routing (a send to a gone worker fails instead of vanishing), the maximum
 * message size, no linger, non-blocking receive and send.
 *
 * With curve_server_secret set, the socket is a CURVE server and a zauth
 * actor admits only the workers whose public keys are listed in
 * curve_allowed_clients (or any worker holding the server's public key when
 * that list is empty). */
#ifndef IMG_BROKER_SOCKET_H
#define IMG_BROKER_SOCKET_H

#include "config.h"

#include <czmq.h>

typedef struct {
    zsock_t *router;
    zactor_t *auth;     /* NULL without CURVE */
    char cert_dir[512]; /* the allowed clients' certificates, removed on close */
} broker_socket_t;

/* 0, or -1 with img_error (bad key, cannot bind). */
int broker_socket_open(broker_socket_t *self, const img_config_t *cfg);
void broker_socket_close(broker_socket_t *self);

#endif
