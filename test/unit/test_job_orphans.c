/* test_job_orphans — the housekeeping sweep of the data folder: a folder the
 * store does not know goes once nothing in it changed for the minimum age,
 * never before; a known job's folder stays, and only its temporary result
 * files that nobody touched for that long go. Real folders, a real SQLite
 * store, file times set back with utimensat. */
#include "test_support.h"

#include "job_files.h"
#include "job_orphans.h"
#include "ts_store.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIN_AGE_S 3600

typedef struct {
    ts_folder_t *folder; /* its job is known to the store */
    job_store_t *store;
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    fx->folder = ts_folder_new("orphans");
    fx->store = ts_store_open(fx->folder);
    ts_store_add_queued(fx->store, fx->folder);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    job_store_destroy(&fx->store);
    ts_folder_destroy(&fx->folder);
    free(fx);
    return 0;
}

/* Sets the modification time of path age_s seconds back. */
static void s_age(const char *path, int age_s)
{
    struct timespec times[2] = {{.tv_sec = time(NULL) - age_s}, {.tv_sec = time(NULL) - age_s}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

/* A folder for a job the store does not know, with an input, aged age_s. */
static void s_unknown_folder(fixture_t *fx, char id[JOB_ID_LEN + 1], int age_s)
{
    char dir[PATH_MAX], input[PATH_MAX];
    assert_int_equal(job_id_new(id), 0);
    assert_int_equal(job_files_create(fx->folder->root, id, dir, sizeof dir), 0);
    assert_int_equal(job_files_input(dir, "file", input, sizeof input), 0);
    ts_write_file(input, "bytes", 5);
    s_age(input, age_s);
    s_age(dir, age_s);
}

static bool s_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static void test_old_unknown_folder_goes(void **state)
{
    fixture_t *fx = *state;
    char id[JOB_ID_LEN + 1], dir[PATH_MAX];
    s_unknown_folder(fx, id, MIN_AGE_S + 60);
    assert_int_equal(job_orphans_sweep(fx->folder->root, fx->store, MIN_AGE_S), 1);
    assert_int_equal(job_files_dir(fx->folder->root, id, dir, sizeof dir), 0);
    assert_false(s_exists(dir));
    assert_true(s_exists(fx->folder->dir)); /* the known job's stays */
}

/* Another replica may be receiving its upload: not an orphan yet. */
static void test_recent_unknown_folder_stays(void **state)
{
    fixture_t *fx = *state;
    char id[JOB_ID_LEN + 1], dir[PATH_MAX];
    s_unknown_folder(fx, id, MIN_AGE_S - 60);
    assert_int_equal(job_orphans_sweep(fx->folder->root, fx->store, MIN_AGE_S), 0);
    assert_int_equal(job_files_dir(fx->folder->root, id, dir, sizeof dir), 0);
    assert_true(s_exists(dir));
}

static void test_stale_temp_in_known_folder_goes(void **state)
{
    fixture_t *fx = *state;
    char stale[PATH_MAX], fresh[PATH_MAX], input[PATH_MAX];
    assert_int_equal(job_files_result_temp(fx->folder->dir, "jpg", stale, sizeof stale), 0);
    assert_int_equal(job_files_result_temp(fx->folder->dir, "png", fresh, sizeof fresh), 0);
    ts_write_input(fx->folder, "file", "bytes", 5);
    ts_input_path(fx->folder, "file", input, sizeof input);
    ts_write_file(stale, "half a result", 13);
    ts_write_file(fresh, "a result being written", 22);
    s_age(stale, MIN_AGE_S + 60);
    s_age(input, MIN_AGE_S + 60);
    assert_int_equal(job_orphans_sweep(fx->folder->root, fx->store, MIN_AGE_S), 0);
    assert_false(s_exists(stale));
    assert_true(s_exists(fresh));
    assert_true(s_exists(input)); /* only temporary files go */
}

static void test_temp_names(void **state)
{
    (void)state;
    char path[PATH_MAX];
    assert_int_equal(job_files_result_temp("/d", "webp", path, sizeof path), 0);
    assert_true(job_files_is_temp(strrchr(path, '/') + 1));
    assert_false(job_files_is_temp("result.webp"));
    assert_false(job_files_is_temp("in_file"));
    assert_false(job_files_is_temp("thumbnail.webp"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_old_unknown_folder_goes),
        T(test_recent_unknown_folder_stays),
        T(test_stale_temp_in_known_folder_goes),
        T(test_temp_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
