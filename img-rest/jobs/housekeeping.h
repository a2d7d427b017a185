/* housekeeping — the store's upkeep, on a thread of its own.
 *
 * Every heartbeat_ms: leases that lapsed (an engine died, hung or was cut
 * off) are ended (job_store_expire: the job is queued again, or failed after
 * max_attempts). Every quarter of retention_s (at most a minute): finished
 * jobs older than retention_s are removed with their folders, and so are
 * idempotency keys older than a day. Every ten minutes, from the start: job
 * folders the store does not know and that nothing touched for an hour (an
 * upload cut off by a crash) are removed (job_orphans).
 * With replicas of img-rest, every replica does this: each step is atomic
 * in the store, so they never do the same work twice.
 */
#ifndef IMG_HOUSEKEEPING_H
#define IMG_HOUSEKEEPING_H

#include "config.h"
#include "job_store.h"
#include "rest_metrics.h"

typedef struct housekeeping housekeeping_t;

/* Starts the thread. cfg, store and metrics
 * are not owned and outlive it. Caller owns; NULL with img_error. */
housekeeping_t *housekeeping_new(const img_config_t *cfg, job_store_t *store,
                                 rest_metrics_t *metrics);
/* Stops the thread and frees. */
void housekeeping_destroy(housekeeping_t **self);

#endif
