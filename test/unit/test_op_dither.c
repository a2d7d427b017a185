/* test_op_dither — Floyd-Steinberg dithering on a real photo and flat greys,
 * run as the engine runs it: a step applied by job_runner to the upright
 * input (test_support). */
#include "test_support.h"

#include "img_error.h"
#include "op_catalog.h"
#include "op_params.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

extern const op_def_t op_dither;

#define PHOTO "/usr/share/backgrounds/mate/nature/LadyBird.jpg"
#define W 400
#define H 300
#define MEAN_TOLERANCE 2.0

/* The inputs, made once in their own folder. */
static ts_folder_t *s_images;
static char s_photo[PATH_MAX], s_alpha[PATH_MAX], s_grey[PATH_MAX], s_flat64[PATH_MAX],
    s_rotated[PATH_MAX];

static void s_path(char *out, const char *name)
{
    snprintf(out, PATH_MAX, "%s/%s", s_images->root, name);
}

static int s_group_setup(void **state)
{
    (void)state;
    s_images = ts_folder_new("dither-images");
    s_path(s_photo, "photo.png");
    s_path(s_alpha, "alpha.png");
    s_path(s_grey, "grey.png");
    s_path(s_flat64, "flat64.png");
    s_path(s_rotated, "rotated.jpg");

    VipsImage *photo = ts_photo(PHOTO, W, H);
    g_object_ref(photo);
    ts_save(photo, "png", s_photo);

    /* alpha: a horizontal ramp 0..255 */
    VipsImage *xyz = NULL, *x = NULL, *ramp = NULL, *alpha = NULL;
    assert_int_equal(vips_xyz(&xyz, W, H, NULL), 0);
    assert_int_equal(vips_extract_band(xyz, &x, 0, NULL), 0);
    assert_int_equal(vips_linear1(x, &ramp, 255.0 / (W - 1), 0.0, "uchar", TRUE, NULL), 0);
    assert_int_equal(vips_bandjoin2(photo, ramp, &alpha, NULL), 0);
    ts_save(alpha, "png", s_alpha);
    g_object_unref(xyz);
    g_object_unref(x);
    g_object_unref(ramp);

    VipsImage *grey = NULL;
    assert_int_equal(vips_colourspace(photo, &grey, VIPS_INTERPRETATION_B_W, NULL), 0);
    ts_save(grey, "png", s_grey);

    double v64[3] = {64, 64, 64};
    ts_save(ts_uniform(W, H, v64, 3, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB), "png", s_flat64);

    /* stored 300x400 with orientation 6: upright 400x300 */
    VipsImage *rot = NULL;
    assert_int_equal(vips_rot(photo, &rot, VIPS_ANGLE_D270, NULL), 0);
    ts_save(ts_oriented(rot, 6), "jpeg", s_rotated);
    g_object_unref(photo);
    return 0;
}

static int s_group_teardown(void **state)
{
    (void)state;
    ts_folder_destroy(&s_images);
    return 0;
}

/* Dithers a copy of path to levels (through job_runner); the result image. */
static VipsImage *s_dither(ts_folder_t *f, const char *path, int levels)
{
    char kv[32];
    snprintf(kv, sizeof kv, "levels=%d", levels);
    ts_copy_input(f, "file", path);
    return ts_run_image(f, "dither", kv, "png");
}

static void s_assert_means_kept(VipsImage *in, VipsImage *out, int colour_bands)
{
    for (int b = 0; b < colour_bands; b++) {
        double want = ts_band_mean(in, b), got = ts_band_mean(out, b);
        if (fabs(want - got) > MEAN_TOLERANCE)
            fail_msg("band %d: mean %.2f, input %.2f", b, got, want);
    }
}

