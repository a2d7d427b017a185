/* job_events — lets HTTP threads wait for jobs to change: the wake-ups of
 * `?wait=N`, the change feed of the event streams, and the progress of
 * running jobs.
 *
 * The job store's change notices (job_store_listen: from this process, or
 * from every replica through PostgreSQL) call job_events_notify() and
 * job_events_progress(). Each notice gets the next sequence number and is
 * kept in a ring of the last JOB_EVENTS_RING notices (job id and kind), so
 * a stream reads what changed since the number it last saw. A thread waits
 * for a number newer than the one it read before checking the store, so a
 * wake-up can never be missed. Progress (0..100) is kept here in memory
 * only (not a store write per tick) for the last JOB_EVENTS_PROGRESS_MAX
 * jobs. Waiters and streams are counted separately, each bounded.
 */
#ifndef IMG_JOB_EVENTS_H
#define IMG_JOB_EVENTS_H

#include "job_id.h"

#include <stdbool.h>
#include <stdint.h>

#define JOB_EVENTS_RING 4096
#define JOB_EVENTS_PROGRESS_MAX 1024

typedef struct job_events job_events_t;

typedef enum { JOB_EVENT_CHANGED, JOB_EVENT_PROGRESS } job_event_kind_t;

typedef struct {
    uint64_t seq;
    job_event_kind_t kind;
    char id[JOB_ID_LEN + 1];
} job_event_t;

/* Caller owns; NULL with img_error. */
job_events_t *job_events_new(void);
void job_events_destroy(job_events_t **self);

/* A job changed (its status row). */
void job_events_notify(job_events_t *self, const char *id);
/* A running job's progress; kept and announced. */
void job_events_progress(job_events_t *self, const char *id, int percent);
/* The last progress of job id, or -1 when none is known. */
int job_events_progress_of(job_events_t *self, const char *id);

/* The number of the latest notice. */
uint64_t job_events_generation(job_events_t *self);

/* Waits until a notice newer than `seen`, the deadline (CLOCK_REALTIME ms
 * since the epoch) or the shutdown. Returns the latest number. The event
 * streams' wait: every notice wakes it. */
uint64_t job_events_wait(job_events_t *self, uint64_t seen, int64_t deadline_ms);

/* Waits until a change of job id (or of every job: a "" notice) newer than
 * `seen`, the deadline or the shutdown; returns at once if one came
 * already. The ?wait of one job: the notices of other jobs (and progress)
 * do not wake it, so N waiting clients cost N wake-ups per job change, not
 * N for every job's. */
void job_events_wait_job(job_events_t *self, const char *id, uint64_t seen, int64_t deadline_ms);

/* Copies the notices after *since (at most max) into out and advances
 * *since; the count, or -1 when some were lost (more than the ring holds
 * arrived since; *since then jumps to the latest). */
int job_events_since(job_events_t *self, uint64_t *since, job_event_t *out, int max);

/* Wakes every waiter for good: streams end (server shutdown). */
void job_events_shutdown(job_events_t *self);
bool job_events_shutting_down(job_events_t *self);

/* Bounds the requests waiting at once with ?wait (each holds an HTTP
 * thread) and, apart, the open event streams: true and counted if fewer than
 * max are in, else false. Pair a true with the matching leave. */
bool job_events_enter(job_events_t *self, int max);
void job_events_leave(job_events_t *self);
bool job_events_stream_enter(job_events_t *self, int max);
void job_events_stream_leave(job_events_t *self);

#endif
