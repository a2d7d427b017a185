/* test_ops_more — rotate, flip, crop, blur, sharpen, grayscale, convert and
 * pipeline, run as an engine runs them (one attempt through job_runner_run)
 * on real photos of Debian's mate-backgrounds; their plans (sizes, a crop
 * outside the image, every kind of bad pipeline step, the pipeline's output
 * format); a pipeline against the same steps run one job at a time; and
 * animated GIF and WebP inputs (frames, delays, the first frame only into a
 * still format, the frame and pixel limits). */
#include "test_support.h"

#include "image_probe.h"
#include "img_error.h"
#include "op_catalog.h"
#include "op_params.h"
#include "op_plan.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PHOTO_DUNE "/usr/share/backgrounds/mate/nature/Dune.jpg"
#define PHOTO_LADYBIRD "/usr/share/backgrounds/mate/nature/LadyBird.jpg"
#define PHOTO_MEADOW "/usr/share/backgrounds/mate/nature/GreenMeadow.jpg"
#define PHOTO_FLOWER "/usr/share/backgrounds/mate/nature/YellowFlower.jpg"
#define PHOTO_STORM "/usr/share/backgrounds/mate/nature/Storm.jpg"
#define PNG_PHOTO "/usr/share/backgrounds/mate/desktop/Ubuntu-Mate-Cold-no-logo.png"
#define PHOTO_ALPHA "/usr/share/backgrounds/mate/abstract/Arc-Colors-Transparent-Wallpaper.png"

/* ---- helpers ---- */

/* The job's input, read back (every frame of a GIF or a WebP). */
static VipsImage *s_input(const ts_folder_t *f)
{
    char path[PATH_MAX], all[PATH_MAX + 8];
    ts_input_path(f, "file", path, sizeof path);
    const char *loader = vips_foreign_find_load(path);
    assert_non_null(loader);
    gchar *lower = g_ascii_strdown(loader, -1); /* VipsForeignLoadWebpFile, ...Nsgif... */
    bool paged = strstr(lower, "gif") || strstr(lower, "webp");
    g_free(lower);
    snprintf(all, sizeof all, "%s%s", path, paged ? "[n=-1]" : "");
    return ts_load(all);
}

/* A result file of format, read back with every frame. */
static VipsImage *s_result(const ts_folder_t *f, const char *format)
{
    char path[PATH_MAX], all[PATH_MAX + 8];
    ts_result_path(f, format, path, sizeof path);
    bool paged = strcmp(format, "gif") == 0 || strcmp(format, "webp") == 0;
    snprintf(all, sizeof all, "%s%s", path, paged ? "[n=-1]" : "");
    return ts_load(all);
}

/* The 8-bit samples of image, interleaved (g_free). */
static uint8_t *s_bytes(VipsImage *image)
{
    size_t size = 0;
    assert_int_equal(image->BandFmt, VIPS_FORMAT_UCHAR);
    uint8_t *buf = vips_image_write_to_memory(image, &size);
    assert_non_null(buf);
    assert_int_equal(size, (size_t)image->Xsize * image->Ysize * image->Bands);
    return buf;
}

/* Where the pixel (x, y) of a w x h input lands in the output. */
typedef void (*s_map_fn)(int w, int h, int x, int y, int *ox, int *oy);

static void s_rot90(int w, int h, int x, int y, int *ox, int *oy)
{
    (void)w;
    *ox = h - 1 - y;
    *oy = x;
}

static void s_rot180(int w, int h, int x, int y, int *ox, int *oy)
{
    *ox = w - 1 - x;
    *oy = h - 1 - y;
}

static void s_rot270(int w, int h, int x, int y, int *ox, int *oy)
{
    (void)h;
    *ox = y;
    *oy = w - 1 - x;
}

static void s_mirror_x(int w, int h, int x, int y, int *ox, int *oy)
{
    (void)h;
    *ox = w - 1 - x;
    *oy = y;
}

static void s_mirror_y(int w, int h, int x, int y, int *ox, int *oy)
{
    (void)w;
    *ox = x;
    *oy = h - 1 - y;
}

/* Every sample of in is at its mapped place in out, exactly. */
static void s_expect_mapped(VipsImage *in, VipsImage *out, s_map_fn map)
{
    assert_int_equal(in->Bands, out->Bands);
    uint8_t *a = s_bytes(in), *b = s_bytes(out);
    int w = in->Xsize, h = in->Ysize, bands = in->Bands;
    size_t wrong = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int ox, oy;
            map(w, h, x, y, &ox, &oy);
            assert_true(ox >= 0 && ox < out->Xsize && oy >= 0 && oy < out->Ysize);
            for (int k = 0; k < bands; k++)
                wrong += a[((size_t)y * w + x) * bands + k] !=
                         b[((size_t)oy * out->Xsize + ox) * bands + k];
        }
    g_free(a);
    g_free(b);
    if (wrong)
        fail_msg("%zu samples are not where they belong", wrong);
}

/* The mean over all samples of |a - b|. */
static double s_mean_abs_diff(VipsImage *a, VipsImage *b)
{
    VipsImage *d = NULL, *abs = NULL;
    double mean = -1;
    assert_int_equal(a->Xsize, b->Xsize);
    assert_int_equal(a->Ysize, b->Ysize);
    assert_int_equal(a->Bands, b->Bands);
    assert_int_equal(vips_subtract(a, b, &d, NULL), 0);
    assert_int_equal(vips_abs(d, &abs, NULL), 0);
    assert_int_equal(vips_avg(abs, &mean, NULL), 0);
    g_object_unref(abs);
    g_object_unref(d);
    return mean;
}

/* High-frequency energy: the mean absolute Laplacian (4 p - its four
 * neighbours) of the colour bands, over the inner pixels. */
static double s_energy(VipsImage *image)
{
    uint8_t *p = s_bytes(image);
    int w = image->Xsize, h = image->Ysize, bands = image->Bands;
    int colour = bands == 2 || bands == 4 ? bands - 1 : bands;
    double sum = 0;
    long long n = 0;
    for (int y = 1; y + 1 < h; y++)
        for (int x = 1; x + 1 < w; x++)
            for (int k = 0; k < colour; k++) {
#define AT(dx, dy) ((int)p[((size_t)(y + (dy)) * w + (size_t)(x + (dx))) * bands + k])
                sum += abs(4 * AT(0, 0) - AT(-1, 0) - AT(1, 0) - AT(0, -1) - AT(0, 1));
#undef AT
                n++;
            }
    g_free(p);
    return sum / (double)n;
}

/* Frame k of an image of frames of page_height, in memory. */
static VipsImage *s_frame(VipsImage *image, int k, int page_height)
{
    VipsImage *frame = NULL;
    if (vips_extract_area(image, &frame, 0, k * page_height, image->Xsize, page_height, NULL))
        fail_msg("frame %d of %dx%d: %s", k, image->Xsize, image->Ysize, vips_error_buffer());
    VipsImage *mem = vips_image_copy_memory(frame);
    g_object_unref(frame);
    return mem;
}

/* The first three bands of image (drops the alpha GIF and WebP loaders add). */
static VipsImage *s_rgb(VipsImage *image)
{
    VipsImage *out = NULL;
    if (image->Bands == 3) {
        g_object_ref(image);
        return image;
    }
    assert_int_equal(vips_extract_band(image, &out, 0, "n", 3, NULL), 0);
    return out;
}

/* Runs op (kv), which must fail with code and a message containing
 * must_mention (NULL: any). */
static void s_expect_failure(ts_folder_t *f, const char *op, const char *kv, img_errcode_t code,
                             const char *must_mention)
{
    json_t *r = ts_run(f, op, kv, 60000);
    if (r)
        fail_msg("%s %s succeeded", op, kv);
    if (img_error_code() != code)
        fail_msg("%s %s: %s (%s), expected %s", op, kv, img_error_code_name(img_error_code()),
                 img_error_message(), img_error_code_name(code));
    if (must_mention && !strstr(img_error_message(), must_mention))
        fail_msg("%s %s: '%s' lacks '%s'", op, kv, img_error_message(), must_mention);
    assert_int_equal(ts_count_files(f->dir, ".result-"), 0);
}