static void test_declaration(void **state)
{
    ts_folder_t *f = *state;
    assert_ptr_equal(op_catalog_find("dither"), &op_dither);
    assert_int_equal(op_dither.n_inputs, 1);
    assert_string_equal(op_dither.inputs[0].name, "file");
    assert_string_equal(op_dither.inputs[0].alias, "image");
    assert_int_equal(op_dither.result_kind, OP_RESULT_IMAGE);
    assert_non_null(op_dither.apply); /* a step: chained, per frame, upright */
    assert_null(op_dither.run);

    json_t *raw = json_object();
    json_t *p = op_params_validate(&op_dither, raw, &f->cfg);
    assert_non_null(p);
    assert_int_equal(op_param_int(p, "levels", -1), 2);
    assert_string_equal(op_param_str(p, "format", ""), "png");
    json_decref(p);
    json_object_set_new(raw, "channels", json_string("5"));
    assert_non_null(p = op_params_validate(&op_dither, raw, &f->cfg));
    assert_int_equal(op_param_int(p, "levels", -1), 5);
    json_decref(p);
    json_object_set_new(raw, "channels", json_string("257"));
    assert_null(op_params_validate(&op_dither, raw, &f->cfg));
    assert_int_equal(img_error_code(), IMG_E_INVALID_PARAMETER);
    json_decref(raw);
}

static void test_levels_2_and_3_on_photo(void **state)
{
    ts_folder_t *f = *state;
    VipsImage *in = ts_load(s_photo);
    for (int levels = 2; levels <= 3; levels++) {
        VipsImage *out = s_dither(f, s_photo, levels);
        assert_int_equal(out->Xsize, W);
        assert_int_equal(out->Ysize, H);
        assert_int_equal(out->Bands, 3);
        assert_int_equal(out->BandFmt, VIPS_FORMAT_UCHAR);
        assert_int_equal(vips_image_guess_interpretation(out), VIPS_INTERPRETATION_sRGB);
        assert_true(ts_on_levels(out, 3, levels));
        size_t distinct = ts_distinct_colours(out, 3);
        assert_true(distinct <= (size_t)(levels * levels * levels));
        assert_true(distinct >= 4); /* a colour photo uses several of them */
        s_assert_means_kept(in, out, 3);
        g_object_unref(out);
    }
    g_object_unref(in);
}

static void test_error_is_diffused(void **state)
{
    ts_folder_t *f = *state;
    /* Flat 64: rounding alone would give all 0; diffusion gives 1/4 white,
     * spread evenly: every 8x8 block holds close to 16 white pixels. */
    VipsImage *out = s_dither(f, s_flat64, 2);
    assert_true(fabs(ts_band_mean(out, 0) - 64.0) < 1.0);
    size_t size = 0;
    uint8_t *buf = vips_image_write_to_memory(out, &size);
    assert_non_null(buf);
    assert_int_equal(size, (size_t)W * H * 3);
    for (int by = 0; by + 8 <= H; by += 8)
        for (int bx = 0; bx + 8 <= W; bx += 8) {
            int white = 0;
            for (int y = by; y < by + 8; y++)
                for (int x = bx; x < bx + 8; x++)
                    white += buf[((size_t)y * W + x) * 3] == 255;
            if (white < 12 || white > 20)
                fail_msg("block at %d,%d has %d white pixels of 64", bx, by, white);
        }
    g_free(buf);
    g_object_unref(out);
}

static void test_levels_256_unchanged(void **state)
{
    ts_folder_t *f = *state;
    VipsImage *in = ts_load(s_photo);
    VipsImage *out = s_dither(f, s_photo, 256);
    assert_true(ts_max_abs_diff(in, out) == 0.0);
    g_object_unref(out);
    g_object_unref(in);
}

static void test_alpha_untouched(void **state)
{
    ts_folder_t *f = *state;
    VipsImage *in = ts_load(s_alpha);
    assert_int_equal(in->Bands, 4);
    VipsImage *out = s_dither(f, s_alpha, 2);
    assert_int_equal(out->Bands, 4);
    VipsImage *a_in = NULL, *a_out = NULL;
    assert_int_equal(vips_extract_band(in, &a_in, 3, NULL), 0);
    assert_int_equal(vips_extract_band(out, &a_out, 3, NULL), 0);
    assert_true(ts_max_abs_diff(a_in, a_out) == 0.0);
    assert_true(ts_on_levels(out, 3, 2));
    assert_false(ts_on_levels(a_out, 1, 2)); /* the ramp is not dithered */
    assert_true(ts_distinct_colours(out, 3) <= 8);
    s_assert_means_kept(in, out, 3);
    g_object_unref(a_in);
    g_object_unref(a_out);
    g_object_unref(in);
    g_object_unref(out);
}

