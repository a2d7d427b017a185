/* job_fingerprint — what makes two submits the same, as a SHA-256 in hex.
 *
 * The operation, its validated parameters (canonical JSON: sorted keys,
 * compact) and the SHA-256 of each input's bytes; for an idempotent submit
 * also the job options (callback_url). Two jobs with the same fingerprint
 * without options give the same result (operations are deterministic):
 * that is the result cache's key.
 */
#ifndef IMG_JOB_FINGERPRINT_H
#define IMG_JOB_FINGERPRINT_H

#include <jansson.h>

#define JOB_FINGERPRINT_HEX 65 /* 64 hex digits and the NUL */

/* extra: NULL, or the job options' text. 0, or -1 with img_error. */
int job_fingerprint(const char *operation, const json_t *params, const unsigned char (*inputs)[32],
                    int n_inputs, const char *extra, char out[JOB_FINGERPRINT_HEX]);

#endif
