/* test_op_diff — the diff operation on a real photo with known changes.
 *
 * A mate background is shrunk to 800x600 and darkened to half its values
 * (so that the white and yellow rectangles painted on it differ by at least
 * ~100 grey levels everywhere). Jobs run as the engine runs them
 * (job_runner, test_support); the run function is also called directly
 * where the runner's own checks would stop a job before it.
 */
#include "test_support.h"

#include "image_probe.h"
#include "img_error.h"
#include "op_catalog.h"
#include "op_job.h"
#include "op_params.h"
#include "op_plan.h"

#include <stdio.h>
#include <string.h>

extern const op_def_t op_diff;

#define PHOTO "/usr/share/backgrounds/mate/nature/Garden.jpg"
#define W 800
#define H 600
/* How far a box may reach past a painted rectangle: the blur (sigma 1.5)
 * spreads a strong edge by ~3 px over the threshold. */
#define MARGIN 5

static const ts_rect_t RECT_A = {100, 80, 120, 90};  /* white */
static const ts_rect_t RECT_B = {500, 350, 60, 150}; /* yellow */
static const ts_rect_t TINY = {400, 40, 4, 4};       /* white, 16 px */

/* The images, made once in their own folder. */
static ts_folder_t *s_images;
static char s_base[PATH_MAX], s_changed[PATH_MAX], s_tiny[PATH_MAX], s_small[PATH_MAX],
    s_rotated[PATH_MAX], s_alpha[PATH_MAX], s_lshape[PATH_MAX];

static void s_path(char *out, const char *name)
{
    snprintf(out, PATH_MAX, "%s/%s", s_images->root, name);
}

static int s_group_setup(void **state)
{
    (void)state;
    static const double white[1][3] = {{255, 255, 255}};
    s_images = ts_folder_new("diff-images");
    s_path(s_base, "base.png");
    s_path(s_changed, "changed.png");
    s_path(s_tiny, "tiny.png");
    s_path(s_small, "small.png");
    s_path(s_rotated, "rotated.jpg");
    s_path(s_alpha, "alpha.png");
    s_path(s_lshape, "lshape.png");

    /* The base image: a photo, 800x600, darkened to 0..127. */
    VipsImage *photo = ts_photo(PHOTO, W, H), *dark = NULL;
    assert_int_equal(vips_linear1(photo, &dark, 0.5, 0.0, "uchar", TRUE, NULL), 0);
    VipsImage *base = vips_image_copy_memory(dark);
    assert_non_null(base);
    g_object_unref(photo);
    g_object_unref(dark);
    g_object_ref(base);
    ts_save(base, "png", s_base);

    ts_rect_t two[2] = {RECT_A, RECT_B};
    const double inks[2][3] = {{255, 255, 255}, {255, 255, 0}};
    ts_save(ts_painted(base, two, inks, 2), "png", s_changed);
    ts_save(ts_painted(base, &TINY, white, 1), "png", s_tiny);

    /* An L of two bars and a square inside its corner, > 5 px from both bars:
     * two regions whose boxes overlap. */
    ts_rect_t l[3] = {{100, 100, 200, 10}, {100, 100, 10, 200}, {180, 180, 40, 40}};
    const double inks3[3][3] = {{255, 255, 255}, {255, 255, 255}, {255, 255, 255}};
    ts_save(ts_painted(base, l, inks3, 3), "png", s_lshape);

    /* Same photo, other size. */
    VipsImage *small = NULL;
    assert_int_equal(vips_resize(base, &small, 0.5, NULL), 0);
    ts_save(small, "png", s_small);

    /* Stored turned 90 degrees anticlockwise, with EXIF orientation 6
     * ("turn 90 degrees clockwise to display"): upright it is base. */
    VipsImage *rot = NULL;
    assert_int_equal(vips_rot(base, &rot, VIPS_ANGLE_D270, NULL), 0);
    VipsImage *oriented = ts_oriented(rot, 6);
    assert_int_equal(vips_jpegsave(oriented, s_rotated, "Q", 98, NULL), 0);
    g_object_unref(oriented);

    /* base with an opaque alpha band. */
    VipsImage *alpha = NULL;
    assert_int_equal(vips_bandjoin_const1(base, &alpha, 255.0, NULL), 0);
    ts_save(alpha, "png", s_alpha);
    g_object_unref(base);
    return 0;
}

