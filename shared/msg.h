/* msg — the versioned JSON messages between img-rest and img-engine.
 *
 * One ZeroMQ frame holds one UTF-8 JSON object {"v": 1, "type": ..., ...}.
 * img-rest's dispatcher binds a ROUTER; each img-engine connects a DEALER
 * with a unique identity (its worker name). docs/protocol.md lists every
 * message and field; msg_decode() enforces it: a message that is not JSON,
 * has another version, an unknown type, a missing or mistyped field, or an
 * out-of-range value is refused with -1 and the reason in img_error, so that
 * the caller logs and drops it.
 */
#ifndef IMG_MSG_H
#define IMG_MSG_H

#include "job_id.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define MSG_VERSION 1
#define MSG_WORKER_MAX 64
#define MSG_OP_MAX 32
#define MSG_MAX_HELD 1024

typedef enum {
    /* img-engine -> img-rest */
    MSG_READY,     /* credit: more free threads */
    MSG_HEARTBEAT, /* free, held[]: still alive, renew these leases */
    MSG_STARTED,   /* id, attempt: work on a job began */
    MSG_DONE,      /* id, attempt, ok, result | error_*: a job attempt ended */
    MSG_BYE,       /* worker drains: send it no more jobs */
    MSG_RELEASE,   /* id, attempt: a job handed back unstarted (draining) */
    /* img-rest -> img-engine */
    MSG_JOB,    /* id, operation, params, attempt, timeout_ms */
    MSG_PING,   /* broker heartbeat */
    MSG_CANCEL, /* id: stop working on this job, its result is not wanted */
    MSG_TYPE_COUNT
} msg_type_t;

typedef struct {
    msg_type_t type;
    char worker[MSG_WORKER_MAX];  /* READY, HEARTBEAT, BYE */
    int credit;                   /* READY: 1..1024 */
    int free_threads;             /* HEARTBEAT: 0..1024 */
    int n_held;                   /* HEARTBEAT */
    char (*held)[JOB_ID_LEN + 1]; /* HEARTBEAT: n_held ids, owned (msg_clear frees) */
    char id[JOB_ID_LEN + 1];      /* JOB, STARTED, DONE, RELEASE, CANCEL */
    char operation[MSG_OP_MAX];   /* JOB: [a-z0-9_]+ */
    json_t *params;               /* JOB: object, owned */
    int attempt;                  /* JOB, STARTED, DONE, RELEASE: 1.. */
    int timeout_ms;               /* JOB: 1.. */
    bool ok;                      /* DONE: true = complete */
    json_t *result;               /* DONE ok: object, owned */
    char error_code[32];          /* DONE !ok */
    char error_message[512];      /* DONE !ok */
} msg_t;

/* "ready", "job", ...; NULL for an invalid type. */
const char *msg_type_name(msg_type_t type);

/* Zeroes m. */
void msg_init(msg_t *m, msg_type_t type);

/* Releases what m owns and zeroes it; harmless twice. */
void msg_clear(msg_t *m);

/* Serialises m. Caller owns (free()) the returned NUL-terminated JSON text;
 * NULL with img_error if m is not a valid message. *len gets strlen. */
char *msg_encode(const msg_t *m, size_t *len);

/* Parses and validates len bytes (need not be NUL-terminated) into out,
 * which the caller later msg_clear()s. 0, or -1 with img_error (out is then
 * empty). max_len: larger input is refused without parsing. */
int msg_decode(const void *data, size_t len, size_t max_len, msg_t *out);

#endif
