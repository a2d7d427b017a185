/* crash_report — which jobs a crashed engine was running, carried across
 * the supervisor's restart so that only the job that crashed it is charged.
 *
 * The supervisor opens a pipe before it forks the engine. In the engine,
 * fatal signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) are caught on the
 * thread that faulted: the handler writes the ids of every job the engine
 * holds, marking the one that thread was running as the culprit, then lets
 * the signal kill the process. (A crash on one of libvips' own threads,
 * which run no job, is pinned on the job only when a single one runs; with
 * several running, each is charged.) The supervisor reads the pipe and forks the
 * next engine, which hands the innocent jobs back (`release`: not charged)
 * as soon as it connects; the culprit's lease lapses and it is charged an
 * attempt, so a job that always crashes ends failed after max_attempts
 * while the jobs that ran beside it are unaffected. Jobs whose work is done
 * and whose result waits for its commit (the committer thread) are never
 * the culprit: they are always handed back, even when the crash cannot be
 * pinned on one running job.
 *
 * State is process-wide by necessity (a signal handler reads it); it is
 * written only by the engine thread (slots, commits) and by each worker
 * thread for itself (its current job). */
#ifndef IMG_CRASH_REPORT_H
#define IMG_CRASH_REPORT_H

#include "job_id.h"

#define CRASH_REPORT_MAX 1024

typedef struct {
    char id[JOB_ID_LEN + 1];
    int dispatch;
} crash_job_t;

/* Supervisor: creates the pipe. 0, or -1 (then crashes are not attributed). */
int crash_report_open(void);
/* Supervisor, after the engine died: reads what it wrote. Returns the number
 * of innocent jobs remembered for the next engine. */
int crash_report_collect(void);

/* Engine: installs the fatal-signal handlers (after fork). */
void crash_report_install(void);
/* Engine thread: slot i holds job id (NULL: slot free). */
void crash_report_slot(int i, const char *id, int dispatch);
/* Engine thread: job id now waits for its result's commit (add), or no
 * longer does (remove). At most CRASH_REPORT_MAX are remembered. */
void crash_report_committing_add(const char *id, int dispatch);
void crash_report_committing_remove(const char *id);
/* Worker thread: the job this thread runs now (NULL: none). */
void crash_report_current(const char *id, int dispatch);
/* Engine: the innocent jobs of the previous engine, to hand back. */
int crash_report_innocents(const crash_job_t **jobs);

#endif
