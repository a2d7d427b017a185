/* img_error — one error per thread, set once where it is found.
 *
 * Functions across the project return 0 on success and -1 on failure; the
 * function that detects a failure calls img_error_set() and callers only
 * propagate. The buffer is thread-local, so a worker thread's error is never
 * overwritten by another thread. The codes are the public API's error codes
 * (../shared/API.md) plus the codes a failed job can carry.
 */
#ifndef IMG_ERROR_H
#define IMG_ERROR_H

typedef enum {
    IMG_E_NONE = 0,
    IMG_E_BAD_REQUEST,
    IMG_E_MISSING_FILE,
    IMG_E_EMPTY_FILE,
    IMG_E_INVALID_PARAMETER,
    IMG_E_PARAMETER_UNFIT, /* invalid_parameter too, but 422: valid alone, not for this image */
    IMG_E_UNSUPPORTED_MEDIA_TYPE,
    IMG_E_PAYLOAD_TOO_LARGE,
    IMG_E_IMAGE_TOO_LARGE,
    IMG_E_DIMENSION_MISMATCH,
    IMG_E_NOT_FOUND,
    IMG_E_METHOD_NOT_ALLOWED,
    IMG_E_JOB_FAILED,
    IMG_E_QUEUE_FULL,
    IMG_E_UNAUTHORIZED,
    IMG_E_RATE_LIMITED,
    IMG_E_INTERNAL,
    IMG_E_INSUFFICIENT_STORAGE,
    IMG_E_IDEMPOTENCY_MISMATCH,
    IMG_E_TOO_MANY_STREAMS,
    /* a setting that cannot work: never sent to a client; a program exits on it */
    IMG_E_CONFIG,
    /* codes carried by failed jobs */
    IMG_E_PROCESSING_FAILED,
    IMG_E_TIMEOUT,
    IMG_E_WORKER_LOST,
    IMG_E_CANCELLED,
    IMG_E_COUNT
} img_errcode_t;

/* Sets this thread's error; printf-style message, truncated to 511 bytes
 * and made valid UTF-8 (utf8_text_clean): it goes into JSON answers whatever
 * bytes a bounded "%.64s" cut. */
void img_error_set(img_errcode_t code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* For a failed file system call with errno err: IMG_E_INSUFFICIENT_STORAGE
 * when the disk is full (ENOSPC, EDQUOT), else IMG_E_INTERNAL; the message
 * is fmt followed by ": " and strerror(err). */
void img_error_set_io(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last error set on this thread (IMG_E_NONE and "" when none). */
img_errcode_t img_error_code(void);
const char *img_error_message(void);
void img_error_clear(void);

/* "invalid_parameter" etc.; NULL for an out-of-range code. */
const char *img_error_code_name(img_errcode_t code);
/* The inverse; IMG_E_NONE when the name is unknown. */
img_errcode_t img_error_code_from_name(const char *name);
/* The HTTP status that goes with a code (500 for codes without one). */
int img_error_http_status(img_errcode_t code);

#endif
