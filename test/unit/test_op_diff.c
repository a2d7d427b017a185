/* test_op_diff — the diff operation on a real photo with known changes.
 *
 * A mate background is shrunk to 800x600 and darkened to half its values
 * (so that the white and yellow rectangles painted on it differ by at least
 * ~100 grey levels everywhere). The run function is called directly with a
 * hand-built op_job_t, and once through op_run() in a job folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "image_probe.h"
#include "img_error.h"
#include "op.h"
#include "op_params.h"
#include "op_runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const op_def_t op_diff;

#define PHOTO "/usr/share/backgrounds/mate/nature/Garden.jpg"
#define W 800
#define H 600
/* How far a box may reach past a painted rectangle: the blur (sigma 1.5)
 * spreads a strong edge by ~3 px over the threshold. */
#define MARGIN 5

typedef struct {
    int x, y, w, h;
} rect_t;

static const rect_t RECT_A = {100, 80, 120, 90};  /* white */
static const rect_t RECT_B = {500, 350, 60, 150}; /* yellow */
static const rect_t TINY = {400, 40, 4, 4};       /* white, 16 px */

static char s_dir[512];
static char s_base[600], s_changed[600], s_tiny[600], s_small[600], s_rotated[600], s_alpha[600],
    s_lshape[600];

static void s_path(char *out, const char *name)
{
    snprintf(out, 600, "%s/%s", s_dir, name);
}

/* The base image: a photo, 800x600, darkened to 0..127, in memory. */
static VipsImage *s_base_new(void)
{
    VipsImage *thumb = NULL, *dark = NULL, *mem = NULL;
    assert_int_equal(
        vips_thumbnail(PHOTO, &thumb, W, "height", H, "crop", VIPS_INTERESTING_CENTRE, NULL), 0);
    assert_int_equal(vips_linear1(thumb, &dark, 0.5, 0.0, "uchar", TRUE, NULL), 0);
    assert_non_null(mem = vips_image_copy_memory(dark));
    g_object_unref(thumb);
    g_object_unref(dark);
    return mem;
}

/* A memory copy of base with the given rectangles painted in ink. */
static void s_save_painted(VipsImage *base, const char *path, const rect_t *rects,
                           const double (*inks)[3], int n)
{
    VipsImage *copy = NULL;
    assert_int_equal(vips_copy(base, &copy, NULL), 0);
    VipsImage *mem = vips_image_copy_memory(copy);
    assert_non_null(mem);
    for (int i = 0; i < n; i++)
        assert_int_equal(vips_draw_rect(mem, (double *)inks[i], 3, rects[i].x, rects[i].y,
                                        rects[i].w, rects[i].h, "fill", TRUE, NULL),
                         0);
    assert_int_equal(vips_image_write_to_file(mem, path, NULL), 0);
    g_object_unref(mem);
    g_object_unref(copy);
}

static int s_group_setup(void **state)
{
    (void)state;
    static const double white[3] = {255, 255, 255};
    snprintf(s_dir, sizeof s_dir, "%s/op_diff_XXXXXX", TEST_BINARY_DIR);
    assert_non_null(mkdtemp(s_dir));
    s_path(s_base, "base.png");
    s_path(s_changed, "changed.png");
    s_path(s_tiny, "tiny.png");
    s_path(s_small, "small.png");
    s_path(s_rotated, "rotated.jpg");
    s_path(s_alpha, "alpha.png");
    s_path(s_lshape, "lshape.png");

    VipsImage *base = s_base_new();
    assert_int_equal(vips_image_write_to_file(base, s_base, NULL), 0);

    rect_t two[2] = {RECT_A, RECT_B};
    const double inks[2][3] = {{255, 255, 255}, {255, 255, 0}};
    s_save_painted(base, s_changed, two, inks, 2);
    s_save_painted(base, s_tiny, &TINY, &white, 1);

    /* An L of two bars and a square inside its corner, > 5 px from both bars:
     * two regions whose boxes overlap. */
    rect_t l[3] = {{100, 100, 200, 10}, {100, 100, 10, 200}, {180, 180, 40, 40}};
    const double inks3[3][3] = {{255, 255, 255}, {255, 255, 255}, {255, 255, 255}};
    s_save_painted(base, s_lshape, l, inks3, 3);

    /* Same photo, other size. */
    VipsImage *small = NULL;
    assert_int_equal(vips_resize(base, &small, 0.5, NULL), 0);
    assert_int_equal(vips_image_write_to_file(small, s_small, NULL), 0);

    /* Stored turned 90 degrees anticlockwise, with EXIF orientation 6
     * ("turn 90 degrees clockwise to display"): upright it is base. */
    VipsImage *rot = NULL, *rot_copy = NULL;
    assert_int_equal(vips_rot(base, &rot, VIPS_ANGLE_D270, NULL), 0);
    assert_int_equal(vips_copy(rot, &rot_copy, NULL), 0);
    vips_image_set_int(rot_copy, VIPS_META_ORIENTATION, 6);
    assert_int_equal(vips_jpegsave(rot_copy, s_rotated, "Q", 98, NULL), 0);

    /* base with an opaque alpha band. */
    VipsImage *alpha = NULL;
    assert_int_equal(vips_bandjoin_const1(base, &alpha, 255.0, NULL), 0);
    assert_int_equal(vips_image_write_to_file(alpha, s_alpha, NULL), 0);

    g_object_unref(alpha);
    g_object_unref(rot_copy);
    g_object_unref(rot);
    g_object_unref(small);
    g_object_unref(base);
    return 0;
}

