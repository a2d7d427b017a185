/* job_store_impl — private to the job store: the table every backend fills.
 *
 * A backend defines its own struct whose FIRST member is `job_store_t base`
 * and sets base.ops to a static job_store_ops_t; job_store.c checks the
 * arguments every backend would check, then calls through the table. The
 * functions have the contracts written in job_store.h, with the arguments
 * already checked: self, ids, engines, brokers and out are never NULL,
 * filter->limit is within 1..1000, filter->status, if set, is a known status
 * name. `destroy` frees the backend and everything it owns. base.listener is
 * the listener to tell of changes (job_store_notify_*).
 */
#ifndef IMG_JOB_STORE_IMPL_H
#define IMG_JOB_STORE_IMPL_H

#include "job_store.h"

#include <pthread.h>

typedef struct {
    const char *name; /* "sqlite", "postgresql" */
    void (*destroy)(job_store_t *self);
    int (*publish_progress)(job_store_t *self, const char *id, int percent);
    int (*insert)(job_store_t *self, const job_t *job, const job_insert_t *opts,
                  char replayed_id[JOB_ID_LEN + 1]);
    int (*get)(job_store_t *self, const char *id, job_t *out);
    int (*find_cached)(job_store_t *self, const char *cache_key, job_t *out);
    int (*list)(job_store_t *self, const job_filter_t *filter, job_t **jobs, size_t *n,
                int64_t *next_seq);
    long (*count)(job_store_t *self, job_status_t status);
    int (*claim)(job_store_t *self, const char *engine, const char *broker, int64_t lease_until,
                 job_t *out);
    int (*renew)(job_store_t *self, const char *id, const char *engine, const char *broker,
                 int64_t lease_until);
    int (*mark_started)(job_store_t *self, const char *id, int dispatch, int64_t now);
    int (*finish)(job_store_t *self, const char *id, int dispatch, const json_t *result,
                  const char *error_code, const char *error_message, int64_t now);
    int (*requeue)(job_store_t *self, const char *id, int dispatch);
    int (*release_engine)(job_store_t *self, const char *engine, const char *broker);
    int (*expire)(job_store_t *self, int64_t now, int max_attempts);
    int (*delete_job)(job_store_t *self, const char *id, job_t *deleted);
    int (*purge)(job_store_t *self, int64_t before, job_removed_fn fn, void *arg);
    int (*outbox_claim)(job_store_t *self, int64_t now, int64_t lease_until, job_delivery_t *out,
                        int max);
    int (*outbox_record)(job_store_t *self, const char *id, int status, bool delivered,
                         int64_t retry_at);
} job_store_ops_t;

struct job_store {
    const job_store_ops_t *ops;
    pthread_rwlock_t listener_lock; /* read: a callback runs; write: listen */
    job_store_listener_t listener;
};

/* For backends: set up and tear down base (before and after their own). */
void job_store_base_init(job_store_t *base, const job_store_ops_t *ops);
void job_store_base_clear(job_store_t *base);

/* For backends: tell the listener that job id changed / made progress / that
 * a webhook delivery became due. */
void job_store_notify_changed(job_store_t *base, const char *id);
void job_store_notify_progress(job_store_t *base, const char *id, int percent);
void job_store_notify_due(job_store_t *base);

/* For backends: 0 when a queue of `queued` jobs has room under max_queued,
 * else -1 with IMG_E_QUEUE_FULL. */
int job_store_queue_room(long queued, long max_queued);

/* The backends' openers (job_store_open picks one). */
job_store_t *job_store_open_sqlite(const char *path);
job_store_t *job_store_open_pg(const char *url);

/* Hours an idempotency key is remembered. */
#define JOB_STORE_IDEMPOTENCY_MS (24LL * 3600 * 1000)

#endif
