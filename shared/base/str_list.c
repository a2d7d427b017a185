#include "str_list.h"

#include <string.h>

void str_list_begin(str_list_t *it, const char *list)
{
    it->next = (list && *list) ? list : NULL;
}

bool str_list_next(str_list_t *it, const char **item, size_t *len)
{
    const char *p = it->next;
    if (!p)
        return false;
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    it->next = comma ? comma + 1 : NULL;
    while (n && *p == ' ')
        p++, n--;
    while (n && p[n - 1] == ' ')
        n--;
    *item = p;
    *len = n;
    return true;
}
