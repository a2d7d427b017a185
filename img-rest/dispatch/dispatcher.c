#include "dispatcher.h"

#include "broker_socket.h"
#include "engine_table.h"
#include "img_error.h"
#include "log.h"
#include "msg.h"

#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define CANCEL_QUEUE 64
#define MAX_BATCH 1000 /* messages handled per poll round */

typedef struct {
    char id[JOB_ID_LEN + 1];
    char engine[MSG_ENGINE_MAX];
} cancel_t;

struct dispatcher {
    dispatcher_deps_t deps;
    char name[MSG_ENGINE_MAX]; /* this broker's */
    broker_socket_t sock;
    zsock_t *router; /* sock.router */
    int wake_fd;
    pthread_t thread;
    atomic_bool stop;
    atomic_int engines;
    atomic_int free_threads;
    engine_table_t table; /* dispatcher thread only */
    /* cancels from HTTP threads */
    pthread_mutex_t lock;
    cancel_t cancels[CANCEL_QUEUE];
    int n_cancels;
};

/* Liveness and scheduling use a monotonic clock (a wall-clock step must not
 * make every engine look silent, or none); times stored with jobs (leases,
 * timestamps) are wall-clock milliseconds, as they outlive the process. */
static int64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- sending ---- */

static int s_send(dispatcher_t *self, const char *engine, const msg_t *m)
{
    size_t len;
    char *text = msg_encode(m, &len);
    if (!text) {
        log_error("dispatcher: %s", img_error_message());
        return -1;
    }
    zmsg_t *zm = zmsg_new();
    zmsg_addstr(zm, engine);
    zmsg_addmem(zm, text, len);
    free(text);
    /* ROUTER_MANDATORY: fails (EHOSTUNREACH/EAGAIN) instead of dropping silently */
    int rc = zmsg_send(&zm, self->router);
    if (rc < 0) {
        zmsg_destroy(&zm);
        /* a ping to an engine that just left is routine; anything else is worth a warning */
        log_msg(m->type == MSG_PING ? IMG_LOG_DEBUG : IMG_LOG_WARN,
                "dispatcher: cannot send '%s' to %s: %s", msg_type_name(m->type), engine,
                zmq_strerror(errno));
    }
    return rc;
}

/* ---- dispatching ---- */

static void s_job_message(const job_t *job, const img_config_t *cfg, msg_t *m)
{
    msg_init(m, MSG_JOB);
    memcpy(m->id, job->id, sizeof m->id);
    snprintf(m->operation, sizeof m->operation, "%s", job->operation);
    m->params = json_incref(job->params);
    m->input = json_is_object(job->input) ? json_incref(job->input) : NULL; /* NULL: not sent */
    m->dispatch = job->dispatch;
    m->timeout_ms = cfg->job_timeout_s * 1000;
    snprintf(m->request_id, sizeof m->request_id, "%s", job->request_id);
}

static void s_dispatch(dispatcher_t *self, int64_t now)
{
    const img_config_t *cfg = self->deps.cfg;
    engine_entry_t *e;
    while ((e = engine_table_next_with_credit(&self->table)) != NULL) {
        job_t job = {0};
        int rc = job_store_claim(self->deps.store, e->name, self->name, now + cfg->lease_ms, &job);
        if (rc < 0)
            log_error("dispatcher: claim failed: %s", img_error_message());
        if (rc <= 0)
            return;
        msg_t m;
        s_job_message(&job, cfg, &m);
        e->credit--;
        if (s_send(self, e->name, &m) == 0) {
            rest_metrics_dispatch(self->deps.metrics, "dispatched", 1);
            log_debug("dispatcher: job %s (%s) dispatch %d to %s", job.id, job.operation,
                      job.dispatch, e->name);
        } else {
            /* not delivered: hand it straight back, and take the engine's credit
             * from its next heartbeat instead of from what we counted */
            e->credit = 0;
            e->resync = true;
            job_store_requeue(self->deps.store, job.id, job.dispatch);
        }
        msg_clear(&m);
        job_clear(&job);
    }
}

/* ---- receiving ---- */

static void s_on_done(dispatcher_t *self, const msg_t *m, int64_t now)
{
    int applied =
        job_store_finish(self->deps.store, m->id, m->dispatch, m->ok ? m->result : NULL,
                         m->ok ? NULL : m->error_code, m->ok ? NULL : m->error_message, now);
    if (applied < 0) {
        log_error("dispatcher: recording job %s failed: %s", m->id, img_error_message());
        return;
    }
    if (applied == 0) {
        log_info("dispatcher: ignored a late or duplicate completion of job %s dispatch %d", m->id,
                 m->dispatch);
        return;
    }
    job_t job;
    if (job_store_get(self->deps.store, m->id, &job) == 0) {
        rest_metrics_finished(self->deps.metrics, &job);
        job_clear(&job);
    }
    log_info("dispatcher: job %s %s (dispatch %d)%s%s", m->id, m->ok ? "complete" : "failed",
             m->dispatch, m->ok ? "" : ": ", m->ok ? "" : m->error_message);
}