static int s_group_teardown(void **state)
{
    (void)state;
    ts_folder_destroy(&s_images);
    return 0;
}

/* ---- running ---- */

/* Runs diff on copies of a and b; the result object, or NULL with img_error. */
static json_t *s_run(ts_folder_t *f, const char *a, const char *b, const char *kv)
{
    ts_copy_input(f, "image1", a);
    ts_copy_input(f, "image2", b);
    return ts_run(f, "diff", kv, 60000);
}

/* The same, which must succeed; *image gets the result image if asked. */
static json_t *s_diff(ts_folder_t *f, const char *a, const char *b, int threshold, int min_area,
                      VipsImage **image)
{
    char kv[64];
    snprintf(kv, sizeof kv, "threshold=%d&min_area=%d", threshold, min_area);
    json_t *r = s_run(f, a, b, kv);
    if (!r)
        fail_msg("diff %s: %s", kv, img_error_message());
    assert_string_equal(json_string_value(json_object_get(r, "format")), "png");
    if (image) {
        char path[PATH_MAX];
        ts_result_path(f, "png", path, sizeof path);
        *image = ts_load(path);
    }
    return r;
}

static size_t s_box_count(const json_t *r)
{
    json_t *boxes = json_object_get(r, "boxes");
    assert_true(json_is_array(boxes));
    return json_array_size(boxes);
}

static ts_rect_t s_box(const json_t *r, size_t i)
{
    json_t *b = json_array_get(json_object_get(r, "boxes"), i);
    assert_non_null(b);
    ts_rect_t box = {0};
    assert_int_equal(json_unpack(b, "{s:i, s:i, s:i, s:i}", "x", &box.x, "y", &box.y, "width",
                                 &box.w, "height", &box.h),
                     0);
    assert_int_equal(json_object_size(b), 4);
    return box;
}

static double s_ratio(const json_t *r)
{
    json_t *v = json_object_get(r, "changed_ratio");
    assert_true(json_is_number(v));
    return json_number_value(v);
}

/* rect inside box, and box no bigger than rect + MARGIN on each side. */
static void s_assert_covers(ts_rect_t box, ts_rect_t rect)
{
    assert_true(box.x <= rect.x && box.y <= rect.y);
    assert_true(box.x + box.w >= rect.x + rect.w && box.y + box.h >= rect.y + rect.h);
    assert_true(box.x >= rect.x - MARGIN && box.y >= rect.y - MARGIN);
    assert_true(box.x + box.w <= rect.x + rect.w + MARGIN);
    assert_true(box.y + box.h <= rect.y + rect.h + MARGIN);
}

static void s_assert_red(VipsImage *image, int x, int y)
{
    assert_true(ts_pixel(image, x, y, 0) == 255);
    assert_true(ts_pixel(image, x, y, 1) == 0);
    assert_true(ts_pixel(image, x, y, 2) == 0);
}

/* ---- tests ---- */

static void test_declaration(void **state)
{
    ts_folder_t *f = *state;
    assert_ptr_equal(op_catalog_find("diff"), &op_diff);
    assert_int_equal(op_diff.n_inputs, 2);
    assert_string_equal(op_diff.inputs[0].name, "image1");
    assert_string_equal(op_diff.inputs[1].name, "image2");
    assert_int_equal(op_diff.result_kind, OP_RESULT_IMAGE);
    assert_non_null(op_diff.run);
    assert_null(op_diff.apply);

    /* defaults and bounds through the declaration */
    json_t *raw = json_object();
    json_t *p = op_params_validate(&op_diff, raw, &f->cfg);
    assert_non_null(p);
    assert_int_equal(op_param_int(p, "threshold", -1), 25);
    assert_int_equal(op_param_int(p, "min_area", -1), 500);
    assert_string_equal(op_param_str(p, "format", ""), "png");
    json_decref(p);
    json_object_set_new(raw, "threshold", json_string("256"));
    assert_null(op_params_validate(&op_diff, raw, &f->cfg));
    assert_int_equal(img_error_code(), IMG_E_INVALID_PARAMETER);
    json_decref(raw);
}

