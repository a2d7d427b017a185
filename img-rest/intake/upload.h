/* upload — receives a job's multipart/form-data request body.
 *
 * The body comes from an upload_body_t (the HTTP layer's reader: civetweb
 * de-chunks chunked bodies) and streams through the multipart parser: a part
 * named like one of the operation's inputs (op->inputs[i].name or .alias)
 * goes straight to its input file in dir (job_files_input; created, never
 * overwritten; the client's filename is never used for a path); any other
 * part is a form field, kept in memory with its value. Input bytes
 * reach the file in large writes (small pieces are gathered first) and are
 * hashed on the way (XXH3-128: a fast index of the content, for the result
 * cache and Idempotency-Key checks; not a proof of equality).
 *
 * NOTE for the caller: after an error the body may be partly unread (the
 * HTTP layer then closes the connection). Files already written stay in
 * dir; the caller removes the job folder.
 */
#ifndef IMG_UPLOAD_H
#define IMG_UPLOAD_H

#include "op.h"

#include <jansson.h>
#include <stdbool.h>

#define UPLOAD_MAX_FIELDS 32
#define UPLOAD_MAX_FIELD_NAME 64       /* bytes */
#define UPLOAD_MAX_FIELD_VALUE 1024    /* bytes */
#define UPLOAD_READ_SIZE (256 * 1024)  /* body bytes read at a time */
#define UPLOAD_WRITE_SIZE (256 * 1024) /* small pieces of input gather up to this */
#define UPLOAD_DIRECT_MIN (64 * 1024)  /* pieces this large are written as they come */
#define UPLOAD_DIGEST_LEN 16           /* XXH3-128, canonical (big-endian) bytes */

/* A request body, as the HTTP layer hands it over. */
typedef struct {
    /* Reads up to len bytes: > 0 read, 0 at the end of the body, -1 error. */
    int (*read)(void *ctx, char *buf, size_t len);
    /* Tells a client waiting for it (Expect: 100-continue) to send the body;
     * NULL when it waits for nothing. */
    void (*proceed)(void *ctx);
    void *ctx;
    const char *content_type; /* NULL when absent */
    long long content_length; /* -1 when unknown (chunked) */
} upload_body_t;

typedef struct {
    json_t *fields;                 /* non-file form fields: name -> string (owned) */
    bool have[OP_MAX_INPUTS];       /* which of op->inputs arrived (by index) */
    long long bytes[OP_MAX_INPUTS]; /* their sizes */
    unsigned char digest[OP_MAX_INPUTS][UPLOAD_DIGEST_LEN]; /* their XXH3-128 */
    long long body_bytes;                                   /* request body bytes read */
} upload_t;

/* Reads body for operation op into dir (an existing
 * directory) and fills out, which it first initialises: call upload_clear(out)
 * afterwards whatever the result. max_bytes bounds the body (<= 0: no bound).
 * 0, or -1 with img_error:
 *   IMG_E_MISSING_FILE: no body at all, or an input missing (named);
 *   IMG_E_EMPTY_FILE: an input of 0 bytes (named);
 *   IMG_E_UNSUPPORTED_MEDIA_TYPE: the body is not multipart/form-data;
 *   IMG_E_PAYLOAD_TOO_LARGE: Content-Length over max_bytes (nothing read),
 *     or the body growing past it (reading stops at once);
 *   IMG_E_BAD_REQUEST: malformed multipart, a body that ends early or cannot
 *     be read, an input sent twice, a form field name that is not UTF-8;
 *   IMG_E_INVALID_PARAMETER: more than UPLOAD_MAX_FIELDS fields, a field
 *     given twice, a field name or value over its limit, a value that is not
 *     UTF-8 text;
 *   IMG_E_INTERNAL: an input file cannot be created or written (disk full). */
int upload_receive(const upload_body_t *body, const op_def_t *op, const char *dir,
                   long long max_bytes, upload_t *out);

/* Releases what u owns and zeroes it; harmless twice. */
void upload_clear(upload_t *u);

#endif