static void s_on_heartbeat(dispatcher_t *self, engine_entry_t *e, const msg_t *m, int64_t now)
{
    /* new to us (we restarted), or a send to it failed: its own count wins
     * (counting one job too many is harmless: the engine hands it back) */
    if (e->resync) {
        e->credit = m->free_threads;
        e->resync = false;
    }
    e->free_threads = m->free_threads;
    for (int i = 0; i < m->n_held; i++)
        if (job_store_renew(self->deps.store, m->held[i], e->name, self->name,
                            now + self->deps.cfg->lease_ms) == 0)
            log_debug("dispatcher: %s holds job %s that is no longer leased to it", e->name,
                      m->held[i]);
}

static void s_on_release(dispatcher_t *self, const char *engine, const msg_t *m)
{
    if (job_store_requeue(self->deps.store, m->id, m->dispatch) == 1) {
        rest_metrics_dispatch(self->deps.metrics, "requeued", 1);
        log_info("dispatcher: job %s handed back by %s", m->id, engine);
    }
}

static void s_handle(dispatcher_t *self, const char *identity, const msg_t *m, int64_t now)
{
    bool added = false;
    engine_entry_t *e = engine_table_touch(&self->table, identity, s_mono_ms(), &added);
    if (!e) {
        log_warn("dispatcher: engine table full, ignoring %s", identity);
        return;
    }
    if (added)
        log_info("dispatcher: engine %s connected", identity);
    switch (m->type) {
    case MSG_READY:
        e->credit = m->credit + e->credit > 1024 ? 1024 : m->credit + e->credit;
        e->draining = false;
        break;
    case MSG_HEARTBEAT:
        s_on_heartbeat(self, e, m, now);
        break;
    case MSG_BYE:
        log_info("dispatcher: engine %s is draining", identity);
        e->draining = true;
        e->credit = 0;
        break;
    case MSG_STARTED:
        if (job_store_mark_started(self->deps.store, m->id, m->dispatch, now) < 0)
            log_error("dispatcher: %s", img_error_message());
        log_debug("dispatcher: job %s dispatch %d started on %s", m->id, m->dispatch, identity);
        break;
    case MSG_PROGRESS:
        job_store_publish_progress(self->deps.store, m->id, m->percent);
        break;
    case MSG_DONE:
        s_on_done(self, m, now);
        break;
    case MSG_RELEASE:
        s_on_release(self, identity, m);
        break;
    default:
        break; /* s_receive let only engine messages through */
    }
}

static int s_identity_ok(zframe_t *f, char *out, size_t size)
{
    size_t n = zframe_size(f);
    if (n == 0 || n >= size)
        return -1;
    memcpy(out, zframe_data(f), n);
    out[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] <= 0x20 || (unsigned char)out[i] >= 0x7f)
            return -1;
    return 0;
}

/* Decodes one message from an engine; -1 (counted as dropped) if it is not
 * one an engine may send. */
static int s_accept(dispatcher_t *self, zmsg_t *zm, char *identity, msg_t *m)
{
    zframe_t *id = zmsg_first(zm);
    zframe_t *body = zmsg_next(zm);
    if (zmsg_size(zm) != 2 || s_identity_ok(id, identity, MSG_ENGINE_MAX) < 0) {
        log_warn("dispatcher: dropped a message with %zu frames or a bad identity", zmsg_size(zm));
    } else if (msg_decode(zframe_data(body), zframe_size(body),
                          (size_t)self->deps.cfg->max_message_bytes, m) < 0) {
        log_warn("dispatcher: dropped a message from %s: %s", identity, img_error_message());
    } else if (m->type >= MSG_JOB) {
        log_warn("dispatcher: '%s' is not a message an engine sends; dropped (from %s)",
                 msg_type_name(m->type), identity);
        msg_clear(m);
    } else if (m->engine[0] && strcmp(m->engine, identity) != 0) {
        log_warn("dispatcher: dropped a message from %s claiming to be %s", identity, m->engine);
        msg_clear(m);
    } else {
        return 0;
    }
    rest_metrics_dispatch(self->deps.metrics, "message_dropped", 1);
    return -1;
}

static void s_receive(dispatcher_t *self)
{
    for (int k = 0; k < MAX_BATCH; k++) {
        zmsg_t *zm = zmsg_recv(self->router); /* receive timeout 0: NULL when none */
        if (!zm)
            return;
        char identity[MSG_ENGINE_MAX];
        msg_t m;
        if (s_accept(self, zm, identity, &m) == 0) {
            s_handle(self, identity, &m, job_now_ms());
            msg_clear(&m);
        }
        zmsg_destroy(&zm);
    }
}

/* ---- periodic work ---- */

static void s_engine_lost(const char *name, void *arg)
{
    dispatcher_t *self = arg;
    int n = job_store_release_engine(self->deps.store, name, self->name);
    log_warn("dispatcher: engine %s is silent, dropped; the leases of its %d job(s) end now", name,
             n < 0 ? 0 : n);
}

