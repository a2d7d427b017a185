/* rest_app — what img-rest's request handlers share: the configuration and
 * the long-lived objects, each thread-safe. Built by main(), read-only after
 * the HTTP server starts. Nothing here is owned by the handlers. */
#ifndef IMG_REST_APP_H
#define IMG_REST_APP_H

#include "config.h"
#include "dispatcher.h"
#include "housekeeping.h"
#include "http_guard.h"
#include "intake.h"
#include "job_events.h"
#include "job_store.h"
#include "rest_metrics.h"
#include "site.h"
#include "webhooks.h"

#include <stdint.h>

typedef struct {
    const img_config_t *cfg;
    job_store_t *store;
    dispatcher_t *dispatcher;
    intake_t *intake;
    big_stack_t *stacks; /* libvips work on HTTP requests runs here */
    housekeeping_t *housekeeping;
    site_t *site;
    webhooks_t *webhooks;
    job_events_t *events;
    rest_metrics_t *metrics;
    http_guard_t *guard;
    int64_t started_ms;
} rest_app_t;

#endif
