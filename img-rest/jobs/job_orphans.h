/* job_orphans — job folders the job store does not know.
 *
 * img-rest killed in the middle of an upload leaves a folder whose job was
 * never committed. Swept once at start-up, before requests are served, so
 * that no upload in progress can be mistaken for one. */
#ifndef IMG_JOB_ORPHANS_H
#define IMG_JOB_ORPHANS_H

#include "job_store.h"

/* Removes <data_dir>/jobs/<id> folders with no job in store. Returns the
 * number removed, -1 with img_error if the folder cannot be read. */
int job_orphans_sweep(const char *data_dir, job_store_t *store);

#endif
