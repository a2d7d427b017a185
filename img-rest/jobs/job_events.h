/* job_events — lets HTTP threads wait for jobs to change, and keeps the
 * progress of running jobs.
 *
 * The job store's change notices (job_store_listen: from this process, or
 * from every replica through PostgreSQL) call job_events_notify(); a thread
 * answering `?wait=N` calls job_events_wait() between reads of the job
 * store. A generation counter under a mutex makes wake-ups impossible to
 * miss: read the generation, check the store, then wait for a newer one.
 * Progress (0..100) of running jobs is kept here, in memory only (not a
 * store write per tick), for the most recent JOB_EVENTS_PROGRESS_MAX jobs.
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

#define JOB_EVENTS_PROGRESS_MAX 1024

/* Records a running job's progress and wakes the waiters. */
void job_events_progress(job_events_t *self, const char *id, int percent);
/* The last progress of job id, or -1 when none is known. */
int job_events_progress_of(job_events_t *self, const char *id);

/* Waits until the generation differs from `seen` or deadline_ms (CLOCK_REALTIME,
 * ms since the epoch) passes. Returns the current generation. */
uint64_t job_events_wait(job_events_t *self, uint64_t seen, int64_t deadline_ms);

/* Bounds the requests waiting at once (each holds an HTTP thread): true
 * and counted if fewer than `max` wait now, else false. Pair a true with
 * job_events_leave(). */
bool job_events_enter(job_events_t *self, int max);
void job_events_leave(job_events_t *self);

#endif
