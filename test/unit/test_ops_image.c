/* test_ops_image — probing, and the resize, thumbnail and info operations
 * run as an engine runs them: one attempt through job_runner_run on a job
 * folder holding images generated with libvips (test_support). */
#include "test_support.h"

#include "image_format.h"
#include "image_probe.h"
#include "img_error.h"
#include "job_files.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sys/resource.h>

/* The path of the job's single input. */
static const char *s_in(const ts_folder_t *f)
{
    static char path[PATH_MAX];
    ts_input_path(f, "file", path, sizeof path);
    return path;
}

static void s_expect_size(ts_folder_t *f, const char *op, const char *kv, int w, int h)
{
    VipsImage *im = ts_run_image(f, op, kv, NULL);
    if (im->Xsize != w || im->Ysize != h)
        fail_msg("%s %s: got %dx%d, expected %dx%d", op, kv, im->Xsize, im->Ysize, w, h);
    g_object_unref(im);
}

/* Runs op, which must fail with code; no result file may be left. */
static void s_expect_failure(ts_folder_t *f, const char *op, const char *kv, img_errcode_t code)
{
    json_t *r = ts_run(f, op, kv, 60000);
    if (r)
        fail_msg("%s %s succeeded", op, kv);
    if (img_error_code() != code)
        fail_msg("%s %s: %s (%s), expected %s", op, kv, img_error_code_name(img_error_code()),
                 img_error_message(), img_error_code_name(code));
    assert_int_equal(ts_count_files(f->dir, "result."), 0);
    assert_int_equal(ts_count_files(f->dir, ".result-"), 0);
}

/* ---- probe ---- */

static void test_probe_formats_and_limits(void **state)
{
    ts_folder_t *f = *state;
    image_info_t info;
    ts_save_input(f, "file", ts_gradient(40, 30, TS_ALPHA), "png");
    assert_int_equal(image_probe_file(s_in(f), &f->cfg, &info), 0);
    assert_string_equal(info.format, "png");
    assert_string_equal(info.loader, "pngload");
    assert_int_equal(info.width, 40);
    assert_int_equal(info.height, 30);
    assert_int_equal(info.pages, 1);
    assert_int_equal(info.orientation, 1);

    f->cfg.max_pixels = 40 * 30 - 1;
    assert_int_equal(image_probe_file(s_in(f), &f->cfg, &info), -1);
    assert_int_equal(img_error_code(), IMG_E_IMAGE_TOO_LARGE);
    assert_non_null(strstr(img_error_message(), "1200"));
    assert_non_null(strstr(img_error_message(), "1199"));
    f->cfg.max_pixels = 40 * 30;
    assert_int_equal(image_probe_file(s_in(f), &f->cfg, &info), 0);

    snprintf(f->cfg.allowed_formats, sizeof f->cfg.allowed_formats, "jpeg,gif");
    assert_int_equal(image_probe_file(s_in(f), &f->cfg, &info), -1);
    assert_int_equal(img_error_code(), IMG_E_UNSUPPORTED_MEDIA_TYPE);
    config_defaults(&f->cfg);

    /* Three pages of 20x10 in one TIFF. */
    ts_save_input(f, "file", ts_paged(ts_gradient(20, 30, 0), 10), "tiff");
    assert_int_equal(image_probe_file(s_in(f), &f->cfg, &info), 0);
    assert_string_equal(info.format, "tiff");
    assert_int_equal(info.pages, 3);
    assert_int_equal(info.height, 10);
    f->cfg.max_frames = 2;
    assert_int_equal(image_probe_file(s_in(f), &f->cfg, &info), -1);
    assert_int_equal(img_error_code(), IMG_E_IMAGE_TOO_LARGE);
    f->cfg.max_frames = 3;
    f->cfg.max_pixels = 20 * 10 * 3 - 1; /* pages count towards the pixels */
    assert_int_equal(image_probe_file(s_in(f), &f->cfg, &info), -1);
    assert_int_equal(img_error_code(), IMG_E_IMAGE_TOO_LARGE);
}