static int s_group_teardown(void **state)
{
    (void)state;
    const char *files[] = {s_base, s_changed, s_tiny, s_small, s_rotated, s_alpha, s_lshape};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(files[i]);
    rmdir(s_dir);
    return 0;
}

/* Runs diff on two files; rc of run, job filled in (caller frees). */
static int s_run(const char *a, const char *b, int threshold, int min_area, op_job_t *job)
{
    static img_config_t cfg;
    config_defaults(&cfg);
    memset(job, 0, sizeof *job);
    job->params = json_pack("{s:i, s:i}", "threshold", threshold, "min_area", min_area);
    job->inputs[0] = a;
    job->inputs[1] = b;
    job->cfg = &cfg;
    img_error_clear();
    return op_diff.run(job);
}

static void s_job_free(op_job_t *job)
{
    json_decref((json_t *)job->params);
    json_decref(job->extra);
    if (job->out)
        g_object_unref(job->out);
    memset(job, 0, sizeof *job);
}

static size_t s_box_count(const op_job_t *job)
{
    json_t *boxes = json_object_get(job->extra, "boxes");
    assert_true(json_is_array(boxes));
    return json_array_size(boxes);
}

static rect_t s_box(const op_job_t *job, size_t i)
{
    json_t *b = json_array_get(json_object_get(job->extra, "boxes"), i);
    assert_non_null(b);
    rect_t r = {0};
    assert_int_equal(
        json_unpack(b, "{s:i, s:i, s:i, s:i}", "x", &r.x, "y", &r.y, "width", &r.w, "height", &r.h),
        0);
    assert_int_equal(json_object_size(b), 4);
    return r;
}

static double s_ratio(const op_job_t *job)
{
    json_t *r = json_object_get(job->extra, "changed_ratio");
    assert_true(json_is_number(r));
    return json_number_value(r);
}

/* rect inside box, and box no bigger than rect + MARGIN on each side. */
static void s_assert_covers(rect_t box, rect_t rect)
{
    assert_true(box.x <= rect.x && box.y <= rect.y);
    assert_true(box.x + box.w >= rect.x + rect.w && box.y + box.h >= rect.y + rect.h);
    assert_true(box.x >= rect.x - MARGIN && box.y >= rect.y - MARGIN);
    assert_true(box.x + box.w <= rect.x + rect.w + MARGIN);
    assert_true(box.y + box.h <= rect.y + rect.h + MARGIN);
}

static void s_pixel(VipsImage *image, int x, int y, double out[3])
{
    double *v = NULL;
    int n = 0;
    assert_int_equal(vips_getpoint(image, &v, &n, x, y, NULL), 0);
    assert_true(n >= 3);
    memcpy(out, v, 3 * sizeof *v);
    g_free(v);
}

static void s_assert_red(VipsImage *image, int x, int y)
{
    double p[3];
    s_pixel(image, x, y, p);
    assert_true(p[0] == 255 && p[1] == 0 && p[2] == 0);
}

