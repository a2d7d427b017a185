/* result_commit — the step that makes a written result durable.
 *
 * result_writer saves a result to a temporary file in its job folder; the
 * commit syncs that file, renames it to result.<ext> and syncs the folder,
 * so that a job reported done has a whole result on disk, and a job done
 * twice leaves one whole result (the rename replaces a file only with a
 * synced one). The engine runs commits on its committer thread
 * (committer.h), so that worker threads do not wait for the disk.
 *
 * A result_commit_t is plain data: copy it, keep it, free it as you like.
 */
#ifndef IMG_RESULT_COMMIT_H
#define IMG_RESULT_COMMIT_H

#include <limits.h>
#include <stdbool.h>

typedef struct {
    char temp[PATH_MAX];  /* the written file; "" when nothing is pending */
    char final[PATH_MAX]; /* the name it gets */
    char dir[PATH_MAX];   /* their folder */
} result_commit_t;

/* Whether a commit is pending in c. */
bool result_commit_pending(const result_commit_t *c);

/* fsync of the temporary file, rename, fsync of the folder. 0, or -1 with
 * img_error (IMG_E_INSUFFICIENT_STORAGE when the volume is full); on -1
 * the temporary file is removed. Either way c is no longer pending. */
int result_commit_run(result_commit_t *c);

/* Removes the temporary file of a commit that will not run; harmless when
 * none is pending. */
void result_commit_abandon(result_commit_t *c);

/* Sets img_error to IMG_E_INSUFFICIENT_STORAGE when the volume holding dir
 * is (nearly) full: after a failed write, that is the reason to give. */
void result_commit_blame_full_volume(const char *dir);

#endif
