/* worker_name — a name unique to this img-engine process, used as its
 * ZeroMQ identity and as the lease owner of the jobs it holds:
 * <hostname>-<pid>-<8 random hex digits>. */
#ifndef IMG_WORKER_NAME_H
#define IMG_WORKER_NAME_H

#include <stddef.h>

/* 0, or -1 with img_error. size >= 64 is always enough. */
int worker_name_new(char *out, size_t size);

#endif
