/* broker_socket — the dispatcher's ROUTER socket, with its options set
 * before it binds: handover of a reconnecting worker's identity, mandatory
 * routing (a send to a gone worker fails instead of vanishing), the maximum
 * message size, no linger, non-blocking receive, and CURVE when configured. */
#ifndef IMG_BROKER_SOCKET_H
#define IMG_BROKER_SOCKET_H

#include "config.h"

#include <czmq.h>

/* Caller owns (zsock_destroy); NULL with img_error. */
zsock_t *broker_socket_bind(const img_config_t *cfg);

#endif