static void test_probe_refuses_non_images(void **state)
{
    ts_folder_t *f = *state;
    image_info_t info;
    ts_write_input(f, "file", "", 0);
    assert_int_equal(image_probe_file(s_in(f), &f->cfg, &info), -1);
    assert_int_equal(img_error_code(), IMG_E_EMPTY_FILE);

    const char *texts[] = {
        "hello, this is not an image\n",
        "<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" "
        "height=\"10\"><rect width=\"10\" height=\"10\"/></svg>\n",
        "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
        "2 2\n1 2\n3 4\n", /* a libvips matrix */
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        ts_write_input(f, "file", texts[i], strlen(texts[i]));
        assert_int_equal(image_probe_file(s_in(f), &f->cfg, &info), -1);
        assert_int_equal(img_error_code(), IMG_E_UNSUPPORTED_MEDIA_TYPE);
        /* The server's paths never reach a message. */
        assert_null(strstr(img_error_message(), f->root));
    }
    ts_save_input(f, "file", ts_gradient(8, 8, 0), "ppm");
    assert_int_equal(image_probe_file(s_in(f), &f->cfg, &info), -1);
    assert_int_equal(img_error_code(), IMG_E_UNSUPPORTED_MEDIA_TYPE);
    assert_non_null(strstr(img_error_message(), "ppm"));

    /* A truncated PNG: the signature is right, the header is not there. */
    ts_write_input(f, "file", "\x89PNG\r\n\x1a\n", 8);
    assert_int_equal(image_probe_file(s_in(f), &f->cfg, &info), -1);
    assert_int_equal(img_error_code(), IMG_E_UNSUPPORTED_MEDIA_TYPE);
    assert_null(strstr(img_error_message(), f->root));

    unlink(s_in(f));
    assert_int_equal(image_probe_file(s_in(f), &f->cfg, &info), -1);
    assert_int_equal(img_error_code(), IMG_E_MISSING_FILE);
}

/* ---- resize ---- */

static void test_resize_fits_landscape(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_gradient(400, 300, 0), "png");
    s_expect_size(f, "resize", "width=100&height=100", 100, 75);
    s_expect_size(f, "resize", "width=100&height=100&fit=inside", 100, 75);
    s_expect_size(f, "resize", "width=100&height=100&fit=cover", 100, 100);
    s_expect_size(f, "resize", "width=100&height=50&fit=fill", 100, 50);
    s_expect_size(f, "resize", "width=100&height=100&fit=outside", 133, 100);
    s_expect_size(f, "resize", "width=200", 200, 150);
    s_expect_size(f, "resize", "height=150", 200, 150);
    s_expect_size(f, "resize", "width=200&fit=cover", 200, 150);
    s_expect_size(f, "resize", "height=30&fit=fill", 40, 30);
    s_expect_size(f, "resize", "width=40&fit=outside", 40, 30);
    /* Enlarging is allowed. */
    s_expect_size(f, "resize", "width=800&height=800", 800, 600);
    s_expect_size(f, "resize", "width=1000&height=500&fit=cover", 1000, 500);
    s_expect_size(f, "resize", "width=97&height=31&fit=cover", 97, 31);
    s_expect_size(f, "resize", "width=3&height=333&fit=cover", 3, 333);
    /* Neither: the configured default box (100x100). */
    s_expect_size(f, "resize", "", 100, 75);
    f->cfg.default_width = 60;
    f->cfg.default_height = 60;
    s_expect_size(f, "resize", "fit=fill", 60, 60);
    /* Every run replaced the one result; no temporary file is left. */
    assert_int_equal(ts_count_files(f->dir, ".result-"), 0);
    assert_int_equal(ts_count_files(f->dir, "result."), 1);
}

static void test_resize_fits_portrait(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_gradient(300, 400, 0), "jpeg");
    s_expect_size(f, "resize", "width=100&height=100", 75, 100);
    s_expect_size(f, "resize", "width=100&height=100&fit=outside", 100, 133);
    s_expect_size(f, "resize", "width=100&height=100&fit=cover", 100, 100);
    s_expect_size(f, "resize", "width=150&height=10&fit=fill", 150, 10);
    s_expect_size(f, "resize", "width=150", 150, 200);
    s_expect_size(f, "resize", "height=200", 150, 200);
    /* Shrunk on load (JPEG): still exactly the planned size. */
    s_expect_size(f, "resize", "width=17", 17, 23);
}

