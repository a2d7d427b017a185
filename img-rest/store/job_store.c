/* job_store — the public functions: check what every backend would check,
 * then call the backend through its table (job_store_impl.h). */
#include "job_store_impl.h"

#include "img_error.h"

#include <assert.h>
#include <string.h>

job_store_t *job_store_open(const char *db_url)
{
    assert(db_url);
    if (strncmp(db_url, "postgresql://", 13) == 0 || strncmp(db_url, "postgres://", 11) == 0)
        return job_store_open_pg(db_url);
    return job_store_open_sqlite(db_url);
}

void job_store_base_init(job_store_t *base, const job_store_ops_t *ops)
{
    base->ops = ops;
    pthread_rwlock_init(&base->listener_lock, NULL);
    memset(&base->listener, 0, sizeof base->listener);
}

void job_store_base_clear(job_store_t *base)
{
    pthread_rwlock_destroy(&base->listener_lock);
}

void job_store_destroy(job_store_t **self)
{
    if (!self || !*self)
        return;
    (*self)->ops->destroy(*self);
    *self = NULL;
}

const char *job_store_backend(const job_store_t *self)
{
    return self->ops->name;
}

void job_store_listen(job_store_t *self, const job_store_listener_t *listener)
{
    /* the write lock waits for the callbacks in progress: once this returns,
     * the old listener is never called again */
    pthread_rwlock_wrlock(&self->listener_lock);
    self->listener = *listener;
    pthread_rwlock_unlock(&self->listener_lock);
}

void job_store_notify_changed(job_store_t *base, const char *id)
{
    pthread_rwlock_rdlock(&base->listener_lock);
    if (base->listener.changed)
        base->listener.changed(base->listener.arg, id);
    pthread_rwlock_unlock(&base->listener_lock);
}

void job_store_notify_progress(job_store_t *base, const char *id, int percent)
{
    pthread_rwlock_rdlock(&base->listener_lock);
    if (base->listener.progress)
        base->listener.progress(base->listener.arg, id, percent);
    pthread_rwlock_unlock(&base->listener_lock);
}

void job_store_notify_due(job_store_t *base)
{
    pthread_rwlock_rdlock(&base->listener_lock);
    if (base->listener.deliveries_due)
        base->listener.deliveries_due(base->listener.arg);
    pthread_rwlock_unlock(&base->listener_lock);
}

int job_store_publish_progress(job_store_t *self, const char *id, int percent)
{
    assert(self && id && percent >= 0 && percent <= 100);
    return self->ops->publish_progress(self, id, percent);
}

int job_store_insert(job_store_t *self, const job_t *job, const job_insert_t *opts,
                     char replayed_id[JOB_ID_LEN + 1])
{
    static const job_insert_t none = {0};
    assert(self && job && job->id[0] && job->operation[0]);
    assert(job->status == JOB_QUEUED || job->status == JOB_COMPLETE);
    opts = opts ? opts : &none;
    assert(!opts->idempotency_key || (opts->request_hash && replayed_id));
    return self->ops->insert(self, job, opts, replayed_id);
}

int job_store_get(job_store_t *self, const char *id, job_t *out)
{
    assert(self && id && out);
    return self->ops->get(self, id, out);
}

int job_store_find_cached(job_store_t *self, const char *cache_key, job_t *out)
{
    assert(self && cache_key && out);
    return self->ops->find_cached(self, cache_key, out);
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

int job_store_queue_room(long queued, long max_queued)
{
    if (queued < max_queued)
        return 0;
    img_error_set(IMG_E_QUEUE_FULL, "the queue holds %ld jobs, its maximum; retry later", queued);
    return -1;
}

int job_store_has_room(job_store_t *self, long max_queued)
{
    long queued = job_store_count(self, JOB_QUEUED);
    return queued < 0 ? -1 : job_store_queue_room(queued, max_queued);
}

int job_store_claim(job_store_t *self, const char *engine, const char *broker, int64_t lease_until,
                    job_t *out)
{
    assert(self && engine && broker && out);
    return self->ops->claim(self, engine, broker, lease_until, out);
}

int job_store_renew(job_store_t *self, const char *id, const char *engine, const char *broker,
                    int64_t lease_until)
{
    assert(self && id && engine && broker);
    return self->ops->renew(self, id, engine, broker, lease_until);
}

int job_store_mark_started(job_store_t *self, const char *id, int dispatch, int64_t now)
{
    assert(self && id);
    return self->ops->mark_started(self, id, dispatch, now);
}

int job_store_finish(job_store_t *self, const char *id, int dispatch, const json_t *result,
                     const char *error_code, const char *error_message, int64_t now)
{
    assert(self && id && (result || error_code));
    return self->ops->finish(self, id, dispatch, result, error_code, error_message, now);
}

int job_store_requeue(job_store_t *self, const char *id, int dispatch)
{
    assert(self && id);
    return self->ops->requeue(self, id, dispatch);
}

int job_store_release_engine(job_store_t *self, const char *engine, const char *broker)
{
    assert(self && engine && broker);
    return self->ops->release_engine(self, engine, broker);
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

int job_store_outbox_claim(job_store_t *self, int64_t now, int64_t lease_until, job_delivery_t *out,
                           int max)
{
    assert(self && out && max > 0);
    return self->ops->outbox_claim(self, now, lease_until, out, max);
}

int job_store_outbox_record(job_store_t *self, const char *id, int status, bool delivered,
                            int64_t retry_at)
{
    assert(self && id);
    return self->ops->outbox_record(self, id, status, delivered, retry_at);
}