/* ---- rotate, flip, crop ---- */

static void test_rotate_moves_every_pixel(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_photo(PHOTO_DUNE, 160, 100), "png");
    VipsImage *in = s_input(f);
    static const struct {
        const char *angle;
        s_map_fn map;
        bool swaps;
    } cases[] = {{"90", s_rot90, true}, {"180", s_rot180, false}, {"270", s_rot270, true}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char kv[64];
        snprintf(kv, sizeof kv, "angle=%s", cases[i].angle);
        VipsImage *out = ts_run_image(f, "rotate", kv, "png");
        assert_int_equal(out->Xsize, cases[i].swaps ? 100 : 160);
        assert_int_equal(out->Ysize, cases[i].swaps ? 160 : 100);
        /* the corners first, for a readable failure */
        int ox, oy;
        cases[i].map(160, 100, 0, 0, &ox, &oy);
        for (int b = 0; b < 3; b++)
            assert_int_equal(ts_pixel(out, ox, oy, b), ts_pixel(in, 0, 0, b));
        cases[i].map(160, 100, 159, 99, &ox, &oy);
        for (int b = 0; b < 3; b++)
            assert_int_equal(ts_pixel(out, ox, oy, b), ts_pixel(in, 159, 99, b));
        s_expect_mapped(in, out, cases[i].map);
        g_object_unref(out);
    }
    /* 90 clockwise: the input's bottom-left corner is the output's top-left */
    VipsImage *out = ts_run_image(f, "rotate", "angle=90", "png");
    for (int b = 0; b < 3; b++)
        assert_int_equal(ts_pixel(out, 0, 0, b), ts_pixel(in, 0, 99, b));
    g_object_unref(out);
    s_expect_failure(f, "rotate", NULL, IMG_E_INVALID_PARAMETER, "angle is required");
    s_expect_failure(f, "rotate", "angle=45", IMG_E_INVALID_PARAMETER, "90, 180, 270");
    g_object_unref(in);
}

/* The angle turns the image as shown (its EXIF orientation applied first):
 * stored 160x100 with orientation 6 it is shown 100x160, turned clockwise a
 * quarter; a further three quarters give back the stored pixels. */
static void test_rotate_turns_the_upright_image(void **state)
{
    ts_folder_t *f = *state;
    VipsImage *stored = ts_photo(PHOTO_STORM, 160, 100);
    g_object_ref(stored);
    ts_save_input(f, "file", ts_oriented(stored, 6), "tiff");
    VipsImage *out = ts_run_image(f, "rotate", "angle=270&format=png", "png");
    assert_int_equal(out->Xsize, 160);
    assert_int_equal(out->Ysize, 100);
    assert_true(ts_max_abs_diff(out, stored) == 0);
    g_object_unref(out);
    out = ts_run_image(f, "rotate", "angle=180&format=png", "png");
    assert_int_equal(out->Xsize, 100);
    assert_int_equal(out->Ysize, 160);
    g_object_unref(out);
    g_object_unref(stored);
}

/* Turning and mirroring top to bottom read the input's last line first: a
 * whole photo (read sequentially, larger than libvips' caches) is turned and
 * mirrored all the same, alone and after a step of a pipeline. */
static void test_full_size_photos_turned_and_mirrored(void **state)
{
    ts_folder_t *f = *state;
    const char *photos[] = {PHOTO_DUNE, PNG_PHOTO};
    for (int p = 0; p < 2; p++) {
        ts_copy_input(f, "file", photos[p]);
        VipsImage *in = ts_load(photos[p]);
        static const struct {
            const char *op, *kv;
            s_map_fn map;
        } cases[] = {{"rotate", "angle=90&format=png", s_rot90},
                     {"rotate", "angle=180&format=png", s_rot180},
                     {"rotate", "angle=270&format=png", s_rot270},
                     {"flip", "direction=vertical&format=png", s_mirror_y}};
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            VipsImage *out = ts_run_image(f, cases[i].op, cases[i].kv, "png");
            s_expect_mapped(in, out, cases[i].map);
            g_object_unref(out);
        }
        json_t *params = json_pack("{s:[{s:s, s:i}, {s:s, s:s}, {s:s, s:s}], s:s}", "steps", "op",
                                   "resize", "width", 1000, "op", "rotate", "angle", "270", "op",
                                   "flip", "direction", "vertical", "format", "png");
        json_t *r = ts_run_json(f, "pipeline", params, 60000);
        json_decref(params);
        if (!r)
            fail_msg("pipeline on %s: %s", photos[p], img_error_message());
        json_decref(r);
        VipsImage *out = s_result(f, "png");
        assert_int_equal(out->Xsize, (int)lrint(1000.0 * in->Ysize / in->Xsize));
        assert_int_equal(out->Ysize, 1000);
        g_object_unref(out);
        g_object_unref(in);
    }
}

static void test_flip_mirrors(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_photo(PHOTO_LADYBIRD, 150, 90), "png");
    VipsImage *in = s_input(f);
    VipsImage *out = ts_run_image(f, "flip", "direction=horizontal", "png");
    s_expect_mapped(in, out, s_mirror_x);
    g_object_unref(out);
    out = ts_run_image(f, "flip", NULL, "png"); /* horizontal by default */
    s_expect_mapped(in, out, s_mirror_x);
    assert_true(ts_max_abs_diff(in, out) > 50); /* a photo is not symmetric */
    g_object_unref(out);
    out = ts_run_image(f, "flip", "direction=vertical", "png");
    s_expect_mapped(in, out, s_mirror_y);
    g_object_unref(out);
    s_expect_failure(f, "flip", "direction=diagonal", IMG_E_INVALID_PARAMETER,
                     "horizontal, vertical");
    g_object_unref(in);
}

/* A crop is the same area as vips_extract_area reads, exactly (png), and
 * within the JPEG encoder's error for a jpeg result. */
static void test_crop_is_the_area(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_photo(PHOTO_MEADOW, 200, 150), "jpeg");
    VipsImage *in = s_input(f), *area = NULL;
    assert_int_equal(vips_extract_area(in, &area, 37, 21, 101, 77, NULL), 0);
    VipsImage *out =
        ts_run_image(f, "crop", "left=37&top=21&width=101&height=77&format=png", "png");
    assert_int_equal(out->Xsize, 101);
    assert_int_equal(out->Ysize, 77);
    assert_true(ts_max_abs_diff(out, area) == 0);
    g_object_unref(out);
    /* jpeg in, jpeg out (same): the area re-encoded at quality 95 */
    out = ts_run_image(f, "crop", "left=37&top=21&width=101&height=77&quality=95", "jpeg");
    double mad = s_mean_abs_diff(out, area);
    assert_true(mad > 0 && mad < 3);
    g_object_unref(out);
    g_object_unref(area);
    /* left and top default to 0; a box touching the far edges is inside */
    assert_int_equal(vips_extract_area(in, &area, 0, 0, 50, 40, NULL), 0);
    out = ts_run_image(f, "crop", "width=50&height=40&format=png", "png");
    assert_true(ts_max_abs_diff(out, area) == 0);
    g_object_unref(out);
    g_object_unref(area);
    assert_int_equal(vips_extract_area(in, &area, 150, 110, 50, 40, NULL), 0);
    out = ts_run_image(f, "crop", "left=150&top=110&width=50&height=40&format=png", "png");
    assert_true(ts_max_abs_diff(out, area) == 0);
    g_object_unref(out);
    g_object_unref(area);
    g_object_unref(in);
}

/* The engine plans again: a box outside the image fails before any pixel
 * is read, naming the box and the image. */
