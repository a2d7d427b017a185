#include "job_events.h"

#include "img_error.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    char id[JOB_ID_LEN + 1];
    int percent;
    uint64_t touched; /* number of the last update: the oldest is reused */
} progress_t;

/* A request waiting for one job (?wait): woken by that job's notices only. */
typedef struct job_waiter {
    const char *id;
    pthread_cond_t cond;
    bool woken;
    struct job_waiter *next;
} job_waiter_t;

struct job_events {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* every notice: the streams */
    job_waiter_t *waiters;  /* the ?wait requests, each on its own condition */
    uint64_t generation;    /* the latest notice's number */
    job_event_t ring[JOB_EVENTS_RING];
    int waiting, streams;
    bool shutdown;
    progress_t progress[JOB_EVENTS_PROGRESS_MAX];
};

job_events_t *job_events_new(void)
{
    job_events_t *self = calloc(1, sizeof *self);
    if (!self) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->changed, NULL);
    return self;
}

void job_events_destroy(job_events_t **self)
{
    if (!self || !*self)
        return;
    pthread_cond_destroy(&(*self)->changed);
    pthread_mutex_destroy(&(*self)->lock);
    free(*self);
    *self = NULL;
}

/* Whether a notice of kind about id concerns the job `job` ("" is about
 * every job). */
static bool s_concerns(job_event_kind_t kind, const char *id, const char *job)
{
    return kind == JOB_EVENT_CHANGED && (id[0] == '\0' || strcmp(id, job) == 0);
}

/* A notice into the ring, waking the streams and the requests waiting for
 * its job; with the lock held. */
static void s_announce(job_events_t *self, const char *id, job_event_kind_t kind)
{
    job_event_t *e = &self->ring[++self->generation % JOB_EVENTS_RING];
    e->seq = self->generation;
    e->kind = kind;
    snprintf(e->id, sizeof e->id, "%s", id ? id : "");
    pthread_cond_broadcast(&self->changed);
    for (job_waiter_t *w = self->waiters; w; w = w->next)
        if (s_concerns(kind, e->id, w->id)) {
            w->woken = true;
            pthread_cond_signal(&w->cond);
        }
}

void job_events_notify(job_events_t *self, const char *id)
{
    pthread_mutex_lock(&self->lock);
    s_announce(self, id, JOB_EVENT_CHANGED);
    pthread_mutex_unlock(&self->lock);
}

/* The slot of id, or the least recently updated one; with the lock held. */
static progress_t *s_slot(job_events_t *self, const char *id)
{
    progress_t *oldest = &self->progress[0];
    for (int i = 0; i < JOB_EVENTS_PROGRESS_MAX; i++) {
        progress_t *p = &self->progress[i];
        if (strcmp(p->id, id) == 0)
            return p;
        if (p->touched < oldest->touched)
            oldest = p;
    }
    return oldest;
}

void job_events_progress(job_events_t *self, const char *id, int percent)
{
    pthread_mutex_lock(&self->lock);
    progress_t *p = s_slot(self, id);
    snprintf(p->id, sizeof p->id, "%s", id);
    p->percent = percent;
    s_announce(self, id, JOB_EVENT_PROGRESS);
    p->touched = self->generation;
    pthread_mutex_unlock(&self->lock);
}

int job_events_progress_of(job_events_t *self, const char *id)
{
    pthread_mutex_lock(&self->lock);
    progress_t *p = s_slot(self, id);
    int percent = strcmp(p->id, id) == 0 ? p->percent : -1;
    pthread_mutex_unlock(&self->lock);
    return percent;
}

uint64_t job_events_generation(job_events_t *self)
{
    pthread_mutex_lock(&self->lock);
    uint64_t g = self->generation;
    pthread_mutex_unlock(&self->lock);
    return g;
}

static struct timespec s_timespec(int64_t deadline_ms)
{
    return (struct timespec){.tv_sec = deadline_ms / 1000,
                             .tv_nsec = (long)(deadline_ms % 1000) * 1000000L};
}

