#include "job_id.h"

#include "img_error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

int job_id_new(char out[JOB_ID_LEN + 1])
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            img_error_set(IMG_E_INTERNAL, "getrandom failed: %s", strerror(errno));
            return -1;
        }
        got += (size_t)n;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, JOB_ID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return 0;
}

static bool s_is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool job_id_valid(const char *text)
{
    if (!text || strlen(text) != JOB_ID_LEN)
        return false;
    for (int i = 0; i < JOB_ID_LEN; i++) {
        bool dash = (i == 8 || i == 13 || i == 18 || i == 23);
        if (dash ? text[i] != '-' : !s_is_lower_hex(text[i]))
            return false;
    }
    if (text[14] != '4')
        return false;
    return strchr("89ab", text[19]) != NULL;
}