static void test_two_rectangles_found(void **state)
{
    ts_folder_t *f = *state;
    VipsImage *out;
    json_t *r = s_diff(f, s_base, s_changed, 25, 500, &out);
    assert_int_equal(s_box_count(r), 2);
    /* sorted by y: A (y 80) before B (y 350) */
    ts_rect_t a = s_box(r, 0), b = s_box(r, 1);
    s_assert_covers(a, RECT_A);
    s_assert_covers(b, RECT_B);

    double total = (double)W * H;
    double painted = (double)RECT_A.w * RECT_A.h + (double)RECT_B.w * RECT_B.h;
    double halo = (double)(RECT_A.w + 2 * MARGIN) * (RECT_A.h + 2 * MARGIN) +
                  (double)(RECT_B.w + 2 * MARGIN) * (RECT_B.h + 2 * MARGIN);
    double ratio = s_ratio(r);
    assert_true(ratio >= painted / total && ratio <= halo / total);

    /* The result: image2, 8-bit sRGB, with red frames just outside the boxes. */
    assert_int_equal(json_integer_value(json_object_get(r, "width")), W);
    assert_int_equal(json_integer_value(json_object_get(r, "height")), H);
    assert_int_equal(out->Xsize, W);
    assert_int_equal(out->Ysize, H);
    assert_int_equal(out->Bands, 3);
    assert_int_equal(out->BandFmt, VIPS_FORMAT_UCHAR);
    s_assert_red(out, a.x - 1, a.y + a.h / 2);       /* left side */
    s_assert_red(out, a.x - 3, a.y + a.h / 2);       /* 3 px wide */
    s_assert_red(out, a.x + a.w / 2, a.y + a.h + 2); /* bottom */
    s_assert_red(out, b.x + b.w, b.y);               /* right */
    /* inside a box: untouched */
    for (int band = 0; band < 3; band++)
        assert_true(ts_pixel(out, RECT_A.x + 10, RECT_A.y + 10, band) == 255);
    /* far from every box: image2 as it was */
    VipsImage *orig = ts_load(s_changed);
    for (int band = 0; band < 3; band++)
        assert_true(ts_pixel(out, 700, 40, band) == ts_pixel(orig, 700, 40, band));
    g_object_unref(orig);
    g_object_unref(out);
    json_decref(r);
}

static void test_identical_images(void **state)
{
    ts_folder_t *f = *state;
    VipsImage *out;
    json_t *r = s_diff(f, s_base, s_base, 25, 500, &out);
    assert_int_equal(s_box_count(r), 0);
    assert_true(s_ratio(r) == 0.0);
    /* nothing drawn: the output is image2 */
    VipsImage *base = ts_load(s_base);
    assert_true(ts_max_abs_diff(out, base) == 0.0);
    g_object_unref(base);
    g_object_unref(out);
    json_decref(r);

    /* even threshold 0 finds nothing in identical images */
    r = s_diff(f, s_base, s_base, 0, 0, NULL);
    assert_int_equal(s_box_count(r), 0);
    assert_true(s_ratio(r) == 0.0);
    json_decref(r);
}