static void test_crop_outside_refused(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_photo(PHOTO_MEADOW, 200, 150), "png");
    s_expect_failure(f, "crop", "left=150&top=21&width=51&height=77", IMG_E_PARAMETER_UNFIT,
                     "the box 51x77 at (150, 21) is not inside the 200x150 image");
    s_expect_failure(f, "crop", "top=1&width=200&height=150", IMG_E_PARAMETER_UNFIT,
                     "the box 200x150 at (0, 1)");
    s_expect_failure(f, "crop", "left=9000000&width=10000000&height=1", IMG_E_PARAMETER_UNFIT,
                     "the box 10000000x1 at (9000000, 0)");
    s_expect_failure(f, "crop", "width=10", IMG_E_INVALID_PARAMETER, "height is required");
    s_expect_failure(f, "crop", "width=0&height=5", IMG_E_INVALID_PARAMETER, "width");
}

/* ---- blur, sharpen ---- */

static void test_blur_and_sharpen_change_the_fine_detail(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_photo(PHOTO_FLOWER, 240, 160), "png");
    VipsImage *in = s_input(f);
    double e_in = s_energy(in);
    VipsImage *soft = ts_run_image(f, "blur", "sigma=1", "png");
    VipsImage *softer = ts_run_image(f, "blur", "sigma=4", "png");
    VipsImage *sharp = ts_run_image(f, "sharpen", NULL, "png"); /* sigma 1 */
    VipsImage *sharper = ts_run_image(f, "sharpen", "sigma=3", "png");
    double e_soft = s_energy(soft), e_softer = s_energy(softer);
    double e_sharp = s_energy(sharp), e_sharper = s_energy(sharper);
    print_message("energy: input %.2f, blur 1: %.2f, blur 4: %.2f, sharpen 1: %.2f, "
                  "sharpen 3: %.2f\n",
                  e_in, e_soft, e_softer, e_sharp, e_sharper);
    assert_true(e_soft < 0.7 * e_in);
    assert_true(e_softer < 0.5 * e_soft);
    assert_true(e_sharp > 1.4 * e_in);
    assert_true(e_sharper > 1.4 * e_in);
    /* neither moves the picture; a blur keeps the colours (sharpening's
     * overshoot on saturated colours clips, and may move a band's mean) */
    VipsImage *all[] = {soft, softer, sharp, sharper};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(all[i]->Xsize, 240);
        assert_int_equal(all[i]->Ysize, 160);
        for (int b = 0; i < 2 && b < 3; b++)
            assert_true(fabs(ts_band_mean(all[i], b) - ts_band_mean(in, b)) < 1);
        g_object_unref(all[i]);
    }
    g_object_unref(in);
    s_expect_failure(f, "blur", NULL, IMG_E_INVALID_PARAMETER, "sigma is required");
    s_expect_failure(f, "blur", "sigma=0.05", IMG_E_INVALID_PARAMETER, "0.1 to 100");
    s_expect_failure(f, "sharpen", "sigma=11", IMG_E_INVALID_PARAMETER, "0.1 to 10");
}

/* The darkest colour sample among the pixels of an RGBA image whose alpha
 * is at least min_alpha. */
static int s_darkest_visible(VipsImage *image, int min_alpha)
{
    assert_int_equal(image->Bands, 4);
    uint8_t *p = s_bytes(image);
    int darkest = 255;
    size_t n = (size_t)image->Xsize * image->Ysize;
    for (size_t i = 0; i < n; i++)
        if (p[i * 4 + 3] >= min_alpha)
            for (int k = 0; k < 3; k++)
                darkest = p[i * 4 + k] < darkest ? p[i * 4 + k] : darkest;
    g_free(p);
    return darkest;
}

/* White arcs, partly transparent, over fully transparent black pixels:
 * blurred, the arcs' edges fade out but stay white. (Blurring the colour
 * bands and the alpha apart would mix the hidden black into every pixel
 * near a transparent one: grey fringes.) */
static void test_blur_keeps_the_colour_of_transparent_edges(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_photo(PHOTO_ALPHA, 428, 240), "png");
    VipsImage *in = s_input(f);
    assert_true(s_darkest_visible(in, 8) >= 250);
    double alpha_in = ts_band_mean(in, 3);
    VipsImage *out = ts_run_image(f, "blur", "sigma=4", "png");
    assert_int_equal(out->Bands, 4);
    int darkest = s_darkest_visible(out, 8);
    print_message("darkest visible colour after the blur: %d\n", darkest);
    assert_true(darkest >= 250);
    /* the alpha is blurred as before: the arcs spread, the mean stays */
    assert_true(fabs(ts_band_mean(out, 3) - alpha_in) < 1);
    VipsImage *a_in = NULL, *a_out = NULL;
    assert_int_equal(vips_extract_band(in, &a_in, 3, NULL), 0);
    assert_int_equal(vips_extract_band(out, &a_out, 3, NULL), 0);
    assert_true(s_energy(a_out) < 0.7 * s_energy(a_in));
    g_object_unref(a_in);
    g_object_unref(a_out);
    g_object_unref(out);
    g_object_unref(in);
}

/* A flat image with alpha blurred is the same image: nothing is lost in
 * the premultiplied blur's rounding back to 8 bits. (Without alpha the blur
 * is libvips' own integer convolution, whose vector path may move a flat
 * uchar image by a level or two: not ours to test.) */
static void test_blur_of_a_flat_image_with_alpha_changes_nothing(void **state)
{
    ts_folder_t *f = *state;
    const double rgba[4] = {200, 121, 37, 153};
    ts_save_input(f, "file",
                  ts_uniform(64, 48, rgba, 4, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB), "png");
    VipsImage *in = s_input(f);
    VipsImage *out = ts_run_image(f, "blur", "sigma=3", "png");
    assert_int_equal(out->Bands, 4);
    assert_true(ts_max_abs_diff(out, in) == 0);
    g_object_unref(out);
    g_object_unref(in);
}

/* ---- grayscale ---- */

static void test_grayscale_bands(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_photo(PHOTO_LADYBIRD, 120, 80), "jpeg");
    VipsImage *in = s_input(f);
    VipsImage *grey = ts_run_image(f, "grayscale", NULL, "jpeg");
    assert_int_equal(grey->Bands, 1);
    assert_int_equal(grey->Xsize, 120);
    /* a red-green-blue photo: its grey is between the darkest and the
     * brightest of its band means */
    double lo = fmin(ts_band_mean(in, 0), fmin(ts_band_mean(in, 1), ts_band_mean(in, 2)));
    double hi = fmax(ts_band_mean(in, 0), fmax(ts_band_mean(in, 1), ts_band_mean(in, 2)));
    double mean = ts_band_mean(grey, 0);
    assert_true(mean > lo - 2 && mean < hi + 2);
    g_object_unref(grey);
    grey = ts_run_image(f, "grayscale", "format=png", "png");
    assert_int_equal(grey->Bands, 1);
    g_object_unref(grey);
    /* WebP has no grey: three equal bands */
    grey = ts_run_image(f, "grayscale", "format=webp&quality=100", "webp");
    assert_int_equal(grey->Bands, 3);
    VipsImage *r = NULL, *g = NULL, *b = NULL;
    assert_int_equal(vips_extract_band(grey, &r, 0, NULL), 0);
    assert_int_equal(vips_extract_band(grey, &g, 1, NULL), 0);
    assert_int_equal(vips_extract_band(grey, &b, 2, NULL), 0);
    assert_true(ts_max_abs_diff(r, g) <= 1 && ts_max_abs_diff(g, b) <= 1);
    g_object_unref(r);
    g_object_unref(g);
    g_object_unref(b);
    g_object_unref(grey);
    g_object_unref(in);

    /* with alpha: grey and the same alpha */
    ts_save_input(f, "file", ts_photo(PHOTO_ALPHA, 214, 120), "png");
    in = s_input(f);
    assert_int_equal(in->Bands, 4);
    grey = ts_run_image(f, "grayscale", NULL, "png");
    assert_int_equal(grey->Bands, 2);
    VipsImage *a_in = NULL, *a_out = NULL;
    assert_int_equal(vips_extract_band(in, &a_in, 3, NULL), 0);
    assert_int_equal(vips_extract_band(grey, &a_out, 1, NULL), 0);
    assert_true(ts_max_abs_diff(a_in, a_out) == 0);
    g_object_unref(a_in);
    g_object_unref(a_out);
    g_object_unref(grey);
    g_object_unref(in);
}

