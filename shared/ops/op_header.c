#include "op_header.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <vips/vips.h> /* VIPS_MAX_COORD */

static json_t *s_one(const image_info_t *info)
{
    return json_pack("{s:i, s:i, s:s, s:I, s:i, s:i}", "width", info->width, "height", info->height,
                     "format", info->format, "bytes", (json_int_t)info->bytes, "pages", info->pages,
                     "orientation", info->orientation);
}

json_t *op_header_json(const op_def_t *op, const image_info_t *info)
{
    json_t *input = s_one(&info[0]);
    if (input && op->n_inputs > 1) {
        json_t *all = json_object();
        for (int i = 0; i < op->n_inputs; i++)
            json_object_set_new(all, op->inputs[i].name, s_one(&info[i]));
        json_object_set_new(input, "inputs", all);
    }
    return input;
}

/* The integer member key of o within [min, max], or -1. */
static json_int_t s_int(const json_t *o, const char *key, json_int_t min, json_int_t max)
{
    const json_t *v = json_object_get(o, key);
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
    return n >= min && n <= max ? n : -1;
}

bool op_header_read(const json_t *input, const op_def_t *op, int i, image_info_t *info)
{
    const json_t *h = op->n_inputs > 1
                          ? json_object_get(json_object_get(input, "inputs"), op->inputs[i].name)
                          : input;
    const char *format = json_string_value(json_object_get(h, "format"));
    json_int_t width = s_int(h, "width", 1, VIPS_MAX_COORD),
               height = s_int(h, "height", 1, VIPS_MAX_COORD),
               pages = s_int(h, "pages", 1, INT32_MAX), orientation = s_int(h, "orientation", 1, 8),
               bytes = s_int(h, "bytes", 1, INT64_MAX);
    if (!json_is_object(h) || !format || strlen(format) >= sizeof info->format || width < 0 ||
        height < 0 || pages < 0 || orientation < 0 || bytes < 0)
        return false;
    info->width = (int)width;
    info->height = (int)height;
    info->pages = (int)pages;
    info->orientation = (int)orientation;
    info->bytes = (long long)bytes;
    snprintf(info->format, sizeof info->format, "%s", format);
    return true;
}
