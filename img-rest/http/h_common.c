/* What several handlers share: a job loaded for the path's id. */
#include "handlers.h"

#include "img_error.h"

#include <string.h>

int h_load_job(const http_req_t *r, job_t *job)
{
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
    job->progress =
        job->status == JOB_PROCESSING ? job_events_progress_of(r->app->events, job->id) : -1;
    return 0;
}
