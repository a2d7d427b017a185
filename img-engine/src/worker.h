/* worker — one thread of the img-engine pool, as a CZMQ actor.
 *
 * The engine sends it a `job` message (JSON text) over its pipe; the worker
 * validates it against the operation registry, runs it in the job's folder
 * with op_run(), and answers over the pipe with the `done` message to
 * forward to the broker. It ends on $TERM. libvips must be initialised
 * before the first worker starts.
 */
#ifndef IMG_WORKER_H
#define IMG_WORKER_H

#include "config.h"

#include <czmq.h>

/* Starts a worker actor. cfg is not owned and must outlive it. NULL on failure. */
zactor_t *worker_new(const img_config_t *cfg);

/* Runs one job message (JSON text) and returns the `done` message text to send
 * (caller frees), or NULL if the job message itself was invalid (logged).
 * Exposed for tests; the actor calls it. */
char *worker_run_job(const img_config_t *cfg, const char *job_text);

#endif
