/* test_result_metadata — what a result keeps of its input's metadata: the
 * colour profile when it fits the result, never the camera, author or date
 * fields, nor the EXIF thumbnail (a small copy of the whole original that a
 * crop or a blur would otherwise leak). Jobs run as an engine runs them
 * (test_support); private_metadata_drop, which the job runner applies to an
 * opened input, is tested alone too. */
#include "private_metadata.h"
#include "test_support.h"

#include <string.h>

#define T(f) cmocka_unit_test_setup_teardown(f, ts_setup, ts_teardown)

/* A camera photo with EXIF (Make, Model, Software, DateTime) and an EXIF
 * thumbnail, from mate-backgrounds. */
#define CAMERA_JPEG "/usr/share/backgrounds/mate/abstract/Elephants_3840x2160.jpg"

static const char *const s_private[] = {
    "jpeg-thumbnail-data", "exif-ifd0-Make",     "exif-ifd0-Model",
    "exif-ifd0-Software",  "exif-ifd0-DateTime", NULL,
};

static void s_expect_fields(VipsImage *image, bool present, const char *what)
{
    for (const char *const *f = s_private; *f; f++)
        if ((vips_image_get_typeof(image, *f) != 0) != present)
            fail_msg("%s: field %s is %s", what, *f, present ? "missing" : "still there");
}

static void s_expect_private_removed(ts_folder_t *f, const char *op, const char *kv,
                                     const char *format)
{
    VipsImage *result = ts_run_image(f, op, kv, format);
    s_expect_fields(result, false, op);
    g_object_unref(result);
}

static void test_camera_fields_and_thumbnail_removed(void **state)
{
    ts_folder_t *f = *state;
    VipsImage *input = ts_load(CAMERA_JPEG);
    s_expect_fields(input, true, "the input"); /* else this test proves nothing */
    g_object_unref(input);
    ts_copy_input(f, "file", CAMERA_JPEG);
    s_expect_private_removed(f, "resize", "width=64", "jpeg");
}

static void test_crop_leaks_no_thumbnail(void **state)
{
    ts_folder_t *f = *state;
    ts_copy_input(f, "file", CAMERA_JPEG);
    s_expect_private_removed(f, "crop", "left=0&top=0&width=32&height=32", "jpeg");
}

static void test_webp_result_has_no_exif(void **state)
{
    ts_folder_t *f = *state;
    ts_copy_input(f, "file", CAMERA_JPEG);
    s_expect_private_removed(f, "convert", "format=webp&quality=50", "webp");
}

/* Gives image libvips' own sRGB profile; its length. */
static size_t s_set_srgb_profile(VipsImage *image)
{
    VipsBlob *profile = NULL;
    assert_int_equal(vips_profile_load("srgb", &profile, NULL), 0);
    size_t len = 0;
    const void *data = vips_blob_get(profile, &len);
    vips_image_set_blob_copy(image, VIPS_META_ICC_NAME, data, len);
    vips_area_unref(VIPS_AREA(profile));
    return len;
}

/* An input of libvips' own sRGB profile: the result carries it on. */
static void test_fitting_profile_kept(void **state)
{
    ts_folder_t *f = *state;
    VipsImage *in = ts_gradient(80, 60, 0);
    size_t len = s_set_srgb_profile(in);
    ts_save_input(f, "file", in, "png");

    VipsImage *result = ts_run_image(f, "resize", "width=40", "png");
    const void *kept = NULL;
    size_t kept_len = 0;
    assert_int_equal(vips_image_get_blob(result, VIPS_META_ICC_NAME, &kept, &kept_len), 0);
    assert_int_equal(kept_len, len);
    g_object_unref(result);
}

/* The drop: a copy without the private fields, every other field (the
 * profile, the resolution) kept, and the caller's original unchanged. */
static void test_drop_makes_a_stripped_copy(void **state)
{
    (void)state;
    VipsImage *original = ts_load(CAMERA_JPEG);
    s_set_srgb_profile(original);
    s_expect_fields(original, true, "the input");

    VipsImage *image = g_object_ref(original);
    assert_int_equal(private_metadata_drop(&image), 0);
    assert_ptr_not_equal(image, original);
    s_expect_fields(image, false, "the copy");
    s_expect_fields(original, true, "the original");
    gchar **fields = vips_image_get_fields(image);
    for (gchar **f = fields; *f; f++)
        if (private_metadata_is(*f))
            fail_msg("the copy keeps %s", *f);
    g_strfreev(fields);
    assert_int_equal(vips_image_get_typeof(image, VIPS_META_ICC_NAME) != 0, true);
    assert_int_equal(vips_image_get_typeof(image, VIPS_META_RESOLUTION_UNIT) != 0, true);
    assert_int_equal(image->Xsize, original->Xsize);
    assert_int_equal(image->Ysize, original->Ysize);
    g_object_unref(image);
    g_object_unref(original);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (ts_vips_init(argv[0]))
        return 1;
    const struct CMUnitTest tests[] = {
        T(test_camera_fields_and_thumbnail_removed),
        T(test_crop_leaks_no_thumbnail),
        T(test_webp_result_has_no_exif),
        T(test_fitting_profile_kept),
        T(test_drop_makes_a_stripped_copy),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    vips_shutdown();
    return rc;
}