uint64_t job_events_wait(job_events_t *self, uint64_t seen, int64_t deadline_ms)
{
    struct timespec until = s_timespec(deadline_ms);
    pthread_mutex_lock(&self->lock);
    while (self->generation == seen && !self->shutdown) {
        if (pthread_cond_timedwait(&self->changed, &self->lock, &until) != 0)
            break; /* timed out (or a signal): the caller looks again */
    }
    uint64_t g = self->generation;
    pthread_mutex_unlock(&self->lock);
    return g;
}

/* Whether a notice after `seen` concerns job (or the ring lost some, which
 * might have); with the lock held. */
static bool s_changed_since(const job_events_t *self, const char *job, uint64_t seen)
{
    if (self->generation - seen >= JOB_EVENTS_RING)
        return true;
    for (uint64_t n = seen + 1; n <= self->generation; n++) {
        const job_event_t *e = &self->ring[n % JOB_EVENTS_RING];
        if (s_concerns(e->kind, e->id, job))
            return true;
    }
    return false;
}

static void s_unlink(job_events_t *self, const job_waiter_t *w)
{
    for (job_waiter_t **p = &self->waiters; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            return;
        }
}

void job_events_wait_job(job_events_t *self, const char *id, uint64_t seen, int64_t deadline_ms)
{
    struct timespec until = s_timespec(deadline_ms);
    job_waiter_t w = {.id = id};
    pthread_cond_init(&w.cond, NULL);
    pthread_mutex_lock(&self->lock);
    if (!self->shutdown && !s_changed_since(self, id, seen)) {
        w.next = self->waiters;
        self->waiters = &w;
        while (!w.woken && !self->shutdown)
            if (pthread_cond_timedwait(&w.cond, &self->lock, &until) != 0)
                break; /* timed out (or a signal): the caller looks again */
        s_unlink(self, &w);
    }
    pthread_mutex_unlock(&self->lock);
    pthread_cond_destroy(&w.cond);
}

int job_events_since(job_events_t *self, uint64_t *since, job_event_t *out, int max)
{
    int n = 0;
    pthread_mutex_lock(&self->lock);
    if (self->generation - *since > JOB_EVENTS_RING) {
        *since = self->generation;
        pthread_mutex_unlock(&self->lock);
        return -1;
    }
    while (*since < self->generation && n < max)
        out[n++] = self->ring[++*since % JOB_EVENTS_RING];
    pthread_mutex_unlock(&self->lock);
    return n;
}

void job_events_shutdown(job_events_t *self)
{
    pthread_mutex_lock(&self->lock);
    self->shutdown = true;
    pthread_cond_broadcast(&self->changed);
    for (job_waiter_t *w = self->waiters; w; w = w->next)
        pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&self->lock);
}

bool job_events_shutting_down(job_events_t *self)
{
    pthread_mutex_lock(&self->lock);
    bool down = self->shutdown;
    pthread_mutex_unlock(&self->lock);
    return down;
}

static bool s_enter(job_events_t *self, int *count, int max)
{
    pthread_mutex_lock(&self->lock);
    bool ok = *count < max;
    *count += ok;
    pthread_mutex_unlock(&self->lock);
    return ok;
}

static void s_leave(job_events_t *self, int *count)
{
    pthread_mutex_lock(&self->lock);
    (*count)--;
    pthread_mutex_unlock(&self->lock);
}

bool job_events_enter(job_events_t *self, int max)
{
    return s_enter(self, &self->waiting, max);
}

void job_events_leave(job_events_t *self)
{
    s_leave(self, &self->waiting);
}

bool job_events_stream_enter(job_events_t *self, int max)
{
    return s_enter(self, &self->streams, max);
}

void job_events_stream_leave(job_events_t *self)
{
    s_leave(self, &self->streams);
}
