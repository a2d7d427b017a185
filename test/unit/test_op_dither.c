/* test_op_dither — Floyd-Steinberg dithering on a real photo and flat greys.
 *
 * The run function is called directly with a hand-built op_job_t, and once
 * through op_run() in a job folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "img_error.h"
#include "op.h"
#include "op_params.h"
#include "op_runner.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const op_def_t op_dither;

#define PHOTO "/usr/share/backgrounds/mate/nature/LadyBird.jpg"
#define W 400
#define H 300
#define MEAN_TOLERANCE 2.0

static char s_dir[512];
static char s_photo[600], s_alpha[600], s_grey[600], s_flat64[600], s_rotated[600];

static void s_path(char *out, const char *name)
{
    snprintf(out, 600, "%s/%s", s_dir, name);
}

static void s_save(VipsImage *image, const char *path)
{
    assert_int_equal(vips_image_write_to_file(image, path, NULL), 0);
}

static int s_group_setup(void **state)
{
    (void)state;
    snprintf(s_dir, sizeof s_dir, "%s/op_dither_XXXXXX", TEST_BINARY_DIR);
    assert_non_null(mkdtemp(s_dir));
    s_path(s_photo, "photo.png");
    s_path(s_alpha, "alpha.png");
    s_path(s_grey, "grey.png");
    s_path(s_flat64, "flat64.png");
    s_path(s_rotated, "rotated.jpg");

    VipsImage *photo = NULL, *ramp = NULL, *ramp8 = NULL, *alpha = NULL, *grey = NULL, *flat = NULL,
              *flat8 = NULL, *rot = NULL, *rot_copy = NULL;
    assert_int_equal(
        vips_thumbnail(PHOTO, &photo, W, "height", H, "crop", VIPS_INTERESTING_CENTRE, NULL), 0);
    s_save(photo, s_photo);

    /* alpha: a horizontal ramp 0..255 */
    assert_int_equal(vips_xyz(&ramp, W, H, NULL), 0);
    VipsImage *x = NULL;
    assert_int_equal(vips_extract_band(ramp, &x, 0, NULL), 0);
    assert_int_equal(vips_linear1(x, &ramp8, 255.0 / (W - 1), 0.0, "uchar", TRUE, NULL), 0);
    assert_int_equal(vips_bandjoin2(photo, ramp8, &alpha, NULL), 0);
    s_save(alpha, s_alpha);

    assert_int_equal(vips_colourspace(photo, &grey, VIPS_INTERPRETATION_B_W, NULL), 0);
    s_save(grey, s_grey);

    /* flat grey 64, sRGB */
    assert_int_equal(vips_black(&flat, W, H, "bands", 3, NULL), 0);
    assert_int_equal(vips_linear1(flat, &flat8, 1.0, 64.0, "uchar", TRUE, NULL), 0);
    VipsImage *flat_srgb = NULL;
    assert_int_equal(vips_copy(flat8, &flat_srgb, "interpretation", VIPS_INTERPRETATION_sRGB, NULL),
                     0);
    s_save(flat_srgb, s_flat64);

    /* stored 300x400 with orientation 6: upright 400x300 */
    assert_int_equal(vips_rot(photo, &rot, VIPS_ANGLE_D270, NULL), 0);
    assert_int_equal(vips_copy(rot, &rot_copy, NULL), 0);
    vips_image_set_int(rot_copy, VIPS_META_ORIENTATION, 6);
    assert_int_equal(vips_jpegsave(rot_copy, s_rotated, NULL), 0);

    VipsImage *all[] = {photo, ramp, x, ramp8, alpha, grey, flat, flat8, flat_srgb, rot, rot_copy};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        g_object_unref(all[i]);
    return 0;
}

static int s_group_teardown(void **state)
{
    (void)state;
    const char *files[] = {s_photo, s_alpha, s_grey, s_flat64, s_rotated};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(files[i]);
    rmdir(s_dir);
    return 0;
}

/* Runs dither on path; rc of run, job filled in (caller frees with s_job_free). */
static int s_run(const char *path, int levels, op_job_t *job)
{
    static img_config_t cfg;
    config_defaults(&cfg);
    memset(job, 0, sizeof *job);
    job->params = json_pack("{s:i}", "levels", levels);
    job->inputs[0] = path;
    job->cfg = &cfg;
    img_error_clear();
    return op_dither.run(job);
}

static void s_job_free(op_job_t *job)
{
    json_decref((json_t *)job->params);
    json_decref(job->extra);
    if (job->out)
        g_object_unref(job->out);
    memset(job, 0, sizeof *job);
}

