/* job_store_impl — private to the job store: the table every backend fills.
 *
 * A backend defines its own struct whose FIRST member is `job_store_t base`
 * and sets base.ops to a static job_store_ops_t; job_store.c checks the
 * arguments every backend would check, then calls through the table. To add
 * a backend (PostgreSQL, ...) write one more job_store_<name>.c with its
 * job_store_open_<name>() and declare that in job_store.h.
 *
 * The functions have the contracts written in job_store.h, with the
 * arguments already checked: self, ids, workers and out are never NULL,
 * filter->limit is within 1..1000 and filter->status, if set, is a known
 * status name. `destroy` frees the backend and everything it owns.
 */
#ifndef IMG_JOB_STORE_IMPL_H
#define IMG_JOB_STORE_IMPL_H

#include "job_store.h"

typedef struct {
    const char *name; /* "sqlite", for messages */
    void (*destroy)(job_store_t *self);
    int (*insert)(job_store_t *self, const job_t *job);
    int (*get)(job_store_t *self, const char *id, job_t *out);
    int (*list)(job_store_t *self, const job_filter_t *filter, job_t **jobs, size_t *n,
                int64_t *next_seq);
    long (*count)(job_store_t *self, job_status_t status);
    int (*claim)(job_store_t *self, const char *worker, int64_t lease_until, job_t *out);
    int (*renew)(job_store_t *self, const char *id, const char *worker, int64_t lease_until);
    int (*finish)(job_store_t *self, const char *id, int attempt, const json_t *result,
                  const char *error_code, const char *error_message, int64_t now);
    int (*requeue)(job_store_t *self, const char *id, int attempt);
    int (*mark_started)(job_store_t *self, const char *id, int dispatch, int64_t now);
    int (*release_worker)(job_store_t *self, const char *worker);
    int (*expire)(job_store_t *self, int64_t now, int max_attempts);
    int (*delete_job)(job_store_t *self, const char *id, job_t *deleted);
    int (*purge)(job_store_t *self, int64_t before, job_removed_fn fn, void *arg);
} job_store_ops_t;

struct job_store {
    const job_store_ops_t *ops;
};

#endif
