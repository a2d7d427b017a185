#include "vips_message.h"

#include "job_id.h"

#include <string.h>
#include <vips/vips.h>

#define HIDDEN "the file"

/* Length of a job file path at p: "<data_dir>/jobs/<36 chars>/<name>", the
 * name running to a blank, a quote, a colon or the end; 0 if p holds none. */
static size_t s_job_path_len(const char *p, const char *data_dir, size_t dlen)
{
    if (!dlen || strncmp(p, data_dir, dlen) != 0 || strncmp(p + dlen, "/jobs/", 6) != 0)
        return 0;
    const char *id = p + dlen + 6;
    if (strnlen(id, JOB_ID_LEN) < JOB_ID_LEN || id[JOB_ID_LEN] != '/')
        return 0;
    return (size_t)(id + JOB_ID_LEN - p) + strcspn(id + JOB_ID_LEN, " \t\r\n\"':");
}

void vips_message_clean(const char *text, const char *data_dir, char *out, size_t size)
{
    size_t dlen = data_dir ? strlen(data_dir) : 0;
    size_t n = 0;
    if (size == 0)
        return;
    for (const char *p = text ? text : ""; *p && n + 1 < size;) {
        size_t skip = s_job_path_len(p, data_dir, dlen);
        if (skip) {
            for (const char *h = HIDDEN; *h && n + 1 < size; h++)
                out[n++] = *h;
            p += skip;
            continue;
        }
        unsigned char c = (unsigned char)*p++;
        out[n++] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : c >= 0x80 ? '?' : (char)c;
    }
    while (n && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

void vips_message_take(const char *data_dir, char *out, size_t size)
{
    char *text = vips_error_buffer_copy();
    vips_message_clean(text, data_dir, out, size);
    g_free(text);
}
