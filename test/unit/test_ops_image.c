/* test_ops_image — probing, op_runner and the resize, thumbnail and info
 * operations on images generated with libvips in temporary job folders. */
#include "config.h"
#include "image_format.h"
#include "image_probe.h"
#include "img_error.h"
#include "op.h"
#include "op_params.h"
#include "op_registry.h"
#include "op_runner.h"

#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vips/vips.h>

#include <sys/resource.h>

#include <cmocka.h>

typedef struct {
    char dir[256];
    char in[300];
    img_config_t cfg;
} s_fixture_t;

static int s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s/ops-image-XXXXXX", TEST_BINARY_DIR);
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->in, sizeof f->in, "%s/in_file", f->dir);
    config_defaults(&f->cfg);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    s_fixture_t *f = *state;
    DIR *d = opendir(f->dir);
    struct dirent *e;
    char path[600];
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", f->dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- image makers (caller owns the returned image) ---- */

/* w x h, red = x ramp, green = y ramp, blue 128; 8 or 16 bits; alpha optional. */
static VipsImage *s_gradient(int w, int h, bool sixteen, bool alpha)
{
    VipsImage *xyz, *lin, *rgb, *cast, *out;
    double max = sixteen ? 65535.0 : 255.0;
    double a[2] = {max / w, max / h}, b[2] = {0, 0};
    assert_int_equal(vips_xyz(&xyz, w, h, NULL), 0);
    assert_int_equal(vips_linear(xyz, &lin, a, b, 2, NULL), 0);
    if (alpha) {
        double extra[2] = {max / 2, max * 0.8};
        assert_int_equal(vips_bandjoin_const(lin, &rgb, extra, 2, NULL), 0);
    } else {
        assert_int_equal(vips_bandjoin_const1(lin, &rgb, max / 2, NULL), 0);
    }
    assert_int_equal(vips_cast(rgb, &cast, sixteen ? VIPS_FORMAT_USHORT : VIPS_FORMAT_UCHAR, NULL),
                     0);
    VipsInterpretation interp = sixteen ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB;
    assert_int_equal(vips_copy(cast, &out, "interpretation", interp, NULL), 0);
    g_object_unref(xyz);
    g_object_unref(lin);
    g_object_unref(rgb);
    g_object_unref(cast);
    return out;
}

/* A uniform image of the given band values. */
static VipsImage *s_uniform(int w, int h, const double *values, int n, VipsBandFormat fmt,
                            VipsInterpretation interp)
{
    VipsImage *black, *lin, *cast, *out;
    double *a = calloc((size_t)n, sizeof *a);
    assert_int_equal(vips_black(&black, w, h, "bands", n, NULL), 0);
    assert_int_equal(vips_linear(black, &lin, a, (double *)values, n, NULL), 0);
    assert_int_equal(vips_cast(lin, &cast, fmt, NULL), 0);
    assert_int_equal(vips_copy(cast, &out, "interpretation", interp, NULL), 0);
    free(a);
    g_object_unref(black);
    g_object_unref(lin);
    g_object_unref(cast);
    return out;
}

static void s_save(VipsImage *im, const char *format, const char *path)
{
    int rc = -1;
    if (strcmp(format, "png") == 0)
        rc = vips_pngsave(im, path, NULL);
    else if (strcmp(format, "jpeg") == 0)
        rc = vips_jpegsave(im, path, "Q", 95, NULL);
    else if (strcmp(format, "tiff") == 0)
        rc = vips_tiffsave(im, path, NULL);
    else if (strcmp(format, "ppm") == 0)
        rc = vips_ppmsave(im, path, NULL);
    else if (strcmp(format, "gif") == 0)
        rc = vips_gifsave(im, path, NULL);
    if (rc != 0)
        fail_msg("saving %s: %s", format, vips_error_buffer());
    g_object_unref(im);
}

static void s_write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* ---- running ---- */