/* ---- convert ---- */

/* The first bytes of the result file of format. */
static void s_expect_magic(const ts_folder_t *f, const char *format, const char *magic, size_t at,
                           size_t len)
{
    char path[PATH_MAX], buf[16] = {0};
    ts_result_path(f, format, path, sizeof path);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(buf, 1, sizeof buf, fp), sizeof buf);
    fclose(fp);
    if (memcmp(buf + at, magic, len) != 0)
        fail_msg("the %s result does not start as %s files do", format, format);
}

static void test_convert_keeps_the_pixels(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", ts_photo(PHOTO_DUNE, 180, 120), "png");
    VipsImage *in = s_input(f);
    /* lossless: exactly */
    const char *exact[] = {"png", "tiff"};
    for (int i = 0; i < 2; i++) {
        char kv[32];
        snprintf(kv, sizeof kv, "format=%s", exact[i]);
        VipsImage *out = ts_run_image(f, "convert", kv, exact[i]);
        assert_true(ts_max_abs_diff(out, in) == 0);
        g_object_unref(out);
    }
    s_expect_magic(f, "tiff", "II*\0", 0, 4);
    /* lossy: close (a mean error of a few levels at the default qualities) */
    const char *lossy[] = {"jpeg", "webp", "avif", "gif"};
    const char *magic[] = {"\xff\xd8\xff", "WEBP", "ftypavif", "GIF8"};
    const size_t at[] = {0, 8, 4, 0};
    for (int i = 0; i < 4; i++) {
        char kv[32];
        snprintf(kv, sizeof kv, "format=%s", lossy[i]);
        VipsImage *out = ts_run_image(f, "convert", kv, lossy[i]);
        VipsImage *rgb = s_rgb(out);
        double mad = s_mean_abs_diff(rgb, in);
        print_message("convert png to %s: mean abs diff %.2f\n", lossy[i], mad);
        assert_true(mad > 0 && mad < 12);
        g_object_unref(rgb);
        g_object_unref(out);
        s_expect_magic(f, lossy[i], magic[i], at[i], strlen(magic[i]));
    }
    /* quality goes to the encoder: 100 is closer than 20 */
    VipsImage *q100 = ts_run_image(f, "convert", "format=jpeg&quality=100", "jpeg");
    VipsImage *q20 = ts_run_image(f, "convert", "format=jpeg&quality=20", "jpeg");
    assert_true(s_mean_abs_diff(q100, in) < s_mean_abs_diff(q20, in));
    g_object_unref(q100);
    g_object_unref(q20);
    g_object_unref(in);

    /* jpeg in, png out: the decoded jpeg, exactly */
    ts_save_input(f, "file", ts_photo(PHOTO_DUNE, 180, 120), "jpeg");
    in = s_input(f);
    VipsImage *out = ts_run_image(f, "convert", "format=png", "png");
    assert_true(ts_max_abs_diff(out, in) == 0);
    g_object_unref(out);
    g_object_unref(in);
    s_expect_failure(f, "convert", NULL, IMG_E_INVALID_PARAMETER, "format is required");
    s_expect_failure(f, "convert", "format=same", IMG_E_INVALID_PARAMETER, "format");
    s_expect_failure(f, "convert", "format=bmp", IMG_E_INVALID_PARAMETER, "format");
}

/* ---- plans ---- */

static img_config_t s_cfg;

static image_info_t s_info(const char *format, int w, int h, int pages, int orientation)
{
    image_info_t info = {.width = w, .height = h, .pages = pages, .orientation = orientation};
    snprintf(info.format, sizeof info.format, "%s", format);
    return info;
}

/* Validates raw (JSON text) for op and plans it on in: 0 or -1; the
 * validated parameters go to *params if not NULL (caller owns). */
static int s_plan(const char *op_name, const char *raw_text, const image_info_t *in,
                  op_plan_t *plan, json_t **params)
{
    const op_def_t *op = op_catalog_find(op_name);
    assert_non_null(op);
    json_error_t jerr;
    json_t *raw = json_loads(raw_text, 0, &jerr);
    if (!raw)
        fail_msg("bad JSON in the test: %s", jerr.text);
    img_error_clear();
    json_t *valid = op_params_validate(op, raw, &s_cfg);
    json_decref(raw);
    int rc = valid ? op_plan_job(op, valid, in, &s_cfg, plan) : -1;
    if (params && rc == 0)
        *params = valid;
    else
        json_decref(valid);
    return rc;
}

static void s_expect_planned(const char *op, const char *raw, const image_info_t *in, int w, int h,
                             int pages, const char *format)
{
    op_plan_t plan;
    if (s_plan(op, raw, in, &plan, NULL) != 0)
        fail_msg("%s %s refused: %s", op, raw, img_error_message());
    if (plan.out.width != w || plan.out.height != h || plan.out.pages != pages)
        fail_msg("%s %s: %dx%d x%d, expected %dx%d x%d", op, raw, plan.out.width, plan.out.height,
                 plan.out.pages, w, h, pages);
    assert_non_null(plan.format);
    if (strcmp(plan.format->name, format) != 0)
        fail_msg("%s %s: format %s, expected %s", op, raw, plan.format->name, format);
}

/* Refused with code and exactly the message `message`. */
static void s_expect_refused(const char *op, const char *raw, const image_info_t *in,
                             img_errcode_t code, const char *message)
{
    op_plan_t plan;
    if (s_plan(op, raw, in, &plan, NULL) == 0)
        fail_msg("%s %s planned", op, raw);
    if (img_error_code() != code || strcmp(img_error_message(), message) != 0)
        fail_msg("%s %s: %s '%s', expected %s '%s'", op, raw, img_error_code_name(img_error_code()),
                 img_error_message(), img_error_code_name(code), message);
}

static void test_plan_sizes(void **state)
{
    (void)state;
    config_defaults(&s_cfg);
    image_info_t in = s_info("jpeg", 400, 300, 1, 1);
    s_expect_planned("rotate", "{\"angle\": \"90\"}", &in, 300, 400, 1, "jpeg");
    s_expect_planned("rotate", "{\"angle\": 270}", &in, 300, 400, 1, "jpeg");
    s_expect_planned("rotate", "{\"angle\": \"180\"}", &in, 400, 300, 1, "jpeg");
    /* on the size as shown: orientation 6 is shown 300x400 */
    image_info_t turned = s_info("jpeg", 400, 300, 1, 6);
    s_expect_planned("rotate", "{\"angle\": \"90\"}", &turned, 400, 300, 1, "jpeg");
    s_expect_planned("rotate", "{\"angle\": \"180\"}", &turned, 300, 400, 1, "jpeg");
    s_expect_planned("crop", "{\"width\": 300, \"height\": 400}", &turned, 300, 400, 1, "jpeg");
    s_expect_refused("crop", "{\"width\": 400, \"height\": 300}", &turned, IMG_E_PARAMETER_UNFIT,
                     "the box 400x300 at (0, 0) is not inside the 300x400 image");
    s_expect_planned("flip", "{}", &in, 400, 300, 1, "jpeg");
    s_expect_planned("blur", "{\"sigma\": 3}", &in, 400, 300, 1, "jpeg");
    s_expect_planned("sharpen", "{\"format\": \"png\"}", &in, 400, 300, 1, "png");
    s_expect_planned("grayscale", "{}", &in, 400, 300, 1, "jpeg");
    s_expect_planned("convert", "{\"format\": \"webp\"}", &in, 400, 300, 1, "webp");
    s_expect_planned("crop", "{\"left\": 10, \"top\": 20, \"width\": 390, \"height\": 280}", &in,
                     390, 280, 1, "jpeg");
    s_expect_refused("crop", "{\"left\": 11, \"top\": 20, \"width\": 390, \"height\": 280}", &in,
                     IMG_E_PARAMETER_UNFIT,
                     "the box 390x280 at (11, 20) is not inside the 400x300 image");
    s_expect_refused("crop", "{\"left\": 0, \"top\": 21, \"width\": 390, \"height\": 280}", &in,
                     IMG_E_PARAMETER_UNFIT,
                     "the box 390x280 at (0, 21) is not inside the 400x300 image");
}

