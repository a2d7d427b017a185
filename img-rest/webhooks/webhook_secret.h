/* webhook_secret — the key that signs callbacks (HMAC-SHA256).
 *
 * webhook_secret when it is set; otherwise a random one (32 bytes, in hex)
 * made once and kept in <data_dir>/webhook_secret (mode 0600), so that it
 * survives restarts and every replica sharing the data folder signs alike.
 */
#ifndef IMG_WEBHOOK_SECRET_H
#define IMG_WEBHOOK_SECRET_H

#include "config.h"

#include <stddef.h>

#define WEBHOOK_SECRET_MAX 512

/* Into out. 0, or -1 with img_error. */
int webhook_secret_load(const img_config_t *cfg, char out[WEBHOOK_SECRET_MAX]);

/* "t=<t>,v1=<hex HMAC-SHA256 of "<t>.<body>">" into out (at least 80 bytes). 0 or -1. */
int webhook_secret_sign(const char *secret, long long t, const char *body, char *out, size_t size);

#endif
