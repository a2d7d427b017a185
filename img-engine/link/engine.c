#include "engine.h"

#include "broker_link.h"
#include "committer.h"
#include "crash_report.h"
#include "deadline.h"
#include "engine_metrics.h"
#include "instance_name.h"
#include "img_error.h"
#include "job_id.h"
#include "log.h"
#include "msg.h"
#include "worker.h"

#include <czmq.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 1024

/* A job this engine holds: running in a slot, or waiting for its commit. */
typedef struct {
    char id[JOB_ID_LEN + 1];
    int dispatch;
    char operation[MSG_OP_MAX];
    char request_id[MSG_REQUEST_ID_MAX];
    int64_t started_ms;
    int64_t deadline_ms; /* started + timeout */
} held_t;

typedef struct {
    zactor_t *actor;
    bool busy;
    held_t job;
    atomic_int progress; /* written by its worker thread (job_progress) */
    int progress_sent;   /* the last percent sent, -1 none */
    int64_t progress_at; /* when */
} slot_t;

struct engine {
    const img_config_t *cfg;
    deadline_clock_t *clock;
    worker_env_t env; /* what the worker threads share */
    engine_metrics_t *metrics;
    char name[MSG_ENGINE_MAX];
    broker_link_t *link;
    zpoller_t *poller;
    slot_t *slots;
    int n_slots;
    zactor_t *committer;
    zlist_t *committing; /* committer_item_t *, each tagged with its held_t */
    volatile sig_atomic_t stopping;
    bool draining;
    int64_t drain_deadline_ms;
};

static int64_t s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int s_free_slots(const engine_t *self)
{
    int n = 0;
    for (int i = 0; i < self->n_slots; i++)
        n += !self->slots[i].busy;
    return n;
}

/* ---- sending to the broker ---- */

static void s_send(engine_t *self, msg_t *m)
{
    broker_link_send(self->link, m, s_now());
}

static void s_send_ready(engine_t *self, int credit)
{
    if (credit <= 0 || self->draining)
        return;
    msg_t m;
    msg_init(&m, MSG_READY);
    snprintf(m.engine, sizeof m.engine, "%s", self->name);
    m.credit = credit;
    s_send(self, &m);
}

static void s_send_heartbeat(engine_t *self)
{
    msg_t m;
    msg_init(&m, MSG_HEARTBEAT);
    snprintf(m.engine, sizeof m.engine, "%s", self->name);
    m.free_threads = self->draining ? 0 : s_free_slots(self);
    size_t cap = (size_t)self->n_slots + zlist_size(self->committing);
    char(*held)[JOB_ID_LEN + 1] = calloc(cap ? cap : 1, sizeof *held);
    int64_t now = s_now();
    /* a job past its time limit is not renewed: its lease lapses */
    for (int i = 0; held && i < self->n_slots; i++) {
        slot_t *s = &self->slots[i];
        if (s->busy && now < s->job.deadline_ms)
            memcpy(held[m.n_held++], s->job.id, JOB_ID_LEN + 1);
    }
    for (committer_item_t *c = zlist_first(self->committing); held && c;
         c = zlist_next(self->committing)) {
        const held_t *job = c->tag;
        if (now < job->deadline_ms)
            memcpy(held[m.n_held++], job->id, JOB_ID_LEN + 1);
    }
    m.held = held;
    s_send(self, &m);
    msg_clear(&m);
}

static void s_send_id(engine_t *self, msg_type_t type, const char *id, int dispatch)
{
    msg_t m;
    msg_init(&m, type);
    snprintf(m.id, sizeof m.id, "%s", id);
    m.dispatch = dispatch;
    s_send(self, &m);
}

/* ---- the broker link ---- */

/* Connects (or moves) to a broker and tells it the free threads. */
static int s_connect(engine_t *self, bool fail_over)
{
    zsock_t *old = broker_link_socket(self->link);
    if (old)
        zpoller_remove(self->poller, old);
    int64_t now = s_now();
    if ((fail_over ? broker_link_fail_over(self->link, now)
                   : broker_link_connect(self->link, now)) < 0)
        return -1;
    zpoller_add(self->poller, broker_link_socket(self->link));
    s_send_ready(self, s_free_slots(self));
    return 0;
}

/* ---- jobs ---- */

