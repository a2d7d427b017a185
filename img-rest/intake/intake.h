/* intake — accepting a job: everything between a request body and a queued
 * job, below HTTP.
 *
 * In order, the cheapest refusals first:
 *   1. room in the queue (IMG_E_QUEUE_FULL; not for an idempotent submit,
 *      whose repeat must get its job: the insert bounds the queue then);
 *   2. a new job id and its folder (job_files);
 *   3. the body streamed into the input files (upload: sizes, shape);
 *   4. the parameters, from the form fields and the query string together,
 *      validated from the operation's declaration (op_params);
 *   5. the inputs' headers (image_probe: the format from the bytes, pixels,
 *      frames), read on a big-stack thread while the request's thread makes
 *      the job folder durable (job_files_sync: its files, its entries, its
 *      own entry), so that a job the store holds has its inputs after a
 *      crash of the machine too;
 *   6. the plan (op_plan: what the result would be, within the limits, and
 *      the operation's own cross-checks);
 *   7. the job committed to the store as queued, with its request id and
 *      client, its callback (checked: webhook_target) and its idempotency key.
 * Before step 7, when result_cache is on, a complete job with the same
 * fingerprint (job_fingerprint: operation, parameters, input bytes) still
 * held lends its result: the result file is hard-linked (copied if it
 * cannot be) into the new job's folder, and the job is stored complete with
 * result.cached = true, after the folder is synced again for that file.
 * An idempotent submit whose key this client used within 24 hours creates
 * nothing and answers that first job again.
 * On any refusal the job folder is removed: nothing half-written stays.
 */
#ifndef IMG_INTAKE_H
#define IMG_INTAKE_H

#include "big_stack.h"
#include "config.h"
#include "job.h"
#include "job_store.h"
#include "op.h"
#include "upload.h"

#include <stdbool.h>

typedef struct intake intake_t;

/* cfg, store and stacks (where headers are probed) are not owned and
 * outlive the intake. Caller owns; NULL with img_error. */
intake_t *intake_new(const img_config_t *cfg, job_store_t *store, big_stack_t *stacks);
void intake_destroy(intake_t **self);

/* What a submit says besides its body. */
typedef struct {
    const char *query;           /* the query string, or NULL */
    const char *request_id;      /* the request's id */
    const char *client;          /* who submits: "key:<hash>" or "addr:<ip>" */
    const char *idempotency_key; /* the Idempotency-Key header, or NULL */
} intake_request_t;

/* Accepts a job of op from body and req. job is filled as stored (queued,
 * or complete when a result was reused; the first job's when *replayed);
 * the caller job_clear()s it whatever the result. 0, or -1 with img_error.
 * Thread-safe. */
int intake_accept(intake_t *self, const op_def_t *op, const upload_body_t *body,
                  const intake_request_t *req, job_t *job, bool *replayed);

#endif
