/* job_events — lets HTTP threads wait for jobs to change.
 *
 * The dispatcher calls job_events_notify() after it records a job's end;
 * a thread answering `?wait=N` calls job_events_wait() between reads of the
 * job store. A generation counter under a mutex makes wake-ups impossible to
 * miss: read the generation, check the store, then wait for a newer one.
 */
#ifndef IMG_JOB_EVENTS_H
#define IMG_JOB_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct job_events job_events_t;

/* Caller owns; NULL with img_error. */
job_events_t *job_events_new(void);
void job_events_destroy(job_events_t **self);

uint64_t job_events_generation(job_events_t *self);
void job_events_notify(job_events_t *self);

/* Waits until the generation differs from `seen` or deadline_ms (CLOCK_REALTIME,
 * ms since the epoch) passes. Returns the current generation. */
uint64_t job_events_wait(job_events_t *self, uint64_t seen, int64_t deadline_ms);

/* Bounds the requests waiting at once (each holds an HTTP thread): true
 * and counted if fewer than `max` wait now, else false. Pair a true with
 * job_events_leave(). */
bool job_events_enter(job_events_t *self, int max);
void job_events_leave(job_events_t *self);

#endif
