#include "result_cache.h"

#include "image_format.h"
#include "img_error.h"
#include "job_files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CHUNK = 64 * 1024 }; /* on the heap: HTTP threads have small stacks */

/* Reads up to len bytes (fewer only at the end of the file). */
static ssize_t s_read_full(int fd, char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -1 : (ssize_t)got;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Whether two files hold the same bytes (false when either cannot be read). */
static bool s_same_bytes(const char *a, const char *b)
{
    char *buf = malloc(2 * CHUNK);
    int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC);
    bool same = buf && fa >= 0 && fb >= 0;
    while (same) {
        ssize_t na = s_read_full(fa, buf, CHUNK), nb = s_read_full(fb, buf + CHUNK, CHUNK);
        same = na >= 0 && na == nb && memcmp(buf, buf + CHUNK, (size_t)na) == 0;
        if (na <= 0)
            break;
    }
    if (fa >= 0)
        close(fa);
    if (fb >= 0)
        close(fb);
    free(buf);
    return same;
}

static bool s_same_inputs(const op_def_t *op, const char *dir, const char *cached_dir)
{
    for (int i = 0; i < op->n_inputs; i++) {
        char mine[PATH_MAX], theirs[PATH_MAX];
        if (job_files_input(dir, op->inputs[i].name, mine, sizeof mine) < 0 ||
            job_files_input(cached_dir, op->inputs[i].name, theirs, sizeof theirs) < 0 ||
            !s_same_bytes(mine, theirs))
            return false;
    }
    return true;
}

/* Copies src to dst (a fresh file): the fallback of a hard link. */
static int s_copy_file(const char *src, const char *dst)
{
    char *buf = malloc(CHUNK);
    int in = buf ? open(src, O_RDONLY | O_CLOEXEC) : -1, out = -1, rc = -1;
    ssize_t n = -1;
    if (in >= 0)
        out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    while (out >= 0 && (n = read(in, buf, CHUNK)) > 0)
        if (write(out, buf, (size_t)n) != n)
            goto done;
    rc = out >= 0 && n == 0 ? 0 : -1;
done:
    free(buf);
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0)
        rc = -1;
    return rc;
}

/* The cached job's result file, linked (or copied) into dir. */
static int s_take_file(const op_def_t *op, const char *cached_dir, const job_t *cached,
                       const char *dir)
{
    if (op->result_kind != OP_RESULT_IMAGE)
        return 0;
    const char *format = json_string_value(json_object_get(cached->result, "format"));
    const img_format_t *fmt = img_format_by_name(format);
    char from[PATH_MAX], to[PATH_MAX];
    if (!fmt || job_files_result(cached_dir, fmt->ext, from, sizeof from) < 0 ||
        job_files_result(dir, fmt->ext, to, sizeof to) < 0)
        return -1;
    if (link(from, to) == 0)
        return 0;
    return errno == ENOENT ? -1 : s_copy_file(from, to);
}

static bool s_lend(const char *data_dir, const op_def_t *op, const char *dir, const job_t *cached,
                   job_t *job)
{
    char cached_dir[PATH_MAX];
    if (job_files_dir(data_dir, cached->id, cached_dir, sizeof cached_dir) < 0 ||
        !s_same_inputs(op, dir, cached_dir) || s_take_file(op, cached_dir, cached, dir) < 0)
        return false;
    job->result = json_deep_copy(cached->result);
    if (!job->result || json_object_set_new(job->result, "cached", json_true()) < 0) {
        json_decref(job->result);
        job->result = NULL;
        return false;
    }
    job->status = JOB_COMPLETE;
    job->started_at = job->finished_at = job->created_at;
    return true;
}

int result_cache_lend(job_store_t *store, const char *data_dir, const op_def_t *op, const char *dir,
                      job_t *job)
{
    job_t cached;
    if (job_store_find_cached(store, job->cache_key, &cached) != 1) {
        img_error_clear();
        return 0;
    }
    bool lent = s_lend(data_dir, op, dir, &cached, job);
    job_clear(&cached);
    img_error_clear(); /* no reuse is no error: the job runs */
    return lent ? 1 : 0;
}
