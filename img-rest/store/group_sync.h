/* group_sync — one fdatasync of a file shared by every commit waiting for it.
 *
 * The SQLite store commits new jobs without a sync of its own (WAL,
 * synchronous=NORMAL) and then waits here until an fdatasync of the WAL file
 * that began after the commit has finished: the commit is then on disk,
 * exactly as synchronous=FULL would have made it. Commits that arrive while
 * a sync runs share the next one (group commit), and the store's lock is not
 * held during the sync, so reads and other writes go on meanwhile.
 *
 * Thread-safe. The file must exist when the group_sync is made and stay (the
 * WAL of an open connection does); its descriptor is the group_sync's own.
 */
#ifndef IMG_GROUP_SYNC_H
#define IMG_GROUP_SYNC_H

typedef struct group_sync group_sync_t;

/* Opens path for syncing. NULL with img_error. Caller owns. */
group_sync_t *group_sync_new(const char *path);
/* Closes the file, frees and NULLs *self; harmless on NULL. */
void group_sync_destroy(group_sync_t **self);

/* Returns once an fdatasync of the file that began after this call has
 * ended: 0, or -1 with img_error when that sync failed (IMG_E_INSUFFICIENT
 * _STORAGE for a full volume). */
int group_sync_wait(group_sync_t *self);

/* Syncs run so far (for tests: fewer than the waits when they were shared). */
long group_sync_count(group_sync_t *self);

#endif
