/* worker_table — the dispatcher's view of the connected img-engine processes.
 *
 * Owned and used by the dispatcher thread only (no locking). A worker is
 * known by its name, which is also its ZeroMQ identity. It has credit: the
 * number of jobs it asked for and has not been sent yet.
 */
#ifndef IMG_WORKER_TABLE_H
#define IMG_WORKER_TABLE_H

#include "msg.h"

#include <stdbool.h>
#include <stdint.h>

#define WORKER_TABLE_MAX 256

typedef struct {
    char name[MSG_WORKER_MAX];
    int credit;
    int64_t last_seen_ms; /* monotonic clock */
    bool draining;        /* said bye: gets no more jobs */
    bool resync;          /* take credit from the next heartbeat's `free` */
} worker_t;

typedef struct {
    worker_t workers[WORKER_TABLE_MAX];
    int count;
    int next; /* round-robin start for the next dispatch */
} worker_table_t;

void worker_table_init(worker_table_t *t);

/* The worker with that name, added (credit 0) if new and there is room;
 * NULL when the table is full. *added tells whether it was new. */
worker_t *worker_table_touch(worker_table_t *t, const char *name, int64_t now_ms, bool *added);
worker_t *worker_table_find(worker_table_t *t, const char *name);

/* The next worker with credit, round-robin; NULL if none. */
worker_t *worker_table_next_with_credit(worker_table_t *t);

/* Removes workers last seen before `before_ms`, calling fn(name, arg) for each. */
int worker_table_expire(worker_table_t *t, int64_t before_ms,
                        void (*fn)(const char *name, void *arg), void *arg);

/* Workers that take jobs (not draining). */
int worker_table_active(const worker_table_t *t);

#endif
