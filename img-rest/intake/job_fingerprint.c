#include "job_fingerprint.h"

#include "img_error.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int job_fingerprint(const char *operation, const json_t *params,
                    const unsigned char (*inputs)[UPLOAD_DIGEST_LEN], int n_inputs,
                    const char *extra, char out[JOB_FINGERPRINT_HEX])
{
    char *canonical = json_dumps(params, JSON_SORT_KEYS | JSON_COMPACT);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char digest[32];
    unsigned int n = 0;
    /* each part ends with a NUL, so that no two lists of parts collide */
    int ok = canonical && ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(ctx, operation, strlen(operation) + 1) &&
             EVP_DigestUpdate(ctx, canonical, strlen(canonical) + 1);
    for (int i = 0; ok && i < n_inputs; i++)
        ok = EVP_DigestUpdate(ctx, inputs[i], UPLOAD_DIGEST_LEN);
    if (ok && extra)
        ok = EVP_DigestUpdate(ctx, extra, strlen(extra) + 1);
    ok = ok && EVP_DigestFinal_ex(ctx, digest, &n) && n == sizeof digest;
    EVP_MD_CTX_free(ctx);
    free(canonical);
    if (!ok) {
        img_error_set(IMG_E_INTERNAL, "cannot compute a job's fingerprint");
        return -1;
    }
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
    return 0;
}
