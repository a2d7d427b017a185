/* job_files — where a job's files live on the shared volume.
 *
 * Every path is built from the data folder and a validated job id:
 * <data_dir>/jobs/<id>/ holds the inputs (in_<field>) and the result
 * (result.<ext>). Client-supplied names never reach a path.
 */
#ifndef IMG_JOB_FILES_H
#define IMG_JOB_FILES_H

#include <stddef.h>

/* <data_dir>/jobs/<id>. 0, or -1 with img_error (invalid id -> IMG_E_NOT_FOUND). */
int job_files_dir(const char *data_dir, const char *id, char *out, size_t size);

/* Creates <data_dir>/jobs/ if needed and the job's folder (0750). 0 / -1. */
int job_files_create(const char *data_dir, const char *id, char *dir_out, size_t size);

/* Removes the job's folder and everything in it (files only, one level). 0 / -1;
 * a folder that does not exist is not an error. */
int job_files_remove(const char *data_dir, const char *id);

#endif
