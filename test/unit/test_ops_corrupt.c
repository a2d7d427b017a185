/* test_ops_corrupt — corrupt files that libvips 8.14 opens but cannot
 * decode fail every time, in every operation: 50 attempts each through
 * job_runner_run, as an engine runs them, and 50 failures, with the
 * decoder's message and no result file. Two files of gdk-pixbuf's tests
 * (fail/hang_114.gif: "Invalid frame data"; fail/CVE-2017-2862.jpg:
 * "Unsupported marker type"), and a 50x31 WebP of a photo whose VP8 data is
 * cut to 60 % (WebP decodes inside its loader, in a sink of its own).
 *
 * Without the runner's one-worker libvips threadpools, libvips 8.14 loses
 * the decoder's error in some runs (a threadpool race: the error of one of
 * the last tiles is set after the sink has read it) and writes a result
 * with blank tiles: 10 to 28 % of the runs of CVE-2017-2862.jpg "completed"
 * (/work/research/vips/REPORT.md, Q1). */
#include "test_support.h"

#include "img_error.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define GDK_FAIL "/usr/libexec/installed-tests/gdk-pixbuf/test-images/fail/"
#define RUNS 50

static const char *const s_files[] = {GDK_FAIL "hang_114.gif", GDK_FAIL "CVE-2017-2862.jpg"};

/* Every operation, with parameters that fit both files (256x32, 47x1). */
static const struct {
    const char *op, *kv;
    bool has_format;
} s_ops[] = {
    {"resize", "width=16", true},
    {"thumbnail", "size=16", true},
    {"diff", "", true},
    {"dither", "", true},
    {"info", "", false},
    {"rotate", "angle=90", true},
    {"flip", "direction=vertical", true},
    {"crop", "width=1&height=1", true},
    {"blur", "sigma=1", true},
    {"sharpen", "", true},
    {"grayscale", "", true},
    {"convert", "", true},
    {"pipeline", NULL, true}, /* steps as JSON: resize, rotate */
};

static const char *const s_formats[] = {"jpeg", "png", "webp", "gif"};

/* The RIFF chunk `kind` of a WebP file, or NULL. */
static const uint8_t *s_chunk(const uint8_t *webp, size_t len, const char *kind, uint32_t *size)
{
    for (size_t at = 12; at + 8 <= len;) {
        uint32_t n = (uint32_t)webp[at + 4] | (uint32_t)webp[at + 5] << 8 |
                     (uint32_t)webp[at + 6] << 16 | (uint32_t)webp[at + 7] << 24;
        if (memcmp(webp + at, kind, 4) == 0 && at + 8 + n <= len) {
            *size = n;
            return webp + at + 8;
        }
        at += 8 + (size_t)n + (n & 1);
    }
    return NULL;
}

static void s_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A simple-format WebP of a 50x31 photo with its VP8 data cut to 60 %: the
 * header is whole, the pixels are not. Written to path. */
static void s_truncated_webp(const char *path)
{
    VipsImage *photo = ts_photo("/usr/share/backgrounds/mate/nature/Dune.jpg", 50, 31);
    void *buf = NULL;
    size_t len = 0;
    uint32_t size = 0;
    assert_int_equal(vips_webpsave_buffer(photo, &buf, &len, NULL), 0);
    g_object_unref(photo);
    const uint8_t *vp8 = s_chunk(buf, len, "VP8 ", &size);
    assert_non_null(vp8);
    uint32_t cut = size * 6 / 10 & ~1u;
    uint8_t *out = g_malloc(20 + cut);
    memcpy(out, "RIFF", 4);
    s_put_le32(out + 4, 12 + cut);
    memcpy(out + 8, "WEBPVP8 ", 8);
    s_put_le32(out + 16, cut);
    memcpy(out + 20, vp8, cut);
    ts_write_file(path, out, 20 + cut);
    g_free(out);
    g_free(buf);
}

/* Attempt `run` of op on the folder's input(s); true if it failed as a
 * corrupt input must. */
static bool s_fails(ts_folder_t *f, size_t op, int run)
{
    const char *format = s_formats[run % 4];
    json_t *r;
    if (!s_ops[op].kv) {
        json_t *params = json_pack("{s:[{s:s, s:i}, {s:s, s:s}], s:s}", "steps", "op", "resize",
                                   "width", 16, "op", "rotate", "angle", "90", "format", format);
        r = ts_run_json(f, "pipeline", params, 60000);
        json_decref(params);
    } else {
        char kv[128] = "";
        if (s_ops[op].has_format && strcmp(s_ops[op].op, "convert") != 0)
            snprintf(kv, sizeof kv, "%s%sformat=%s", s_ops[op].kv, s_ops[op].kv[0] ? "&" : "",
                     format);
        else if (s_ops[op].has_format)
            snprintf(kv, sizeof kv, "format=%s", format);
        r = ts_run(f, s_ops[op].op, kv, 60000);
    }
    if (r) { /* completed: its result goes, so that the next attempt starts clean */
        const char *written = json_string_value(json_object_get(r, "format"));
        if (written) {
            char path[PATH_MAX];
            ts_result_path(f, written, path, sizeof path);
            assert_int_equal(unlink(path), 0);
        }
        json_decref(r);
        return false;
    }
    /* failed while decoding, saying why; nothing left behind */
    if (img_error_code() != IMG_E_PROCESSING_FAILED)
        fail_msg("%s: %s (%s)", s_ops[op].op, img_error_code_name(img_error_code()),
                 img_error_message());
    if (!strstr(img_error_message(), ": "))
        fail_msg("%s: no decoder message in '%s'", s_ops[op].op, img_error_message());
    assert_int_equal(ts_count_files(f->dir, "result."), 0);
    assert_int_equal(ts_count_files(f->dir, ".result-"), 0);
    return true;
}

static void test_corrupt_inputs_always_fail(void **state)
{
    ts_folder_t *f = *state;
    int total_failed = 0, total = 0, cells_completed = 0;
    char webp[PATH_MAX];
    snprintf(webp, sizeof webp, "%s/truncated.webp", f->root);
    s_truncated_webp(webp);
    const char *files[] = {s_files[0], s_files[1], webp};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        ts_copy_input(f, "file", files[i]);
        ts_copy_input(f, "image1", files[i]);
        ts_copy_input(f, "image2", files[i]);
        for (size_t op = 0; op < sizeof s_ops / sizeof s_ops[0]; op++) {
            int failed = 0;
            for (int run = 0; run < RUNS; run++)
                failed += s_fails(f, op, run);
            print_message("%-18s %-9s %d / %d failed\n", strrchr(files[i], '/') + 1, s_ops[op].op,
                          failed, RUNS);
            total_failed += failed;
            total += RUNS;
            cells_completed += failed != RUNS;
        }
    }
    print_message("%d / %d attempts failed\n", total_failed, total);
    if (cells_completed)
        fail_msg("%d file x operation pairs completed at least once", cells_completed);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (ts_vips_init(argv[0]))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_corrupt_inputs_always_fail, ts_setup, ts_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    vips_shutdown();
    return rc;
}