/* Validates raw (a "k=v&..." list), checks and runs op; returns the result or NULL. */
static json_t *s_run(s_fixture_t *f, const char *op_name, const char *kv, int timeout_ms)
{
    const op_def_t *op = op_registry_find(op_name);
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
    json_t *params = op_params_validate(op, raw);
    json_decref(raw);
    if (!params)
        fail_msg("params %s: %s", kv, img_error_message());
    image_info_t info;
    if (image_probe_file(f->in, &f->cfg, &info) != 0)
        fail_msg("probe: %s", img_error_message());
    if (op->check && op->check(params, &info, &f->cfg) != 0)
        fail_msg("check %s: %s", kv, img_error_message());
    json_t *result = NULL;
    img_error_clear();
    int rc = op_run(op, f->dir, params, &f->cfg, timeout_ms, &result);
    json_decref(params);
    if (rc != 0) {
        assert_null(result);
        return NULL;
    }
    assert_non_null(result);
    return result;
}

/* Runs and opens the result file; checks the result object against it. */
static VipsImage *s_run_image(s_fixture_t *f, const char *op, const char *kv, const char *format)
{
    json_t *r = s_run(f, op, kv, 60000);
    if (!r)
        fail_msg("%s %s failed: %s", op, kv, img_error_message());
    char path[600];
    assert_int_equal(
        op_result_path(f->dir, json_string_value(json_object_get(r, "format")), path, sizeof path),
        0);
    if (format)
        assert_string_equal(json_string_value(json_object_get(r, "format")), format);
    /* The bytes are sniffed back to the same format. */
    const char *class_name = vips_foreign_find_load(path);
    assert_non_null(class_name);
    const char *loader = vips_nickname_find(g_type_from_name(class_name));
    const img_format_t *sniffed = img_format_by_loader(loader, NULL);
    assert_non_null(sniffed);
    const char *fmt = json_string_value(json_object_get(r, "format"));
    if (strcmp(fmt, "avif") != 0)
        assert_string_equal(sniffed->name, fmt);
    VipsImage *im = vips_image_new_from_file(path, NULL);
    assert_non_null(im);
    assert_int_equal(json_integer_value(json_object_get(r, "width")), im->Xsize);
    assert_int_equal(json_integer_value(json_object_get(r, "height")), im->Ysize);
    FILE *fp = fopen(path, "rb");
    fseek(fp, 0, SEEK_END);
    assert_int_equal(json_integer_value(json_object_get(r, "bytes")), ftell(fp));
    fclose(fp);
    json_decref(r);
    return im;
}

static void s_expect_size(s_fixture_t *f, const char *op, const char *kv, int w, int h)
{
    VipsImage *im = s_run_image(f, op, kv, NULL);
    if (im->Xsize != w || im->Ysize != h)
        fail_msg("%s %s: got %dx%d, expected %dx%d", op, kv, im->Xsize, im->Ysize, w, h);
    g_object_unref(im);
}

/* Names in the job folder starting with prefix. */
static int s_count_files(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    if (d)
        closedir(d);
    return n;
}

static double s_pixel(VipsImage *im, int x, int y, int band)
{
    double *v = NULL;
    int n = 0;
    assert_int_equal(vips_getpoint(im, &v, &n, x, y, NULL), 0);
    assert_true(band < n);
    double r = v[band];
    g_free(v);
    return r;
}

/* ---- probe ---- */

