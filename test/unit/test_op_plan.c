/* test_op_plan — what a job will produce, from its inputs' headers only:
 * the output format ("same" resolved), whether an animation stays whole
 * (animated gif / webp inputs of a step written as gif / webp), the output
 * size of each operation, and the limits on the result. */
#include "test_support.h"

#include "img_error.h"
#include "op_catalog.h"
#include "op_params.h"
#include "op_plan.h"

#include <stdio.h>
#include <string.h>

static img_config_t s_cfg;

static int s_setup(void **state)
{
    (void)state;
    config_defaults(&s_cfg);
    return 0;
}

static image_info_t s_info(const char *format, int w, int h, int pages, int orientation)
{
    image_info_t info = {.width = w, .height = h, .pages = pages, .orientation = orientation};
    snprintf(info.format, sizeof info.format, "%s", format);
    return info;
}

/* Validates kv ("k=v&...") for op and plans it on inputs: 0 or -1. */
static int s_plan(const char *op_name, const char *kv, const image_info_t *inputs, op_plan_t *plan)
{
    const op_def_t *op = op_catalog_find(op_name);
    assert_non_null(op);
    json_t *raw = json_object();
    char buf[256];
    snprintf(buf, sizeof buf, "%s", kv ? kv : "");
    for (char *save = NULL, *tok = strtok_r(buf, "&", &save); tok;
         tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '=');
        assert_non_null(eq);
        *eq = '\0';
        json_object_set_new(raw, tok, json_string(eq + 1));
    }
    json_t *params = op_params_validate(op, raw, &s_cfg);
    json_decref(raw);
    if (!params)
        fail_msg("%s %s: %s", op_name, kv, img_error_message());
    img_error_clear();
    int rc = op_plan_job(op, params, inputs, &s_cfg, plan);
    json_decref(params);
    return rc;
}

static void s_expect_plan(const char *op, const char *kv, const image_info_t *in, int w, int h,
                          int pages, const char *format)
{
    op_plan_t plan;
    if (s_plan(op, kv, in, &plan) != 0)
        fail_msg("%s %s refused: %s", op, kv, img_error_message());
    if (plan.out.width != w || plan.out.height != h || plan.out.pages != pages)
        fail_msg("%s %s: %dx%d x%d, expected %dx%d x%d", op, kv, plan.out.width, plan.out.height,
                 plan.out.pages, w, h, pages);
    if (format) {
        assert_non_null(plan.format);
        assert_string_equal(plan.format->name, format);
    }
}

static void s_expect_refused(const char *op, const char *kv, const image_info_t *in,
                             img_errcode_t code, const char *must_mention)
{
    op_plan_t plan;
    if (s_plan(op, kv, in, &plan) == 0)
        fail_msg("%s %s planned", op, kv);
    assert_int_equal(img_error_code(), code);
    if (must_mention && !strstr(img_error_message(), must_mention))
        fail_msg("%s %s: '%s' lacks '%s'", op, kv, img_error_message(), must_mention);
}

static void test_upright_size(void **state)
{
    (void)state;
    for (int o = 1; o <= 8; o++) {
        image_info_t info = s_info("jpeg", 40, 30, 0, o);
        op_size_t s = op_size_of(&info);
        bool swapped = o >= 5;
        assert_int_equal(s.width, swapped ? 30 : 40);
        assert_int_equal(s.height, swapped ? 40 : 30);
        assert_int_equal(s.pages, 1); /* at least one */
    }
    image_info_t in = s_info("jpeg", 400, 300, 1, 6);
    s_expect_plan("resize", "width=150", &in, 150, 200, 1, "jpeg");
    s_expect_plan("thumbnail", "width=30&height=80", &in, 30, 80, 1, "jpeg");
}

