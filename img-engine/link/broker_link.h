/* broker_link — an engine's connection to img-rest.
 *
 * broker_connect lists one broker endpoint, or several (comma-separated:
 * the replicas of img-rest, which share one job store). The link is one
 * DEALER socket, whose identity is the engine's name, connected to one of
 * them at a time: the first is chosen by the engine's name, so engines
 * spread over the replicas; when the current broker has been silent for 3
 * heartbeats the link moves to the next one (or reconnects to the only
 * one). Messages queued for a broker that went are lost with its socket, so
 * the `done` messages of the last lease period are kept and sent again
 * after a move: the store records a completion once and ignores a repeat.
 * With curve_server_public set the link is a CURVE client (every replica has
 * the same server key pair). Used by the engine's thread only.
 */
#ifndef IMG_BROKER_LINK_H
#define IMG_BROKER_LINK_H

#include "config.h"
#include "msg.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct broker_link broker_link_t;

/* cfg is not owned and outlives the link; name is copied. Caller owns;
 * NULL with img_error (IMG_E_CONFIG for a bad endpoint list or key). */
broker_link_t *broker_link_new(const img_config_t *cfg, const char *name);
void broker_link_destroy(broker_link_t **self);

/* Connects to the current broker (closing a previous socket). 0 or -1. */
int broker_link_connect(broker_link_t *self, int64_t now_ms);

/* Moves to the next broker and sends the kept completions again. 0 or -1. */
int broker_link_fail_over(broker_link_t *self, int64_t now_ms);

/* The socket, to poll. */
zsock_t *broker_link_socket(broker_link_t *self);

/* The current broker's endpoint. */
const char *broker_link_endpoint(const broker_link_t *self);

/* Sends m (a `done` is kept for a while). Logged, never fails the caller. */
void broker_link_send(broker_link_t *self, const msg_t *m, int64_t now_ms);

/* The next message from the broker into a new msg_t (caller msg_clear()s
 * and frees): 1, 0 when none is waiting, -1 for a bad one (logged, dropped:
 * call again). */
int broker_link_recv(broker_link_t *self, msg_t **out, int64_t now_ms);

/* Milliseconds since the broker was last heard. */
int64_t broker_link_silence(const broker_link_t *self, int64_t now_ms);

#endif