/* Takes *m (a job message) to a free worker thread, or hands it back. */
static void s_on_job(engine_t *self, msg_t **m)
{
    msg_t *job = *m;
    slot_t *slot = NULL;
    for (int i = 0; !self->draining && i < self->n_slots && !slot; i++)
        if (!self->slots[i].busy)
            slot = &self->slots[i];
    if (!slot) {
        /* draining, or more jobs than free threads: hand it back unstarted */
        s_send_id(self, MSG_RELEASE, job->id, job->dispatch);
        return;
    }
    crash_report_slot((int)(slot - self->slots), job->id, job->dispatch);
    memcpy(slot->job.id, job->id, sizeof slot->job.id);
    memcpy(slot->job.operation, job->operation, sizeof slot->job.operation);
    memcpy(slot->job.request_id, job->request_id, sizeof slot->job.request_id);
    slot->job.dispatch = job->dispatch;
    slot->job.started_ms = s_now();
    atomic_store(&slot->progress, 0);
    slot->progress_sent = -1;
    slot->progress_at = slot->job.started_ms;
    slot->job.deadline_ms = slot->job.started_ms + job->timeout_ms;
    log_context_set(job->request_id, job->id);
    log_info("engine: job %s (%s) dispatch %d started", job->id, job->operation, job->dispatch);
    log_context_set(NULL, NULL);
    s_send_id(self, MSG_STARTED, job->id, job->dispatch);
    if (worker_send_job(slot->actor, m) < 0) {
        log_error("engine: cannot hand job %s to a worker thread", slot->job.id);
        crash_report_slot((int)(slot - self->slots), NULL, 0);
        return;
    }
    slot->busy = true;
    engine_metrics_busy(self->metrics, self->n_slots - s_free_slots(self));
}

static void s_on_broker(engine_t *self)
{
    msg_t *m;
    int rc;
    for (int k = 0; k < 1000 && (rc = broker_link_recv(self->link, &m, s_now())) != 0; k++) {
        if (rc < 0)
            continue;
        if (m->type == MSG_JOB)
            s_on_job(self, &m);
        else if (m->type == MSG_CANCEL)
            log_info("engine: job %s was cancelled; its result will be discarded", m->id);
        else if (m->type != MSG_PING)
            log_warn("engine: unexpected '%s' from the broker", msg_type_name(m->type));
        if (m)
            msg_clear(m);
        free(m);
    }
}

/* The end of a job: its done to the broker, the log and the metrics. */
static void s_report(engine_t *self, const held_t *job, msg_t *done)
{
    if (done)
        s_send(self, done);
    log_context_set(job->request_id, job->id);
    log_info("engine: job %s dispatch %d %s", job->id, job->dispatch,
             done && done->ok ? "complete" : "failed");
    log_context_set(NULL, NULL);
    engine_metrics_job(self->metrics, job->operation, done && done->ok,
                       (double)(s_now() - job->started_ms) / 1000.0);
}

/* Hands a written result's commit, and the done that waits for it, to the
 * committer; takes *done and *commit. -1 when it cannot (nothing taken). */
static int s_commit(engine_t *self, const held_t *job, msg_t **done, result_commit_t **commit)
{
    committer_item_t *item = calloc(1, sizeof *item);
    held_t *tag = malloc(sizeof *tag);
    if (item && tag) {
        *tag = *job;
        *item = (committer_item_t){.commit = *commit, .done = *done, .tag = tag};
        if (committer_send(self->committer, item) == 0) {
            zlist_append(self->committing, item);
            crash_report_committing_add(job->id, job->dispatch);
            *done = NULL;
            *commit = NULL;
            return 0;
        }
    }
    free(item);
    free(tag);
    return -1;
}

static void s_on_worker(engine_t *self, slot_t *slot)
{
    result_commit_t *commit = NULL;
    msg_t *done = worker_recv_done(slot->actor, &commit);
    bool handed = commit && done && done->ok && s_commit(self, &slot->job, &done, &commit) == 0;
    if (!handed) { /* reported now; a result is committed first, here */
        if (commit && done && done->ok)
            committer_run(&(committer_item_t){.commit = commit, .done = done});
        if (commit)
            result_commit_abandon(commit);
        free(commit);
        s_report(self, &slot->job, done);
        if (done)
            msg_clear(done);
        free(done);
    }
    slot->busy = false;
    crash_report_slot((int)(slot - self->slots), NULL, 0);
    engine_metrics_busy(self->metrics, self->n_slots - s_free_slots(self));
    s_send_ready(self, 1);
}

