#include "big_stack.h"

#include "img_error.h"

#include <pthread.h>
#include <stdio.h>

#define STACK_BYTES (8u << 20)

typedef struct {
    int (*fn)(void *);
    void *arg;
    int rc;
    img_errcode_t code;
    char message[512];
} call_t;

static void *s_trampoline(void *p)
{
    call_t *c = p;
    img_error_clear();
    c->rc = c->fn(c->arg);
    c->code = img_error_code();
    snprintf(c->message, sizeof c->message, "%s", img_error_message());
    return NULL;
}

int big_stack_call(int (*fn)(void *arg), void *arg)
{
    call_t c = {.fn = fn, .arg = arg};
    pthread_attr_t attr;
    pthread_t thread;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, STACK_BYTES);
    int err = pthread_create(&thread, &attr, s_trampoline, &c);
    pthread_attr_destroy(&attr);
    if (err) {
        img_error_set(IMG_E_INTERNAL, "cannot start a thread");
        return -1;
    }
    pthread_join(thread, NULL);
    if (c.rc < 0)
        img_error_set(c.code, "%s", c.message);
    return c.rc;
}
