/* job_id — job ids are lowercase canonical UUIDv4 strings. */
#ifndef IMG_JOB_ID_H
#define IMG_JOB_ID_H

#include <stdbool.h>

#define JOB_ID_LEN 36 /* without the terminating NUL */

/* Writes a fresh random UUIDv4 (from getrandom) into out. 0, or -1 with img_error. */
int job_id_new(char out[JOB_ID_LEN + 1]);

/* True only for a lowercase canonical UUIDv4: 8-4-4-4-12 hex digits, version
 * nibble 4, variant 8/9/a/b. Anything else (upper case, braces, "../") is false. */
bool job_id_valid(const char *text);

#endif