/* Every heartbeat: ping the engines, drop the silent ones. */
static void s_tick(dispatcher_t *self)
{
    msg_t ping;
    msg_init(&ping, MSG_PING);
    for (int i = 0; i < self->table.count; i++)
        s_send(self, self->table.engines[i].name, &ping);
    engine_table_expire(&self->table, s_mono_ms() - 3LL * self->deps.cfg->heartbeat_ms,
                        s_engine_lost, self);
}

static void s_send_cancels(dispatcher_t *self)
{
    cancel_t batch[CANCEL_QUEUE];
    pthread_mutex_lock(&self->lock);
    int n = self->n_cancels;
    memcpy(batch, self->cancels, (size_t)n * sizeof batch[0]);
    self->n_cancels = 0;
    pthread_mutex_unlock(&self->lock);
    for (int i = 0; i < n; i++) {
        msg_t m;
        msg_init(&m, MSG_CANCEL);
        memcpy(m.id, batch[i].id, sizeof m.id);
        if (engine_table_find(&self->table, batch[i].engine))
            s_send(self, batch[i].engine, &m);
    }
}

static void s_drain_wake(dispatcher_t *self)
{
    uint64_t v;
    if (read(self->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
        log_warn("dispatcher: wake read: %s", strerror(errno));
}

static void *s_run(void *arg)
{
    dispatcher_t *self = arg;
    int hb = self->deps.cfg->heartbeat_ms;
    int64_t next_tick = s_mono_ms();
    while (!atomic_load(&self->stop)) {
        int64_t now = s_mono_ms();
        zmq_pollitem_t items[2] = {{zsock_resolve(self->router), 0, ZMQ_POLLIN, 0},
                                   {NULL, self->wake_fd, ZMQ_POLLIN, 0}};
        long timeout = next_tick > now ? (long)(next_tick - now) : 0;
        if (zmq_poll(items, 2, timeout) < 0 && errno != EINTR) {
            log_error("dispatcher: poll failed: %s", zmq_strerror(errno));
            break;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            s_drain_wake(self);
            s_send_cancels(self);
        }
        if (items[0].revents & ZMQ_POLLIN)
            s_receive(self);
        if (s_mono_ms() >= next_tick) {
            s_tick(self);
            next_tick = s_mono_ms() + hb;
        }
        s_dispatch(self, job_now_ms());
        atomic_store(&self->engines, engine_table_active(&self->table));
        atomic_store(&self->free_threads, engine_table_free_threads(&self->table));
    }
    return NULL;
}

/* ---- public ---- */

dispatcher_t *dispatcher_new(const dispatcher_deps_t *deps)
{
    dispatcher_t *self = calloc(1, sizeof *self);
    if (!self) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return NULL;
    }
    self->deps = *deps;
    snprintf(self->name, sizeof self->name, "%s", deps->name);
    self->wake_fd = -1;
    engine_table_init(&self->table);
    pthread_mutex_init(&self->lock, NULL);
    if (broker_socket_open(&self->sock, deps->cfg) < 0)
        goto fail;
    self->router = self->sock.router;
    self->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->wake_fd < 0) {
        img_error_set(IMG_E_INTERNAL, "eventfd: %s", strerror(errno));
        goto fail;
    }
    if (pthread_create(&self->thread, NULL, s_run, self) != 0) {
        img_error_set(IMG_E_INTERNAL, "cannot start the dispatcher thread");
        goto fail;
    }
    log_info("dispatcher: listening for engines on %s", deps->cfg->broker_bind);
    return self;
fail:
    broker_socket_close(&self->sock);
    if (self->wake_fd >= 0)
        close(self->wake_fd);
    pthread_mutex_destroy(&self->lock);
    free(self);
    return NULL;
}

void dispatcher_wake(dispatcher_t *self)
{
    uint64_t one = 1;
    if (write(self->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_warn("dispatcher: wake write: %s", strerror(errno));
}

void dispatcher_destroy(dispatcher_t **pself)
{
    if (!pself || !*pself)
        return;
    dispatcher_t *self = *pself;
    atomic_store(&self->stop, true);
    dispatcher_wake(self);
    pthread_join(self->thread, NULL);
    broker_socket_close(&self->sock);
    close(self->wake_fd);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *pself = NULL;
}

void dispatcher_cancel(dispatcher_t *self, const char *id, const char *engine)
{
    if (!engine || !*engine)
        return;
    pthread_mutex_lock(&self->lock);
    if (self->n_cancels < CANCEL_QUEUE) {
        cancel_t *c = &self->cancels[self->n_cancels++];
        snprintf(c->id, sizeof c->id, "%s", id);
        snprintf(c->engine, sizeof c->engine, "%s", engine);
    }
    pthread_mutex_unlock(&self->lock);
    dispatcher_wake(self);
}

int dispatcher_engines(dispatcher_t *self)
{
    return atomic_load(&self->engines);
}

int dispatcher_free_threads(dispatcher_t *self)
{
    return atomic_load(&self->free_threads);
}