/* Largest absolute difference between two images of the same shape. */
static double s_max_abs_diff(VipsImage *a, VipsImage *b)
{
    VipsImage *d = NULL, *abs = NULL;
    double max = -1;
    assert_int_equal(vips_subtract(a, b, &d, NULL), 0);
    assert_int_equal(vips_abs(d, &abs, NULL), 0);
    assert_int_equal(vips_max(abs, &max, NULL), 0);
    g_object_unref(abs);
    g_object_unref(d);
    return max;
}

static void test_two_rectangles_found(void **state)
{
    (void)state;
    op_job_t job;
    assert_int_equal(s_run(s_base, s_changed, 25, 500, &job), 0);
    assert_int_equal(s_box_count(&job), 2);
    /* sorted by y: A (y 80) before B (y 350) */
    rect_t a = s_box(&job, 0), b = s_box(&job, 1);
    s_assert_covers(a, RECT_A);
    s_assert_covers(b, RECT_B);

    double total = (double)W * H;
    double painted = (double)RECT_A.w * RECT_A.h + (double)RECT_B.w * RECT_B.h;
    double halo = (double)(RECT_A.w + 2 * MARGIN) * (RECT_A.h + 2 * MARGIN) +
                  (double)(RECT_B.w + 2 * MARGIN) * (RECT_B.h + 2 * MARGIN);
    double ratio = s_ratio(&job);
    assert_true(ratio >= painted / total && ratio <= halo / total);

    /* The result: image2, 8-bit sRGB, with red frames just outside the boxes. */
    assert_string_equal(job.out_format, "png");
    assert_non_null(job.out);
    assert_int_equal(job.out->Xsize, W);
    assert_int_equal(job.out->Ysize, H);
    assert_int_equal(job.out->Bands, 3);
    assert_int_equal(job.out->BandFmt, VIPS_FORMAT_UCHAR);
    assert_int_equal(job.out->Type, VIPS_INTERPRETATION_sRGB);
    s_assert_red(job.out, a.x - 1, a.y + a.h / 2);       /* left side */
    s_assert_red(job.out, a.x - 3, a.y + a.h / 2);       /* 3 px wide */
    s_assert_red(job.out, a.x + a.w / 2, a.y + a.h + 2); /* bottom */
    s_assert_red(job.out, b.x + b.w, b.y);               /* right */
    double in_box[3], far[3], want[3];
    s_pixel(job.out, RECT_A.x + 10, RECT_A.y + 10, in_box); /* inside: untouched */
    assert_true(in_box[0] == 255 && in_box[1] == 255 && in_box[2] == 255);
    VipsImage *orig = vips_image_new_from_file(s_changed, NULL);
    assert_non_null(orig);
    s_pixel(job.out, 700, 40, far);
    s_pixel(orig, 700, 40, want);
    assert_memory_equal(far, want, sizeof far);
    g_object_unref(orig);
    s_job_free(&job);
}

static void test_identical_images(void **state)
{
    (void)state;
    op_job_t job;
    assert_int_equal(s_run(s_base, s_base, 25, 500, &job), 0);
    assert_int_equal(s_box_count(&job), 0);
    assert_true(s_ratio(&job) == 0.0);
    /* nothing drawn: the output is image2 */
    VipsImage *base = vips_image_new_from_file(s_base, NULL);
    assert_non_null(base);
    assert_true(s_max_abs_diff(job.out, base) == 0.0);
    g_object_unref(base);
    s_job_free(&job);

    /* even threshold 0 finds nothing in identical images */
    assert_int_equal(s_run(s_base, s_base, 0, 0, &job), 0);
    assert_int_equal(s_box_count(&job), 0);
    assert_true(s_ratio(&job) == 0.0);
    s_job_free(&job);
}

static void test_min_area_drops_tiny_change(void **state)
{
    (void)state;
    op_job_t job;
    assert_int_equal(s_run(s_base, s_tiny, 25, 500, &job), 0);
    assert_int_equal(s_box_count(&job), 0);
    assert_true(s_ratio(&job) > 0.0); /* the change is seen, just too small */
    s_job_free(&job);

    assert_int_equal(s_run(s_base, s_tiny, 25, 1, &job), 0);
    assert_int_equal(s_box_count(&job), 1);
    s_assert_covers(s_box(&job, 0), TINY);
    s_job_free(&job);

    /* min_area between the rectangles' areas keeps only the big one */
    assert_int_equal(s_run(s_base, s_changed, 25, 10000, &job), 0);
    assert_int_equal(s_box_count(&job), 1);
    s_assert_covers(s_box(&job, 0), RECT_A);
    s_job_free(&job);
}

