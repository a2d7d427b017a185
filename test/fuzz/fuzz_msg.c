/* libFuzzer target: the img-rest <-> img-engine messages.
 *
 * Any input is decoded; what decodes must encode, decode again and encode to
 * the very same text (a decoded message is always valid, and encoding loses
 * nothing). A refused message must leave an error set, in valid UTF-8 (it
 * goes to logs; msg_decode gives jansson's error position, never its text,
 * which quotes raw input bytes).
 */
#include "img_error.h"
#include "msg.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LEN (1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msg_t m, again;
    img_error_clear();
    if (msg_decode(data, size, MAX_LEN, &m) < 0) {
        if (img_error_code() == IMG_E_NONE || m.params || m.result || m.held)
            __builtin_trap(); /* no reason given, or out not left empty */
        json_t *reason = json_string(img_error_message());
        if (!reason)
            __builtin_trap(); /* not UTF-8 */
        json_decref(reason);
        return 0;
    }
    size_t len1, len2;
    char *text1 = msg_encode(&m, &len1);
    if (!text1 || strlen(text1) != len1)
        __builtin_trap();
    if (msg_decode(text1, len1, MAX_LEN, &again) < 0)
        __builtin_trap();
    if (again.type != m.type)
        __builtin_trap();
    char *text2 = msg_encode(&again, &len2);
    if (!text2 || len1 != len2 || memcmp(text1, text2, len1) != 0)
        __builtin_trap();
    free(text1);
    free(text2);
    msg_clear(&m);
    msg_clear(&again);
    msg_clear(&again); /* harmless twice */
    return 0;
}
