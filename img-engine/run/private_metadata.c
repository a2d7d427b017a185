#include "private_metadata.h"

#include <string.h>

bool private_metadata_is(const char *name)
{
    static const char *const prefixes[] = {
        "exif-",
        "xmp-data",
        "iptc-data",
        "photoshop-data",
        "png-comment-",
        "gif-comment",
        "image-description",
        VIPS_META_ORIENTATION,
        "jpeg-thumbnail-data",
        NULL,
    };
    for (const char *const *p = prefixes; *p; p++)
        if (strncmp(name, *p, strlen(*p)) == 0)
            return true;
    return false;
}

void private_metadata_strip(VipsImage *image)
{
    gchar **fields = vips_image_get_fields(image);
    for (gchar **f = fields; f && *f; f++)
        if (private_metadata_is(*f))
            vips_image_remove(image, *f);
    g_strfreev(fields);
}

int private_metadata_drop(VipsImage **image)
{
    VipsImage *copy = NULL;
    if (vips_copy(*image, &copy, NULL) != 0)
        return -1;
    private_metadata_strip(copy);
    g_object_unref(*image);
    *image = copy;
    return 0;
}
