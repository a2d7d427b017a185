#include "http_cors.h"

#include "str_list.h"

#include <string.h>

const char *http_cors_allow(const char *list, const char *origin)
{
    if (!list || !*list || !origin || !*origin)
        return NULL;
    if (strcmp(list, "*") == 0)
        return "*";
    str_list_t it;
    const char *item;
    size_t len;
    str_list_begin(&it, list);
    while (str_list_next(&it, &item, &len))
        if (len == strlen(origin) && strncmp(item, origin, len) == 0)
            return origin;
    return NULL;
}

bool http_cors_valid(const char *list)
{
    if (!list || !*list || strcmp(list, "*") == 0)
        return true;
    str_list_t it;
    const char *item;
    size_t len;
    str_list_begin(&it, list);
    while (str_list_next(&it, &item, &len))
        if (len == 0 || memchr(item, '*', len) ||
            !(strncmp(item, "http://", 7) == 0 || strncmp(item, "https://", 8) == 0))
            return false;
    return true;
}
