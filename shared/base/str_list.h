/* str_list — walks a comma-separated setting ("jpeg, png,webp"), each item
 * trimmed of surrounding spaces. Items point into the list (not copied). */
#ifndef IMG_STR_LIST_H
#define IMG_STR_LIST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *next;
} str_list_t;

void str_list_begin(str_list_t *it, const char *list);

/* The next item: *item points at its first character, *len is its length
 * (0 for an empty item such as in "a,,b", so callers can refuse it).
 * false once the list is exhausted; an empty or NULL list has no items. */
bool str_list_next(str_list_t *it, const char **item, size_t *len);

#endif
