/* job_fingerprint — what makes two submits the same, as a SHA-256 in hex.
 *
 * The operation, its validated parameters (canonical JSON: sorted keys,
 * compact) and the digest of each input's bytes (upload.h); for an
 * idempotent submit also the job options (callback_url). Two jobs with the
 * same fingerprint without options most likely give the same result
 * (operations are deterministic): that is the result cache's key. The input
 * digests are fast, not collision-proof, so a cache hit is confirmed on the
 * bytes (intake); an Idempotency-Key's check of "the same request" relies on
 * them alone (a collision would need the key's owner to craft it).
 */
#ifndef IMG_JOB_FINGERPRINT_H
#define IMG_JOB_FINGERPRINT_H

#include "upload.h"

#include <jansson.h>

#define JOB_FINGERPRINT_HEX 65 /* 64 hex digits and the NUL */

/* extra: NULL, or the job options' text. 0, or -1 with img_error. */
int job_fingerprint(const char *operation, const json_t *params,
                    const unsigned char (*inputs)[UPLOAD_DIGEST_LEN], int n_inputs,
                    const char *extra, char out[JOB_FINGERPRINT_HEX]);

#endif
