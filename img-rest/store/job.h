/* job — one job record as the job store keeps it, and its public JSON. */
#ifndef IMG_JOB_H
#define IMG_JOB_H

#include "job_id.h"

#include <jansson.h>
#include <stdint.h>

typedef enum { JOB_QUEUED = 0, JOB_PROCESSING, JOB_COMPLETE, JOB_FAILED } job_status_t;

#define JOB_ENGINE_MAX 64 /* engine names (the wire's MSG_ENGINE_MAX) */
#define JOB_REQUEST_ID_MAX 129
#define JOB_CLIENT_MAX 80
#define JOB_CACHE_KEY_MAX 65 /* SHA-256 in hex, and its NUL */

typedef struct {
    int64_t seq; /* store-assigned, increasing with creation (pagination order) */
    char id[JOB_ID_LEN + 1];
    char operation[32];
    job_status_t status;
    int64_t created_at, started_at, finished_at; /* ms since the epoch; 0 = not yet */
    json_t *params;                              /* validated parameters (owned) */
    json_t *input;  /* the inputs' headers: {width, height, format, bytes, pages} (owned) */
    json_t *result; /* complete only (owned) */
    char error_code[32];
    char error_message[512];
    int attempts;                        /* tries charged against max_attempts (job_store.h) */
    int dispatch;                        /* hand-outs so far: the wire's `dispatch` number */
    char lease_engine[JOB_ENGINE_MAX];   /* the engine holding it while processing */
    char lease_broker[JOB_ENGINE_MAX];   /* the img-rest that leased or last renewed it */
    int64_t lease_expires;               /* ms since the epoch */
    char request_id[JOB_REQUEST_ID_MAX]; /* of the submit; "" when none */
    char client[JOB_CLIENT_MAX];         /* who submitted it: "key:<hash>" or "addr:<ip>" */
    char cache_key[JOB_CACHE_KEY_MAX];   /* what makes a result reusable; "" when none */
    json_t *callback; /* {url, state, attempts, last_status} when a callback_url was given */
    int progress;     /* 0..100 while processing, -1 unknown: not stored (job_progress) */
} job_t;

/* "queued" ...; and back (-1 if unknown). */
const char *job_status_name(job_status_t s);
int job_status_parse(const char *name);

/* Releases the JSON a job owns and zeroes it (progress -1); harmless twice. */
void job_clear(job_t *job);

/* How JSON that clients read is written (answers, events, webhook bodies):
 * compact, reals with 15 significant digits, which every double read from
 * decimal text survives (1.892, not %.17g's 1.8919999999999999). */
#define JOB_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* The public status object of the API contract (status_url and result_url
 * are paths). Caller owns. */
json_t *job_to_json(const job_t *job);

/* Milliseconds since the epoch, and RFC 3339 UTC text of such a time. */
int64_t job_now_ms(void);
void job_format_time(int64_t ms, char out[32]);

#endif
