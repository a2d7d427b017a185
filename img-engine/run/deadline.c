#include "deadline.h"

#include "img_error.h"

#define TICK_US 20000 /* how often the clock looks at the deadlines */

struct deadline_clock {
    GMutex lock;    /* guards jobs and every deadline's watched array */
    GCond stopping; /* signalled by destroy */
    bool stop;
    GSList *jobs; /* deadline_t *, the running deadlines */
    GThread *thread;
};

struct deadline {
    deadline_clock_t *clock;
    gint64 at_us;       /* g_get_monotonic_time(); 0 = none */
    GPtrArray *watched; /* VipsImage *, one reference each */
};

/* Kills every image watched by a deadline that has passed. */
static void s_kill_late(deadline_clock_t *clock, gint64 now)
{
    for (GSList *l = clock->jobs; l; l = l->next) {
        deadline_t *d = l->data;
        for (guint i = 0; now >= d->at_us && i < d->watched->len; i++)
            vips_image_set_kill(g_ptr_array_index(d->watched, i), TRUE);
    }
}

static gpointer s_run(gpointer arg)
{
    deadline_clock_t *clock = arg;
    g_mutex_lock(&clock->lock);
    while (!clock->stop) {
        gint64 wake = g_get_monotonic_time() + TICK_US;
        g_cond_wait_until(&clock->stopping, &clock->lock, wake);
        s_kill_late(clock, g_get_monotonic_time());
    }
    g_mutex_unlock(&clock->lock);
    return NULL;
}

deadline_clock_t *deadline_clock_new(void)
{
    deadline_clock_t *clock = g_new0(deadline_clock_t, 1);
    g_mutex_init(&clock->lock);
    g_cond_init(&clock->stopping);
    clock->thread = g_thread_try_new("deadline", s_run, clock, NULL);
    if (!clock->thread) {
        g_cond_clear(&clock->stopping);
        g_mutex_clear(&clock->lock);
        g_free(clock);
        img_error_set(IMG_E_INTERNAL, "cannot start the deadline thread");
        return NULL;
    }
    return clock;
}

void deadline_clock_destroy(deadline_clock_t **pself)
{
    if (!pself || !*pself)
        return;
    deadline_clock_t *clock = *pself;
    g_mutex_lock(&clock->lock);
    clock->stop = true;
    g_cond_signal(&clock->stopping);
    g_mutex_unlock(&clock->lock);
    g_thread_join(clock->thread);
    g_slist_free(clock->jobs);
    g_cond_clear(&clock->stopping);
    g_mutex_clear(&clock->lock);
    g_free(clock);
    *pself = NULL;
}

deadline_t *deadline_start(deadline_clock_t *clock, int timeout_ms)
{
    deadline_t *d = g_new0(deadline_t, 1);
    d->clock = clock;
    d->at_us = timeout_ms > 0 ? g_get_monotonic_time() + (gint64)timeout_ms * 1000 : 0;
    d->watched = g_ptr_array_new_with_free_func(g_object_unref);
    if (d->at_us && clock) {
        g_mutex_lock(&clock->lock);
        clock->jobs = g_slist_prepend(clock->jobs, d);
        g_mutex_unlock(&clock->lock);
    }
    return d;
}

void deadline_end(deadline_t **pself)
{
    if (!pself || !*pself)
        return;
    deadline_t *d = *pself;
    if (d->clock) {
        g_mutex_lock(&d->clock->lock);
        d->clock->jobs = g_slist_remove(d->clock->jobs, d);
        g_mutex_unlock(&d->clock->lock);
    }
    g_ptr_array_free(d->watched, TRUE);
    g_free(d);
    *pself = NULL;
}

void deadline_watch(deadline_t *self, VipsImage *image)
{
    if (!image || !self->at_us || !self->clock)
        return;
    g_mutex_lock(&self->clock->lock);
    g_ptr_array_add(self->watched, g_object_ref(image));
    g_mutex_unlock(&self->clock->lock);
}

bool deadline_passed(const deadline_t *self)
{
    return self->at_us && g_get_monotonic_time() >= self->at_us;
}
