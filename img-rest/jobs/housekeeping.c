#include "housekeeping.h"

#include "img_error.h"
#include "job_files.h"
#include "job_orphans.h"
#include "log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct housekeeping {
    const img_config_t *cfg;
    job_store_t *store;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t stopping;
    bool stop;
    rest_metrics_t *metrics;
    int64_t next_purge_ms;
    int64_t next_orphans_ms;
};

/* An upload folder untouched this long, with no job, is an orphan: an
 * upload cut off by a crash (replicas may be receiving into theirs). */
#define ORPHAN_AGE_S 3600
#define ORPHAN_EVERY_MS (10 * 60 * 1000)

static void s_remove_files(const char *id, void *arg)
{
    const img_config_t *cfg = arg;
    if (job_files_remove(cfg->data_dir, id) < 0)
        log_warn("housekeeping: %s", img_error_message());
}

static void s_expire(housekeeping_t *self, int64_t now)
{
    int n = job_store_expire(self->store, now, self->cfg->max_attempts);
    if (n < 0)
        log_error("housekeeping: lease expiry failed: %s", img_error_message());
    if (n > 0) {
        rest_metrics_dispatch(self->metrics, "expired", n);
        log_info("housekeeping: %d job(s) whose engine was lost or timed out were queued again "
                 "or failed",
                 n);
    }
}

static void s_purge(housekeeping_t *self, int64_t now)
{
    const img_config_t *cfg = self->cfg;
    if (cfg->retention_s <= 0 || now < self->next_purge_ms)
        return;
    int64_t every = cfg->retention_s * 1000LL / 4;
    self->next_purge_ms = now + (every < 1000 ? 1000 : every > 60000 ? 60000 : every);
    /* wall clock: a step back delays one purge, nothing worse */
    int n =
        job_store_purge(self->store, now - cfg->retention_s * 1000LL, s_remove_files, (void *)cfg);
    if (n < 0)
        log_error("housekeeping: retention failed: %s", img_error_message());
    else if (n > 0)
        log_info("housekeeping: retention removed %d finished job(s)", n);
}

/* Folders of uploads that never became jobs, every ORPHAN_EVERY_MS. */
static void s_orphans(housekeeping_t *self, int64_t now)
{
    if (now < self->next_orphans_ms)
        return;
    self->next_orphans_ms = now + ORPHAN_EVERY_MS;
    int n = job_orphans_sweep(self->cfg->data_dir, self->store, ORPHAN_AGE_S);
    if (n < 0)
        log_error("housekeeping: %s", img_error_message());
    else if (n > 0)
        log_info("housekeeping: removed %d job folder(s) left by an upload that never finished", n);
}

static void *s_run(void *arg)
{
    housekeeping_t *self = arg;
    pthread_mutex_lock(&self->lock);
    while (!self->stop) {
        pthread_mutex_unlock(&self->lock);
        int64_t now = job_now_ms();
        s_expire(self, now);
        s_purge(self, now);
        s_orphans(self, now);
        pthread_mutex_lock(&self->lock);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        long long ns = until.tv_nsec + self->cfg->heartbeat_ms * 1000000LL;
        until.tv_sec += ns / 1000000000LL;
        until.tv_nsec = ns % 1000000000LL;
        while (!self->stop && pthread_cond_timedwait(&self->stopping, &self->lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

housekeeping_t *housekeeping_new(const img_config_t *cfg, job_store_t *store,
                                 rest_metrics_t *metrics)
{
    housekeeping_t *self = calloc(1, sizeof *self);
    if (!self) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->store = store;
    self->metrics = metrics;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->stopping, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&self->lock, NULL);
    if (pthread_create(&self->thread, NULL, s_run, self) != 0) {
        pthread_cond_destroy(&self->stopping);
        pthread_mutex_destroy(&self->lock);
        free(self);
        img_error_set(IMG_E_INTERNAL, "cannot start the housekeeping thread");
        return NULL;
    }
    return self;
}

void housekeeping_destroy(housekeeping_t **pself)
{
    if (!pself || !*pself)
        return;
    housekeeping_t *self = *pself;
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_cond_signal(&self->stopping);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    pthread_cond_destroy(&self->stopping);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *pself = NULL;
}
