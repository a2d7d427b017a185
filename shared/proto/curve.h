/* curve — ZeroMQ CURVE keys in Z85 text (40 characters), for the optional
 * encryption and authentication of the img-rest ⇄ img-engine link. */
#ifndef IMG_CURVE_H
#define IMG_CURVE_H

#include <stdbool.h>

#define CURVE_KEY_LEN 40

/* True if text is a 40-character Z85 key. */
bool curve_key_valid(const char *text);

/* Writes a fresh key pair. 0, or -1 with img_error (libzmq without CURVE). */
int curve_keypair(char public_key[CURVE_KEY_LEN + 1], char secret_key[CURVE_KEY_LEN + 1]);

/* Prints a key pair as config lines with the given prefix ("curve_server" /
 * "curve_client"); used by `--curve-keypair`. 0 or -1. */
int curve_print_keypair(const char *prefix);

#endif
