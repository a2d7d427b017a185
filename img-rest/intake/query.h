/* query — the parameters of a URL query string. */
#ifndef IMG_QUERY_H
#define IMG_QUERY_H

#include <jansson.h>

#define QUERY_MAX_PARAMS 32
#define QUERY_MAX_NAME 64    /* bytes, once decoded */
#define QUERY_MAX_VALUE 1024 /* bytes, once decoded */

/* Parses an application/x-www-form-urlencoded string (`a=1&b=x+y`; NULL or
 * "" is no parameter) and adds each parameter to the object into as
 * name -> string, percent-decoded, '+' read as a space; `a` alone is `a=""`
 * and empty pieces (`a=1&&b=2`) are skipped. All or nothing: on error into is
 * left as it was. Errors (-1):
 *   IMG_E_BAD_REQUEST: a bad percent escape, an encoded NUL, text that is
 *     not UTF-8 once decoded;
 *   IMG_E_INVALID_PARAMETER: an empty name, a name already in into or given
 *     twice (the message names it), more than QUERY_MAX_PARAMS parameters,
 *     a name or value over its limit. */
int query_parse(const char *query, json_t *into);

#endif
