#include "ts_store.h"

#include <stdio.h>
#include <string.h>

job_store_t *ts_store_open(const ts_folder_t *f)
{
    char db[PATH_MAX + 16];
    snprintf(db, sizeof db, "%s/jobs.db", f->root);
    job_store_t *store = job_store_open(db);
    assert_non_null(store);
    return store;
}

void ts_store_add_queued(job_store_t *store, const ts_folder_t *f)
{
    job_t job = {.status = JOB_QUEUED, .created_at = 1, .progress = -1};
    memcpy(job.id, f->id, sizeof job.id);
    snprintf(job.operation, sizeof job.operation, "resize");
    job.params = json_pack("{s:i}", "width", 10);
    assert_int_equal(job_store_insert(store, &job, NULL, NULL), 0);
    job_clear(&job);
}
