/* msg — the versioned JSON messages between img-rest and img-engine.
 *
 * One ZeroMQ frame holds one UTF-8 JSON object {"v": 2, "type": ..., ...}.
 * img-rest's dispatcher binds a ROUTER; each img-engine connects a DEALER
 * whose identity is its engine name. The protocol is described once, as
 * data: msg_schema.c holds one table per message type (its fields, their
 * kinds and bounds), and that table alone drives the checks, the encoding
 * and the decoding here. docs/protocol.md explains it for people; a unit
 * test fails when the two disagree.
 *
 * msg_decode() refuses (-1, the reason in img_error, for the caller to log
 * and drop) a message that is not a JSON object, is too large, has another
 * version or an unknown type, or a missing, mistyped or out-of-range field.
 * Unknown extra fields are ignored (room for additions within a version).
 */
#ifndef IMG_MSG_H
#define IMG_MSG_H

#include "job_id.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define MSG_VERSION 2
#define MSG_ENGINE_MAX 64      /* engine names: 1..63 printable ASCII */
#define MSG_OP_MAX 32          /* operation names: [a-z0-9_]+ */
#define MSG_REQUEST_ID_MAX 129 /* request ids: 1..128 visible ASCII */
#define MSG_MAX_HELD 1024

typedef enum {
    /* img-engine -> img-rest */
    MSG_READY,
    MSG_HEARTBEAT,
    MSG_STARTED,
    MSG_PROGRESS,
    MSG_DONE,
    MSG_RELEASE,
    MSG_BYE,
    /* img-rest -> img-engine */
    MSG_JOB,
    MSG_PING,
    MSG_CANCEL,
    MSG_TYPE_COUNT
} msg_type_t;

/* Every field of every message; a message type uses some (msg_schema.c). */
typedef struct {
    msg_type_t type;
    char engine[MSG_ENGINE_MAX];         /* the sending engine's name */
    int credit;                          /* jobs more the engine can take now */
    int free_threads;                    /* wire "free": threads idle now */
    int n_held;                          /* wire "held": the jobs the engine holds */
    char (*held)[JOB_ID_LEN + 1];        /* n_held ids, owned (msg_clear frees) */
    char id[JOB_ID_LEN + 1];             /* a job id */
    char operation[MSG_OP_MAX];          /* an operation's name */
    json_t *params;                      /* the job's parameters, owned */
    json_t *input;                       /* the inputs' headers (the status' "input"), owned */
    int dispatch;                        /* the job's dispatch number (never repeats) */
    int timeout_ms;                      /* the attempt's time limit */
    int percent;                         /* progress 0..100 */
    char request_id[MSG_REQUEST_ID_MAX]; /* the submit's request id, or "" */
    bool ok;                             /* wire "status": complete (true) or failed */
    json_t *result;                      /* complete: the result object, owned */
    char error_code[32];                 /* failed: snake_case */
    char error_message[512];             /* failed */
} msg_t;

/* "ready", "job", ...; NULL for an invalid type. */
const char *msg_type_name(msg_type_t type);

/* Zeroes m and sets its type. */
void msg_init(msg_t *m, msg_type_t type);

/* Releases what m owns and zeroes it; harmless twice. */
void msg_clear(msg_t *m);

/* Serialises m. Caller owns (free()) the returned NUL-terminated JSON text;
 * NULL with img_error if m is not a valid message. *len gets strlen. */
char *msg_encode(const msg_t *m, size_t *len);

/* Parses and validates len bytes (need not be NUL-terminated) into out,
 * which the caller later msg_clear()s. 0, or -1 with img_error (out is then
 * empty). Input larger than max_len is refused without parsing. */
int msg_decode(const void *data, size_t len, size_t max_len, msg_t *out);

#endif