static void test_probe_formats_and_limits(void **state)
{
    s_fixture_t *f = *state;
    image_info_t info;
    s_save(s_gradient(40, 30, false, true), "png", f->in);
    assert_int_equal(image_probe_file(f->in, &f->cfg, &info), 0);
    assert_string_equal(info.format, "png");
    assert_int_equal(info.width, 40);
    assert_int_equal(info.height, 30);
    assert_int_equal(info.bands, 4);
    assert_true(info.has_alpha);
    assert_int_equal(info.pages, 1);
    assert_int_equal(info.orientation, 1);

    f->cfg.max_pixels = 40 * 30 - 1;
    assert_int_equal(image_probe_file(f->in, &f->cfg, &info), -1);
    assert_int_equal(img_error_code(), IMG_E_IMAGE_TOO_LARGE);
    assert_non_null(strstr(img_error_message(), "1200"));
    assert_non_null(strstr(img_error_message(), "1199"));
    config_defaults(&f->cfg);

    snprintf(f->cfg.allowed_formats, sizeof f->cfg.allowed_formats, "jpeg,gif");
    assert_int_equal(image_probe_file(f->in, &f->cfg, &info), -1);
    assert_int_equal(img_error_code(), IMG_E_UNSUPPORTED_MEDIA_TYPE);
    config_defaults(&f->cfg);

    /* Three pages of 20x10 in one TIFF. */
    VipsImage *tall = s_gradient(20, 30, false, false), *paged;
    assert_int_equal(vips_copy(tall, &paged, NULL), 0);
    g_object_unref(tall);
    vips_image_set_int(paged, "page-height", 10);
    s_save(paged, "tiff", f->in);
    assert_int_equal(image_probe_file(f->in, &f->cfg, &info), 0);
    assert_string_equal(info.format, "tiff");
    assert_int_equal(info.pages, 3);
    assert_int_equal(info.height, 10);
    f->cfg.max_frames = 2;
    assert_int_equal(image_probe_file(f->in, &f->cfg, &info), -1);
    assert_int_equal(img_error_code(), IMG_E_IMAGE_TOO_LARGE);
    f->cfg.max_frames = 3;
    f->cfg.max_pixels = 20 * 10 * 3 - 1; /* pages count towards the pixels */
    assert_int_equal(image_probe_file(f->in, &f->cfg, &info), -1);
    assert_int_equal(img_error_code(), IMG_E_IMAGE_TOO_LARGE);
}

static void test_probe_refuses_non_images(void **state)
{
    s_fixture_t *f = *state;
    image_info_t info;
    s_write_text(f->in, "");
    assert_int_equal(image_probe_file(f->in, &f->cfg, &info), -1);
    assert_int_equal(img_error_code(), IMG_E_EMPTY_FILE);

    const char *texts[] = {
        "hello, this is not an image\n",
        "<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" "
        "height=\"10\"><rect width=\"10\" height=\"10\"/></svg>\n",
        "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
        "2 2\n1 2\n3 4\n", /* a libvips matrix */
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        s_write_text(f->in, texts[i]);
        assert_int_equal(image_probe_file(f->in, &f->cfg, &info), -1);
        assert_int_equal(img_error_code(), IMG_E_UNSUPPORTED_MEDIA_TYPE);
        /* The server's paths never reach a message. */
        assert_null(strstr(img_error_message(), f->dir));
    }
    s_save(s_gradient(8, 8, false, false), "ppm", f->in);
    assert_int_equal(image_probe_file(f->in, &f->cfg, &info), -1);
    assert_int_equal(img_error_code(), IMG_E_UNSUPPORTED_MEDIA_TYPE);
    assert_non_null(strstr(img_error_message(), "ppm"));

    /* A truncated PNG: the signature is right, the header is not there. */
    s_write_text(f->in, "\x89PNG\r\n\x1a\n");
    assert_int_equal(image_probe_file(f->in, &f->cfg, &info), -1);
    assert_int_equal(img_error_code(), IMG_E_UNSUPPORTED_MEDIA_TYPE);
    assert_null(strstr(img_error_message(), f->dir));

    unlink(f->in);
    assert_int_equal(image_probe_file(f->in, &f->cfg, &info), -1);
    assert_int_equal(img_error_code(), IMG_E_MISSING_FILE);
}

/* ---- resize ---- */

static void test_resize_fits_landscape(void **state)
{
    s_fixture_t *f = *state;
    s_save(s_gradient(400, 300, false, false), "png", f->in);
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
    assert_int_equal(s_count_files(f->dir, ".result-"), 0);
    assert_int_equal(s_count_files(f->dir, "result."), 1);
}

static void test_resize_fits_portrait(void **state)
{
    s_fixture_t *f = *state;
    s_save(s_gradient(300, 400, false, false), "jpeg", f->in);
    s_expect_size(f, "resize", "width=100&height=100", 75, 100);
    s_expect_size(f, "resize", "width=100&height=100&fit=outside", 100, 133);
    s_expect_size(f, "resize", "width=100&height=100&fit=cover", 100, 100);
    s_expect_size(f, "resize", "width=150&height=10&fit=fill", 150, 10);
    s_expect_size(f, "resize", "width=150", 150, 200);
    s_expect_size(f, "resize", "height=200", 150, 200);
}

