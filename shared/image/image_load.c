#include "image_load.h"

#include <stdarg.h>

VipsImage *image_load(const char *path, const char *loader, ...)
{
    VipsImage *out = NULL;
    va_list options;
    va_start(options, loader);
    int rc = vips_call_split(loader, options, path, &out);
    va_end(options);
    return rc == 0 ? out : NULL;
}