static void test_output_format(void **state)
{
    (void)state;
    static const char *const same[][2] = {
        {"jpeg", "jpeg"}, {"png", "png"},   {"webp", "webp"}, {"gif", "gif"},
        {"tiff", "tiff"}, {"avif", "avif"}, {"heif", "avif"}, /* heif is written as avif */
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        image_info_t in = s_info(same[i][0], 40, 30, 1, 1);
        s_expect_plan("resize", "width=20", &in, 20, 15, 1, same[i][1]);
        s_expect_plan("resize", "width=20&format=same", &in, 20, 15, 1, same[i][1]);
        s_expect_plan("resize", "width=20&format=webp", &in, 20, 15, 1, "webp");
        /* diff and dither answer png unless told */
        s_expect_plan("dither", NULL, &in, 40, 30, 1, "png");
        image_info_t two[2] = {in, in};
        s_expect_plan("diff", NULL, two, 40, 30, 1, "png");
        s_expect_plan("diff", "format=same", two, 40, 30, 1, same[i][1]);
    }
    /* quality goes with the plan; absent is the encoder's default */
    image_info_t in = s_info("png", 40, 30, 1, 1);
    op_plan_t plan;
    assert_int_equal(s_plan("resize", "width=20&format=jpeg&quality=33", &in, &plan), 0);
    assert_int_equal(plan.quality, 33);
    assert_int_equal(s_plan("resize", "width=20&format=jpeg", &in, &plan), 0);
    assert_int_equal(plan.quality, 0);
    /* a JSON operation has no format to write */
    assert_int_equal(s_plan("info", NULL, &in, &plan), 0);
    assert_null(plan.format);
}

static void test_frames_kept_for_animated_steps_only(void **state)
{
    (void)state;
    image_info_t gif = s_info("gif", 40, 30, 3, 1);
    image_info_t webp = s_info("webp", 40, 30, 3, 1);
    image_info_t tiff = s_info("tiff", 40, 30, 3, 1);
    /* an animation in and out: every frame */
    s_expect_plan("resize", "width=20", &gif, 20, 15, 3, "gif");
    s_expect_plan("resize", "width=20&format=webp", &gif, 20, 15, 3, "webp");
    s_expect_plan("resize", "width=20&format=gif", &webp, 20, 15, 3, "gif");
    s_expect_plan("dither", "format=gif", &gif, 40, 30, 3, "gif");
    /* into a format without animation: the first frame */
    s_expect_plan("resize", "width=20&format=png", &gif, 20, 15, 1, "png");
    s_expect_plan("dither", NULL, &gif, 40, 30, 1, "png");
    /* pages of a TIFF are not an animation */
    s_expect_plan("resize", "width=20&format=gif", &tiff, 20, 15, 1, "gif");
    s_expect_plan("resize", "width=20", &tiff, 20, 15, 1, "tiff");
    /* a whole-job operation reads the first frame */
    image_info_t two[2] = {gif, gif};
    s_expect_plan("diff", "format=gif", two, 40, 30, 1, "gif");
    /* a single frame stays one */
    image_info_t still = s_info("gif", 40, 30, 1, 1);
    s_expect_plan("resize", "width=20", &still, 20, 15, 1, "gif");

    assert_true(op_plan_animated_format(img_format_by_name("gif")));
    assert_true(op_plan_animated_format(img_format_by_name("webp")));
    assert_false(op_plan_animated_format(img_format_by_name("png")));
    assert_false(op_plan_animated_format(img_format_by_name("tiff")));
    assert_false(op_plan_animated_format(NULL));
}

static void test_resize_sizes_and_default_box(void **state)
{
    (void)state;
    image_info_t in = s_info("png", 400, 300, 1, 1);
    s_expect_plan("resize", "width=100&height=100", &in, 100, 75, 1, NULL);
    s_expect_plan("resize", "width=100&height=100&fit=cover", &in, 100, 100, 1, NULL);
    s_expect_plan("resize", "width=100&height=50&fit=fill", &in, 100, 50, 1, NULL);
    s_expect_plan("resize", "width=100&height=100&fit=outside", &in, 133, 100, 1, NULL);
    s_expect_plan("resize", "height=150&fit=fill", &in, 200, 150, 1, NULL);

    /* neither side: the configured box, written into the parameters */
    s_cfg.default_width = 120;
    s_cfg.default_height = 80;
    const op_def_t *op = op_catalog_find("resize");
    json_t *params = op_params_validate(op, NULL, &s_cfg);
    op_plan_t plan;
    assert_int_equal(op_plan_job(op, params, &in, &s_cfg, &plan), 0);
    assert_int_equal(op_param_int(params, "width", 0), 120);
    assert_int_equal(op_param_int(params, "height", 0), 80);
    assert_int_equal(plan.out.width, 107);
    assert_int_equal(plan.out.height, 80);
    json_decref(params);
    /* one side given: the box is not filled in */
    json_t *raw = json_pack("{s:s}", "width", "500");
    params = op_params_validate(op, raw, &s_cfg);
    assert_int_equal(op_plan_job(op, params, &in, &s_cfg, &plan), 0);
    assert_null(json_object_get(params, "height"));
    assert_int_equal(plan.out.height, 375);
    json_decref(params);
    json_decref(raw);
}

