#define _GNU_SOURCE /* sync_file_range */
#include "file_cache.h"

#include <fcntl.h>
#include <unistd.h>

void file_cache_write_behind(int fd)
{
    (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

void file_cache_drop(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return;
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
}