static void test_resize_exif_orientation(void **state)
{
    s_fixture_t *f = *state;
    VipsImage *g = s_gradient(400, 300, false, false), *o;
    assert_int_equal(vips_copy(g, &o, NULL), 0);
    g_object_unref(g);
    vips_image_set_int(o, VIPS_META_ORIENTATION, 6);
    s_save(o, "jpeg", f->in);
    image_info_t info;
    assert_int_equal(image_probe_file(f->in, &f->cfg, &info), 0);
    assert_int_equal(info.orientation, 6);
    assert_int_equal(info.width, 400);

    /* Displayed as 300x400. */
    s_expect_size(f, "resize", "width=150", 150, 200);
    s_expect_size(f, "resize", "width=100&height=100&fit=outside", 100, 133);
    s_expect_size(f, "thumbnail", "width=30&height=80", 30, 80);
    VipsImage *im = s_run_image(f, "resize", "width=150", "jpeg");
    /* The rotation is applied once: the result carries no orientation. */
    assert_int_equal(vips_image_get_orientation(im), 1);
    g_object_unref(im);

    json_t *r = s_run(f, "info", NULL, 60000);
    assert_non_null(r);
    assert_int_equal(json_integer_value(json_object_get(r, "width")), 400);
    assert_int_equal(json_integer_value(json_object_get(r, "oriented_width")), 300);
    assert_int_equal(json_integer_value(json_object_get(r, "oriented_height")), 400);
    assert_int_equal(json_integer_value(json_object_get(r, "orientation")), 6);
    json_decref(r);
}

/* A 4000x2 input rotated by EXIF and cropped to cover a big box: scaled
 * to cover it, it would be 8,000,000 pixels wide; it is cropped before it
 * is rotated, so the job stays small and quick. */
