#include "utf8_text.h"

#include <stdio.h>

/* The length of the valid sequence at s (1 to 4), or 0 if none starts there. */
static int s_sequence(const unsigned char *s)
{
    unsigned char c = s[0];
    int n;
    unsigned int cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0; /* a continuation byte, 0xc0, 0xc1 or 0xf5.. */
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* the NUL that ends a cut sequence too */
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void utf8_text_clean(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        int n = s_sequence(p);
        if (n == 0)
            *p++ = '?';
        else
            p += n;
    }
}

void utf8_text_copy(char *out, size_t size, const char *src)
{
    if (size == 0)
        return;
    snprintf(out, size, "%s", src);
    utf8_text_clean(out);
}
