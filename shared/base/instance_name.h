/* instance_name — a name unique to one running process of the service:
 * <hostname>-<pid>-<8 random hex digits>. An engine's name is its ZeroMQ
 * identity and the holder of its leases; an img-rest's names the broker
 * that granted a lease (replicas share one job store). */
#ifndef IMG_INSTANCE_NAME_H
#define IMG_INSTANCE_NAME_H

#include <stddef.h>

/* 0, or -1 with img_error. size >= 64 is always enough. */
int instance_name_new(char *out, size_t size);

#endif
