#include "msg_schema.h"

#include <stddef.h>

#define F(field, member, kind_, ...)                                                               \
    {                                                                                              \
        .name = field, .kind = kind_, .offset = offsetof(msg_t, member),                           \
        .size = sizeof(((msg_t *)0)->member), __VA_ARGS__                                          \
    }
#define END                                                                                        \
    {                                                                                              \
        .name = NULL                                                                               \
    }

#define ENGINE F("engine", engine, MSG_F_ENGINE)
#define ID F("id", id, MSG_F_ID)
#define DISPATCH F("dispatch", dispatch, MSG_F_INT, .min = 1, .max = 1000000000)

/* img-engine -> img-rest */
static const msg_field_t s_ready[] = {ENGINE, F("credit", credit, MSG_F_INT, .min = 1, .max = 1024),
                                      END};
static const msg_field_t s_heartbeat[] = {ENGINE,
                                          F("free", free_threads, MSG_F_INT, .min = 0, .max = 1024),
                                          F("held", held, MSG_F_IDS, .max = MSG_MAX_HELD), END};
static const msg_field_t s_started[] = {ID, DISPATCH, END};
static const msg_field_t s_progress[] = {
    ID, DISPATCH, F("percent", percent, MSG_F_INT, .min = 0, .max = 100), END};
static const msg_field_t s_done[] = {
    ID,
    DISPATCH,
    F("status", ok, MSG_F_STATUS),
    F("result", result, MSG_F_OBJECT, .optional = true, .with_status = +1),
    F("error", error_code, MSG_F_ERROR, .optional = true, .with_status = -1),
    END};
static const msg_field_t s_release[] = {ID, DISPATCH, END};
static const msg_field_t s_bye[] = {ENGINE, END};
/* img-rest -> img-engine */
static const msg_field_t s_job[] = {
    ID,
    F("operation", operation, MSG_F_NAME),
    F("params", params, MSG_F_OBJECT),
    F("input", input, MSG_F_OBJECT, .optional = true),
    DISPATCH,
    F("timeout_ms", timeout_ms, MSG_F_INT, .min = 1, .max = 86400000),
    F("request_id", request_id, MSG_F_TOKEN, .optional = true),
    END};
static const msg_field_t s_ping[] = {END};
static const msg_field_t s_cancel[] = {ID, END};

static const msg_schema_t s_schemas[MSG_TYPE_COUNT] = {
    [MSG_READY] = {"ready", true, s_ready},
    [MSG_HEARTBEAT] = {"heartbeat", true, s_heartbeat},
    [MSG_STARTED] = {"started", true, s_started},
    [MSG_PROGRESS] = {"progress", true, s_progress},
    [MSG_DONE] = {"done", true, s_done},
    [MSG_RELEASE] = {"release", true, s_release},
    [MSG_BYE] = {"bye", true, s_bye},
    [MSG_JOB] = {"job", false, s_job},
    [MSG_PING] = {"ping", false, s_ping},
    [MSG_CANCEL] = {"cancel", false, s_cancel},
};

const msg_schema_t *msg_schema(msg_type_t type)
{
    if ((int)type < 0 || type >= MSG_TYPE_COUNT)
        return NULL;
    return &s_schemas[type];
}
