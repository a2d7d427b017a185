#include "engine_table.h"

#include <stdio.h>
#include <string.h>

void engine_table_init(engine_table_t *t)
{
    memset(t, 0, sizeof *t);
}

engine_entry_t *engine_table_find(engine_table_t *t, const char *name)
{
    for (int i = 0; i < t->count; i++)
        if (strcmp(t->engines[i].name, name) == 0)
            return &t->engines[i];
    return NULL;
}

engine_entry_t *engine_table_touch(engine_table_t *t, const char *name, int64_t now_ms, bool *added)
{
    engine_entry_t *w = engine_table_find(t, name);
    *added = false;
    if (!w) {
        if (t->count == ENGINE_TABLE_MAX)
            return NULL;
        w = &t->engines[t->count++];
        memset(w, 0, sizeof *w);
        snprintf(w->name, sizeof w->name, "%s", name);
        w->resync = true; /* its credit is unknown until it says */
        *added = true;
    }
    w->last_seen_ms = now_ms;
    return w;
}

engine_entry_t *engine_table_next_with_credit(engine_table_t *t)
{
    for (int k = 0; k < t->count; k++) {
        int i = (t->next + k) % t->count;
        engine_entry_t *w = &t->engines[i];
        if (w->credit > 0 && !w->draining) {
            t->next = (i + 1) % t->count;
            return w;
        }
    }
    return NULL;
}

int engine_table_expire(engine_table_t *t, int64_t before_ms,
                        void (*fn)(const char *name, void *arg), void *arg)
{
    int removed = 0;
    for (int i = 0; i < t->count;) {
        if (t->engines[i].last_seen_ms >= before_ms) {
            i++;
            continue;
        }
        fn(t->engines[i].name, arg);
        t->engines[i] = t->engines[--t->count];
        removed++;
    }
    if (t->next >= t->count)
        t->next = 0;
    return removed;
}

int engine_table_active(const engine_table_t *t)
{
    int n = 0;
    for (int i = 0; i < t->count; i++)
        n += !t->engines[i].draining;
    return n;
}

int engine_table_free_threads(const engine_table_t *t)
{
    int n = 0;
    for (int i = 0; i < t->count; i++)
        n += t->engines[i].draining ? 0 : t->engines[i].free_threads;
    return n;
}
