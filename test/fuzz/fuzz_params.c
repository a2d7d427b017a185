/* libFuzzer target: request parameters, from a query string to validated
 * operation parameters.
 *
 * The input is a query string (up to its first NUL). query_parse() must
 * succeed or fail with bad_request / invalid_parameter; what it accepts is
 * then validated against every registered operation, which must give an
 * object of integers and strings or fail with invalid_parameter. Every error
 * message must be valid UTF-8, since it goes into a JSON reply.
 */
#include "img_error.h"
#include "query.h"

#ifndef FUZZ_PARAMS_OPS
#define FUZZ_PARAMS_OPS 1 /* 0: query_parse only */
#endif
#if FUZZ_PARAMS_OPS
#include "op_params.h"
#include "op_registry.h"
#endif

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void s_message_is_text(void)
{
    json_t *s = json_string(img_error_message());
    if (!s)
        __builtin_trap();
    json_decref(s);
}

#if FUZZ_PARAMS_OPS
static void s_validate_all(const json_t *raw)
{
    const op_def_t *op;
    for (size_t i = 0; (op = op_registry_at(i)) != NULL; i++) {
        img_error_clear();
        json_t *params = op_params_validate(op, raw);
        if (!params) {
            if (img_error_code() != IMG_E_INVALID_PARAMETER)
                __builtin_trap();
            s_message_is_text();
            continue;
        }
        const char *key;
        json_t *value;
        json_object_foreach(params, key, value) if (!json_is_integer(value) &&
                                                    !json_is_string(value)) __builtin_trap();
        json_decref(params);
    }
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *query = malloc(size + 1);
    if (!query)
        return 0;
    memcpy(query, data, size);
    query[size] = '\0';
    json_t *raw = json_object();
    img_error_clear();
    if (query_parse(query, raw) < 0) {
        img_errcode_t code = img_error_code();
        if (code != IMG_E_BAD_REQUEST && code != IMG_E_INVALID_PARAMETER)
            __builtin_trap();
        if (json_object_size(raw) != 0) /* all or nothing */
            __builtin_trap();
        s_message_is_text();
    } else {
        if (json_object_size(raw) > QUERY_MAX_PARAMS)
            __builtin_trap();
#if FUZZ_PARAMS_OPS
        s_validate_all(raw);
#endif
    }
    json_decref(raw);
    free(query);
    return 0;
}