static void test_result_limits(void **state)
{
    (void)state;
    s_cfg.max_output_dim = 1000;
    /* the computed side counts, not only the asked one: height only on a
     * wide image */
    image_info_t wide = s_info("png", 4000, 100, 1, 1);
    s_expect_refused("resize", "height=50", &wide, IMG_E_INVALID_PARAMETER, "2000x50");
    s_expect_refused("resize", "width=100&height=100&fit=outside", &wide, IMG_E_INVALID_PARAMETER,
                     "4000x100");
    s_expect_plan("resize", "height=25", &wide, 1000, 25, 1, NULL);
    /* thumbnail: the box is the result */
    image_info_t in = s_info("png", 400, 300, 1, 1);
    s_expect_plan("thumbnail", "size=1000", &in, 1000, 1000, 1, NULL);
    /* dither keeps its input's size: a big input is a big result */
    image_info_t big = s_info("png", 1001, 10, 1, 1);
    s_expect_refused("dither", NULL, &big, IMG_E_INVALID_PARAMETER,
                     "the result would be 1001x10 pixels; the largest side allowed is 1000");
    config_defaults(&s_cfg);

    /* max_pixels counts every frame kept */
    s_cfg.max_pixels = 20 * 15 * 3 - 1;
    image_info_t gif = s_info("gif", 40, 30, 3, 1);
    s_expect_refused("resize", "width=20", &gif, IMG_E_INVALID_PARAMETER, "= 900 pixels");
    s_expect_plan("resize", "width=20&format=png", &gif, 20, 15, 1, "png");
    s_cfg.max_pixels = 20 * 15 * 3;
    s_expect_plan("resize", "width=20", &gif, 20, 15, 3, "gif");

    op_size_t s = {.width = 10, .height = 10, .pages = 2};
    s_cfg.max_pixels = 199;
    assert_int_equal(op_plan_check_size(&s, &s_cfg, "the frames"), -1);
    assert_non_null(strstr(img_error_message(), "the frames would be"));
    s_cfg.max_pixels = 200;
    assert_int_equal(op_plan_check_size(&s, &s_cfg, "the frames"), 0);
}

/* Cropping around an interesting region holds the covering image in
 * memory: bounded by max_pixels. The centre needs no such copy. */
static void test_cover_crop_in_memory_bounded(void **state)
{
    (void)state;
    image_info_t thin = s_info("jpeg", 4000, 2, 1, 1);
    s_cfg.max_pixels = 50000000;
    /* covering 2000x2000 needs 4,000,000 x 2000 */
    s_expect_refused("thumbnail", "size=2000&crop=attention", &thin, IMG_E_INVALID_PARAMETER,
                     "covering a 2000x2000 box");
    s_expect_refused("thumbnail", "size=2000&crop=entropy", &thin, IMG_E_INVALID_PARAMETER, NULL);
    s_expect_plan("thumbnail", "size=2000&crop=centre", &thin, 2000, 2000, 1, NULL);
    /* past what libvips can address at all, even the centre */
    image_info_t thinner = s_info("jpeg", 100000, 1, 1, 1);
    s_expect_refused("thumbnail", "size=16000", &thinner, IMG_E_INVALID_PARAMETER, "too many");
}

static void test_whole_job_checks(void **state)
{
    (void)state;
    image_info_t two[2] = {s_info("png", 800, 600, 1, 1), s_info("png", 600, 800, 1, 1)};
    s_expect_refused("diff", NULL, two, IMG_E_DIMENSION_MISMATCH,
                     "image1 is 800x600 but image2 is 600x800");
    two[1].orientation = 8;
    s_expect_plan("diff", NULL, two, 800, 600, 1, "png");
    /* info plans no image */
    image_info_t in = s_info("png", 100000, 100000, 1, 1);
    op_plan_t plan;
    assert_int_equal(s_plan("info", NULL, &in, &plan), 0);
    assert_null(plan.format);
}

#define T(fn) cmocka_unit_test_setup(fn, s_setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_upright_size),
        T(test_output_format),
        T(test_frames_kept_for_animated_steps_only),
        T(test_resize_sizes_and_default_box),
        T(test_result_limits),
        T(test_cover_crop_in_memory_bounded),
        T(test_whole_job_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
