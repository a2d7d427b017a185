/* engine_table — the dispatcher's view of the img-engine processes
 * connected to this broker.
 *
 * Owned and used by the dispatcher thread only (no locking). An engine is
 * known by its name, which is also its ZeroMQ identity. It has credit: the
 * number of jobs it asked for and has not been sent yet.
 */
#ifndef IMG_ENGINE_TABLE_H
#define IMG_ENGINE_TABLE_H

#include "msg.h"

#include <stdbool.h>
#include <stdint.h>

#define ENGINE_TABLE_MAX 256

typedef struct {
    char name[MSG_ENGINE_MAX];
    int credit;
    int free_threads;     /* from its last heartbeat */
    int64_t last_seen_ms; /* monotonic clock */
    bool draining;        /* said bye: gets no more jobs */
    bool resync;          /* take credit from the next heartbeat's `free` */
} engine_entry_t;

typedef struct {
    engine_entry_t engines[ENGINE_TABLE_MAX];
    int count;
    int next; /* round-robin start for the next dispatch */
} engine_table_t;

void engine_table_init(engine_table_t *t);

/* The engine with that name, added (credit 0) if new and there is room;
 * NULL when the table is full. *added tells whether it was new. */
engine_entry_t *engine_table_touch(engine_table_t *t, const char *name, int64_t now_ms,
                                   bool *added);
engine_entry_t *engine_table_find(engine_table_t *t, const char *name);

/* The next engine with credit, round-robin; NULL if none. */
engine_entry_t *engine_table_next_with_credit(engine_table_t *t);

/* Removes engines last seen before `before_ms`, calling fn(name, arg) for each. */
int engine_table_expire(engine_table_t *t, int64_t before_ms,
                        void (*fn)(const char *name, void *arg), void *arg);

/* Engines that take jobs (not draining). */
int engine_table_active(const engine_table_t *t);

/* Their idle threads, as their heartbeats said. */
int engine_table_free_threads(const engine_table_t *t);

#endif
