/* What several handlers share: a job loaded for the path's id, and whose
 * jobs a request may see. */
#include "handlers.h"

#include "http_guard.h"
#include "img_error.h"

#include <string.h>

void h_owner(const http_req_t *r, char out[JOB_CLIENT_MAX])
{
    out[0] = '\0';
    if (r->app->cfg->api_keys[0] != '\0')
        http_guard_client(r->app->guard, r->conn, out, JOB_CLIENT_MAX);
}

static bool s_may_see(const http_req_t *r, const job_t *job)
{
    char owner[JOB_CLIENT_MAX];
    h_owner(r, owner);
    return owner[0] == '\0' || strcmp(job->client, owner) == 0;
}

int h_load_job(const http_req_t *r, job_t *job)
{
    *job = (job_t){.progress = -1}; /* empty until loaded: the store leaves it as it is */
    if (!job_id_valid(r->id)) {
        img_error_set(IMG_E_NOT_FOUND, "no job has that id");
        return -1;
    }
    if (job_store_get(r->app->store, r->id, job) < 0)
        return -1;
    if (r->op && strcmp(job->operation, r->op->name) != 0) {
        job_clear(job);
        img_error_set(IMG_E_NOT_FOUND, "no %s job has that id", r->op->name);
        return -1;
    }
    if (!s_may_see(r, job)) { /* another key's job: as if there were none */
        job_clear(job);
        img_error_set(IMG_E_NOT_FOUND, "no job has that id");
        return -1;
    }
    job->progress =
        job->status == JOB_PROCESSING ? job_events_progress_of(r->app->events, job->id) : -1;
    return 0;
}
