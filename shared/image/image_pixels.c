#include "image_pixels.h"

static void s_free_buffer(VipsObject *image, void *buf)
{
    (void)image;
    g_free(buf);
}

VipsImage *image_pixels_wrap(void *buf, size_t size, int width, int height, int bands,
                             VipsInterpretation interpretation)
{
    VipsImage *image =
        vips_image_new_from_memory(buf, size, width, height, bands, VIPS_FORMAT_UCHAR);
    if (!image) {
        g_free(buf);
        return NULL;
    }
    g_signal_connect(image, "postclose", G_CALLBACK(s_free_buffer), buf);
    image->Type = interpretation;
    return image;
}
