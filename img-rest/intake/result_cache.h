/* result_cache — a complete job's result lent to an equal submit.
 *
 * With result_cache on, a submit whose fingerprint (job_fingerprint.h) is
 * that of a complete, unexpired job in the store takes that job's result:
 * the result file is hard-linked (copied across file systems) into the new
 * job's folder, the result object is copied with "cached": true, and the job
 * is complete at once, never reaching an engine. The fingerprint only finds
 * the candidate: the lending happens when every input file is, byte for
 * byte, the candidate's (the input digests are fast, not collision-proof).
 */
#ifndef IMG_RESULT_CACHE_H
#define IMG_RESULT_CACHE_H

#include "job_store.h"
#include "op.h"

/* job: the new job, queued, its inputs in the folder dir and its
 * cache_key set. On a hit it becomes complete with the lent result and 1 is
 * returned; otherwise (no candidate, inputs that differ, files gone) it is
 * unchanged and 0 is returned, img_error cleared. Never fails the submit. */
int result_cache_lend(job_store_t *store, const char *data_dir, const op_def_t *op, const char *dir,
                      job_t *job);

#endif
