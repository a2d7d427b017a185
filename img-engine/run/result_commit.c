#include "result_commit.h"

#include "img_error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define FULL_BELOW (4ULL << 20) /* free bytes under which a volume counts as full */

bool result_commit_pending(const result_commit_t *c)
{
    return c->temp[0] != '\0';
}

void result_commit_blame_full_volume(const char *dir)
{
    struct statvfs vfs;
    if (statvfs(dir, &vfs) == 0 && (unsigned long long)vfs.f_bavail * vfs.f_frsize < FULL_BELOW)
        img_error_set(IMG_E_INSUFFICIENT_STORAGE,
                      "the data volume is full: the result could not be written");
}

static int s_fsync_path(const char *path, int flags)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | flags);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    errno = err;
    return rc;
}

int result_commit_run(result_commit_t *c)
{
    if (s_fsync_path(c->temp, 0) != 0) {
        img_error_set_io(errno, "the result could not be written");
        result_commit_blame_full_volume(c->dir);
        result_commit_abandon(c);
        return -1;
    }
    if (rename(c->temp, c->final) != 0) {
        img_error_set(IMG_E_PROCESSING_FAILED, "the result could not be stored: %s",
                      strerror(errno));
        result_commit_abandon(c);
        return -1;
    }
    c->temp[0] = '\0';
    /* the rename reaches the disk with the folder; a failure here leaves a
     * whole result under its name, which a crash could only lose */
    (void)s_fsync_path(c->dir, O_DIRECTORY);
    return 0;
}

void result_commit_abandon(result_commit_t *c)
{
    if (result_commit_pending(c))
        unlink(c->temp);
    c->temp[0] = '\0';
}
