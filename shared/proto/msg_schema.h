/* msg_schema — the protocol as data: one table per message type.
 *
 * A field has a wire name, a kind (which says how it is checked, encoded
 * and decoded), where it lives in msg_t, and bounds. msg.c walks these
 * tables and nothing else; docs/protocol.md describes the same tables (a
 * unit test compares them). Adding a field or a message is a table row.
 */
#ifndef IMG_MSG_SCHEMA_H
#define IMG_MSG_SCHEMA_H

#include "msg.h"

typedef enum {
    MSG_F_ENGINE, /* string: 1..63 printable ASCII, no blank */
    MSG_F_NAME,   /* string: [a-z0-9_]+, shorter than the buffer */
    MSG_F_ID,     /* string: a job id (lowercase UUIDv4) */
    MSG_F_INT,    /* integer within [min, max] */
    MSG_F_OBJECT, /* JSON object (owned json_t *) */
    MSG_F_IDS,    /* array of at most max job ids (msg_t.held, n_held) */
    MSG_F_STATUS, /* "complete" or "failed" (msg_t.ok) */
    MSG_F_ERROR,  /* object {code: snake_case, message: string} */
    MSG_F_TOKEN,  /* string: 1..size-1 visible ASCII */
} msg_field_kind_t;

typedef struct {
    const char *name; /* the JSON key */
    msg_field_kind_t kind;
    size_t offset;   /* of the value in msg_t */
    size_t size;     /* strings: the buffer's size */
    int min, max;    /* MSG_F_INT bounds; MSG_F_IDS: max count */
    bool optional;   /* may be absent (then zero / empty / NULL) */
    int with_status; /* +1: present exactly when the status is complete,
                        -1: exactly when it is failed, 0: always */
} msg_field_t;

typedef struct {
    const char *name;          /* "ready" */
    bool from_engine;          /* sent by img-engine (else by img-rest) */
    const msg_field_t *fields; /* terminated by a NULL name */
} msg_schema_t;

/* The table of a type; NULL for an invalid type. */
const msg_schema_t *msg_schema(msg_type_t type);

#endif