/* The cover crop keeps the centre: of a red ramp along x, the middle. */
static void test_resize_cover_keeps_the_centre(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_gradient(400, 100, 0), "png");
    VipsImage *im = ts_run_image(f, "resize", "width=100&height=100&fit=cover", "png");
    /* the kept part is x 150..250 of the input: red from ~96 to ~159 */
    assert_true(fabs(ts_pixel(im, 0, 50, 0) - 150 * 255.0 / 400) < 6);
    assert_true(fabs(ts_pixel(im, 99, 50, 0) - 250 * 255.0 / 400) < 6);
    g_object_unref(im);
}

static void test_resize_exif_orientation(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_oriented(ts_gradient(400, 300, 0), 6), "jpeg");
    image_info_t info;
    assert_int_equal(image_probe_file(s_in(f), &f->cfg, &info), 0);
    assert_int_equal(info.orientation, 6);
    assert_int_equal(info.width, 400);

    /* Displayed as 300x400. */
    s_expect_size(f, "resize", "width=150", 150, 200);
    s_expect_size(f, "resize", "width=100&height=100&fit=outside", 100, 133);
    s_expect_size(f, "thumbnail", "width=30&height=80", 30, 80);
    VipsImage *im = ts_run_image(f, "resize", "width=150", "jpeg");
    /* The rotation is applied once: the result carries no orientation. */
    assert_int_equal(vips_image_get_orientation(im), 1);
    /* Turned clockwise: the input's first row (red ramp along it, green 0)
     * is now the right-hand column, red growing downwards. */
    assert_true(ts_pixel(im, 149, 5, 1) < 30);
    assert_true(ts_pixel(im, 149, 195, 0) > ts_pixel(im, 149, 5, 0) + 150);
    g_object_unref(im);

    json_t *r = ts_run(f, "info", NULL, 60000);
    assert_non_null(r);
    assert_int_equal(json_integer_value(json_object_get(r, "width")), 400);
    assert_int_equal(json_integer_value(json_object_get(r, "oriented_width")), 300);
    assert_int_equal(json_integer_value(json_object_get(r, "oriented_height")), 400);
    assert_int_equal(json_integer_value(json_object_get(r, "orientation")), 6);
    json_decref(r);
}

/* A 4000x2 input rotated by EXIF and cropped to cover a big box: scaled
 * to cover it, it would be 8,000,000 pixels wide; it is cropped before it
 * is rotated, so the job stays small. */
static void test_thin_rotated_input_cover_crop(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_oriented(ts_gradient(4000, 2, 0), 3), "jpeg");
    s_expect_size(f, "thumbnail", "size=2000", 2000, 2000);
    s_expect_size(f, "resize", "width=1000&height=1000&fit=cover", 1000, 1000);
    /* rotating the covering image first took 10 GB; cropping first, a few MB */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    assert_true(ru.ru_maxrss < 1024L * 1024L); /* KiB: under 1 GiB */
}

/* ---- thumbnail ---- */

static void test_thumbnail_crops(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_gradient(400, 300, 0), "png");
    const char *crops[] = {"centre", "attention", "entropy"};
    for (int i = 0; i < 3; i++) {
        char kv[128];
        snprintf(kv, sizeof kv, "crop=%s", crops[i]);
        s_expect_size(f, "thumbnail", kv, 128, 128);
        snprintf(kv, sizeof kv, "crop=%s&size=64", crops[i]);
        s_expect_size(f, "thumbnail", kv, 64, 64);
        snprintf(kv, sizeof kv, "crop=%s&width=80&height=50", crops[i]);
        s_expect_size(f, "thumbnail", kv, 80, 50);
        snprintf(kv, sizeof kv, "crop=%s&width=77&size=33", crops[i]);
        s_expect_size(f, "thumbnail", kv, 77, 33);
        snprintf(kv, sizeof kv, "crop=%s&width=500&height=499", crops[i]);
        s_expect_size(f, "thumbnail", kv, 500, 499);
    }
    s_expect_size(f, "thumbnail", "crop=none&size=64", 64, 48);
    s_expect_size(f, "thumbnail", "crop=none&width=80&height=50", 67, 50);
}

