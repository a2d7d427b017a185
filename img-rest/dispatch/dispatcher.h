/* dispatcher — hands queued jobs to img-engine processes over ZeroMQ.
 *
 * One thread owns a ROUTER socket bound to cfg->broker_bind. Engines
 * connect with DEALER sockets and ask for work with `ready` credit (one per
 * free thread): the dispatcher claims the oldest queued job from the job
 * store for an engine that has credit, so a job is only ever sent to an
 * engine that can start it now (the load-balancing broker of the ZeroMQ
 * guide, with the job store as the queue of record; with replicas of
 * img-rest each one's dispatcher claims from the same store). Leases are
 * renewed by the engines' heartbeats; an engine silent for 3 heartbeats is
 * dropped and the leases this broker gave it end at once (housekeeping then
 * requeues or fails those jobs). Completions are recorded for the dispatch
 * that holds the lease only; progress is announced through the store
 * without being stored. See docs/protocol.md.
 *
 * The other threads talk to it through dispatcher_wake()/_cancel() (an
 * eventfd and a small locked queue) and read its counters atomically.
 */
#ifndef IMG_DISPATCHER_H
#define IMG_DISPATCHER_H

#include "config.h"
#include "job_store.h"
#include "rest_metrics.h"

typedef struct dispatcher dispatcher_t;

typedef struct {
    const img_config_t *cfg; /* not owned; outlives the dispatcher */
    job_store_t *store;      /* not owned */
    rest_metrics_t *metrics; /* not owned */
    const char *name;        /* this broker's name (instance_name), copied */
} dispatcher_deps_t;

/* Binds and starts the thread. Caller owns; NULL with img_error. */
dispatcher_t *dispatcher_new(const dispatcher_deps_t *deps);

/* Stops the thread (in-flight jobs keep their leases in the store) and frees. */
void dispatcher_destroy(dispatcher_t **self);

/* Jobs may be waiting: look for a free engine now. Any thread. */
void dispatcher_wake(dispatcher_t *self);

/* A job was deleted: tell the engine holding it to stop. Any thread; best effort. */
void dispatcher_cancel(dispatcher_t *self, const char *id, const char *engine);

/* Engines connected to this broker and taking jobs. Any thread. */
int dispatcher_engines(dispatcher_t *self);

/* Idle worker threads of those engines (from their heartbeats). Any thread. */
int dispatcher_free_threads(dispatcher_t *self);

#endif
