#include "instance_name.h"

#include "img_error.h"

#include <stdio.h>
#include <sys/random.h>
#include <unistd.h>

int instance_name_new(char *out, size_t size)
{
    char host[32] = "img";
    unsigned int salt = 0;
    if (gethostname(host, sizeof host) < 0)
        snprintf(host, sizeof host, "img");
    host[sizeof host - 1] = '\0';
    for (char *p = host; *p; p++)
        if (*p <= ' ' || *p >= 0x7f)
            *p = '_';
    if (getrandom(&salt, sizeof salt, 0) != (ssize_t)sizeof salt) {
        img_error_set(IMG_E_INTERNAL, "getrandom failed");
        return -1;
    }
    int n = snprintf(out, size, "%s-%ld-%08x", host, (long)getpid(), salt);
    if (n < 0 || (size_t)n >= size) {
        img_error_set(IMG_E_INTERNAL, "an instance name does not fit in %zu bytes", size);
        return -1;
    }
    return 0;
}
