#include "job_files.h"

#include "img_error.h"
#include "job_id.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEMP_PREFIX ".result-" /* job_files_result_temp: never a name clients choose */

int job_files_dir(const char *data_dir, const char *id, char *out, size_t size)
{
    if (!job_id_valid(id)) {
        img_error_set(IMG_E_NOT_FOUND, "no job has that id");
        return -1;
    }
    int n = snprintf(out, size, "%s/jobs/%s", data_dir, id);
    if (n < 0 || (size_t)n >= size) {
        img_error_set(IMG_E_INTERNAL, "job folder path too long");
        return -1;
    }
    return 0;
}

int job_files_create(const char *data_dir, const char *id, char *dir_out, size_t size)
{
    char jobs[4096];
    snprintf(jobs, sizeof jobs, "%s/jobs", data_dir);
    if (mkdir(data_dir, 0750) < 0 && errno != EEXIST)
        goto fail;
    if (mkdir(jobs, 0750) < 0 && errno != EEXIST)
        goto fail;
    if (job_files_dir(data_dir, id, dir_out, size) < 0)
        return -1;
    if (mkdir(dir_out, 0750) < 0)
        goto fail;
    return 0;
fail:
    img_error_set_io(errno, "cannot create the job folder");
    return -1;
}

/* fdatasync of the regular files of the open folder dfd. */
static int s_sync_files(int dfd)
{
    int dup_fd = dup(dfd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d) {
        if (dup_fd >= 0)
            close(dup_fd);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN)
            continue;
        int fd = openat(dfd, e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 && errno == ELOOP)
            continue;
        rc = fd >= 0 && fdatasync(fd) == 0 ? 0 : -1;
        if (fd >= 0)
            close(fd);
    }
    int err = errno;
    closedir(d);
    errno = err;
    return rc;
}

int job_files_sync(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    int parent = dfd >= 0 ? openat(dfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    int rc =
        parent >= 0 && s_sync_files(dfd) == 0 && fsync(dfd) == 0 && fsync(parent) == 0 ? 0 : -1;
    int err = errno;
    if (parent >= 0)
        close(parent);
    if (dfd >= 0)
        close(dfd);
    if (rc < 0)
        img_error_set_io(err, "cannot write the job folder to disk");
    return rc;
}

int job_files_remove(const char *data_dir, const char *id)
{
    char dir[4096];
    if (job_files_dir(data_dir, id, dir, sizeof dir) < 0)
        return -1;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (dfd < 0) {
        if (errno == ENOENT)
            return 0;
        img_error_set(IMG_E_INTERNAL, "cannot open the job folder: %s", strerror(errno));
        return -1;
    }
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        img_error_set(IMG_E_INTERNAL, "cannot read the job folder: %s", strerror(errno));
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        unlinkat(dfd, e->d_name, 0); /* the folder holds plain files only */
    }
    closedir(d);
    if (rmdir(dir) < 0 && errno != ENOENT) {
        img_error_set(IMG_E_INTERNAL, "cannot remove the job folder: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int s_path(char *out, size_t size, const char *fmt, const char *dir, const char *a,
                  const char *b)
{
    int n = snprintf(out, size, fmt, dir, a, b);
    if (n < 0 || (size_t)n >= size) {
        img_error_set(IMG_E_INTERNAL, "the job folder path is too long");
        return -1;
    }
    return 0;
}

int job_files_input(const char *dir, const char *input, char *out, size_t size)
{
    return s_path(out, size, "%s/in_%s%s", dir, input, "");
}

int job_files_result(const char *dir, const char *ext, char *out, size_t size)
{
    return s_path(out, size, "%s/result.%s%s", dir, ext, "");
}

int job_files_thumbnail(const char *dir, char *out, size_t size)
{
    return s_path(out, size, "%s/thumbnail.webp%s%s", dir, "", "");
}

int job_files_result_temp(const char *dir, const char *ext, char *out, size_t size)
{
    unsigned char rnd[8];
    char hex[2 * sizeof rnd + 1];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        img_error_set(IMG_E_INTERNAL, "getrandom failed: %s", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
    return s_path(out, size, "%s/" TEMP_PREFIX "%s.%s", dir, hex, ext);
}

bool job_files_is_temp(const char *name)
{
    return strncmp(name, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0;
}