static void s_on_committer(engine_t *self)
{
    committer_item_t *item = committer_recv(self->committer);
    if (!item)
        return;
    zlist_remove(self->committing, item);
    crash_report_committing_remove(((held_t *)item->tag)->id);
    s_report(self, item->tag, item->done);
    free(item->tag);
    committer_item_free(item);
}

/* Progress of the running jobs to the broker: a change, at most every
 * PROGRESS_EVERY_MS per job (the API promises at least once a second). */
#define PROGRESS_EVERY_MS 500

static void s_send_progress(engine_t *self, int64_t now)
{
    for (int i = 0; i < self->n_slots; i++) {
        slot_t *s = &self->slots[i];
        int percent = atomic_load(&s->progress);
        if (!s->busy || percent == s->progress_sent || now - s->progress_at < PROGRESS_EVERY_MS)
            continue;
        msg_t m;
        msg_init(&m, MSG_PROGRESS);
        memcpy(m.id, s->job.id, sizeof m.id);
        m.dispatch = s->job.dispatch;
        m.percent = percent;
        s_send(self, &m);
        s->progress_sent = percent;
        s->progress_at = now;
    }
}

/* ---- lifecycle ---- */

static void s_begin_drain(engine_t *self)
{
    self->draining = true;
    self->drain_deadline_ms = s_now() + self->cfg->shutdown_grace_s * 1000LL;
    msg_t m;
    msg_init(&m, MSG_BYE);
    snprintf(m.engine, sizeof m.engine, "%s", self->name);
    s_send(self, &m);
    log_info("engine: draining: %d job(s) running, %d s to finish",
             self->n_slots - s_free_slots(self), self->cfg->shutdown_grace_s);
}

static void s_release(engine_t *self, const held_t *job)
{
    log_warn("engine: handing back job %s unfinished", job->id);
    s_send_id(self, MSG_RELEASE, job->id, job->dispatch);
}

static void s_release_running(engine_t *self)
{
    for (int i = 0; i < self->n_slots; i++)
        if (self->slots[i].busy)
            s_release(self, &self->slots[i].job);
    for (committer_item_t *c = zlist_first(self->committing); c; c = zlist_next(self->committing))
        s_release(self, c->tag);
}

static bool s_stuck(const engine_t *self, const slot_t *s, int64_t now)
{
    return s->busy && now > s->job.deadline_ms + self->cfg->lease_ms;
}

/* A job past its time limit plus a lease was given back to the queue (its
 * lease lapsed) and its thread is stuck: only a restart by the supervisor
 * frees it. The other jobs held (running, or waiting for their commit) are
 * handed back uncharged first. */
static int s_watchdog(engine_t *self, int64_t now)
{
    int stuck = -1;
    for (int i = 0; i < self->n_slots && stuck < 0; i++)
        if (s_stuck(self, &self->slots[i], now))
            stuck = i;
    if (stuck < 0)
        return 0;
    for (int i = 0; i < self->n_slots; i++)
        if (self->slots[i].busy && !s_stuck(self, &self->slots[i], now))
            s_send_id(self, MSG_RELEASE, self->slots[i].job.id, self->slots[i].job.dispatch);
    for (committer_item_t *c = zlist_first(self->committing); c; c = zlist_next(self->committing)) {
        const held_t *job = c->tag;
        s_send_id(self, MSG_RELEASE, job->id, job->dispatch);
    }
    img_error_set(IMG_E_TIMEOUT, "job %s is stuck past its time limit; restarting",
                  self->slots[stuck].job.id);
    return -1;
}

