#include "broker_socket.h"

#include "img_error.h"

zsock_t *broker_socket_bind(const img_config_t *cfg)
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    if (!router) {
        img_error_set(IMG_E_INTERNAL, "cannot create the ZeroMQ socket");
        return NULL;
    }
    zsock_set_router_handover(router, 1);
    zsock_set_router_mandatory(router, 1);
    zsock_set_maxmsgsize(router, cfg->max_message_bytes);
    zsock_set_linger(router, 0);
    zsock_set_rcvtimeo(router, 0);
    zsock_set_sndtimeo(router, 0);
    if (zsock_bind(router, "%s", cfg->broker_bind) < 0) {
        img_error_set(IMG_E_INTERNAL, "cannot bind %s: %s", cfg->broker_bind,
                      zmq_strerror(zmq_errno()));
        zsock_destroy(&router);
        return NULL;
    }
    return router;
}