/* ---- conversions ---- */

static void test_format_conversions(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_gradient(64, 48, TS_ALPHA), "png");
    const char *formats[] = {"png", "webp", "tiff", "gif", "jpeg"};
    for (int i = 0; i < 5; i++) {
        char kv[64];
        snprintf(kv, sizeof kv, "width=32&format=%s", formats[i]);
        VipsImage *im = ts_run_image(f, "resize", kv, formats[i]);
        assert_int_equal(im->Xsize, 32);
        assert_int_equal(im->BandFmt, VIPS_FORMAT_UCHAR);
        /* jpeg has no alpha: RGBA in, 3 bands out; the others keep it. */
        if (strcmp(formats[i], "jpeg") == 0)
            assert_int_equal(im->Bands, 3);
        else if (strcmp(formats[i], "gif") != 0)
            assert_int_equal(im->Bands, 4);
        g_object_unref(im);
    }
    /* "same" keeps png. */
    VipsImage *im = ts_run_image(f, "thumbnail", "size=16", "png");
    assert_int_equal(im->Bands, 4);
    g_object_unref(im);
    /* Quality changes the jpeg size. */
    json_t *lo = ts_run(f, "resize", "width=64&format=jpeg&quality=5", 60000);
    json_t *hi = ts_run(f, "resize", "width=64&format=jpeg&quality=100", 60000);
    assert_non_null(lo);
    assert_non_null(hi);
    assert_true(json_integer_value(json_object_get(lo, "bytes")) <
                json_integer_value(json_object_get(hi, "bytes")));
    json_decref(lo);
    json_decref(hi);
}

static void test_avif_output(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_gradient(64, 48, 0), "png");
    /* ts_run_image probes the result: recognised as avif (not heif) */
    VipsImage *im = ts_run_image(f, "resize", "width=32&format=avif", "avif");
    assert_int_equal(im->Xsize, 32);
    g_object_unref(im);
    char path[PATH_MAX];
    ts_result_path(f, "avif", path, sizeof path);
    assert_non_null(strstr(path, "/result.avif"));
    assert_int_equal(access(path, R_OK), 0);
    /* An avif input with format "same" stays avif. */
    assert_int_equal(rename(path, s_in(f)), 0);
    im = ts_run_image(f, "resize", "width=16", "avif");
    assert_int_equal(im->Xsize, 16);
    g_object_unref(im);
}

static void test_alpha_flattened_on_white_for_jpeg(void **state)
{
    ts_folder_t *f = *state;
    double clear[4] = {0, 0, 0, 0};
    ts_save_input(f, "file",
                  ts_uniform(40, 40, clear, 4, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB), "png");
    VipsImage *im = ts_run_image(f, "resize", "width=20&format=jpeg", "jpeg");
    assert_int_equal(im->Bands, 3);
    assert_true(ts_pixel(im, 10, 10, 0) > 250);
    assert_true(ts_pixel(im, 10, 10, 2) > 250);
    g_object_unref(im);
    im = ts_run_image(f, "resize", "width=20&format=png", "png");
    assert_int_equal(im->Bands, 4);
    assert_int_equal((int)ts_pixel(im, 10, 10, 3), 0);
    g_object_unref(im);
}

static void test_sixteen_bit_becomes_eight(void **state)
{
    ts_folder_t *f = *state;
    double v[3] = {0x8080, 0x4040, 0xffff};
    ts_save_input(f, "file",
                  ts_uniform(40, 30, v, 3, VIPS_FORMAT_USHORT, VIPS_INTERPRETATION_RGB16), "png");
    VipsImage *im = ts_run_image(f, "resize", "width=20", "png");
    assert_int_equal(im->BandFmt, VIPS_FORMAT_UCHAR);
    assert_int_equal(im->Bands, 3);
    /* Scaled, not clipped at 255. */
    assert_true(fabs(ts_pixel(im, 5, 5, 0) - 128) <= 1);
    assert_true(fabs(ts_pixel(im, 5, 5, 1) - 64) <= 1);
    assert_true(fabs(ts_pixel(im, 5, 5, 2) - 255) <= 1);
    g_object_unref(im);
    /* With alpha, to png: 4 bands of 8 bits. */
    ts_save_input(f, "file", ts_gradient(40, 30, TS_SIXTEEN | TS_ALPHA), "png");
    im = ts_run_image(f, "resize", "width=20&format=png", "png");
    assert_int_equal(im->BandFmt, VIPS_FORMAT_UCHAR);
    assert_int_equal(im->Bands, 4);
    assert_true(fabs(ts_pixel(im, 5, 5, 3) - 204) <= 1);
    g_object_unref(im);
}