static void test_threshold_255_finds_nothing(void **state)
{
    (void)state;
    op_job_t job;
    assert_int_equal(s_run(s_base, s_changed, 255, 0, &job), 0);
    assert_int_equal(s_box_count(&job), 0);
    assert_true(s_ratio(&job) == 0.0);
    s_job_free(&job);

    /* a threshold above the change (white on <= 127 is >= 128) hides it */
    assert_int_equal(s_run(s_base, s_tiny, 254, 1, &job), 0);
    assert_int_equal(s_box_count(&job), 0);
    s_job_free(&job);
}

static void test_overlapping_boxes_merged(void **state)
{
    (void)state;
    op_job_t job;
    assert_int_equal(s_run(s_base, s_lshape, 25, 100, &job), 0);
    assert_int_equal(s_box_count(&job), 1);
    rect_t l = {100, 100, 200, 200};
    s_assert_covers(s_box(&job, 0), l);
    s_job_free(&job);
}

static void test_orientation_applied(void **state)
{
    (void)state;
    op_job_t job;
    /* upright, the rotated JPEG is base (up to JPEG noise, which the blur and
     * threshold absorb) */
    assert_int_equal(s_run(s_rotated, s_base, 25, 500, &job), 0);
    assert_int_equal(s_box_count(&job), 0);
    assert_int_equal(job.out->Xsize, W);
    s_job_free(&job);

    assert_int_equal(s_run(s_base, s_rotated, 25, 500, &job), 0);
    assert_int_equal(job.out->Xsize, W);
    assert_int_equal(job.out->Ysize, H);
    s_job_free(&job);
}

static void test_alpha_flattened(void **state)
{
    (void)state;
    op_job_t job;
    assert_int_equal(s_run(s_base, s_alpha, 25, 500, &job), 0);
    assert_int_equal(s_box_count(&job), 0);
    assert_int_equal(job.out->Bands, 3);
    s_job_free(&job);
}

static void test_run_rejects_other_size(void **state)
{
    (void)state;
    op_job_t job;
    assert_int_equal(s_run(s_base, s_small, 25, 500, &job), -1);
    assert_int_equal(img_error_code(), IMG_E_DIMENSION_MISMATCH);
    assert_string_equal(img_error_message(), "image1 is 800x600 but image2 is 400x300");
    assert_null(job.out);
    assert_null(job.extra);
    s_job_free(&job);

    assert_int_equal(s_run(s_base, "/nonexistent/in_image2", 25, 500, &job), -1);
    assert_int_equal(img_error_code(), IMG_E_PROCESSING_FAILED);
    assert_null(job.out);
    s_job_free(&job);
}

static void test_check_sizes(void **state)
{
    (void)state;
    img_config_t cfg;
    config_defaults(&cfg);
    image_info_t in[2] = {{.width = 800, .height = 600, .orientation = 1},
                          {.width = 600, .height = 800, .orientation = 1}};
    assert_non_null(op_diff.check);
    img_error_clear();
    assert_int_equal(op_diff.check(NULL, in, &cfg), -1);
    assert_int_equal(img_error_code(), IMG_E_DIMENSION_MISMATCH);
    assert_string_equal(img_error_message(), "image1 is 800x600 but image2 is 600x800");

    /* orientation 6..8 and 5 swap the sides: upright both are 800x600 */
    for (int o = 5; o <= 8; o++) {
        in[1].orientation = o;
        assert_int_equal(op_diff.check(NULL, in, &cfg), 0);
    }
    in[1].orientation = 3; /* upside down: still 600x800 */
    assert_int_equal(op_diff.check(NULL, in, &cfg), -1);

    /* real probes */
    image_info_t probed[2];
    if (image_probe_file(s_base, &cfg, &probed[0]) || image_probe_file(s_rotated, &cfg, &probed[1]))
        fail_msg("probe: %s", img_error_message());
    assert_int_equal(probed[1].orientation, 6);
    assert_int_equal(op_diff.check(NULL, probed, &cfg), 0);
    assert_int_equal(image_probe_file(s_small, &cfg, &probed[1]), 0);
    assert_int_equal(op_diff.check(NULL, probed, &cfg), -1);
    assert_int_equal(img_error_code(), IMG_E_DIMENSION_MISMATCH);
}

