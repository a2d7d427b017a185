/* job_store — the queue of record: every job lives here, never only in memory.
 *
 * An interface (a table of functions) so that another store (PostgreSQL...)
 * can be added beside the embedded SQLite one (job_store_sqlite.c). Every
 * function is safe to call from any thread. Functions return 0 on success
 * and -1 with img_error on failure unless said otherwise; functions that
 * fill a job_t leave it for the caller to job_clear().
 *
 * The lease protocol: job_store_claim() moves the oldest queued job to
 * processing, increments its attempts and its dispatch number and leases it
 * to a worker until a time; job_store_renew() extends leases the worker
 * still holds; job_store_finish() records the outcome only for the dispatch
 * that holds the lease (a late or duplicate completion changes nothing);
 * job_store_requeue() takes back a dispatch without charging an attempt;
 * job_store_expire() puts jobs with lapsed leases back in the queue, or
 * fails them once they have used max_attempts; only dispatches that
 * started (job_store_mark_started) are charged.
 */
#ifndef IMG_JOB_STORE_H
#define IMG_JOB_STORE_H

#include "job.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct job_store job_store_t;

typedef struct {
    const char *status;    /* NULL or a status name */
    const char *operation; /* NULL or an operation name */
    int limit;             /* 1..1000 */
    int64_t before_seq;    /* 0 = from the newest; else only seq < before_seq */
} job_filter_t;

/* Called for each job removed by job_store_purge (to delete its files). */
typedef void (*job_removed_fn)(const char *id, void *arg);

/* Opens (creating if needed) the SQLite store at path, WAL mode. Caller owns;
 * NULL with img_error. */
job_store_t *job_store_open_sqlite(const char *path);
void job_store_destroy(job_store_t **self);

/* Inserts a new queued job (id, operation, params, input, created_at used). */
int job_store_insert(job_store_t *self, const job_t *job);

/* 0 found, -1 with IMG_E_NOT_FOUND or another error. */
int job_store_get(job_store_t *self, const char *id, job_t *out);

/* Newest first. *jobs gets a calloc'ed array of *n jobs (caller frees each with
 * job_clear, then free); *next_seq is the before_seq of the next page or 0. */
int job_store_list(job_store_t *self, const job_filter_t *filter, job_t **jobs, size_t *n,
                   int64_t *next_seq);

/* Number of jobs in a status. -1 on error. */
long job_store_count(job_store_t *self, job_status_t status);

/* Claims the oldest queued job for worker until lease_until. 1 claimed (out
 * filled, status processing, attempts and dispatch number incremented), 0
 * none queued, -1 error. */
int job_store_claim(job_store_t *self, const char *worker, int64_t lease_until, job_t *out);

/* Extends the lease of job id if worker holds it. 1 renewed, 0 not held, -1 error. */
int job_store_renew(job_store_t *self, const char *id, const char *worker, int64_t lease_until);

/* Records the end of dispatch `dispatch` of job id: complete with result (not
 * stolen) or failed with code/message. Applied only while the job is
 * processing with that dispatch number: 1 applied, 0 ignored, -1 error. */
int job_store_finish(job_store_t *self, const char *id, int dispatch, const json_t *result,
                     const char *error_code, const char *error_message, int64_t now);

/* Puts job id back in the queue if it is processing with dispatch number
 * `dispatch` (its worker handed it back: draining, a crash of another job,
 * or it could not be delivered). The lease is cleared and the attempt is
 * not charged; dispatch numbers never repeat. 1 requeued, 0 ignored, -1 error. */
int job_store_requeue(job_store_t *self, const char *id, int dispatch);

/* Records that dispatch `dispatch` of job id started on its worker at now
 * (the job's started_at, if it had none): from then on, losing it costs an
 * attempt (a dispatch lost before it started does not). 1 recorded, 0
 * ignored, -1 error. */
int job_store_mark_started(job_store_t *self, const char *id, int dispatch, int64_t now);

/* Ends now the leases of the processing jobs of worker (it left or died), so
 * that the next job_store_expire() requeues them, or fails those that have
 * had max_attempts (a job that kills its worker every time ends failed).
 * Returns the number of leases ended, -1 on error. */
int job_store_release_worker(job_store_t *self, const char *worker);

/* Requeues processing jobs whose lease expired before now, or fails them
 * (worker_lost, with a message giving the attempts) when attempts >=
 * max_attempts. Returns the number changed, -1 on error. */
int job_store_expire(job_store_t *self, int64_t now, int max_attempts);

/* Removes a job; *deleted (if not NULL) gets the job as it was at that
 * moment (e.g. processing on a worker that should be told). 0, or -1 with
 * IMG_E_NOT_FOUND. */
int job_store_delete(job_store_t *self, const char *id, job_t *deleted);

/* Removes complete and failed jobs finished before `before`, calling fn for
 * each. Returns the number removed, -1 on error. */
int job_store_purge(job_store_t *self, int64_t before, job_removed_fn fn, void *arg);

#endif
