#include "image_format.h"

#include "str_list.h"

#include <string.h>

static const img_format_t s_formats[] = {
    {"jpeg", "image/jpeg", "jpg", false, true},  {"png", "image/png", "png", true, true},
    {"webp", "image/webp", "webp", true, true},  {"gif", "image/gif", "gif", true, true},
    {"tiff", "image/tiff", "tiff", true, true},  {"avif", "image/avif", "avif", true, true},
    {"heif", "image/heif", "heic", true, false},
};

#define N_FORMATS (sizeof s_formats / sizeof s_formats[0])

const img_format_t *img_format_by_name(const char *name)
{
    for (size_t i = 0; name && i < N_FORMATS; i++)
        if (strcmp(s_formats[i].name, name) == 0)
            return &s_formats[i];
    return NULL;
}

static bool s_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

const img_format_t *img_format_by_loader(const char *loader, const char *heif_compression)
{
    static const struct {
        const char *loader;
        const char *format;
    } map[] = {{"jpegload", "jpeg"}, {"pngload", "png"},   {"webpload", "webp"},
               {"gifload", "gif"},   {"tiffload", "tiff"}, {"heifload", "heif"}};
    if (!loader)
        return NULL;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (!s_prefix(loader, map[i].loader))
            continue;
        if (strcmp(map[i].format, "heif") == 0 && heif_compression &&
            strcmp(heif_compression, "av1") == 0)
            return img_format_by_name("avif");
        return img_format_by_name(map[i].format);
    }
    return NULL;
}

const img_format_t *img_format_same_as(const img_format_t *input)
{
    if (!input)
        return NULL;
    return input->can_save ? input : img_format_by_name("avif");
}

bool img_format_in_list(const char *name, const char *list)
{
    str_list_t it;
    const char *item;
    size_t len;
    str_list_begin(&it, list);
    while (str_list_next(&it, &item, &len))
        if (len == strlen(name) && strncmp(item, name, len) == 0)
            return true;
    return false;
}