static void test_grey_stays_grey(void **state)
{
    ts_folder_t *f = *state;
    double v[1] = {90};
    ts_save_input(f, "file", ts_uniform(40, 30, v, 1, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_B_W),
                  "png");
    const char *formats[] = {"png", "jpeg"};
    for (int i = 0; i < 2; i++) {
        char kv[64];
        snprintf(kv, sizeof kv, "width=20&format=%s", formats[i]);
        VipsImage *im = ts_run_image(f, "resize", kv, formats[i]);
        assert_int_equal(im->Bands, 1);
        assert_true(fabs(ts_pixel(im, 3, 3, 0) - 90) <= 1);
        g_object_unref(im);
    }
}

static void test_cmyk_jpeg_to_srgb(void **state)
{
    ts_folder_t *f = *state;
    double v[4] = {0, 0, 0, 0}; /* no ink: white */
    ts_save_input(f, "file", ts_uniform(40, 30, v, 4, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_CMYK),
                  "jpeg");
    image_info_t info;
    assert_int_equal(image_probe_file(s_in(f), &f->cfg, &info), 0);
    assert_string_equal(info.format, "jpeg");
    VipsImage *cmyk = vips_image_new_from_file(s_in(f), NULL);
    assert_non_null(cmyk);
    assert_int_equal(cmyk->Bands, 4); /* the input really is CMYK */
    g_object_unref(cmyk);
    const char *formats[] = {"jpeg", "png"};
    for (int i = 0; i < 2; i++) {
        char kv[64];
        snprintf(kv, sizeof kv, "width=20&format=%s", formats[i]);
        VipsImage *im = ts_run_image(f, "resize", kv, formats[i]);
        assert_int_equal(im->Bands, 3);
        assert_int_equal(vips_image_guess_interpretation(im), VIPS_INTERPRETATION_sRGB);
        assert_true(ts_pixel(im, 5, 5, 0) > 240);
        assert_true(ts_pixel(im, 5, 5, 1) > 240);
        assert_true(ts_pixel(im, 5, 5, 2) > 240);
        g_object_unref(im);
    }
}

/* An animated GIF stays animated when the output can hold it (gif, webp):
 * every frame resized; written as png it is its first frame. */
static void test_animation_frames_kept(void **state)
{
    ts_folder_t *f = *state;
    /* three 40x30 frames: dark, mid, light grey */
    VipsImage *frames[3];
    for (int i = 0; i < 3; i++) {
        double v[3] = {40.0 + 80 * i, 40.0 + 80 * i, 40.0 + 80 * i};
        frames[i] = ts_uniform(40, 30, v, 3, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB);
    }
    VipsImage *strip = NULL;
    assert_int_equal(vips_arrayjoin(frames, &strip, 3, "across", 1, NULL), 0);
    for (int i = 0; i < 3; i++)
        g_object_unref(frames[i]);
    ts_save_input(f, "file", ts_paged(strip, 30), "gif");

    const char *animated[] = {"gif", "webp"};
    for (int i = 0; i < 2; i++) {
        char kv[64], path[PATH_MAX];
        snprintf(kv, sizeof kv, "width=20&format=%s", animated[i]);
        json_t *r = ts_run(f, "resize", kv, 60000);
        assert_non_null(r);
        assert_int_equal(json_integer_value(json_object_get(r, "pages")), 3);
        assert_int_equal(json_integer_value(json_object_get(r, "width")), 20);
        assert_int_equal(json_integer_value(json_object_get(r, "height")), 15);
        json_decref(r);
        ts_result_path(f, animated[i], path, sizeof path);
        char all[PATH_MAX + 8];
        snprintf(all, sizeof all, "%s[n=-1]", path);
        VipsImage *out = ts_load(all);
        assert_int_equal(vips_image_get_page_height(out), 15);
        assert_int_equal(out->Ysize, 45);
        /* each frame is its own grey, in order */
        for (int k = 0; k < 3; k++)
            assert_true(fabs(ts_pixel(out, 10, 15 * k + 7, 1) - (40 + 80 * k)) < 8);
        g_object_unref(out);
    }
    json_t *r = ts_run(f, "resize", "width=20&format=png", 60000);
    assert_non_null(r);
    assert_null(json_object_get(r, "pages"));
    assert_int_equal(json_integer_value(json_object_get(r, "height")), 15);
    json_decref(r);
}