/* Every kind of bad step is refused at submit, the message naming the
 * step's index, its operation when it has one, and what is wrong. */
static void test_pipeline_bad_steps(void **state)
{
    (void)state;
    config_defaults(&s_cfg);
    s_cfg.max_output_dim = 1000;
    image_info_t in = s_info("jpeg", 800, 500, 1, 1);
    static const struct {
        const char *steps;
        img_errcode_t code;
        const char *message;
    } cases[] = {
        {"[{\"op\": \"resize\", \"width\": 100}, {\"op\": \"rotato\", \"angle\": 90}]",
         IMG_E_INVALID_PARAMETER,
         "steps[1]: op must name an operation that takes one image and gives one"},
        {"[{\"angle\": 90}]", IMG_E_INVALID_PARAMETER,
         "steps[0]: op must name an operation that takes one image and gives one"},
        {"[{\"op\": 7}]", IMG_E_INVALID_PARAMETER,
         "steps[0]: op must name an operation that takes one image and gives one"},
        {"[{\"op\": \"flip\"}, {\"op\": \"diff\"}]", IMG_E_INVALID_PARAMETER,
         "steps[1]: op must name an operation that takes one image and gives one"},
        {"[{\"op\": \"info\"}]", IMG_E_INVALID_PARAMETER,
         "steps[0]: op must name an operation that takes one image and gives one"},
        {"[{\"op\": \"flip\"}, {\"op\": \"flip\"}, {\"op\": \"pipeline\", \"steps\": "
         "[{\"op\": \"flip\"}]}]",
         IMG_E_INVALID_PARAMETER,
         "steps[2]: op must name an operation that takes one image and gives one"},
        {"[{\"op\": \"rotate\", \"angle\": 90, \"sigma\": 2}]", IMG_E_INVALID_PARAMETER,
         "steps[0] (rotate): unknown parameter 'sigma' (rotate accepts angle, format, quality)"},
        {"[{\"op\": \"rotate\"}]", IMG_E_INVALID_PARAMETER, "steps[0] (rotate): angle is required"},
        {"[{\"op\": \"flip\"}, {\"op\": \"blur\", \"sigma\": 101}]", IMG_E_INVALID_PARAMETER,
         "steps[1] (blur): sigma must be a number from 0.1 to 100"},
        {"[{\"op\": \"sharpen\", \"sigma\": \"x\"}]", IMG_E_INVALID_PARAMETER,
         "steps[0] (sharpen): sigma must be a number from 0.1 to 10"},
        {"[{\"op\": \"rotate\", \"angle\": 45}]", IMG_E_INVALID_PARAMETER,
         "steps[0] (rotate): angle must be one of 90, 180, 270"},
        {"[{\"op\": \"resize\", \"width\": 1001}]", IMG_E_INVALID_PARAMETER,
         "steps[0] (resize): width must be an integer from 1 to 1000"},
        {"[{\"op\": \"convert\", \"format\": \"bmp\"}]", IMG_E_INVALID_PARAMETER,
         "steps[0] (convert): format must be one of jpeg, png, webp, avif, tiff, gif"},
        /* the crop fits the input (800x500), not what the step before made
         * of it (200x125) */
        {"[{\"op\": \"resize\", \"width\": 200}, {\"op\": \"crop\", \"left\": 100, \"width\": "
         "150, \"height\": 100}]",
         IMG_E_PARAMETER_UNFIT,
         "steps[1] (crop): the box 150x100 at (100, 0) is not inside the 200x125 image"},
        /* after a quarter turn the sides are swapped */
        {"[{\"op\": \"rotate\", \"angle\": 90}, {\"op\": \"crop\", \"width\": 800, \"height\": "
         "500}]",
         IMG_E_PARAMETER_UNFIT,
         "steps[1] (crop): the box 800x500 at (0, 0) is not inside the 500x800 image"},
        /* a result too large: the side computed from the asked one */
        {"[{\"op\": \"crop\", \"width\": 800, \"height\": 50}, {\"op\": \"resize\", \"height\": "
         "100}]",
         IMG_E_INVALID_PARAMETER,
         "steps[1] (resize): its result would be 1600x100 pixels; the largest side allowed is "
         "1000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char raw[512];
        json_t *text = json_string(cases[i].steps); /* the steps as a form field's text */
        char *quoted = json_dumps(text, JSON_ENCODE_ANY);
        snprintf(raw, sizeof raw, "{\"steps\": %s}", quoted);
        free(quoted);
        json_decref(text);
        s_expect_refused("pipeline", raw, &in, cases[i].code, cases[i].message);
    }
    /* and the pixel limit of a step's result */
    s_cfg.max_output_dim = 16384;
    s_cfg.max_pixels = 500000;
    s_expect_refused(
        "pipeline", "{\"steps\": [{\"op\": \"resize\", \"width\": 1000}, {\"op\": \"flip\"}]}", &in,
        IMG_E_INVALID_PARAMETER,
        "steps[0] (resize): its result would be 1000x625 pixels x 1 frame(s) = 625000 pixels, "
        "more than the 500000 allowed");
    /* the steps themselves: 1 to 10 objects */
    s_expect_refused("pipeline", "{\"steps\": []}", &in, IMG_E_INVALID_PARAMETER,
                     "steps must be a JSON array of 1 to 10 objects");
    s_expect_refused("pipeline", "{}", &in, IMG_E_INVALID_PARAMETER, "steps is required");
    char eleven[512] = "{\"steps\": [";
    for (int i = 0; i < 11; i++)
        strcat(eleven, i ? ", {\"op\": \"flip\"}" : "{\"op\": \"flip\"}");
    strcat(eleven, "]}");
    s_expect_refused("pipeline", eleven, &in, IMG_E_INVALID_PARAMETER,
                     "steps must be a JSON array of 1 to 10 objects");
    eleven[strlen(eleven) - strlen(", {\"op\": \"flip\"}]}")] = '\0';
    strcat(eleven, "]}");
    s_expect_planned("pipeline", eleven, &in, 800, 500, 1, "jpeg"); /* ten */
}

/* The output format: the pipeline's format, else the last format a step
 * gives explicitly, else the input's; quality likewise. */
static void test_pipeline_output_format(void **state)
{
    (void)state;
    config_defaults(&s_cfg);
    image_info_t in = s_info("png", 400, 300, 1, 1);
    op_plan_t plan;
    json_t *params = NULL;
    s_expect_planned("pipeline", "{\"steps\": [{\"op\": \"flip\"}]}", &in, 400, 300, 1, "png");
    s_expect_planned("pipeline", "{\"steps\": [{\"op\": \"convert\", \"format\": \"jpeg\"}]}", &in,
                     400, 300, 1, "jpeg");
    /* the last explicit one wins; a step's default "same" is not explicit */
    s_expect_planned("pipeline",
                     "{\"steps\": [{\"op\": \"blur\", \"sigma\": 1, \"format\": \"webp\"}, "
                     "{\"op\": \"convert\", \"format\": \"gif\"}, {\"op\": \"flip\"}]}",
                     &in, 400, 300, 1, "gif");
    s_expect_planned("pipeline",
                     "{\"steps\": [{\"op\": \"convert\", \"format\": \"gif\"}, "
                     "{\"op\": \"flip\", \"format\": \"same\"}]}",
                     &in, 400, 300, 1, "png");
    /* the pipeline's own format over every step's */
    s_expect_planned("pipeline",
                     "{\"format\": \"tiff\", \"steps\": [{\"op\": \"convert\", \"format\": "
                     "\"gif\"}]}",
                     &in, 400, 300, 1, "tiff");
    s_expect_planned("pipeline",
                     "{\"format\": \"same\", \"steps\": [{\"op\": \"convert\", \"format\": "
                     "\"gif\"}]}",
                     &in, 400, 300, 1, "png");
    /* quality: the pipeline's, else the last step's that gives one */
    assert_int_equal(s_plan("pipeline",
                            "{\"steps\": [{\"op\": \"convert\", \"format\": \"jpeg\", "
                            "\"quality\": 40}, {\"op\": \"flip\"}]}",
                            &in, &plan, &params),
                     0);
    assert_int_equal(plan.quality, 40);
    /* the plan stores the steps validated, defaults filled in */
    json_t *steps = json_object_get(params, "steps");
    assert_true(json_is_array(steps));
    assert_string_equal(op_param_str(json_array_get(steps, 1), "op", ""), "flip");
    assert_string_equal(op_param_str(json_array_get(steps, 1), "direction", ""), "horizontal");
    json_decref(params);
    assert_int_equal(s_plan("pipeline",
                            "{\"quality\": 90, \"steps\": [{\"op\": \"convert\", \"format\": "
                            "\"jpeg\", \"quality\": 40}]}",
                            &in, &plan, NULL),
                     0);
    assert_int_equal(plan.quality, 90);
    assert_int_equal(s_plan("pipeline", "{\"steps\": [{\"op\": \"flip\"}]}", &in, &plan, NULL), 0);
    assert_int_equal(plan.quality, 0);
    /* the sizes chain: resize, quarter turn, crop */
    s_expect_planned("pipeline",
                     "{\"steps\": [{\"op\": \"resize\", \"width\": 200}, {\"op\": \"rotate\", "
                     "\"angle\": 90}, {\"op\": \"crop\", \"top\": 50, \"width\": 150, \"height\": "
                     "150}]}",
                     &in, 150, 150, 1, "png");
}

/* The steps run frame by frame: a step's result is bounded per frame, and
 * the whole result by the frames kept, as for the same operation alone. */
static void test_pipeline_limits_of_an_animation(void **state)
{
    (void)state;
    config_defaults(&s_cfg);
    image_info_t gif = s_info("gif", 96, 64, 4, 1);
    s_cfg.max_pixels = 96 * 64 * 4; /* 24576: 192x128 is one frame of it */
    s_expect_planned("resize", "{\"width\": 192, \"format\": \"png\"}", &gif, 192, 128, 1, "png");
    s_expect_planned("pipeline",
                     "{\"format\": \"png\", \"steps\": [{\"op\": \"resize\", \"width\": "
                     "192}, {\"op\": \"flip\"}]}",
                     &gif, 192, 128, 1, "png");
    s_expect_refused("resize", "{\"width\": 192}", &gif, IMG_E_INVALID_PARAMETER,
                     "the result would be 192x128 pixels x 4 frame(s) = 98304 pixels, more than "
                     "the 24576 allowed");
    s_expect_refused("pipeline", "{\"steps\": [{\"op\": \"resize\", \"width\": 192}]}", &gif,
                     IMG_E_INVALID_PARAMETER,
                     "the result would be 192x128 pixels x 4 frame(s) = 98304 pixels, more than "
                     "the 24576 allowed");
    s_expect_planned("pipeline", "{\"steps\": [{\"op\": \"resize\", \"width\": 48}]}", &gif, 48, 32,
                     4, "gif");
    /* one frame too large: refused at its step */
    s_expect_refused("pipeline",
                     "{\"format\": \"png\", \"steps\": [{\"op\": \"resize\", \"width\": "
                     "193}, {\"op\": \"crop\", \"width\": 10, \"height\": 10}]}",
                     &gif, IMG_E_INVALID_PARAMETER,
                     "steps[0] (resize): its result would be 193x129 pixels x 1 frame(s) = 24897 "
                     "pixels, more than the 24576 allowed");
}

/* ---- pipeline against separate jobs ---- */

/* The steps of the equivalence test, as one pipeline and as jobs. */
static const char *const s_chain_ops[] = {"resize", "rotate", "crop", "sharpen", "convert"};
static const char *const s_chain_kv[] = {"width=320", "angle=90",
                                         "left=20&top=30&width=150&height=250", "sigma=1.5", ""};

static json_t *s_chain_steps(const char *final_format)
{
    return json_pack("[{s:s, s:i}, {s:s, s:s}, {s:s, s:i, s:i, s:i, s:i}, {s:s, s:f}, {s:s, s:s}]",
                     "op", "resize", "width", 320, "op", "rotate", "angle", "90", "op", "crop",
                     "left", 20, "top", 30, "width", 150, "height", 250, "op", "sharpen", "sigma",
                     1.5, "op", "convert", "format", final_format);
}

/* The chain run one job at a time, each result (png) the next one's input;
 * the last one writes final_format. The result, read back. */
static VipsImage *s_chain_as_jobs(ts_folder_t *f, const char *input, const char *final_format)
{
    char result[PATH_MAX];
    ts_copy_input(f, "file", input);
    for (int i = 0; i < 5; i++) {
        bool last = i == 4;
        char kv[128];
        snprintf(kv, sizeof kv, "%s%sformat=%s", s_chain_kv[i], s_chain_kv[i][0] ? "&" : "",
                 last ? final_format : "png");
        VipsImage *out = ts_run_image(f, s_chain_ops[i], kv, last ? final_format : "png");
        g_object_unref(out);
        ts_result_path(f, last ? final_format : "png", result, sizeof result);
        if (!last)
            ts_copy_input(f, "file", result);
    }
    return ts_load(result);
}

static VipsImage *s_chain_as_pipeline(ts_folder_t *f, const char *input, const char *final_format)
{
    ts_copy_input(f, "file", input);
    json_t *params = json_pack("{s:o}", "steps", s_chain_steps(final_format));
    json_t *r = ts_run_json(f, "pipeline", params, 60000);
    json_decref(params);
    if (!r)
        fail_msg("pipeline: %s", img_error_message());
    assert_string_equal(json_string_value(json_object_get(r, "format")), final_format);
    json_t *expected =
        json_pack("[{s:s, s:i, s:i}, {s:s, s:i, s:i}, {s:s, s:i, s:i}, {s:s, s:i, s:i}, "
                  "{s:s, s:i, s:i}]",
                  "op", "resize", "width", 320, "height", 200, "op", "rotate", "width", 200,
                  "height", 320, "op", "crop", "width", 150, "height", 250, "op", "sharpen",
                  "width", 150, "height", 250, "op", "convert", "width", 150, "height", 250);
    assert_true(json_equal(json_object_get(r, "steps"), expected));
    json_decref(expected);
    json_decref(r);
    char result[PATH_MAX];
    ts_result_path(f, final_format, result, sizeof result);
    return ts_load(result);
}

/* A pipeline of resize, rotate, crop, sharpen, convert gives what the same
 * steps give run one job at a time with PNG in between: every step works
 * on 8-bit images either way (resize, rotate and crop give 8-bit images, and
 * sharpen returns to 8-bit sRGB itself), so no rounding differs and the
 * pixels are equal exactly, and a final jpeg is the same encode of them. */
static void test_pipeline_equals_separate_jobs(void **state)
{
    ts_folder_t *f = *state;
    char source[PATH_MAX];
    snprintf(source, sizeof source, "%s/source.jpg", f->root);
    ts_save(ts_photo(PHOTO_DUNE, 640, 400), "jpeg", source);
    const char *formats[] = {"png", "jpeg"};
    for (int i = 0; i < 2; i++) {
        VipsImage *jobs = s_chain_as_jobs(f, source, formats[i]);
        VipsImage *piped = s_chain_as_pipeline(f, source, formats[i]);
        assert_int_equal(piped->Xsize, 150);
        assert_int_equal(piped->Ysize, 250);
        double diff = ts_max_abs_diff(jobs, piped);
        print_message("pipeline against jobs, %s: max abs diff %g\n", formats[i], diff);
        assert_true(diff == 0);
        g_object_unref(jobs);
        g_object_unref(piped);
    }
}

/* ---- animations ---- */

#define ANIM_W 96
#define ANIM_H 64
#define ANIM_FRAMES 4
static const int s_delays[ANIM_FRAMES] = {100, 250, 400, 80}; /* ms, whole centiseconds */

/* Four frames, each a different photo, delays s_delays, in memory. */
static VipsImage *s_animation(void)
{
    const char *photos[ANIM_FRAMES] = {PHOTO_DUNE, PHOTO_LADYBIRD, PHOTO_MEADOW, PHOTO_FLOWER};
    VipsImage *frames[ANIM_FRAMES], *strip = NULL;
    for (int i = 0; i < ANIM_FRAMES; i++)
        frames[i] = ts_photo(photos[i], ANIM_W, ANIM_H);
    assert_int_equal(vips_arrayjoin(frames, &strip, ANIM_FRAMES, "across", 1, NULL), 0);
    for (int i = 0; i < ANIM_FRAMES; i++)
        g_object_unref(frames[i]);
    VipsImage *paged = ts_paged(strip, ANIM_H);
    vips_image_set_array_int(paged, "delay", s_delays, ANIM_FRAMES);
    vips_image_set_int(paged, "loop", 0);
    return paged;
}

/* The image has n frames of w x h and the animation's delays. */
static void s_expect_frames(VipsImage *image, int w, int h, int n)
{
    assert_int_equal(image->Xsize, w);
    assert_int_equal(vips_image_get_page_height(image), h);
    assert_int_equal(image->Ysize, h * n);
    assert_int_equal(vips_image_get_n_pages(image), n);
    int *delays = NULL, count = 0;
    assert_int_equal(vips_image_get_array_int(image, "delay", &delays, &count), 0);
    assert_int_equal(count, n);
    for (int i = 0; i < n; i++)
        if (delays[i] != s_delays[i])
            fail_msg("frame %d: delay %d ms, expected %d", i, delays[i], s_delays[i]);
}

/* Each frame of out is close to the same frame of expected (both
 * w x page_height frames, 3 bands compared), closer than to any other
 * frame: every frame is there, in its place. */
static void s_expect_same_frames(VipsImage *out, VipsImage *expected, int page_height,
                                 double tolerance)
{
    VipsImage *a = s_rgb(out), *b = s_rgb(expected);
    for (int i = 0; i < ANIM_FRAMES; i++) {
        VipsImage *got = s_frame(a, i, page_height);
        for (int j = 0; j < ANIM_FRAMES; j++) {
            VipsImage *want = s_frame(b, j, page_height);
            double mad = s_mean_abs_diff(got, want);
            if (i == j && mad >= tolerance)
                fail_msg("frame %d differs by %.2f on average", i, mad);
            if (i != j && mad < 3 * tolerance)
                fail_msg("frame %d is too close to frame %d (%.2f)", i, j, mad);
            g_object_unref(want);
        }
        g_object_unref(got);
    }
    g_object_unref(a);
    g_object_unref(b);
}

/* Each frame of in (n frames of page_height) through fn, joined again. */
typedef int (*s_frame_fn)(VipsImage *in, VipsImage **out);

static VipsImage *s_per_frame(VipsImage *in, int page_height, s_frame_fn fn)
{
    VipsImage *frames[ANIM_FRAMES], *out = NULL;
    for (int i = 0; i < ANIM_FRAMES; i++) {
        VipsImage *frame = s_frame(in, i, page_height);
        assert_int_equal(fn(frame, &frames[i]), 0);
        g_object_unref(frame);
    }
    assert_int_equal(vips_arrayjoin(frames, &out, ANIM_FRAMES, "across", 1, NULL), 0);
    for (int i = 0; i < ANIM_FRAMES; i++)
        g_object_unref(frames[i]);
    return out;
}

static int s_do_rot90(VipsImage *in, VipsImage **out)
{
    return vips_rot(in, out, VIPS_ANGLE_D90, NULL);
}

static int s_do_flip(VipsImage *in, VipsImage **out)
{
    return vips_flip(in, out, VIPS_DIRECTION_VERTICAL, NULL);
}

static int s_do_crop(VipsImage *in, VipsImage **out)
{
    return vips_extract_area(in, out, 10, 5, 60, 40, NULL);
}

static int s_do_copy(VipsImage *in, VipsImage **out)
{
    return vips_copy(in, out, NULL);
}

/* rotate 90, then crop 10,5 60x40, then flip vertically */
static int s_do_chain(VipsImage *in, VipsImage **out)
{
    VipsImage *a = NULL, *b = NULL;
    int rc = vips_rot(in, &a, VIPS_ANGLE_D90, NULL) ||
             vips_extract_area(a, &b, 10, 5, 40, 60, NULL) ||
             vips_flip(b, out, VIPS_DIRECTION_VERTICAL, NULL);
    VIPS_UNREF(a);
    VIPS_UNREF(b);
    return rc;
}

/* An animated GIF resized to an animated WebP (and the WebP back to a GIF)
 * keeps its frames, in order, and their delays. */
static void test_animation_resize_keeps_frames_and_delays(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", s_animation(), "gif");
    VipsImage *in = s_input(f);
    s_expect_frames(in, ANIM_W, ANIM_H, ANIM_FRAMES);
    json_t *r = ts_run(f, "info", NULL, 60000);
    assert_non_null(r);
    assert_int_equal(json_integer_value(json_object_get(r, "pages")), ANIM_FRAMES);
    assert_int_equal(json_integer_value(json_object_get(r, "height")), ANIM_H);
    json_decref(r);

    g_object_unref(ts_run_image(f, "resize", "width=48&format=webp", "webp"));
    VipsImage *webp = s_result(f, "webp");
    s_expect_frames(webp, 48, 32, ANIM_FRAMES);
    VipsImage *small = NULL;
    assert_int_equal(vips_resize(in, &small, 0.5, NULL), 0);
    s_expect_same_frames(webp, small, 32, 12);
    g_object_unref(small);

    /* the WebP as the input, into a GIF */
    char path[PATH_MAX];
    ts_result_path(f, "webp", path, sizeof path);
    ts_copy_input(f, "file", path);
    g_object_unref(webp);
    webp = s_input(f);
    g_object_unref(ts_run_image(f, "resize", "width=24&format=gif", "gif"));
    VipsImage *gif = s_result(f, "gif");
    s_expect_frames(gif, 24, 16, ANIM_FRAMES);
    assert_int_equal(vips_resize(webp, &small, 0.5, NULL), 0);
    s_expect_same_frames(gif, small, 16, 12);
    g_object_unref(small);
    g_object_unref(gif);
    g_object_unref(webp);
    g_object_unref(in);
}

/* libwebp's animation encoder merges a frame equal to the one before into
 * it (their delays added): the result tells the frames the file has. */
static void test_animation_result_counts_the_frames_written(void **state)
{
    ts_folder_t *f = *state;
    VipsImage *frames[3] = {ts_photo(PHOTO_DUNE, ANIM_W, ANIM_H),
                            ts_photo(PHOTO_DUNE, ANIM_W, ANIM_H),
                            ts_photo(PHOTO_LADYBIRD, ANIM_W, ANIM_H)};
    VipsImage *strip = NULL;
    assert_int_equal(vips_arrayjoin(frames, &strip, 3, "across", 1, NULL), 0);
    for (int i = 0; i < 3; i++)
        g_object_unref(frames[i]);
    VipsImage *paged = ts_paged(strip, ANIM_H);
    const int delays[3] = {100, 200, 300};
    vips_image_set_array_int(paged, "delay", delays, 3);
    ts_save_input(f, "file", paged, "gif");
    /* ts_run_image checks the result's pages against the file's */
    g_object_unref(ts_run_image(f, "rotate", "angle=180&format=webp", "webp"));
    VipsImage *out = s_result(f, "webp");
    assert_int_equal(vips_image_get_n_pages(out), 2);
    int *got = NULL, n = 0;
    assert_int_equal(vips_image_get_array_int(out, "delay", &got, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(got[0], 300);
    assert_int_equal(got[1], 300);
    g_object_unref(out);
}

/* rotate, flip, crop, convert and pipeline keep every frame and delay when
 * the output is a GIF or a WebP. */
static void test_animation_steps_keep_frames(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", s_animation(), "gif");
    VipsImage *in = s_input(f);
    static const struct {
        const char *op, *kv;
        s_frame_fn fn;
        int w, h;
    } cases[] = {
        {"rotate", "angle=90", s_do_rot90, ANIM_H, ANIM_W},
        {"flip", "direction=vertical", s_do_flip, ANIM_W, ANIM_H},
        {"crop", "left=10&top=5&width=60&height=40", s_do_crop, 60, 40},
        {"convert", "", s_do_copy, ANIM_W, ANIM_H},
    };
    const char *formats[] = {"gif", "webp"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int k = 0; k < 2; k++) {
            char kv[128];
            snprintf(kv, sizeof kv, "%s%sformat=%s", cases[i].kv, cases[i].kv[0] ? "&" : "",
                     formats[k]);
            g_object_unref(ts_run_image(f, cases[i].op, kv, formats[k]));
            VipsImage *out = s_result(f, formats[k]);
            s_expect_frames(out, cases[i].w, cases[i].h, ANIM_FRAMES);
            VipsImage *expected = s_per_frame(in, ANIM_H, cases[i].fn);
            s_expect_same_frames(out, expected, cases[i].h, 12);
            g_object_unref(expected);
            g_object_unref(out);
        }

    json_t *steps = json_pack("[{s:s, s:s}, {s:s, s:i, s:i, s:i, s:i}, {s:s, s:s}]", "op", "rotate",
                              "angle", "90", "op", "crop", "left", 10, "top", 5, "width", 40,
                              "height", 60, "op", "flip", "direction", "vertical");
    for (int k = 0; k < 2; k++) {
        json_t *params = json_pack("{s:O, s:s}", "steps", steps, "format", formats[k]);
        json_t *r = ts_run_json(f, "pipeline", params, 60000);
        json_decref(params);
        if (!r)
            fail_msg("pipeline: %s", img_error_message());
        assert_int_equal(json_integer_value(json_object_get(r, "pages")), ANIM_FRAMES);
        assert_int_equal(json_array_size(json_object_get(r, "steps")), 3);
        json_decref(r);
        VipsImage *out = s_result(f, formats[k]);
        s_expect_frames(out, 40, 60, ANIM_FRAMES);
        VipsImage *expected = s_per_frame(in, ANIM_H, s_do_chain);
        s_expect_same_frames(out, expected, 60, 12);
        g_object_unref(expected);
        g_object_unref(out);
    }
    json_decref(steps);
    g_object_unref(in);
}

/* Into a format without animation (jpeg, png): the first frame only. */
static void test_animation_to_still_is_the_first_frame(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", s_animation(), "gif");
    VipsImage *in = s_input(f);
    VipsImage *first = s_frame(in, 0, ANIM_H), *first_rgb = s_rgb(first);
    const char *ops[] = {"convert", "flip", "resize"};
    const char *kvs[] = {"format=jpeg", "format=jpeg&direction=vertical", "width=96&format=png"};
    for (int i = 0; i < 3; i++) {
        json_t *r = ts_run(f, ops[i], kvs[i], 60000);
        assert_non_null(r);
        assert_null(json_object_get(r, "pages"));
        assert_int_equal(json_integer_value(json_object_get(r, "height")), ANIM_H);
        json_decref(r);
    }
    VipsImage *out = ts_run_image(f, "convert", "format=jpeg&quality=95", "jpeg");
    assert_int_equal(out->Xsize, ANIM_W);
    assert_int_equal(out->Ysize, ANIM_H);
    double to_first = s_mean_abs_diff(out, first_rgb);
    assert_true(to_first < 6);
    for (int k = 1; k < ANIM_FRAMES; k++) {
        VipsImage *other = s_frame(in, k, ANIM_H), *other_rgb = s_rgb(other);
        assert_true(s_mean_abs_diff(out, other_rgb) > 4 * to_first);
        g_object_unref(other_rgb);
        g_object_unref(other);
    }
    g_object_unref(out);
    g_object_unref(first_rgb);
    g_object_unref(first);
    g_object_unref(in);
}

/* The frame limit and the pixel limit count every frame of the input, and
 * the result's pixel limit every frame kept. */
static void test_animation_limits_count_every_frame(void **state)
{
    ts_folder_t *f = *state;
    ts_save_input(f, "file", s_animation(), "gif");
    char path[PATH_MAX];
    image_info_t info;
    ts_input_path(f, "file", path, sizeof path);
    assert_int_equal(image_probe_file(path, &f->cfg, &info), 0);
    assert_int_equal(info.pages, ANIM_FRAMES);
    assert_int_equal(info.height, ANIM_H);

    f->cfg.max_frames = ANIM_FRAMES - 1;
    s_expect_failure(f, "convert", "format=png", IMG_E_IMAGE_TOO_LARGE,
                     "the image has 4 frames; the limit is 3");
    s_expect_failure(f, "info", NULL, IMG_E_IMAGE_TOO_LARGE, "4 frames");
    f->cfg.max_frames = ANIM_FRAMES;
    long long all = (long long)ANIM_W * ANIM_H * ANIM_FRAMES; /* 24576 */
    f->cfg.max_pixels = all - 1;
    s_expect_failure(f, "convert", "format=png", IMG_E_IMAGE_TOO_LARGE,
                     "the image has 96x64 pixels x 4 page(s) = 24576 pixels; the limit is 24575");
    /* the input at the limit: a still result of 192x128 (= 24576) fits, the
     * same frames kept (4 x 24576) do not */
    f->cfg.max_pixels = all;
    g_object_unref(ts_run_image(f, "resize", "width=192&format=png", "png"));
    s_expect_failure(f, "resize", "width=192&format=webp", IMG_E_INVALID_PARAMETER,
                     "the result would be 192x128 pixels x 4 frame(s) = 98304 pixels");
    /* turned, the same number of pixels: within the limit */
    g_object_unref(ts_run_image(f, "rotate", "angle=90&format=webp", "webp"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, ts_setup, ts_teardown)

int main(int argc, char **argv)
{
    (void)argc;
    if (ts_vips_init(argv[0]))
        return 1;
    const struct CMUnitTest tests[] = {
        T(test_rotate_moves_every_pixel),
        T(test_rotate_turns_the_upright_image),
        T(test_full_size_photos_turned_and_mirrored),
        T(test_flip_mirrors),
        T(test_crop_is_the_area),
        T(test_crop_outside_refused),
        T(test_blur_and_sharpen_change_the_fine_detail),
        T(test_blur_keeps_the_colour_of_transparent_edges),
        T(test_blur_of_a_flat_image_with_alpha_changes_nothing),
        T(test_grayscale_bands),
        T(test_convert_keeps_the_pixels),
        T(test_plan_sizes),
        T(test_pipeline_bad_steps),
        T(test_pipeline_output_format),
        T(test_pipeline_limits_of_an_animation),
        T(test_pipeline_equals_separate_jobs),
        T(test_animation_resize_keeps_frames_and_delays),
        T(test_animation_result_counts_the_frames_written),
        T(test_animation_steps_keep_frames),
        T(test_animation_to_still_is_the_first_frame),
        T(test_animation_limits_count_every_frame),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    vips_shutdown();
    return rc;
}
