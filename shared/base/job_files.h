/* job_files — where a job's files live on the shared volume: the only
 * owner of every path in a job folder.
 *
 *   <data_dir>/jobs/<id>/              the job folder (0750)
 *   <data_dir>/jobs/<id>/in_<input>    an uploaded input (op->inputs[i].name)
 *   <data_dir>/jobs/<id>/result.<ext>  the result (image_format's extension)
 *   <data_dir>/jobs/<id>/.result-<random hex>.<ext>  a result being written
 *   <data_dir>/jobs/<id>/thumbnail.webp  a small copy of an image result
 *
 * Every path is built from the data folder and a validated job id; names
 * come from the catalogue and the formats table, never from a client.
 * Functions return 0, or -1 with img_error.
 */
#ifndef IMG_JOB_FILES_H
#define IMG_JOB_FILES_H

#include <stdbool.h>
#include <stddef.h>

/* <data_dir>/jobs/<id> (invalid id: IMG_E_NOT_FOUND). */
int job_files_dir(const char *data_dir, const char *id, char *out, size_t size);

/* Creates <data_dir>/jobs/ if needed and the job's folder. */
int job_files_create(const char *data_dir, const char *id, char *dir_out, size_t size);

/* Makes the job folder durable before its job is accepted: each file in it
 * flushed to disk (fdatasync), then the folder's entries and the folder's
 * own entry in <data_dir>/jobs (fsync of both folders). Disk full:
 * IMG_E_INSUFFICIENT_STORAGE. */
int job_files_sync(const char *dir);

/* Removes the job's folder and the files in it; a folder that does not
 * exist is not an error. */
int job_files_remove(const char *data_dir, const char *id);

/* <dir>/in_<input>. */
int job_files_input(const char *dir, const char *input, char *out, size_t size);

/* <dir>/result.<ext>. */
int job_files_result(const char *dir, const char *ext, char *out, size_t size);

/* <dir>/thumbnail.webp. */
int job_files_thumbnail(const char *dir, char *out, size_t size);

/* A fresh <dir>/.result-<16 random hex digits>.<ext>, renamed to the
 * result (or the thumbnail) once written whole. */
int job_files_result_temp(const char *dir, const char *ext, char *out, size_t size);
/* Whether name (a file name in a job folder) is such a temporary file. */
bool job_files_is_temp(const char *name);

#endif
