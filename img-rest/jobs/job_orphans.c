#include "job_orphans.h"

#include "img_error.h"
#include "job_files.h"
#include "job_id.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The latest change of the folder dir or of a file in it (0 if unreadable).
 * On the way, a temporary result file untouched since before is removed: an
 * attempt killed while writing its result left it (one being written
 * changes all along). */
static time_t s_last_change(const char *dir, time_t before)
{
    struct stat st;
    time_t latest = stat(dir, &st) == 0 ? st.st_mtime : 0;
    DIR *d = opendir(dir);
    if (!d)
        return latest;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        /* not "..": the jobs folder changes with every job made or removed */
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (job_files_is_temp(e->d_name) && st.st_mtime < before &&
            unlinkat(dirfd(d), e->d_name, 0) == 0)
            continue;
        if (st.st_mtime > latest)
            latest = st.st_mtime;
    }
    closedir(d);
    return latest;
}

static bool s_is_orphan(const char *data_dir, const char *id, job_store_t *store, time_t before)
{
    char dir[4096];
    job_t job = {0};
    if (job_files_dir(data_dir, id, dir, sizeof dir) < 0 || s_last_change(dir, before) > before)
        return false;
    if (job_store_get(store, id, &job) == 0) {
        job_clear(&job);
        return false;
    }
    return img_error_code() == IMG_E_NOT_FOUND;
}

int job_orphans_sweep(const char *data_dir, job_store_t *store, int min_age_s)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/jobs", data_dir);
    DIR *d = opendir(path);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        img_error_set(IMG_E_INTERNAL, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    time_t before = time(NULL) - min_age_s;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (job_id_valid(e->d_name) && s_is_orphan(data_dir, e->d_name, store, before) &&
            job_files_remove(data_dir, e->d_name) == 0)
            removed++;
    closedir(d);
    return removed;
}
