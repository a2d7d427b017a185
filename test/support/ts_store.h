/* ts_store — a real SQLite job store in a test's temporary data folder (a
 * ts_folder_t), for the unit tests of img-rest's parts that read jobs. */
#ifndef IMG_TS_STORE_H
#define IMG_TS_STORE_H

#include "job_store.h"
#include "test_support.h"

/* The SQLite store <root>/jobs.db of folder f (created); the test fails if
 * it cannot be opened. Caller owns (job_store_destroy). */
job_store_t *ts_store_open(const ts_folder_t *f);

/* Inserts the job of folder f: a queued resize, width 10, created at 1. */
void ts_store_add_queued(job_store_t *store, const ts_folder_t *f);

#endif
