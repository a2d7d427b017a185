/* libFuzzer target: the img-rest <-> img-engine messages.
 *
 * Any input is decoded; what decodes must encode, decode again and encode to
 * the very same text (a decoded message is always valid, and encoding loses
 * nothing). Failures must carry a message that is valid UTF-8 (it is logged
 * and may be put in JSON).
 */
#include "img_error.h"
#include "msg.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LEN (1 << 20)

static void s_message_is_text(void)
{
    json_t *s = json_string(img_error_message());
    if (!s)
        __builtin_trap();
    json_decref(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msg_t m, again;
    if (msg_decode(data, size, MAX_LEN, &m) < 0) {
        s_message_is_text();
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
