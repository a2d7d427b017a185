/* job_store — the public functions: check what every backend would check,
 * then call the backend through its table (job_store_impl.h). */
#include "job_store_impl.h"

#include "img_error.h"

#include <assert.h>

void job_store_destroy(job_store_t **self)
{
    if (!self || !*self)
        return;
    (*self)->ops->destroy(*self);
    *self = NULL;
}

int job_store_insert(job_store_t *self, const job_t *job)
{
    assert(self && job);
    assert(job->id[0] && job->operation[0]);
    return self->ops->insert(self, job);
}

int job_store_get(job_store_t *self, const char *id, job_t *out)
{
    assert(self && id && out);
    return self->ops->get(self, id, out);
}

int job_store_list(job_store_t *self, const job_filter_t *filter, job_t **jobs, size_t *n,
                   int64_t *next_seq)
{
    assert(self && filter && jobs && n && next_seq);
    *jobs = NULL;
    *n = 0;
    *next_seq = 0;
    if (filter->limit < 1 || filter->limit > 1000) {
        img_error_set(IMG_E_INVALID_PARAMETER, "limit must be between 1 and 1000, not %d",
                      filter->limit);
        return -1;
    }
    if (filter->status && job_status_parse(filter->status) < 0) {
        img_error_set(IMG_E_INVALID_PARAMETER,
                      "status must be queued, processing, complete or failed");
        return -1;
    }
    if (filter->before_seq < 0) {
        img_error_set(IMG_E_INVALID_PARAMETER, "the cursor must not be negative");
        return -1;
    }
    return self->ops->list(self, filter, jobs, n, next_seq);
}

long job_store_count(job_store_t *self, job_status_t status)
{
    assert(self);
    assert(status >= JOB_QUEUED && status <= JOB_FAILED);
    return self->ops->count(self, status);
}

int job_store_claim(job_store_t *self, const char *worker, int64_t lease_until, job_t *out)
{
    assert(self && worker && out);
    return self->ops->claim(self, worker, lease_until, out);
}

int job_store_renew(job_store_t *self, const char *id, const char *worker, int64_t lease_until)
{
    assert(self && id && worker);
    return self->ops->renew(self, id, worker, lease_until);
}

int job_store_finish(job_store_t *self, const char *id, int attempt, const json_t *result,
                     const char *error_code, const char *error_message, int64_t now)
{
    assert(self && id);
    return self->ops->finish(self, id, attempt, result, error_code, error_message, now);
}

int job_store_mark_started(job_store_t *self, const char *id, int dispatch, int64_t now)
{
    assert(self && id);
    return self->ops->mark_started(self, id, dispatch, now);
}

int job_store_requeue(job_store_t *self, const char *id, int attempt)
{
    assert(self && id);
    return self->ops->requeue(self, id, attempt);
}

int job_store_release_worker(job_store_t *self, const char *worker)
{
    assert(self && worker);
    return self->ops->release_worker(self, worker);
}

int job_store_expire(job_store_t *self, int64_t now, int max_attempts)
{
    assert(self);
    assert(max_attempts >= 1);
    return self->ops->expire(self, now, max_attempts);
}

int job_store_delete(job_store_t *self, const char *id, job_t *deleted)
{
    assert(self && id);
    return self->ops->delete_job(self, id, deleted);
}

int job_store_purge(job_store_t *self, int64_t before, job_removed_fn fn, void *arg)
{
    assert(self);
    return self->ops->purge(self, before, fn, arg);
}
