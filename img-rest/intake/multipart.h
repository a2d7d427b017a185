/* multipart — a streaming (push) parser for multipart/form-data bodies.
 *
 * The body is fed in pieces of any size (one byte at a time works too) and
 * the parser calls back for each part: on_part_begin with the part's
 * Content-Disposition name (and filename / Content-Type when given), then
 * on_part_data zero or more times with the part's bytes as they arrive (never
 * buffered: memory stays bounded whatever the body), then on_part_end.
 *
 * Refused with IMG_E_BAD_REQUEST: a header line over MULTIPART_MAX_LINE bytes,
 * more than MULTIPART_MAX_HEADERS headers in a part, more than
 * MULTIPART_MAX_PARTS parts, a part without `Content-Disposition: form-data;
 * name=...`, a boundary followed by anything but `--`, transport padding and
 * CRLF. The preamble and the epilogue are ignored. `filename*=` is ignored.
 */
#ifndef IMG_MULTIPART_H
#define IMG_MULTIPART_H

#include <stddef.h>

#define MULTIPART_BOUNDARY_MAX 70 /* RFC 2046 */
#define MULTIPART_MAX_LINE 8192   /* bytes in one part header line, CRLF excluded */
#define MULTIPART_MAX_HEADERS 16  /* header lines per part */
#define MULTIPART_MAX_PARTS 64

/* Every callback is optional (NULL). Each returns 0 to go on, or -1 after
 * setting img_error to abort the parse: multipart_feed() then returns -1 and
 * leaves that error as it is. The strings passed to on_part_begin are valid
 * only during the call; name is never NULL nor empty, filename and
 * content_type are NULL when the part has none. */
typedef struct {
    int (*on_part_begin)(void *arg, const char *name, const char *filename,
                         const char *content_type);
    int (*on_part_data)(void *arg, const char *data, size_t len);
    int (*on_part_end)(void *arg);
} multipart_callbacks_t;

typedef struct multipart multipart_t;

/* Copies the boundary parameter of a Content-Type value into out (size bytes,
 * NUL-terminated). The media type must be multipart/form-data (any case),
 * else -1 with IMG_E_UNSUPPORTED_MEDIA_TYPE; a missing, empty, over-long
 * (> 70) or malformed boundary, or one that does not fit out, is -1 with
 * IMG_E_BAD_REQUEST. NULL content_type counts as another media type. */
int multipart_boundary(const char *content_type, char *out, size_t size);

/* A parser for a body delimited by boundary (copied; 1..70 RFC 2046
 * characters, else NULL with IMG_E_BAD_REQUEST). cb is copied; arg is passed
 * to every callback and not owned. Caller owns the result
 * (multipart_destroy). */
multipart_t *multipart_new(const char *boundary, const multipart_callbacks_t *cb, void *arg);

/* Parses len more bytes. 0, or -1 with img_error (IMG_E_BAD_REQUEST, or the
 * error a callback set). After a failure the parser stays failed: later calls
 * return -1 without touching img_error. */
int multipart_feed(multipart_t *mp, const char *data, size_t len);

/* Says the body is over: 0 if the closing boundary was seen, else -1 with
 * IMG_E_BAD_REQUEST (or -1 alone if the parser had already failed). */
int multipart_finish(multipart_t *mp);

/* Frees *mp and NULLs it; harmless on NULL. */
void multipart_destroy(multipart_t **mp);

#endif
