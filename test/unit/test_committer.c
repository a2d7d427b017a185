/* test_committer — a written result made durable off the worker threads:
 * result_commit (sync, rename, folder sync; nothing left behind when it
 * fails) and the committer actor, which hands each item back with its done
 * turned into the failure when the commit failed. */
#include "test_support.h"

#include "committer.h"
#include "img_error.h"
#include "job_files.h"
#include "msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A pending commit of a small file written as the job's temporary result. */
static result_commit_t *s_pending(const ts_folder_t *f, const char *content)
{
    result_commit_t *c = calloc(1, sizeof *c);
    assert_non_null(c);
    assert_int_equal(job_files_result_temp(f->dir, "jpg", c->temp, sizeof c->temp), 0);
    assert_int_equal(job_files_result(f->dir, "jpg", c->final, sizeof c->final), 0);
    snprintf(c->dir, sizeof c->dir, "%s", f->dir);
    ts_write_file(c->temp, content, strlen(content));
    return c;
}

static msg_t *s_done(const ts_folder_t *f)
{
    msg_t *done = calloc(1, sizeof *done);
    assert_non_null(done);
    msg_init(done, MSG_DONE);
    memcpy(done->id, f->id, sizeof done->id);
    done->dispatch = 2;
    done->ok = true;
    done->result = json_pack("{s:i}", "bytes", 5);
    return done;
}

static long long s_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void test_commit_renames_a_synced_file(void **state)
{
    ts_folder_t *f = *state;
    result_commit_t *c = s_pending(f, "hello");
    char final[PATH_MAX];
    snprintf(final, sizeof final, "%s", c->final);
    assert_true(result_commit_pending(c));
    assert_int_equal(s_size(final), -1);
    assert_int_equal(result_commit_run(c), 0);
    assert_false(result_commit_pending(c));
    assert_int_equal(s_size(final), 5);
    assert_int_equal(ts_count_files(f->dir, ".result-"), 0);
    /* a second attempt's result replaces the first whole */
    result_commit_t *again = s_pending(f, "second");
    assert_int_equal(result_commit_run(again), 0);
    assert_int_equal(s_size(final), 6);
    free(again);
    free(c);
}

static void test_abandon_removes_the_temporary_file(void **state)
{
    ts_folder_t *f = *state;
    result_commit_t *c = s_pending(f, "x");
    assert_int_equal(ts_count_files(f->dir, ".result-"), 1);
    result_commit_abandon(c);
    assert_false(result_commit_pending(c));
    assert_int_equal(ts_count_files(f->dir, ".result-"), 0);
    assert_int_equal(ts_count_files(f->dir, "result."), 0);
    result_commit_abandon(c); /* harmless again */
    free(c);
}

/* The written file went (its job was deleted) before the commit ran. */
static void test_commit_fails_when_the_file_is_gone(void **state)
{
    ts_folder_t *f = *state;
    result_commit_t *c = s_pending(f, "x");
    assert_int_equal(unlink(c->temp), 0);
    img_error_clear();
    assert_int_equal(result_commit_run(c), -1);
    assert_int_not_equal(img_error_code(), IMG_E_NONE);
    assert_false(result_commit_pending(c));
    assert_int_equal(s_size(c->final), -1);
    free(c);
}

/* Through the actor: each item comes back in order, its commit run, its
 * done kept when it worked and made the failure when not. */
static void test_actor_commits_in_order(void **state)
{
    ts_folder_t *f = *state;
    zactor_t *committer = committer_new();
    assert_non_null(committer);
    int tags[2] = {0, 1};
    committer_item_t *good = calloc(1, sizeof *good), *bad = calloc(1, sizeof *bad);
    assert_non_null(good);
    assert_non_null(bad);
    *good = (committer_item_t){.commit = s_pending(f, "hello"), .done = s_done(f), .tag = &tags[0]};
    *bad = (committer_item_t){.commit = s_pending(f, "x"), .done = s_done(f), .tag = &tags[1]};
    char final[PATH_MAX];
    snprintf(final, sizeof final, "%s", good->commit->final);
    assert_int_equal(unlink(bad->commit->temp), 0); /* it cannot be committed */
    assert_int_equal(committer_send(committer, good), 0);
    assert_int_equal(committer_send(committer, bad), 0);

    committer_item_t *back = committer_recv(committer);
    assert_ptr_equal(back, good);
    assert_ptr_equal(back->tag, &tags[0]);
    assert_true(back->done->ok);
    assert_non_null(back->done->result);
    assert_int_equal(s_size(final), 5);
    committer_item_free(back);

    back = committer_recv(committer);
    assert_ptr_equal(back, bad);
    assert_false(back->done->ok);
    assert_null(back->done->result);
    assert_string_not_equal(back->done->error_code, "");
    assert_string_not_equal(back->done->error_message, "");
    /* the failed done still encodes, as the engine forwards it */
    size_t len;
    char *text = msg_encode(back->done, &len);
    assert_non_null(text);
    free(text);
    committer_item_free(back);

    zactor_destroy(&committer);
    assert_int_equal(ts_count_files(f->dir, ".result-"), 0);
}

/* An item given up before its commit ran leaves no temporary file. */
static void test_item_freed_unrun_leaves_nothing(void **state)
{
    ts_folder_t *f = *state;
    committer_item_t *item = calloc(1, sizeof *item);
    assert_non_null(item);
    *item = (committer_item_t){.commit = s_pending(f, "x"), .done = s_done(f)};
    assert_int_equal(ts_count_files(f->dir, ".result-"), 1);
    committer_item_free(item);
    assert_int_equal(ts_count_files(f->dir, ".result-"), 0);
    committer_item_free(NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, ts_setup, ts_teardown)

int main(int argc, char **argv)
{
    (void)argc;
    if (ts_vips_init(argv[0]))
        return 1;
    const struct CMUnitTest tests[] = {
        T(test_commit_renames_a_synced_file),       T(test_abandon_removes_the_temporary_file),
        T(test_commit_fails_when_the_file_is_gone), T(test_actor_commits_in_order),
        T(test_item_freed_unrun_leaves_nothing),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    vips_shutdown();
    return rc;
}