static void test_min_area_drops_tiny_change(void **state)
{
    ts_folder_t *f = *state;
    json_t *r = s_diff(f, s_base, s_tiny, 25, 500, NULL);
    assert_int_equal(s_box_count(r), 0);
    assert_true(s_ratio(r) > 0.0); /* the change is seen, just too small */
    json_decref(r);

    r = s_diff(f, s_base, s_tiny, 25, 1, NULL);
    assert_int_equal(s_box_count(r), 1);
    s_assert_covers(s_box(r, 0), TINY);
    json_decref(r);

    /* min_area between the rectangles' areas keeps only the big one */
    r = s_diff(f, s_base, s_changed, 25, 10000, NULL);
    assert_int_equal(s_box_count(r), 1);
    s_assert_covers(s_box(r, 0), RECT_A);
    json_decref(r);
}

static void test_threshold_255_finds_nothing(void **state)
{
    ts_folder_t *f = *state;
    json_t *r = s_diff(f, s_base, s_changed, 255, 0, NULL);
    assert_int_equal(s_box_count(r), 0);
    assert_true(s_ratio(r) == 0.0);
    json_decref(r);

    /* a threshold above the change (white on <= 127 is >= 128) hides it */
    r = s_diff(f, s_base, s_tiny, 254, 1, NULL);
    assert_int_equal(s_box_count(r), 0);
    json_decref(r);
}

static void test_overlapping_boxes_merged(void **state)
{
    ts_folder_t *f = *state;
    json_t *r = s_diff(f, s_base, s_lshape, 25, 100, NULL);
    assert_int_equal(s_box_count(r), 1);
    ts_rect_t l = {100, 100, 200, 200};
    s_assert_covers(s_box(r, 0), l);
    json_decref(r);
}

static void test_orientation_applied(void **state)
{
    ts_folder_t *f = *state;
    /* upright, the rotated JPEG is base (up to JPEG noise, which the blur and
     * threshold absorb) */
    json_t *r = s_diff(f, s_rotated, s_base, 25, 500, NULL);
    assert_int_equal(s_box_count(r), 0);
    assert_int_equal(json_integer_value(json_object_get(r, "width")), W);
    json_decref(r);

    VipsImage *out;
    r = s_diff(f, s_base, s_rotated, 25, 500, &out);
    assert_int_equal(out->Xsize, W);
    assert_int_equal(out->Ysize, H);
    assert_int_equal(vips_image_get_orientation(out), 1);
    g_object_unref(out);
    json_decref(r);
}

static void test_alpha_flattened(void **state)
{
    ts_folder_t *f = *state;
    VipsImage *out;
    json_t *r = s_diff(f, s_base, s_alpha, 25, 500, &out);
    assert_int_equal(s_box_count(r), 0);
    assert_int_equal(out->Bands, 3);
    g_object_unref(out);
    json_decref(r);
}

static void test_output_format(void **state)
{
    ts_folder_t *f = *state;
    json_t *r = s_run(f, s_base, s_changed, "format=jpeg");
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "format")), "jpeg");
    assert_int_equal(s_box_count(r), 2);
    json_decref(r);
    assert_int_equal(ts_count_files(f->dir, "result.jpg"), 1);
}

