/* A job's files on the disk and in the page cache (file_cache, and
 * job_files_sync): clean pages leave the page cache when dropped, pages
 * written behind are soon clean enough to be dropped, the engine's job
 * runner drops a job's inputs once the job has run (img-rest's write-behind
 * of uploads: test_upload), and a synced job folder has no dirty page left.
 * Residency is read with mincore(2) in the test's folder; on tmpfs, where
 * there is no cache to leave, those tests skip. */
#include "test_support.h"

#include "file_cache.h"
#include "img_error.h"
#include "job_files.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIZE (4 << 20)

/* Reads path whole (its pages come into the cache). */
static void s_read_all(const char *path)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    char buf[65536];
    while (read(fd, buf, sizeof buf) > 0)
        ;
    close(fd);
}

/* A new file of SIZE random bytes at path, written but not synced; its fd. */
static int s_write_dirty(const char *path)
{
    char *data = malloc(SIZE);
    for (size_t i = 0; i < SIZE; i++)
        data[i] = (char)rand();
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0640);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, SIZE), SIZE);
    free(data);
    return fd;
}

static void test_drop_removes_clean_pages(void **state)
{
    ts_folder_t *f = *state;
    if (!ts_on_disk(f->dir))
        skip();
    char path[PATH_MAX];
    ts_input_path(f, "file", path, sizeof path);
    int fd = s_write_dirty(path);
    assert_int_equal(fdatasync(fd), 0);
    close(fd);
    s_read_all(path);
    ts_expect_drop_empties(path);
}

/* Written behind, the pages are on their way to the disk: once that
 * write-out is over (waited for here without starting any), one drop takes
 * them all. Without the write-behind they would still be dirty then, and
 * stay cached (the drop only starts their write-out). */
static void test_written_behind_pages_can_be_dropped(void **state)
{
    ts_folder_t *f = *state;
    if (!ts_on_disk(f->dir))
        skip();
    char path[PATH_MAX];
    ts_input_path(f, "file", path, sizeof path);
    int fd = s_write_dirty(path);
    file_cache_write_behind(fd);
    close(fd);
    ts_wait_write_out(path);
    ts_expect_drop_empties(path);
}

static void test_a_job_drops_its_input(void **state)
{
    ts_folder_t *f = *state;
    if (!ts_on_disk(f->dir))
        skip();
    char path[PATH_MAX];
    ts_input_path(f, "file", path, sizeof path);
    ts_save_input(f, "file", ts_gradient(1600, 1200, 0), "png");
    int fd = open(path, O_RDONLY);
    assert_int_equal(fdatasync(fd), 0);
    close(fd);
    s_read_all(path);
    assert_true(ts_cached_pages(path) > 0);
    json_t *result = ts_run(f, "resize", "width=64", 60000);
    assert_non_null(result);
    json_decref(result);
    assert_int_equal(ts_cached_pages(path), 0);
    /* a failed job too */
    s_read_all(path);
    assert_null(ts_run(f, "crop", "left=5000&top=0&width=10&height=10", 60000));
    assert_int_equal(ts_cached_pages(path), 0);
}

/* Synced, the input's pages are clean: one drop takes them all (dirty
 * pages would stay, the drop only starting their write-out). */
static void test_a_synced_job_folder_is_on_disk(void **state)
{
    ts_folder_t *f = *state;
    if (!ts_on_disk(f->dir))
        skip();
    char path[PATH_MAX];
    ts_input_path(f, "file", path, sizeof path);
    close(s_write_dirty(path));
    assert_int_equal(job_files_sync(f->dir), 0);
    ts_expect_drop_empties(path);
}

static void test_sync_of_a_missing_folder_fails(void **state)
{
    ts_folder_t *f = *state;
    char gone[PATH_MAX + 8];
    snprintf(gone, sizeof gone, "%s/gone", f->dir);
    img_error_clear();
    assert_int_equal(job_files_sync(gone), -1);
    assert_int_equal(img_error_code(), IMG_E_INTERNAL);
    assert_non_null(strstr(img_error_message(), "cannot write the job folder to disk"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, ts_setup, ts_teardown)

int main(int argc, char **argv)
{
    (void)argc;
    if (ts_vips_init(argv[0]))
        return 1;
    const struct CMUnitTest tests[] = {
        T(test_drop_removes_clean_pages),       T(test_written_behind_pages_can_be_dropped),
        T(test_a_job_drops_its_input),          T(test_a_synced_job_folder_is_on_disk),
        T(test_sync_of_a_missing_folder_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
