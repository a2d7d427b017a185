/* webhooks — calls the callback_url of every job that ended.
 *
 * Deliveries come from the durable outbox of the job store: a delivery
 * becomes due in the same transaction that records the job's end, so a
 * restart of img-rest neither loses a pending delivery nor repeats one that
 * was recorded delivered. One thread of its own (never an HTTP thread nor
 * the dispatcher) claims due deliveries (each leased for a while, so that
 * no other replica calls it meanwhile) and makes the calls concurrently
 * with libcurl:
 *   POST <url>, body: the job's status JSON,
 *   Content-Type: application/json, X-Img-Event: job.complete | job.failed,
 *   X-Img-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">
 *   (webhook_secret), X-Request-Id: the submit's.
 * A 2xx within 10 s delivers it; anything else is retried after 1 s, 2 s,
 * 4 s, ... (each +-20 % at random, so that retries do not bunch) until
 * webhook_max_attempts calls have failed. Redirects are not followed; only
 * http and https; the address connected to must be allowed
 * (webhook_target): a name that now resolves into the private network is
 * refused at connect time.
 */
#ifndef IMG_WEBHOOKS_H
#define IMG_WEBHOOKS_H

#include "config.h"
#include "job_store.h"

typedef struct webhooks webhooks_t;

/* cfg and store are not owned and outlive it. Starts the thread. Caller
 * owns; NULL with img_error. */
webhooks_t *webhooks_new(const img_config_t *cfg, job_store_t *store);
void webhooks_destroy(webhooks_t **self);

/* A delivery became due (job_store_listener_t.deliveries_due): look at the
 * outbox now. Any thread. */
void webhooks_wake(webhooks_t *self);

#endif