/* ---- info ---- */

static void test_info_uniform_mean(void **state)
{
    ts_folder_t *f = *state;
    double v[3] = {10, 20, 30};
    ts_save_input(f, "file", ts_uniform(64, 48, v, 3, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB),
                  "png");
    json_t *r = ts_run(f, "info", NULL, 60000);
    if (!r)
        fail_msg("info: %s", img_error_message());
    assert_int_equal(json_integer_value(json_object_get(r, "width")), 64);
    assert_int_equal(json_integer_value(json_object_get(r, "height")), 48);
    assert_int_equal(json_integer_value(json_object_get(r, "oriented_width")), 64);
    assert_int_equal(json_integer_value(json_object_get(r, "bands")), 3);
    assert_string_equal(json_string_value(json_object_get(r, "format")), "png");
    assert_true(json_is_false(json_object_get(r, "has_alpha")));
    assert_int_equal(json_integer_value(json_object_get(r, "orientation")), 1);
    assert_int_equal(json_integer_value(json_object_get(r, "pages")), 1);
    json_t *mean = json_object_get(r, "mean");
    assert_int_equal(json_array_size(mean), 3);
    for (int b = 0; b < 3; b++)
        assert_true(fabs(json_real_value(json_array_get(mean, b)) - v[b]) < 1e-9);
    json_decref(r);
    /* No image file is written for a JSON operation. */
    assert_int_equal(ts_count_files(f->dir, "result."), 0);
    assert_int_equal(ts_count_files(f->dir, ".result-"), 0);

    ts_save_input(f, "file", ts_gradient(40, 30, TS_ALPHA), "png");
    r = ts_run(f, "info", NULL, 60000);
    assert_non_null(r);
    assert_true(json_is_true(json_object_get(r, "has_alpha")));
    assert_int_equal(json_array_size(json_object_get(r, "mean")), 4);
    /* alpha 0.8 of 255 everywhere */
    assert_true(fabs(json_real_value(json_array_get(json_object_get(r, "mean"), 3)) - 204) < 1);
    json_decref(r);

    /* 16-bit: means in the image's own sample values */
    double v16[3] = {1000, 30000, 65535};
    ts_save_input(f, "file",
                  ts_uniform(8, 8, v16, 3, VIPS_FORMAT_USHORT, VIPS_INTERPRETATION_RGB16), "png");
    r = ts_run(f, "info", NULL, 60000);
    assert_non_null(r);
    for (int b = 0; b < 3; b++)
        assert_true(fabs(json_real_value(json_array_get(json_object_get(r, "mean"), b)) - v16[b]) <
                    1e-9);
    json_decref(r);
}

/* ---- time limit, failures ---- */

static void test_timeout_leaves_no_file(void **state)
{
    ts_folder_t *f = *state;
    f->cfg.max_pixels = 400000000;
    ts_save_input(f, "file", ts_gradient(6000, 6000, 0), "jpeg");
    json_t *r = ts_run(f, "resize", "width=16000&height=16000&fit=fill&format=png", 200);
    assert_null(r);
    assert_int_equal(img_error_code(), IMG_E_TIMEOUT);
    assert_string_equal(img_error_message(), "the job took longer than 0.2 s");
    assert_int_equal(ts_count_files(f->dir, ".result-"), 0);
    assert_int_equal(ts_count_files(f->dir, "result."), 0);
}

