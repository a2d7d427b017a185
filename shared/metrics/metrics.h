/* metrics — a registry of Prometheus metrics, rendered in the text
 * exposition format (version 0.0.4). Both programs keep one.
 *
 * A family has a name (Prometheus naming: snake_case, a unit suffix,
 * `_total` for counters), a help line, a type and the names of its labels;
 * its series are created on first use, one per combination of label values
 * (given in the order the labels were declared). Every function is
 * thread-safe. The registry also renders the standard process_* metrics of
 * the calling process (CPU, memory, file descriptors, start time) and
 * calls a hook first, so that gauges owned elsewhere (queue depth, engines)
 * are read at scrape time.
 */
#ifndef IMG_METRICS_H
#define IMG_METRICS_H

#include <stddef.h>

typedef struct metrics metrics_t;
typedef struct metric metric_t;

#define METRICS_MAX_LABELS 4

/* Caller owns; NULL when out of memory. */
metrics_t *metrics_new(void);
void metrics_destroy(metrics_t **self);

/* Families, owned by the registry. labels: comma-separated label names
 * ("route,method,code") or NULL. NULL on a bad name or out of memory. */
metric_t *metrics_counter(metrics_t *self, const char *name, const char *help, const char *labels);
metric_t *metrics_gauge(metrics_t *self, const char *name, const char *help, const char *labels);
/* buckets: n increasing upper bounds (the +Inf bucket is implied). */
metric_t *metrics_histogram(metrics_t *self, const char *name, const char *help, const char *labels,
                            const double *buckets, int n);

/* One series' value: as many label values (strings) as the family has
 * labels follow v. add: counters and gauges; set: gauges; observe:
 * histograms. A NULL metric is ignored. */
void metric_add(metric_t *m, double v, ...);
void metric_set(metric_t *m, double v, ...);
void metric_observe(metric_t *m, double v, ...);

/* Called by metrics_render before it renders (e.g. to set gauges). */
void metrics_on_render(metrics_t *self, void (*fn)(void *arg), void *arg);

/* The text exposition of every family and the process metrics. Caller
 * frees; NULL when out of memory. */
char *metrics_render(metrics_t *self);

#endif
