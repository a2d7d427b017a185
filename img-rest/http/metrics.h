/* metrics — img-rest's counters, rendered in the Prometheus text format.
 * Counters are atomics: any thread may count. Gauges (queue depth,
 * workers) are read at render time from their owners. */
#ifndef IMG_METRICS_H
#define IMG_METRICS_H

#include <stddef.h>

typedef struct metrics metrics_t;

/* Caller owns; NULL when out of memory. */
metrics_t *metrics_new(void);
void metrics_destroy(metrics_t **self);

/* An HTTP answer with this status took `seconds`. */
void metrics_count_request(metrics_t *self, int status, double seconds);
/* A job of the named operation was accepted. */
void metrics_count_submit(metrics_t *self, const char *operation);

typedef struct {
    long queued, processing, complete, failed;
    int workers;
    long long dispatched, completed, failed_total, requeued, messages_dropped;
    double uptime_s;
} metrics_gauges_t;

/* Text in the Prometheus exposition format. Caller frees. */
char *metrics_render(metrics_t *self, const metrics_gauges_t *g);

#endif
