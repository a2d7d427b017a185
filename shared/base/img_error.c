#include "img_error.h"

#include "utf8_text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local img_errcode_t s_code;
static _Thread_local char s_message[512];

static const struct {
    const char *name;
    int http_status;
} s_codes[IMG_E_COUNT] = {
    [IMG_E_NONE] = {"none", 200},
    [IMG_E_BAD_REQUEST] = {"bad_request", 400},
    [IMG_E_MISSING_FILE] = {"missing_file", 400},
    [IMG_E_EMPTY_FILE] = {"empty_file", 400},
    [IMG_E_INVALID_PARAMETER] = {"invalid_parameter", 400},
    [IMG_E_PARAMETER_UNFIT] = {"invalid_parameter", 422},
    [IMG_E_UNSUPPORTED_MEDIA_TYPE] = {"unsupported_media_type", 415},
    [IMG_E_PAYLOAD_TOO_LARGE] = {"payload_too_large", 413},
    [IMG_E_IMAGE_TOO_LARGE] = {"image_too_large", 422},
    [IMG_E_DIMENSION_MISMATCH] = {"dimension_mismatch", 422},
    [IMG_E_NOT_FOUND] = {"not_found", 404},
    [IMG_E_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405},
    [IMG_E_JOB_FAILED] = {"job_failed", 409},
    [IMG_E_QUEUE_FULL] = {"queue_full", 503},
    [IMG_E_UNAUTHORIZED] = {"unauthorized", 401},
    [IMG_E_RATE_LIMITED] = {"rate_limited", 429},
    [IMG_E_INTERNAL] = {"internal", 500},
    [IMG_E_INSUFFICIENT_STORAGE] = {"insufficient_storage", 507},
    [IMG_E_IDEMPOTENCY_MISMATCH] = {"idempotency_mismatch", 422},
    [IMG_E_TOO_MANY_STREAMS] = {"too_many_streams", 503},
    [IMG_E_CONFIG] = {"config", 500},
    [IMG_E_PROCESSING_FAILED] = {"processing_failed", 500},
    [IMG_E_TIMEOUT] = {"timeout", 500},
    [IMG_E_WORKER_LOST] = {"worker_lost", 500},
    [IMG_E_CANCELLED] = {"cancelled", 500},
};

void img_error_set(img_errcode_t code, const char *fmt, ...)
{
    va_list ap;
    s_code = code;
    va_start(ap, fmt);
    vsnprintf(s_message, sizeof s_message, fmt, ap);
    va_end(ap);
    utf8_text_clean(s_message);
}

void img_error_set_io(int err, const char *fmt, ...)
{
    char what[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    s_code = (err == ENOSPC || err == EDQUOT) ? IMG_E_INSUFFICIENT_STORAGE : IMG_E_INTERNAL;
    snprintf(s_message, sizeof s_message, "%s: %s", what, strerror(err));
    utf8_text_clean(s_message);
}

img_errcode_t img_error_code(void)
{
    return s_code;
}

const char *img_error_message(void)
{
    return s_message;
}

void img_error_clear(void)
{
    s_code = IMG_E_NONE;
    s_message[0] = '\0';
}

const char *img_error_code_name(img_errcode_t code)
{
    if ((int)code < 0 || code >= IMG_E_COUNT)
        return NULL;
    return s_codes[code].name;
}

img_errcode_t img_error_code_from_name(const char *name)
{
    if (!name)
        return IMG_E_NONE;
    for (int i = 1; i < IMG_E_COUNT; i++)
        if (strcmp(s_codes[i].name, name) == 0)
            return (img_errcode_t)i;
    return IMG_E_NONE;
}

int img_error_http_status(img_errcode_t code)
{
    if ((int)code <= 0 || code >= IMG_E_COUNT)
        return 500;
    return s_codes[code].http_status;
}
