/* job_orphans — job folders the job store does not know, and temporary
 * files nobody will finish.
 *
 * img-rest killed in the middle of an upload leaves a folder whose job was
 * never committed; an engine killed while writing a result leaves a
 * temporary result file (job_files_result_temp) in a folder whose job
 * completes on another attempt. Replicas share the data folder, and
 * another replica may be receiving an upload into a folder its job is not
 * yet stored for: a folder is an orphan only when neither it nor any file
 * in it has changed for min_age_s (an upload in progress writes its input
 * file all along). */
#ifndef IMG_JOB_ORPHANS_H
#define IMG_JOB_ORPHANS_H

#include "job_store.h"

/* Removes the orphan <data_dir>/jobs/<id> folders, and in every folder the
 * temporary files untouched for min_age_s. Returns the number of folders
 * removed, -1 with img_error if the folder cannot be read. */
int job_orphans_sweep(const char *data_dir, job_store_t *store, int min_age_s);

#endif
