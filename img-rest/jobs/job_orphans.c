#include "job_orphans.h"

#include "img_error.h"
#include "job_files.h"
#include "job_id.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int job_orphans_sweep(const char *data_dir, job_store_t *store)
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
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        job_t job = {0};
        if (!job_id_valid(e->d_name))
            continue; /* not ours: never touched */
        if (job_store_get(store, e->d_name, &job) == 0) {
            job_clear(&job);
            continue;
        }
        if (img_error_code() == IMG_E_NOT_FOUND && job_files_remove(data_dir, e->d_name) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}