/* What img-rest checked at submit is checked again: the file may have
 * changed, the parameters or the plan may not hold. */
static void test_checked_again_at_run(void **state)
{
    ts_folder_t *f = *state;
    const char *svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\"/>";
    ts_write_input(f, "file", svg, strlen(svg));
    s_expect_failure(f, "resize", "width=10", IMG_E_UNSUPPORTED_MEDIA_TYPE);
    unlink(s_in(f));
    s_expect_failure(f, "resize", "width=10", IMG_E_MISSING_FILE);

    ts_save_input(f, "file", ts_gradient(40, 30, 0), "png");
    s_expect_failure(f, "resize", "width=0", IMG_E_INVALID_PARAMETER);
    s_expect_failure(f, "resize", "bogus=1", IMG_E_INVALID_PARAMETER);
    s_expect_failure(f, "no_such_op", NULL, IMG_E_INVALID_PARAMETER);
    /* the plan: a result over max_output_dim or max_pixels */
    f->cfg.max_output_dim = 1000;
    s_expect_failure(f, "resize", "width=1001", IMG_E_INVALID_PARAMETER);
    s_expect_failure(f, "resize", "height=900", IMG_E_INVALID_PARAMETER); /* 1200x900 */
    config_defaults(&f->cfg);
    snprintf(f->cfg.data_dir, sizeof f->cfg.data_dir, "%s", f->root);
    f->cfg.max_pixels = 10000;
    s_expect_failure(f, "resize", "width=200", IMG_E_INVALID_PARAMETER); /* 200x150 */
    /* the probe's limits on the input too */
    f->cfg.max_pixels = 40 * 30 - 1;
    s_expect_failure(f, "resize", "width=10", IMG_E_IMAGE_TOO_LARGE);
}

static void test_result_path(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(job_files_result("/j", img_format_by_name("jpeg")->ext, out, sizeof out), 0);
    assert_string_equal(out, "/j/result.jpg");
    assert_int_equal(job_files_result("/j", img_format_by_name("avif")->ext, out, sizeof out), 0);
    assert_string_equal(out, "/j/result.avif");
    assert_int_equal(job_files_result("/a-long-folder-name", "png", out, 8), -1);
    assert_int_equal(img_error_code(), IMG_E_INTERNAL);
    assert_int_equal(job_files_input("/j", "image1", out, sizeof out), 0);
    assert_string_equal(out, "/j/in_image1");
    assert_int_equal(job_files_result_temp("/j", "png", out, sizeof out), 0);
    assert_int_equal(strncmp(out, "/j/.result-", 11), 0);
    assert_int_equal(strlen(out), strlen("/j/.result-") + 16 + strlen(".png"));
    char other[64];
    assert_int_equal(job_files_result_temp("/j", "png", other, sizeof other), 0);
    assert_string_not_equal(out, other);
    /* a job folder comes only from a valid id */
    assert_int_equal(job_files_dir("/d", "../etc", out, sizeof out), -1);
    assert_int_equal(img_error_code(), IMG_E_NOT_FOUND);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, ts_setup, ts_teardown)

int main(int argc, char **argv)
{
    (void)argc;
    if (ts_vips_init(argv[0]))
        return 1;
    const struct CMUnitTest tests[] = {
        T(test_probe_formats_and_limits),
        T(test_probe_refuses_non_images),
        T(test_resize_fits_landscape),
        T(test_resize_fits_portrait),
        T(test_resize_cover_keeps_the_centre),
        T(test_resize_exif_orientation),
        T(test_thin_rotated_input_cover_crop),
        T(test_thumbnail_crops),
        T(test_format_conversions),
        T(test_avif_output),
        T(test_alpha_flattened_on_white_for_jpeg),
        T(test_sixteen_bit_becomes_eight),
        T(test_grey_stays_grey),
        T(test_cmyk_jpeg_to_srgb),
        T(test_animation_frames_kept),
        T(test_info_uniform_mean),
        T(test_timeout_leaves_no_file),
        T(test_checked_again_at_run),
        T(test_result_path),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    vips_shutdown();
    return rc;
}