static void test_grey_stays_grey(void **state)
{
    ts_folder_t *f = *state;
    VipsImage *in = ts_load(s_grey);
    assert_int_equal(in->Bands, 1);
    VipsImage *out = s_dither(f, s_grey, 3);
    assert_int_equal(out->Bands, 1);
    assert_int_equal(vips_image_guess_interpretation(out), VIPS_INTERPRETATION_B_W);
    assert_true(ts_on_levels(out, 1, 3));
    assert_true(ts_distinct_colours(out, 1) <= 3);
    s_assert_means_kept(in, out, 1);
    g_object_unref(out);
    g_object_unref(in);
}

/* The mean of each 20x20 block of band 0, as an image. */
static VipsImage *s_blocks(VipsImage *image)
{
    VipsImage *band = NULL, *small = NULL;
    assert_int_equal(vips_extract_band(image, &band, 0, NULL), 0);
    assert_int_equal(vips_shrink(band, &small, 20, 20, NULL), 0);
    g_object_unref(band);
    return small;
}

static void test_orientation_applied(void **state)
{
    ts_folder_t *f = *state;
    VipsImage *out = s_dither(f, s_rotated, 2);
    assert_int_equal(out->Xsize, W);
    assert_int_equal(out->Ysize, H);
    assert_int_equal(vips_image_get_orientation(out), 1);
    /* turned upright before dithering: block by block, the photo's red */
    VipsImage *photo = ts_load(s_photo), *flipped = NULL;
    VipsImage *a = s_blocks(out), *b = s_blocks(photo);
    double upright = ts_max_abs_diff(a, b);
    assert_int_equal(vips_flip(photo, &flipped, VIPS_DIRECTION_VERTICAL, NULL), 0);
    VipsImage *c = s_blocks(flipped);
    if (!(upright < 24 && ts_max_abs_diff(a, c) > 2 * upright))
        fail_msg("blocks differ from the upright photo by %.1f, from the flipped one by %.1f",
                 upright, ts_max_abs_diff(a, c));
    g_object_unref(a);
    g_object_unref(b);
    g_object_unref(c);
    g_object_unref(flipped);
    g_object_unref(photo);
    g_object_unref(out);
}

static void test_errors_and_format(void **state)
{
    ts_folder_t *f = *state;
    assert_null(ts_run(f, "dither", "levels=2", 60000));
    assert_int_equal(img_error_code(), IMG_E_MISSING_FILE);

    ts_copy_input(f, "file", s_photo);
    assert_null(ts_run(f, "dither", "levels=1", 60000));
    assert_int_equal(img_error_code(), IMG_E_INVALID_PARAMETER);
    assert_null(ts_run(f, "dither", "channels=2&levels=2", 60000));
    assert_int_equal(img_error_code(), IMG_E_INVALID_PARAMETER);
    assert_int_equal(ts_count_files(f->dir, "result."), 0);

    /* a JPEG in: png out all the same, unless format says otherwise */
    ts_copy_input(f, "file", s_rotated);
    VipsImage *out = ts_run_image(f, "dither", "channels=2", "png");
    assert_true(ts_distinct_colours(out, 3) <= 8);
    g_object_unref(out);
    out = ts_run_image(f, "dither", "format=webp", "webp");
    assert_int_equal(out->Xsize, W);
    g_object_unref(out);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, ts_setup, ts_teardown)

int main(int argc, char **argv)
{
    (void)argc;
    if (ts_vips_init(argv[0]))
        return 1;
    const struct CMUnitTest tests[] = {
        T(test_declaration),          T(test_levels_2_and_3_on_photo), T(test_error_is_diffused),
        T(test_levels_256_unchanged), T(test_alpha_untouched),         T(test_grey_stays_grey),
        T(test_orientation_applied),  T(test_errors_and_format),
    };
    int rc = cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
    vips_shutdown();
    return rc;
}
