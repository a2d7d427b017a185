#include "webhook_secret.h"

#include "img_error.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* Reads the kept secret; -1 if there is none (or it cannot be read). */
static int s_read(const char *path, char out[WEBHOOK_SECRET_MAX])
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(out, 1, WEBHOOK_SECRET_MAX - 1, f);
    fclose(f);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        n--;
    out[n] = '\0';
    return n >= 32 ? 0 : -1;
}

/* Makes a new secret; a replica making it at the same time may win: then
 * its secret is read. */
static int s_create(const char *path, char out[WEBHOOK_SECRET_MAX])
{
    unsigned char rnd[32];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        img_error_set(IMG_E_INTERNAL, "getrandom failed: %s", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(out + 2 * i, 3, "%02x", rnd[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) {
        usleep(100000); /* the other replica writes it now */
        return s_read(path, out) == 0 ? 0
                                      : (img_error_set(IMG_E_CONFIG, "%s is unreadable", path), -1);
    }
    bool ok = fd >= 0 && write(fd, out, 64) == 64 && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok) {
        img_error_set_io(errno, "cannot keep the webhook secret in %s", path);
        return -1;
    }
    return 0;
}

int webhook_secret_load(const img_config_t *cfg, char out[WEBHOOK_SECRET_MAX])
{
    char path[PATH_MAX];
    if (cfg->webhook_secret[0]) {
        snprintf(out, WEBHOOK_SECRET_MAX, "%s", cfg->webhook_secret);
        return 0;
    }
    snprintf(path, sizeof path, "%s/webhook_secret", cfg->data_dir);
    return s_read(path, out) == 0 ? 0 : s_create(path, out);
}

int webhook_secret_sign(const char *secret, long long t, const char *body, char *out, size_t size)
{
    char prefix[32];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int plen = snprintf(prefix, sizeof prefix, "%lld.", t);
    size_t blen = strlen(body);
    unsigned char *signed_text = malloc((size_t)plen + blen);
    if (!signed_text) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return -1;
    }
    memcpy(signed_text, prefix, (size_t)plen);
    memcpy(signed_text + plen, body, blen);
    bool ok = HMAC(EVP_sha256(), secret, (int)strlen(secret), signed_text, (size_t)plen + blen, mac,
                   &n) != NULL;
    free(signed_text);
    if (!ok || size < 16 + 2 * n + 24) {
        img_error_set(IMG_E_INTERNAL, "cannot sign a callback");
        return -1;
    }
    int len = snprintf(out, size, "t=%lld,v1=", t);
    for (unsigned int i = 0; i < n; i++)
        len += snprintf(out + len, size - (size_t)len, "%02x", mac[i]);
    return 0;
}
