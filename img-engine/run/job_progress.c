#include "job_progress.h"

typedef struct {
    VipsImage *image; /* a reference */
    gulong pre, eval;
    bool last;
} watched_t;

struct job_progress {
    GMutex lock;
    atomic_int *out;
    double floor;    /* where the current stage started */
    double share;    /* of what remains, the current stage's part */
    double current;  /* the job's progress, 0..100 */
    GArray *watched; /* watched_t */
};

job_progress_t *job_progress_new(atomic_int *out)
{
    job_progress_t *self = g_new0(job_progress_t, 1);
    g_mutex_init(&self->lock);
    self->out = out;
    self->share = 0.5;
    self->watched = g_array_new(FALSE, TRUE, sizeof(watched_t));
    if (out)
        atomic_store(out, 0);
    return self;
}

void job_progress_destroy(job_progress_t **pself)
{
    if (!pself || !*pself)
        return;
    job_progress_t *self = *pself;
    for (guint i = 0; i < self->watched->len; i++) {
        watched_t *w = &g_array_index(self->watched, watched_t, i);
        g_signal_handler_disconnect(w->image, w->pre);
        g_signal_handler_disconnect(w->image, w->eval);
        g_object_unref(w->image);
    }
    g_array_free(self->watched, TRUE);
    g_mutex_clear(&self->lock);
    g_free(self);
    *pself = NULL;
}

/* A stage begins; with the lock held. */
static void s_begin(job_progress_t *self, bool last)
{
    self->floor = self->current;
    self->share = last ? 1.0 : 0.5;
}

/* The current stage is percent done; with the lock held. */
static void s_advance(job_progress_t *self, int percent)
{
    double p = percent < 0 ? 0 : percent > 100 ? 100 : percent;
    double now = self->floor + (100.0 - self->floor) * self->share * p / 100.0;
    if (now > self->current)
        self->current = now;
    if (self->out) /* 100 is for the store's "complete", not a running job */
        atomic_store(self->out, self->current >= 99.0 ? 99 : (int)self->current);
}

static bool s_is_last(job_progress_t *self, VipsImage *image)
{
    for (guint i = 0; i < self->watched->len; i++) {
        watched_t *w = &g_array_index(self->watched, watched_t, i);
        if (w->image == image)
            return w->last;
    }
    return false;
}

static void s_on_preeval(VipsImage *image, VipsProgress *progress, gpointer arg)
{
    job_progress_t *self = arg;
    (void)progress;
    g_mutex_lock(&self->lock);
    s_begin(self, s_is_last(self, image));
    g_mutex_unlock(&self->lock);
}

static void s_on_eval(VipsImage *image, VipsProgress *progress, gpointer arg)
{
    job_progress_t *self = arg;
    (void)image;
    g_mutex_lock(&self->lock);
    s_advance(self, progress->percent);
    g_mutex_unlock(&self->lock);
}

void job_progress_watch(job_progress_t *self, VipsImage *image, bool last)
{
    watched_t w = {.image = image, .last = last};
    g_mutex_lock(&self->lock);
    for (guint i = 0; i < self->watched->len; i++)
        if (g_array_index(self->watched, watched_t, i).image == image) {
            g_array_index(self->watched, watched_t, i).last |= last;
            g_mutex_unlock(&self->lock);
            return;
        }
    g_object_ref(image);
    vips_image_set_progress(image, TRUE);
    w.pre = g_signal_connect(image, "preeval", G_CALLBACK(s_on_preeval), self);
    w.eval = g_signal_connect(image, "eval", G_CALLBACK(s_on_eval), self);
    g_array_append_val(self->watched, w);
    g_mutex_unlock(&self->lock);
}

void job_progress_stage(job_progress_t *self, int percent)
{
    g_mutex_lock(&self->lock);
    if (percent <= 0)
        s_begin(self, false);
    s_advance(self, percent);
    g_mutex_unlock(&self->lock);
}
