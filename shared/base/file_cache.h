/* file_cache — advice to the kernel about a job file's pages in memory.
 *
 * An upload is written by img-rest, read once by an engine and then kept
 * only for retention (and the result cache's comparisons). Left in the page
 * cache, every upload takes new memory until the cache fills, and the
 * writes of later uploads then pay for memory the system has to find
 * (measured: img-rest's CPU per 5 MB upload went from 8 to 18-24 ms once
 * about 4 GB of uploads were cached). So img-rest starts each input's
 * writeback as soon as it is written, and the engine drops the input's
 * cached pages once its job has run: the pages of finished jobs are reused
 * for the next uploads.
 *
 * Both are advice: they change no data and their failure is ignored (the
 * kernel then keeps the pages a little longer).
 */
#ifndef IMG_FILE_CACHE_H
#define IMG_FILE_CACHE_H

/* Starts writing fd's dirty pages to disk without waiting for it, so that
 * they are clean (and can be dropped) when the file has been read. */
void file_cache_write_behind(int fd);

/* Drops path's clean pages from the page cache (pages still being written
 * stay); a file that does not exist is not an error. */
void file_cache_drop(const char *path);

#endif