static VipsImage *s_load(const char *path)
{
    VipsImage *image = vips_image_new_from_file(path, NULL);
    assert_non_null(image);
    return image;
}

static double s_band_mean(VipsImage *image, int band)
{
    VipsImage *b = NULL;
    double mean = 0;
    assert_int_equal(vips_extract_band(image, &b, band, NULL), 0);
    assert_int_equal(vips_avg(b, &mean, NULL), 0);
    g_object_unref(b);
    return mean;
}

/* Distinct colours (first 3 bands) of an 8-bit image; every sample of the
 * first colour_bands bands must be one of the levels' values. */
static size_t s_distinct_colours(VipsImage *image, int colour_bands, int levels)
{
    size_t size = 0;
    uint8_t *buf = vips_image_write_to_memory(image, &size);
    assert_non_null(buf);
    uint8_t *seen = calloc(1u << 21, 1); /* one bit per 24-bit colour */
    assert_non_null(seen);
    bool allowed[256] = {false};
    for (int i = 0; i < levels; i++)
        allowed[(int)lrint(i * 255.0 / (levels - 1))] = true;
    size_t distinct = 0;
    int bands = image->Bands;
    for (size_t p = 0; p < size; p += bands) {
        uint32_t key = 0;
        for (int b = 0; b < colour_bands; b++) {
            assert_true(allowed[buf[p + b]]);
            key = key << 8 | buf[p + b];
        }
        if (!(seen[key >> 3] & (1u << (key & 7)))) {
            seen[key >> 3] |= (uint8_t)(1u << (key & 7));
            distinct++;
        }
    }
    free(seen);
    g_free(buf);
    return distinct;
}

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

static void s_assert_means_kept(VipsImage *in, VipsImage *out, int colour_bands)
{
    for (int b = 0; b < colour_bands; b++) {
        double want = s_band_mean(in, b), got = s_band_mean(out, b);
        if (fabs(want - got) > MEAN_TOLERANCE)
            fail_msg("band %d: mean %.2f, input %.2f", b, got, want);
    }
}

static void test_levels_2_and_3_on_photo(void **state)
{
    (void)state;
    VipsImage *in = s_load(s_photo);
    for (int levels = 2; levels <= 3; levels++) {
        op_job_t job;
        assert_int_equal(s_run(s_photo, levels, &job), 0);
        assert_string_equal(job.out_format, "png");
        assert_int_equal(job.out->Xsize, W);
        assert_int_equal(job.out->Ysize, H);
        assert_int_equal(job.out->Bands, 3);
        assert_int_equal(job.out->BandFmt, VIPS_FORMAT_UCHAR);
        assert_int_equal(job.out->Type, VIPS_INTERPRETATION_sRGB);
        size_t distinct = s_distinct_colours(job.out, 3, levels);
        assert_true(distinct <= (size_t)(levels * levels * levels));
        assert_true(distinct >= 4); /* a colour photo uses several of them */
        s_assert_means_kept(in, job.out, 3);
        s_job_free(&job);
    }
    g_object_unref(in);
}

static void test_error_is_diffused(void **state)
{
    (void)state;
    /* Flat 64: rounding alone would give all 0; diffusion gives 1/4 white,
     * spread evenly: every 8x8 block holds close to 16 white pixels. */
    op_job_t job;
    assert_int_equal(s_run(s_flat64, 2, &job), 0);
    double mean = s_band_mean(job.out, 0);
    assert_true(fabs(mean - 64.0) < 1.0);
    size_t size = 0;
    uint8_t *buf = vips_image_write_to_memory(job.out, &size);
    assert_non_null(buf);
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
    s_job_free(&job);
}

static void test_levels_256_unchanged(void **state)
{
    (void)state;
    op_job_t job;
    VipsImage *in = s_load(s_photo);
    assert_int_equal(s_run(s_photo, 256, &job), 0);
    assert_true(s_max_abs_diff(in, job.out) == 0.0);
    s_job_free(&job);
    g_object_unref(in);
}

static void test_alpha_untouched(void **state)
{
    (void)state;
    op_job_t job;
    VipsImage *in = s_load(s_alpha);
    assert_int_equal(in->Bands, 4);
    assert_int_equal(s_run(s_alpha, 2, &job), 0);
    assert_int_equal(job.out->Bands, 4);
    VipsImage *a_in = NULL, *a_out = NULL;
    assert_int_equal(vips_extract_band(in, &a_in, 3, NULL), 0);
    assert_int_equal(vips_extract_band(job.out, &a_out, 3, NULL), 0);
    assert_true(s_max_abs_diff(a_in, a_out) == 0.0);
    assert_true(s_distinct_colours(job.out, 3, 2) <= 8);
    s_assert_means_kept(in, job.out, 3);
    g_object_unref(a_in);
    g_object_unref(a_out);
    g_object_unref(in);
    s_job_free(&job);
}