/* Sizes are compared upright, from the headers, at plan. */
static void test_size_mismatch_at_plan(void **state)
{
    ts_folder_t *f = *state;
    image_info_t in[2] = {
        {.width = 800, .height = 600, .pages = 1, .orientation = 1, .format = "png"},
        {.width = 600, .height = 800, .pages = 1, .orientation = 1, .format = "png"}};
    json_t *params = op_params_validate(&op_diff, NULL, &f->cfg);
    op_plan_t plan;
    img_error_clear();
    assert_int_equal(op_plan_job(&op_diff, params, in, &f->cfg, &plan), -1);
    assert_int_equal(img_error_code(), IMG_E_DIMENSION_MISMATCH);
    assert_string_equal(img_error_message(), "image1 is 800x600 but image2 is 600x800");

    /* orientation 5..8 swap the sides: upright both are 800x600 */
    for (int o = 5; o <= 8; o++) {
        in[1].orientation = o;
        assert_int_equal(op_plan_job(&op_diff, params, in, &f->cfg, &plan), 0);
        assert_int_equal(plan.out.width, 800);
        assert_int_equal(plan.out.height, 600);
        assert_string_equal(plan.format->name, "png");
    }
    in[1].orientation = 3; /* upside down: still 600x800 */
    assert_int_equal(op_plan_job(&op_diff, params, in, &f->cfg, &plan), -1);

    /* real probes */
    image_info_t probed[2];
    if (image_probe_file(s_base, &f->cfg, &probed[0]) ||
        image_probe_file(s_rotated, &f->cfg, &probed[1]))
        fail_msg("probe: %s", img_error_message());
    assert_int_equal(probed[1].orientation, 6);
    assert_int_equal(op_plan_job(&op_diff, params, probed, &f->cfg, &plan), 0);
    assert_int_equal(image_probe_file(s_small, &f->cfg, &probed[1]), 0);
    assert_int_equal(op_plan_job(&op_diff, params, probed, &f->cfg, &plan), -1);
    assert_int_equal(img_error_code(), IMG_E_DIMENSION_MISMATCH);
    json_decref(params);

    /* the runner plans before it reads a pixel */
    assert_null(s_run(f, s_base, s_small, NULL));
    assert_int_equal(img_error_code(), IMG_E_DIMENSION_MISMATCH);
    assert_string_equal(img_error_message(), "image1 is 800x600 but image2 is 400x300");
    assert_int_equal(ts_count_files(f->dir, "result."), 0);
}

/* The run checks the decoded sizes again (a file replaced after the plan). */
static void test_size_mismatch_at_run(void **state)
{
    ts_folder_t *f = *state;
    image_info_t info[2];
    assert_int_equal(image_probe_file(s_base, &f->cfg, &info[0]), 0);
    assert_int_equal(image_probe_file(s_small, &f->cfg, &info[1]), 0);
    json_t *params = op_params_validate(&op_diff, NULL, &f->cfg);
    op_job_t job = {.op = &op_diff,
                    .params = params,
                    .inputs = {s_base, s_small},
                    .info = info,
                    .cfg = &f->cfg};
    img_error_clear();
    assert_int_equal(op_diff.run(&job), -1);
    assert_int_equal(img_error_code(), IMG_E_DIMENSION_MISMATCH);
    assert_string_equal(img_error_message(), "image1 is 800x600 but image2 is 400x300");
    assert_null(job.out);
    assert_null(job.extra);

    /* a file gone: the decoder's failure, without the server's paths */
    job.inputs[1] = "/nonexistent/in_image2";
    assert_int_equal(op_diff.run(&job), -1);
    assert_int_equal(img_error_code(), IMG_E_PROCESSING_FAILED);
    assert_null(job.out);

    /* and when they agree, the same run gives the boxes */
    job.inputs[1] = s_changed;
    assert_int_equal(image_probe_file(s_changed, &f->cfg, &info[1]), 0);
    assert_int_equal(op_diff.run(&job), 0);
    assert_non_null(job.out);
    assert_int_equal(json_array_size(json_object_get(job.extra, "boxes")), 2);
    g_object_unref(job.out);
    json_decref(job.extra);
    json_decref(params);

    /* through the runner, a missing input is missing */
    ts_copy_input(f, "image1", s_base);
    assert_null(ts_run(f, "diff", NULL, 60000));
    assert_int_equal(img_error_code(), IMG_E_MISSING_FILE);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, ts_setup, ts_teardown)

int main(int argc, char **argv)
{
    (void)argc;
    if (ts_vips_init(argv[0]))
        return 1;
    const struct CMUnitTest tests[] = {
        T(test_declaration),
        T(test_two_rectangles_found),
        T(test_identical_images),
        T(test_min_area_drops_tiny_change),
        T(test_threshold_255_finds_nothing),
        T(test_overlapping_boxes_merged),
        T(test_orientation_applied),
        T(test_alpha_flattened),
        T(test_output_format),
        T(test_size_mismatch_at_plan),
        T(test_size_mismatch_at_run),
    };
    int rc = cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
    vips_shutdown();
    return rc;
}
