#include "worker_table.h"

#include <stdio.h>
#include <string.h>

void worker_table_init(worker_table_t *t)
{
    memset(t, 0, sizeof *t);
}

worker_t *worker_table_find(worker_table_t *t, const char *name)
{
    for (int i = 0; i < t->count; i++)
        if (strcmp(t->workers[i].name, name) == 0)
            return &t->workers[i];
    return NULL;
}

worker_t *worker_table_touch(worker_table_t *t, const char *name, int64_t now_ms, bool *added)
{
    worker_t *w = worker_table_find(t, name);
    *added = false;
    if (!w) {
        if (t->count == WORKER_TABLE_MAX)
            return NULL;
        w = &t->workers[t->count++];
        memset(w, 0, sizeof *w);
        snprintf(w->name, sizeof w->name, "%s", name);
        w->resync = true; /* its credit is unknown until it says */
        *added = true;
    }
    w->last_seen_ms = now_ms;
    return w;
}

worker_t *worker_table_next_with_credit(worker_table_t *t)
{
    for (int k = 0; k < t->count; k++) {
        int i = (t->next + k) % t->count;
        worker_t *w = &t->workers[i];
        if (w->credit > 0 && !w->draining) {
            t->next = (i + 1) % t->count;
            return w;
        }
    }
    return NULL;
}

int worker_table_expire(worker_table_t *t, int64_t before_ms,
                        void (*fn)(const char *name, void *arg), void *arg)
{
    int removed = 0;
    for (int i = 0; i < t->count;) {
        if (t->workers[i].last_seen_ms >= before_ms) {
            i++;
            continue;
        }
        fn(t->workers[i].name, arg);
        t->workers[i] = t->workers[--t->count];
        removed++;
    }
    if (t->next >= t->count)
        t->next = 0;
    return removed;
}

int worker_table_active(const worker_table_t *t)
{
    int n = 0;
    for (int i = 0; i < t->count; i++)
        n += !t->workers[i].draining;
    return n;
}
