/* utf8_text — makes text valid UTF-8, so that JSON (jansson refuses
 * anything else) and logs take it. Messages are built with bounded formats
 * ("%.64s", a fixed buffer) from what clients and files contain, and a cut
 * can fall inside a character. */
#ifndef IMG_UTF8_TEXT_H
#define IMG_UTF8_TEXT_H

#include <stddef.h>

/* In place: every byte of s (NUL-terminated) that is not part of a valid
 * UTF-8 sequence becomes '?', a sequence cut short by the end included.
 * Valid means what jansson accepts: no overlong forms, no surrogates,
 * nothing past U+10FFFF. */
void utf8_text_clean(char *s);

/* Copies src into out (size bytes, NUL-terminated, cut if need be) and
 * cleans the copy as above. */
void utf8_text_copy(char *out, size_t size, const char *src);

#endif
