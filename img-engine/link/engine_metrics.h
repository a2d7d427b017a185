/* engine_metrics — what an img-engine tells Prometheus, on its own port.
 *
 * Each engine serves GET /metrics on metrics_listen (empty: not served), so
 * that Prometheus scrapes every engine directly, wherever it runs; an
 * engine's numbers do not pass through img-rest, which would have to merge
 * them from many engines and would lose them when a replica goes.
 *   img_engine_jobs_total{operation, outcome}
 *   img_engine_job_duration_seconds{operation} (histogram, the engine's own
 *     time for a job: from the worker thread's start to its done)
 *   img_engine_threads, img_engine_threads_busy, img_engine_broker_connected
 *   img_build_info{version, libvips}, and the process_* metrics.
 * Thread-safe.
 */
#ifndef IMG_ENGINE_METRICS_H
#define IMG_ENGINE_METRICS_H

#include "config.h"

#include <stdbool.h>

typedef struct engine_metrics engine_metrics_t;

/* Starts serving on cfg->metrics_listen when it is set. Caller owns; NULL
 * with img_error (IMG_E_CONFIG when the address cannot be listened on). */
engine_metrics_t *engine_metrics_new(const img_config_t *cfg, int threads);
void engine_metrics_destroy(engine_metrics_t **self);

/* The port served on (0 when none). */
int engine_metrics_port(engine_metrics_t *self);

void engine_metrics_job(engine_metrics_t *self, const char *operation, bool ok, double seconds);
void engine_metrics_busy(engine_metrics_t *self, int busy_threads);
void engine_metrics_connected(engine_metrics_t *self, bool connected);

#endif
