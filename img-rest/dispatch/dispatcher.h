/* dispatcher — hands queued jobs to img-engine workers over ZeroMQ.
 *
 * One thread owns a ROUTER socket bound to cfg->broker_bind. Workers
 * connect with DEALER sockets and ask for work with `ready` credit (one per
 * free thread): the dispatcher claims the oldest queued job from the job
 * store for a worker that has credit, so a job is only ever sent to a worker
 * that can start it now (the load-balancing broker of the ZeroMQ guide, with
 * the job store as the queue of record). Leases are renewed by the workers'
 * heartbeats; workers silent for 3 heartbeats are dropped and their jobs go
 * back to the queue; expired leases are requeued or failed after
 * max_attempts. Completions are recorded for the attempt that holds the
 * lease only. See docs/protocol.md.
 *
 * The other threads talk to it through dispatcher_wake()/_cancel() (an
 * eventfd and a small locked queue) and read its counters atomically.
 */
#ifndef IMG_DISPATCHER_H
#define IMG_DISPATCHER_H

#include "config.h"
#include "job_events.h"
#include "job_store.h"

typedef struct dispatcher dispatcher_t;

typedef struct {
    const img_config_t *cfg; /* not owned; outlives the dispatcher */
    job_store_t *store;      /* not owned */
    job_events_t *events;    /* not owned */
    /* called (dispatcher thread) for each job removed by retention */
    void (*on_purged)(const char *id, void *arg);
    void *on_purged_arg;
} dispatcher_deps_t;

/* Binds and starts the thread. Caller owns; NULL with img_error. */
dispatcher_t *dispatcher_new(const dispatcher_deps_t *deps);

/* Stops the thread (in-flight jobs keep their leases in the store) and frees. */
void dispatcher_destroy(dispatcher_t **self);

/* A job was queued: look for a free worker now. Any thread. */
void dispatcher_wake(dispatcher_t *self);

/* A job was deleted: tell the worker holding it to stop. Any thread; best effort. */
void dispatcher_cancel(dispatcher_t *self, const char *id, const char *worker);

/* Workers currently taking jobs. Any thread. */
int dispatcher_workers(dispatcher_t *self);

/* Counters for /metrics. Any thread. */
typedef struct {
    long long dispatched, completed, failed, requeued, messages_dropped;
} dispatcher_counters_t;
void dispatcher_counters(dispatcher_t *self, dispatcher_counters_t *out);

#endif
