#include "image_normalise.h"

bool image_is_grey(VipsImage *in)
{
    VipsInterpretation interp = vips_image_guess_interpretation(in);
    return interp == VIPS_INTERPRETATION_B_W || interp == VIPS_INTERPRETATION_GREY16 ||
           (in->Bands < 3 && interp != VIPS_INTERPRETATION_CMYK);
}

/* Colour space and 8 bits; t: two slots hung on a context. */
static int s_eight_bit(VipsImage *in, VipsInterpretation target, VipsImage **t, VipsImage **out)
{
    VipsImage *x = in;
    if (vips_image_guess_interpretation(x) != target && vips_colourspace_issupported(x)) {
        if (vips_colourspace(x, &t[0], target, NULL))
            return -1;
        x = t[0];
    }
    if (x->BandFmt != VIPS_FORMAT_UCHAR) {
        /* ushort -> uchar keeps the top 8 bits; other formats are clipped */
        if (vips_cast(x, &t[1], VIPS_FORMAT_UCHAR, "shift", x->BandFmt == VIPS_FORMAT_USHORT, NULL))
            return -1;
        x = t[1];
    }
    *out = x;
    return 0;
}

/* Colour bands (and alpha, unless flattened) only; t: three slots. */
static int s_bands(VipsImage *in, int colour, bool flatten, VipsImage **t, VipsImage **out)
{
    VipsImage *x = in;
    bool alpha = vips_image_hasalpha(x);
    int keep = colour + (alpha ? 1 : 0);
    if (x->Bands > keep) {
        /* the colour bands, then the alpha: libvips puts alpha last */
        if (!alpha) {
            if (vips_extract_band(x, &t[0], 0, "n", colour, NULL))
                return -1;
        } else {
            VipsImage *parts[2] = {NULL, NULL};
            int rc = vips_extract_band(x, &parts[0], 0, "n", colour, NULL) ||
                     vips_extract_band(x, &parts[1], x->Bands - 1, NULL) ||
                     vips_bandjoin(parts, &t[0], 2, NULL);
            VIPS_UNREF(parts[0]);
            VIPS_UNREF(parts[1]);
            if (rc)
                return -1;
        }
        x = t[0];
    }
    if (flatten && vips_image_hasalpha(x)) {
        VipsArrayDouble *white = vips_array_double_newv(1, 255.0);
        int rc = vips_flatten(x, &t[1], "background", white, NULL) ||
                 vips_cast(t[1], &t[2], VIPS_FORMAT_UCHAR, NULL);
        vips_area_unref(VIPS_AREA(white));
        if (rc)
            return -1;
        x = t[2];
    }
    *out = x;
    return 0;
}

int image_normalise(VipsImage *in, unsigned flags, VipsImage **out)
{
    VipsImage *context = vips_image_new();
    VipsImage **t = (VipsImage **)vips_object_local_array(VIPS_OBJECT(context), 6);
    bool grey = image_is_grey(in) && !(flags & IMAGE_NORMALISE_RGB);
    VipsInterpretation target = grey ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB;
    VipsImage *eight, *fitted;
    int rc = -1;
    if (s_eight_bit(in, target, t, &eight) == 0 &&
        s_bands(eight, grey ? 1 : 3, flags & IMAGE_NORMALISE_FLATTEN, t + 2, &fitted) == 0 &&
        vips_copy(fitted, out, "interpretation", target, NULL) == 0)
        rc = 0;
    g_object_unref(context);
    return rc;
}
