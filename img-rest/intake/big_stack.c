#include "big_stack.h"

#include "img_error.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define STACK_BYTES (8u << 20)

/* One call, on the caller's stack while it waits. */
typedef struct call {
    int (*fn)(void *);
    void *arg;
    int rc;
    img_errcode_t code;
    char message[512];
    bool done;
    struct call *next;
} call_t;

struct big_stack {
    pthread_mutex_t lock;
    pthread_cond_t work; /* a call was queued, or stop */
    pthread_cond_t done; /* a call finished */
    call_t *head, *tail;
    bool stop;
    int n;
    pthread_t *threads;
};

static void s_run(call_t *c)
{
    img_error_clear();
    c->rc = c->fn(c->arg);
    c->code = img_error_code();
    snprintf(c->message, sizeof c->message, "%s", img_error_message());
}

static void *s_thread(void *arg)
{
    big_stack_t *self = arg;
    pthread_mutex_lock(&self->lock);
    for (;;) {
        while (!self->head && !self->stop)
            pthread_cond_wait(&self->work, &self->lock);
        if (!self->head)
            break;
        call_t *c = self->head;
        self->head = c->next;
        if (!self->head)
            self->tail = NULL;
        pthread_mutex_unlock(&self->lock);
        s_run(c);
        pthread_mutex_lock(&self->lock);
        c->done = true;
        pthread_cond_broadcast(&self->done);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

big_stack_t *big_stack_new(int n)
{
    big_stack_t *self = calloc(1, sizeof *self);
    pthread_attr_t attr;
    if (!self || !(self->threads = calloc((size_t)n, sizeof *self->threads))) {
        free(self);
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->work, NULL);
    pthread_cond_init(&self->done, NULL);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, STACK_BYTES);
    for (; self->n < n; self->n++)
        if (pthread_create(&self->threads[self->n], &attr, s_thread, self) != 0)
            break;
    pthread_attr_destroy(&attr);
    if (self->n < n) {
        big_stack_destroy(&self);
        img_error_set(IMG_E_INTERNAL, "cannot start %d threads", n);
        return NULL;
    }
    return self;
}

void big_stack_destroy(big_stack_t **pself)
{
    if (!pself || !*pself)
        return;
    big_stack_t *self = *pself;
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_cond_broadcast(&self->work);
    pthread_mutex_unlock(&self->lock);
    for (int i = 0; i < self->n; i++)
        pthread_join(self->threads[i], NULL);
    pthread_cond_destroy(&self->done);
    pthread_cond_destroy(&self->work);
    pthread_mutex_destroy(&self->lock);
    free(self->threads);
    free(self);
    *pself = NULL;
}

int big_stack_call_beside(big_stack_t *self, int (*fn)(void *arg), void *arg,
                          int (*beside)(void *arg), void *beside_arg)
{
    call_t c = {.fn = fn, .arg = arg};
    pthread_mutex_lock(&self->lock);
    if (self->tail)
        self->tail->next = &c;
    else
        self->head = &c;
    self->tail = &c;
    pthread_cond_signal(&self->work);
    pthread_mutex_unlock(&self->lock);
    int beside_rc = beside ? beside(beside_arg) : 0; /* its error stays set */
    pthread_mutex_lock(&self->lock);
    while (!c.done)
        pthread_cond_wait(&self->done, &self->lock);
    pthread_mutex_unlock(&self->lock);
    if (c.rc < 0) {
        img_error_set(c.code, "%s", c.message);
        return -1;
    }
    return beside_rc < 0 ? -1 : 0;
}

int big_stack_call(big_stack_t *self, int (*fn)(void *arg), void *arg)
{
    return big_stack_call_beside(self, fn, arg, NULL, NULL);
}