static void test_grey_stays_grey(void **state)
{
    (void)state;
    op_job_t job;
    VipsImage *in = s_load(s_grey);
    assert_int_equal(in->Bands, 1);
    assert_int_equal(s_run(s_grey, 3, &job), 0);
    assert_int_equal(job.out->Bands, 1);
    assert_int_equal(job.out->Type, VIPS_INTERPRETATION_B_W);
    assert_true(s_distinct_colours(job.out, 1, 3) <= 3);
    s_assert_means_kept(in, job.out, 1);
    s_job_free(&job);
    g_object_unref(in);
}

static void test_orientation_applied(void **state)
{
    (void)state;
    op_job_t job;
    assert_int_equal(s_run(s_rotated, 2, &job), 0);
    assert_int_equal(job.out->Xsize, W);
    assert_int_equal(job.out->Ysize, H);
    s_job_free(&job);
}

static void test_errors(void **state)
{
    (void)state;
    op_job_t job;
    assert_int_equal(s_run("/nonexistent/in_file", 2, &job), -1);
    assert_int_equal(img_error_code(), IMG_E_PROCESSING_FAILED);
    assert_null(job.out);
    s_job_free(&job);

    assert_int_equal(s_run(s_photo, 1, &job), -1);
    assert_int_equal(img_error_code(), IMG_E_INVALID_PARAMETER);
    assert_null(job.out);
    s_job_free(&job);
}

static void test_declaration(void **state)
{
    (void)state;
    assert_string_equal(op_dither.name, "dither");
    assert_int_equal(op_dither.n_inputs, 1);
    assert_string_equal(op_dither.inputs[0].name, "file");
    assert_string_equal(op_dither.inputs[0].alias, "image");

    json_t *raw = json_object();
    json_t *p = op_params_validate(&op_dither, raw);
    assert_non_null(p);
    assert_int_equal(op_param_int(p, "levels", -1), 2);
    json_decref(p);
    json_object_set_new(raw, "channels", json_string("5"));
    assert_non_null(p = op_params_validate(&op_dither, raw));
    assert_int_equal(op_param_int(p, "levels", -1), 5);
    json_decref(p);
    json_object_set_new(raw, "channels", json_string("257"));
    assert_null(op_params_validate(&op_dither, raw));
    json_decref(raw);
}

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

static void test_through_op_run(void **state)
{
    (void)state;
    img_config_t cfg;
    config_defaults(&cfg);
    char job_dir[600], in[700], result_path[700];
    snprintf(job_dir, sizeof job_dir, "%s/job", s_dir);
    assert_int_equal(mkdir(job_dir, 0700), 0);
    snprintf(in, sizeof in, "%s/in_file", job_dir);
    s_copy_file(s_rotated, in); /* a JPEG: the result is PNG all the same */

    json_t *raw = json_pack("{s:s}", "channels", "2");
    json_t *params = op_params_validate(&op_dither, raw);
    assert_non_null(params);
    json_t *result = NULL;
    if (op_run(&op_dither, job_dir, params, &cfg, 30000, &result) != 0)
        fail_msg("op_run: %s", img_error_message());
    assert_non_null(result);
    assert_string_equal(json_string_value(json_object_get(result, "format")), "png");
    assert_int_equal(json_integer_value(json_object_get(result, "width")), W);
    assert_int_equal(json_integer_value(json_object_get(result, "height")), H);

    assert_int_equal(op_result_path(job_dir, "png", result_path, sizeof result_path), 0);
    static const unsigned char magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8] = {0};
    FILE *f = fopen(result_path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(head, 1, sizeof head, f), sizeof head);
    fclose(f);
    assert_memory_equal(head, magic, sizeof magic);
    VipsImage *saved = s_load(result_path);
    assert_true(s_distinct_colours(saved, 3, 2) <= 8);
    g_object_unref(saved);

    json_decref(result);
    json_decref(params);
    json_decref(raw);
    unlink(result_path);
    unlink(in);
    rmdir(job_dir);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (VIPS_INIT(argv[0]))
        return 1;
    vips_cache_set_max(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_declaration),         cmocka_unit_test(test_levels_2_and_3_on_photo),
        cmocka_unit_test(test_error_is_diffused),   cmocka_unit_test(test_levels_256_unchanged),
        cmocka_unit_test(test_alpha_untouched),     cmocka_unit_test(test_grey_stays_grey),
        cmocka_unit_test(test_orientation_applied), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_through_op_run),
    };
    int rc = cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
    vips_shutdown();
    return rc;
}
