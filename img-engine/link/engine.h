/* engine — the img-engine process: a pool of worker threads and its link
 * to the broker (img-rest's dispatcher).
 *
 * The engine connects a DEALER socket (identity = its worker name) to
 * cfg->broker_connect and asks for one job per free thread (`ready`). Jobs
 * go to free worker actors; their `done` answers go back to the broker,
 * each followed by a new `ready`. Every heartbeat it tells the broker which
 * jobs it holds (renewing their leases) and how many threads are free; if
 * the broker is silent for 3 heartbeats it reconnects. engine_stop() (from
 * a signal handler) starts draining: `bye`, no new jobs (any that arrive
 * are released), running jobs finish within shutdown_grace_s or are
 * released, then engine_run() returns.
 */
#ifndef IMG_ENGINE_H
#define IMG_ENGINE_H

#include "config.h"

#include <stdbool.h>

typedef struct engine engine_t;

/* cfg is not owned and must outlive the engine. Caller owns; NULL with img_error. */
engine_t *engine_new(const img_config_t *cfg);
void engine_destroy(engine_t **self);

/* Runs until stopped and drained. 0 on a clean stop, -1 with img_error. */
int engine_run(engine_t *self);

/* True if a worker thread is still running a job (after a drain deadline):
 * the process must then end with _exit() rather than return from main. */
bool engine_busy(const engine_t *self);

/* Async-signal-safe: asks engine_run to drain and return. */
void engine_stop(engine_t *self);

#endif
