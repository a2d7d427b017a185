#include "image_format.h"

#include "str_list.h"

#include <string.h>

static const img_format_t s_formats[] = {
    {"jpeg", "image/jpeg", "jpg", false, true, "jpegload"},
    {"png", "image/png", "png", true, true, "pngload"},
    {"webp", "image/webp", "webp", true, true, "webpload"},
    {"gif", "image/gif", "gif", true, true, "gifload"},
    {"tiff", "image/tiff", "tiff", true, true, "tiffload"},
    {"avif", "image/avif", "avif", true, true, "heifload"},
    {"heif", "image/heif", "heic", true, false, "heifload"},
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

size_t img_format_count(void)
{
    return N_FORMATS;
}

const img_format_t *img_format_at(size_t i)
{
    return i < N_FORMATS ? &s_formats[i] : NULL;
}

const img_format_t *img_format_by_loader(const char *loader, const char *heif_compression)
{
    if (!loader)
        return NULL;
    bool av1 = heif_compression && strcmp(heif_compression, "av1") == 0;
    for (size_t i = 0; i < N_FORMATS; i++) {
        const img_format_t *fmt = &s_formats[i];
        /* heif and avif share their loader: the compression tells them apart */
        if (s_prefix(loader, fmt->loader) &&
            (strcmp(fmt->loader, "heifload") != 0 || av1 == (strcmp(fmt->name, "avif") == 0)))
            return fmt;
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
