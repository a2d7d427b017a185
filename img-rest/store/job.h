/* job — one job record as the job store keeps it, and its public JSON. */
#ifndef IMG_JOB_H
#define IMG_JOB_H

#include "job_id.h"

#include <jansson.h>
#include <stdint.h>

typedef enum { JOB_QUEUED = 0, JOB_PROCESSING, JOB_COMPLETE, JOB_FAILED } job_status_t;

typedef struct {
    int64_t seq; /* store-assigned, increasing with creation (pagination order) */
    char id[JOB_ID_LEN + 1];
    char operation[32];
    job_status_t status;
    int64_t created_at, started_at, finished_at; /* ms since the epoch; 0 = not yet */
    json_t *params;                              /* validated params object (owned) */
    json_t *input;  /* {"width","height","format","bytes"} of the first input (owned) */
    json_t *result; /* complete only (owned) */
    char error_code[32];
    char error_message[512];
    int attempts;          /* tries charged against max_attempts */
    int dispatches;        /* hand-outs so far: the `attempt` number in messages */
    char lease_owner[64];  /* worker holding it while processing */
    int64_t lease_expires; /* ms since the epoch */
} job_t;

/* "queued" ...; and back (-1 if unknown). */
const char *job_status_name(job_status_t s);
int job_status_parse(const char *name);

/* Releases the JSON a job owns and zeroes it; harmless twice. */
void job_clear(job_t *job);

/* The public status object of the API contract (status_url and result_url
 * are paths). Caller owns. */
json_t *job_to_json(const job_t *job);

/* Milliseconds since the epoch, and RFC 3339 UTC text of such a time. */
int64_t job_now_ms(void);
void job_format_time(int64_t ms, char out[32]);

#endif