static void test_thin_rotated_input_cover_crop(void **state)
{
    s_fixture_t *f = *state;
    VipsImage *g = s_gradient(4000, 2, false, false), *o;
    assert_int_equal(vips_copy(g, &o, NULL), 0);
    g_object_unref(g);
    vips_image_set_int(o, VIPS_META_ORIENTATION, 3);
    s_save(o, "jpeg", f->in);
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
    s_fixture_t *f = *state;
    s_save(s_gradient(400, 300, false, false), "png", f->in);
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
    s_fixture_t *f = *state;
    s_save(s_gradient(64, 48, false, true), "png", f->in);
    const char *formats[] = {"png", "webp", "tiff", "gif", "jpeg"};
    for (int i = 0; i < 5; i++) {
        char kv[64];
        snprintf(kv, sizeof kv, "width=32&format=%s", formats[i]);
        VipsImage *im = s_run_image(f, "resize", kv, formats[i]);
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
    VipsImage *im = s_run_image(f, "thumbnail", "size=16", "png");
    assert_int_equal(im->Bands, 4);
    g_object_unref(im);
    /* Quality changes the jpeg size. */
    json_t *lo = s_run(f, "resize", "width=64&format=jpeg&quality=5", 60000);
    json_t *hi = s_run(f, "resize", "width=64&format=jpeg&quality=100", 60000);
    assert_true(json_integer_value(json_object_get(lo, "bytes")) <
                json_integer_value(json_object_get(hi, "bytes")));
    json_decref(lo);
    json_decref(hi);
}

static void test_avif_output(void **state)
{
    s_fixture_t *f = *state;
    s_save(s_gradient(64, 48, false, false), "png", f->in);
    json_t *r = s_run(f, "resize", "width=32&format=avif", 60000);
    if (!r)
        fail_msg("avif: %s", img_error_message());
    assert_string_equal(json_string_value(json_object_get(r, "format")), "avif");
    json_decref(r);
    char path[600];
    op_result_path(f->dir, "avif", path, sizeof path);
    assert_non_null(strstr(path, "result.avif"));
    image_info_t info;
    /* Read back as avif (an avif file is accepted where heif is). */
    rename(path, f->in);
    assert_int_equal(image_probe_file(f->in, &f->cfg, &info), 0);
    assert_string_equal(info.format, "avif");
    assert_int_equal(info.width, 32);
}

static void test_alpha_flattened_on_white_for_jpeg(void **state)
{
    s_fixture_t *f = *state;
    double clear[4] = {0, 0, 0, 0};
    s_save(s_uniform(40, 40, clear, 4, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB), "png", f->in);
    VipsImage *im = s_run_image(f, "resize", "width=20&format=jpeg", "jpeg");
    assert_int_equal(im->Bands, 3);
    assert_true(s_pixel(im, 10, 10, 0) > 250);
    assert_true(s_pixel(im, 10, 10, 2) > 250);
    g_object_unref(im);
    im = s_run_image(f, "resize", "width=20&format=png", "png");
    assert_int_equal(im->Bands, 4);
    assert_int_equal((int)s_pixel(im, 10, 10, 3), 0);
    g_object_unref(im);
}

static void test_sixteen_bit_becomes_eight(void **state)
{
    s_fixture_t *f = *state;
    double v[3] = {0x8080, 0x4040, 0xffff};
    s_save(s_uniform(40, 30, v, 3, VIPS_FORMAT_USHORT, VIPS_INTERPRETATION_RGB16), "png", f->in);
    image_info_t info;
    assert_int_equal(image_probe_file(f->in, &f->cfg, &info), 0);
    VipsImage *im = s_run_image(f, "resize", "width=20", "png");
    assert_int_equal(im->BandFmt, VIPS_FORMAT_UCHAR);
    assert_int_equal(im->Bands, 3);
    /* Scaled, not clipped at 255. */
    assert_true(fabs(s_pixel(im, 5, 5, 0) - 128) <= 1);
    assert_true(fabs(s_pixel(im, 5, 5, 1) - 64) <= 1);
    assert_true(fabs(s_pixel(im, 5, 5, 2) - 255) <= 1);
    g_object_unref(im);
    /* With alpha, to png: 4 bands of 8 bits. */
    s_save(s_gradient(40, 30, true, true), "png", f->in);
    im = s_run_image(f, "resize", "width=20&format=png", "png");
    assert_int_equal(im->BandFmt, VIPS_FORMAT_UCHAR);
    assert_int_equal(im->Bands, 4);
    assert_true(fabs(s_pixel(im, 5, 5, 3) - 204) <= 1);
    g_object_unref(im);
}

static void test_grey_stays_grey(void **state)
{
    s_fixture_t *f = *state;
    double v[1] = {90};
    s_save(s_uniform(40, 30, v, 1, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_B_W), "png", f->in);
    VipsImage *im = s_run_image(f, "resize", "width=20", "png");
    assert_int_equal(im->Bands, 1);
    assert_int_equal((int)s_pixel(im, 3, 3, 0), 90);
    g_object_unref(im);
}

static void test_cmyk_jpeg_to_srgb(void **state)
{
    s_fixture_t *f = *state;
    double v[4] = {0, 0, 0, 0}; /* no ink: white */
    s_save(s_uniform(40, 30, v, 4, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_CMYK), "jpeg", f->in);
    image_info_t info;
    assert_int_equal(image_probe_file(f->in, &f->cfg, &info), 0);
    assert_string_equal(info.format, "jpeg");
    assert_int_equal(info.bands, 4);
    assert_false(info.has_alpha);
    const char *formats[] = {"jpeg", "png"};
    for (int i = 0; i < 2; i++) {
        char kv[64];
        snprintf(kv, sizeof kv, "width=20&format=%s", formats[i]);
        VipsImage *im = s_run_image(f, "resize", kv, formats[i]);
        assert_int_equal(im->Bands, 3);
        assert_int_equal(vips_image_guess_interpretation(im), VIPS_INTERPRETATION_sRGB);
        assert_true(s_pixel(im, 5, 5, 0) > 240);
        assert_true(s_pixel(im, 5, 5, 1) > 240);
        g_object_unref(im);
    }
}

/* ---- info ---- */

static void test_info_uniform_mean(void **state)
{
    s_fixture_t *f = *state;
    double v[3] = {10, 20, 30};
    s_save(s_uniform(64, 48, v, 3, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB), "png", f->in);
    json_t *r = s_run(f, "info", NULL, 60000);
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
    assert_int_equal(s_count_files(f->dir, "result."), 0);
    assert_int_equal(s_count_files(f->dir, ".result-"), 0);

    s_save(s_gradient(40, 30, false, true), "png", f->in);
    r = s_run(f, "info", NULL, 60000);
    assert_true(json_is_true(json_object_get(r, "has_alpha")));
    assert_int_equal(json_array_size(json_object_get(r, "mean")), 4);
    json_decref(r);
}

/* ---- time limit, failures ---- */

static void test_timeout_leaves_no_file(void **state)
{
    s_fixture_t *f = *state;
    f->cfg.max_pixels = 400000000;
    s_save(s_gradient(6000, 6000, false, false), "jpeg", f->in);
    gint64 start = g_get_monotonic_time();
    json_t *r = s_run(f, "resize", "width=16000&height=16000&fit=fill&format=png", 200);
    gint64 took_ms = (g_get_monotonic_time() - start) / 1000;
    assert_null(r);
    /* Killed while saving: a whole 256-megapixel PNG takes far longer. */
    if (took_ms > 3000)
        fail_msg("the timed-out job still ran %lld ms", (long long)took_ms);
    printf("timed out job stopped after %lld ms\n", (long long)took_ms);
    assert_int_equal(img_error_code(), IMG_E_TIMEOUT);
    assert_string_equal(img_error_message(), "the job took longer than 0.2 s");
    assert_int_equal(s_count_files(f->dir, ".result-"), 0);
    assert_int_equal(s_count_files(f->dir, "result."), 0);
}

static void test_input_changed_after_submit(void **state)
{
    s_fixture_t *f = *state;
    s_write_text(f->in, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\"/>");
    const op_def_t *op = op_registry_find("resize");
    json_t *params = json_pack("{s:i, s:s, s:s}", "width", 10, "fit", "inside", "format", "same");
    json_t *result = NULL;
    assert_int_equal(op_run(op, f->dir, params, &f->cfg, 60000, &result), -1);
    assert_null(result);
    assert_int_equal(img_error_code(), IMG_E_UNSUPPORTED_MEDIA_TYPE);
    unlink(f->in);
    assert_int_equal(op_run(op, f->dir, params, &f->cfg, 60000, &result), -1);
    assert_int_equal(img_error_code(), IMG_E_MISSING_FILE);
    json_decref(params);
    assert_int_equal(s_count_files(f->dir, ".result-"), 0);
}

static void test_result_path(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(op_result_path("/j", "jpeg", out, sizeof out), 0);
    assert_string_equal(out, "/j/result.jpg");
    assert_int_equal(op_result_path("/j", "avif", out, sizeof out), 0);
    assert_string_equal(out, "/j/result.avif");
    assert_int_equal(op_result_path("/j", "bogus", out, sizeof out), -1);
    assert_int_equal(op_result_path("/a-long-folder-name", "png", out, 8), -1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, s_setup, s_teardown)

int main(int argc, char **argv)
{
    (void)argc;
    if (VIPS_INIT(argv[0]))
        return 1;
    vips_cache_set_max(0);
    const struct CMUnitTest tests[] = {
        T(test_probe_formats_and_limits),
        T(test_probe_refuses_non_images),
        T(test_resize_fits_landscape),
        T(test_resize_fits_portrait),
        T(test_resize_exif_orientation),
        T(test_thin_rotated_input_cover_crop),
        T(test_thumbnail_crops),
        T(test_format_conversions),
        T(test_avif_output),
        T(test_alpha_flattened_on_white_for_jpeg),
        T(test_sixteen_bit_becomes_eight),
        T(test_grey_stays_grey),
        T(test_cmyk_jpeg_to_srgb),
        T(test_info_uniform_mean),
        T(test_timeout_leaves_no_file),
        T(test_input_changed_after_submit),
        T(test_result_path),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    vips_shutdown();
    return rc;
}
