#include "curve.h"

#include "img_error.h"

#include <stdio.h>
#include <string.h>
#include <zmq.h>

bool curve_key_valid(const char *text)
{
    static const char z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              ".-:+=^!/*?&<>()[]{}@%$#";
    if (!text || strlen(text) != CURVE_KEY_LEN)
        return false;
    return strspn(text, z85) == CURVE_KEY_LEN;
}

int curve_keypair(char public_key[CURVE_KEY_LEN + 1], char secret_key[CURVE_KEY_LEN + 1])
{
    if (!zmq_has("curve") || zmq_curve_keypair(public_key, secret_key) != 0) {
        img_error_set(IMG_E_INTERNAL, "this libzmq cannot make CURVE keys");
        return -1;
    }
    return 0;
}

int curve_print_keypair(const char *prefix)
{
    char pub[CURVE_KEY_LEN + 1], sec[CURVE_KEY_LEN + 1];
    if (curve_keypair(pub, sec) < 0)
        return -1;
    printf("%s_public = %s\n%s_secret = %s\n", prefix, pub, prefix, sec);
    return 0;
}