int engine_run(engine_t *self)
{
    int hb = self->cfg->heartbeat_ms;
    int64_t next_beat = 0;
    if (s_connect(self, false) < 0)
        return -1;
    log_info("engine: %s with %d thread(s) connected to %s", self->name, self->n_slots,
             broker_link_endpoint(self->link));
    const crash_job_t *innocent;
    for (int i = 0, n = crash_report_innocents(&innocent); i < n; i++) {
        log_info("engine: handing back job %s, which ran beside a job that crashed the engine",
                 innocent[i].id);
        s_send_id(self, MSG_RELEASE, innocent[i].id, innocent[i].dispatch);
    }
    for (;;) {
        if (self->stopping && !self->draining)
            s_begin_drain(self);
        int64_t now = s_now();
        if (self->draining && (!engine_busy(self) || now >= self->drain_deadline_ms)) {
            s_release_running(self);
            return 0;
        }
        if (now >= next_beat) {
            bool silent = broker_link_silence(self->link, now) > 3LL * hb;
            engine_metrics_connected(self->metrics, !silent);
            s_send_heartbeat(self);
            next_beat = now + hb;
            if (s_watchdog(self, now) < 0)
                return -1;
            if (silent && s_connect(self, true) < 0) /* the next broker, or again */
                return -1;
        }
        s_send_progress(self, now);
        int wait = (int)(next_beat - now);
        void *which = zpoller_wait(self->poller, wait < 200 ? wait : 200);
        if (which && which == broker_link_socket(self->link))
            s_on_broker(self);
        for (int i = 0; which && i < self->n_slots; i++)
            if (which == self->slots[i].actor)
                s_on_worker(self, &self->slots[i]);
        if (which && which == self->committer)
            s_on_committer(self);
    }
}

void engine_stop(engine_t *self)
{
    self->stopping = 1;
}

engine_t *engine_new(const img_config_t *cfg)
{
    engine_t *self = calloc(1, sizeof *self);
    if (!self)
        goto oom;
    self->cfg = cfg;
    if (instance_name_new(self->name, sizeof self->name) < 0 ||
        !(self->clock = deadline_clock_new()) || !(self->link = broker_link_new(cfg, self->name)))
        goto fail;
    self->env = (worker_env_t){.cfg = cfg, .clock = self->clock};
    self->n_slots =
        cfg->engine_threads > 0 ? cfg->engine_threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (self->n_slots < 1)
        self->n_slots = 1;
    if (self->n_slots > MAX_THREADS)
        self->n_slots = MAX_THREADS;
    self->slots = calloc((size_t)self->n_slots, sizeof *self->slots);
    self->poller = zpoller_new(NULL);
    self->committing = zlist_new();
    if (!self->slots || !self->poller || !self->committing)
        goto oom;
    if (!(self->committer = committer_new())) {
        img_error_set(IMG_E_INTERNAL, "cannot start the committer thread");
        goto fail;
    }
    zpoller_add(self->poller, self->committer);
    if (!(self->metrics = engine_metrics_new(cfg, self->n_slots)))
        goto fail;
    if (engine_metrics_port(self->metrics))
        log_info("engine: metrics on http://localhost:%d/metrics",
                 engine_metrics_port(self->metrics));
    for (int i = 0; i < self->n_slots; i++) {
        self->slots[i].actor = worker_new(&self->env, &self->slots[i].progress);
        if (!self->slots[i].actor) {
            img_error_set(IMG_E_INTERNAL, "cannot start worker thread %d", i);
            goto fail;
        }
        zpoller_add(self->poller, self->slots[i].actor);
    }
    return self;
oom:
    img_error_set(IMG_E_INTERNAL, "out of memory");
fail:
    engine_destroy(&self);
    return NULL;
}

void engine_destroy(engine_t **pself)
{
    if (!pself || !*pself)
        return;
    engine_t *self = *pself;
    zpoller_destroy(&self->poller);
    broker_link_destroy(&self->link); /* flushes the last messages (linger) */
    bool busy = false;
    for (int i = 0; self->slots && i < self->n_slots; i++) {
        busy |= self->slots[i].busy;
        if (!self->slots[i].busy) /* a busy actor would block until its job ends */
            zactor_destroy(&self->slots[i].actor);
    }
    if (!busy) /* a busy thread may still use the clock */
        deadline_clock_destroy(&self->clock);
    /* commits still in the committer's pipe are given up with the process:
     * their jobs were handed back (s_release_running) */
    zactor_destroy(&self->committer);
    zlist_destroy(&self->committing);
    engine_metrics_destroy(&self->metrics);
    free(self->slots);
    free(self);
    *pself = NULL;
}

bool engine_busy(const engine_t *self)
{
    return s_free_slots(self) < self->n_slots || zlist_size(self->committing) > 0;
}