static void test_declaration(void **state)
{
    (void)state;
    assert_string_equal(op_diff.name, "diff");
    assert_int_equal(op_diff.n_inputs, 2);
    assert_string_equal(op_diff.inputs[0].name, "image1");
    assert_string_equal(op_diff.inputs[1].name, "image2");
    assert_int_equal(op_diff.result_kind, OP_RESULT_IMAGE);

    /* defaults and bounds through the declaration */
    json_t *raw = json_object();
    json_t *p = op_params_validate(&op_diff, raw);
    assert_non_null(p);
    assert_int_equal(op_param_int(p, "threshold", -1), 25);
    assert_int_equal(op_param_int(p, "min_area", -1), 500);
    json_decref(p);
    json_object_set_new(raw, "threshold", json_string("256"));
    assert_null(op_params_validate(&op_diff, raw));
    assert_int_equal(img_error_code(), IMG_E_INVALID_PARAMETER);
    json_decref(raw);
}

/* Copies src to dst. */
static void s_copy_file(const char *src, const char *dst)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static void s_assert_png(const char *path)
{
    static const unsigned char magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8] = {0};
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(head, 1, sizeof head, f), sizeof head);
    fclose(f);
    assert_memory_equal(head, magic, sizeof magic);
}

static void test_through_op_run(void **state)
{
    (void)state;
    img_config_t cfg;
    config_defaults(&cfg);
    char job_dir[600], in1[700], in2[700], result_path[700];
    snprintf(job_dir, sizeof job_dir, "%s/job", s_dir);
    assert_int_equal(mkdir(job_dir, 0700), 0);
    snprintf(in1, sizeof in1, "%s/in_image1", job_dir);
    snprintf(in2, sizeof in2, "%s/in_image2", job_dir);
    s_copy_file(s_base, in1);
    s_copy_file(s_changed, in2);

    json_t *raw = json_pack("{s:s}", "threshold", "30");
    json_t *params = op_params_validate(&op_diff, raw);
    assert_non_null(params);
    json_t *result = NULL;
    if (op_run(&op_diff, job_dir, params, &cfg, 30000, &result) != 0)
        fail_msg("op_run: %s", img_error_message());
    assert_non_null(result);
    assert_string_equal(json_string_value(json_object_get(result, "format")), "png");
    assert_int_equal(json_integer_value(json_object_get(result, "width")), W);
    assert_int_equal(json_integer_value(json_object_get(result, "height")), H);
    assert_int_equal(json_array_size(json_object_get(result, "boxes")), 2);
    assert_true(json_is_number(json_object_get(result, "changed_ratio")));

    assert_int_equal(op_result_path(job_dir, "png", result_path, sizeof result_path), 0);
    VipsImage *saved = vips_image_new_from_file(result_path, NULL);
    assert_non_null(saved);
    s_assert_png(result_path);
    assert_int_equal(saved->Xsize, W);
    json_t *box = json_array_get(json_object_get(result, "boxes"), 0);
    s_assert_red(saved, (int)json_integer_value(json_object_get(box, "x")) - 1,
                 (int)json_integer_value(json_object_get(box, "y")));
    g_object_unref(saved);

    json_decref(result);
    json_decref(params);
    json_decref(raw);
    unlink(result_path);
    unlink(in1);
    unlink(in2);
    rmdir(job_dir);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (VIPS_INIT(argv[0]))
        return 1;
    vips_cache_set_max(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_declaration),
        cmocka_unit_test(test_two_rectangles_found),
        cmocka_unit_test(test_identical_images),
        cmocka_unit_test(test_min_area_drops_tiny_change),
        cmocka_unit_test(test_threshold_255_finds_nothing),
        cmocka_unit_test(test_overlapping_boxes_merged),
        cmocka_unit_test(test_orientation_applied),
        cmocka_unit_test(test_alpha_flattened),
        cmocka_unit_test(test_run_rejects_other_size),
        cmocka_unit_test(test_check_sizes),
        cmocka_unit_test(test_through_op_run),
    };
    int rc = cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
    vips_shutdown();
    return rc;
}
