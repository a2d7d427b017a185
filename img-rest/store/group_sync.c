#include "group_sync.h"

#include "img_error.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

/* Syncs are numbered: `started` is the number of the last one begun, `done`
 * of the last one ended, and `done_errno` says how that one went. A waiter
 * needs sync number started + 1 (the next to begin, after its call). */
struct group_sync {
    int fd;
    pthread_mutex_t lock;
    pthread_cond_t ended;
    bool syncing;
    long started, done;
    int done_errno;
};

group_sync_t *group_sync_new(const char *path)
{
    group_sync_t *self = calloc(1, sizeof *self);
    if (!self) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return NULL;
    }
    self->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (self->fd < 0) {
        img_error_set_io(errno, "job store: cannot open its write-ahead log");
        free(self);
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->ended, NULL);
    return self;
}

void group_sync_destroy(group_sync_t **pself)
{
    if (!pself || !*pself)
        return;
    group_sync_t *self = *pself;
    close(self->fd);
    pthread_cond_destroy(&self->ended);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *pself = NULL;
}

/* Runs sync number started + 1, the lock let go meanwhile. */
static void s_run_one(group_sync_t *self)
{
    long mine = ++self->started;
    self->syncing = true;
    pthread_mutex_unlock(&self->lock);
    int err = fdatasync(self->fd) == 0 ? 0 : errno;
    pthread_mutex_lock(&self->lock);
    self->syncing = false;
    self->done = mine;
    self->done_errno = err;
    pthread_cond_broadcast(&self->ended);
}

int group_sync_wait(group_sync_t *self)
{
    pthread_mutex_lock(&self->lock);
    long need = self->started + 1;
    while (self->done < need) {
        if (self->syncing)
            pthread_cond_wait(&self->ended, &self->lock);
        else
            s_run_one(self);
    }
    int err = self->done_errno;
    pthread_mutex_unlock(&self->lock);
    if (err) {
        img_error_set_io(err, "job store: the write-ahead log could not be synced");
        return -1;
    }
    return 0;
}

long group_sync_count(group_sync_t *self)
{
    pthread_mutex_lock(&self->lock);
    long n = self->done;
    pthread_mutex_unlock(&self->lock);
    return n;
}
