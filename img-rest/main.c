/* img-rest — the HTTP front of the image service. See README.md and
 * docs/architecture.md. */
#include "cli.h"
#include "config.h"
#include "dispatcher.h"
#include "housekeeping.h"
#include "http_guard.h"
#include "http_server.h"
#include "img_error.h"
#include "instance_name.h"
#include "intake.h"
#include "job.h"
#include "job_events.h"
#include "job_store.h"
#include "log.h"
#include "rest_metrics.h"
#include "site.h"
#include "supervisor.h"
#include "openapi.h"
#include "rest_app.h"
#include "vips_server.h"
#include "webhooks.h"

#include <czmq.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <vips/vips.h>

/* Threads with large stacks for the libvips work HTTP requests need
 * (probing uploads' headers, making thumbnails). */
#define BIG_STACK_THREADS 4

/* Blocks until SIGINT or SIGTERM. */
static int s_wait_for_stop(void)
{
    sigset_t set;
    int sig = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigwait(&set, &sig);
    return sig;
}

/* Every thread started from here on inherits the blocked stop signals. */
static void s_block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    zsys_handler_set(NULL);
}

/* The store's change notices wake the waiting requests and the dispatcher
 * (with replicas, a job queued by another img-rest is dispatched here too). */
static void s_on_changed(void *arg, const char *id)
{
    rest_app_t *app = arg;
    job_events_notify(app->events, id);
    if (app->dispatcher)
        dispatcher_wake(app->dispatcher);
}

/* Only a delivery made due here wakes the webhooks (not every change: their
 * outbox query was 6 % of img-rest's CPU on small jobs); other replicas'
 * are found by the webhooks' own look at the outbox every second. */
static void s_on_deliveries_due(void *arg)
{
    rest_app_t *app = arg;
    if (app->webhooks)
        webhooks_wake(app->webhooks);
}

static void s_on_progress(void *arg, const char *id, int percent)
{
    rest_app_t *app = arg;
    job_events_progress(app->events, id, percent);
}

/* The job store of cfg->db_url (empty: SQLite in the data folder). */
static job_store_t *s_open_store(const img_config_t *cfg)
{
    char path[PATH_MAX];
    if (cfg->db_url[0])
        return job_store_open(cfg->db_url);
    snprintf(path, sizeof path, "%s/jobs.db", cfg->data_dir);
    return job_store_open(path);
}

static int s_start(rest_app_t *app, const img_config_t *cfg, char *name, size_t size)
{
    if (vips_server_init("img-rest") < 0 || instance_name_new(name, size) < 0)
        return -1;
    mkdir(cfg->data_dir, 0750);
    app->cfg = cfg;
    app->started_ms = job_now_ms();
    if (!(app->store = s_open_store(cfg)) || !(app->events = job_events_new()) ||
        !(app->metrics = rest_metrics_new()) || !(app->guard = http_guard_new(cfg)) ||
        !(app->stacks = big_stack_new(BIG_STACK_THREADS)) ||
        !(app->intake = intake_new(cfg, app->store, app->stacks)) || !(app->site = site_new(cfg)))
        return -1;
    dispatcher_deps_t deps = {
        .cfg = cfg, .store = app->store, .metrics = app->metrics, .name = name};
    if (!(app->dispatcher = dispatcher_new(&deps)) ||
        !(app->housekeeping = housekeeping_new(cfg, app->store, app->metrics)) ||
        !(app->webhooks = webhooks_new(cfg, app->store)))
        return -1;
    /* everything the change notices reach exists from here on */
    job_store_listen(app->store, &(job_store_listener_t){.changed = s_on_changed,
                                                         .progress = s_on_progress,
                                                         .deliveries_due = s_on_deliveries_due,
                                                         .arg = app});
    return 0;
}

static void s_stop(rest_app_t *app)
{
    if (app->store)
        job_store_listen(app->store, &(job_store_listener_t){0});
    webhooks_destroy(&app->webhooks);
    housekeeping_destroy(&app->housekeeping);
    dispatcher_destroy(&app->dispatcher);
    intake_destroy(&app->intake);
    big_stack_destroy(&app->stacks);
    site_destroy(&app->site);
    rest_metrics_destroy(&app->metrics);
    http_guard_destroy(&app->guard);
    job_store_destroy(&app->store);
    job_events_destroy(&app->events);
}

/* --print-openapi: the document, as /openapi.json serves it. */
static int s_print_openapi(const img_config_t *cfg)
{
    json_t *doc = openapi_document_new(cfg);
    if (!doc) {
        fprintf(stderr, "img-rest: %s\n", img_error_message());
        return CLI_EXIT_CONFIG;
    }
    int rc = json_dumpf(doc, stdout, JSON_INDENT(2)) == 0 && puts("") >= 0 ? 0 : 1;
    json_decref(doc);
    return rc;
}

/* The server itself (in the supervised child): serves until SIGINT or
 * SIGTERM. Its exit code: 0, CLI_EXIT_CONFIG for a setting that cannot
 * work (not restarted), 1 otherwise. */
static int s_serve(void *arg)
{
    const img_config_t *cfg = arg;
    s_block_signals();
    rest_app_t app = {0};
    char name[64];
    http_server_t *http = NULL;
    int rc = 1;
    if (s_start(&app, cfg, name, sizeof name) < 0 || !(http = http_server_new(&app)))
        goto done;
    log_info("rest: %s serving on http://localhost:%d/ (data in %s, %s job store)", name,
             http_server_port(http), cfg->data_dir, job_store_backend(app.store));
    int sig = s_wait_for_stop();
    log_info("rest: %s received, finishing requests in progress", strsignal(sig));
    rc = 0;
done:
    if (rc)
        log_error("rest: %s", img_error_message());
    if (app.events) /* event streams end, so that the HTTP threads can */
        job_events_shutdown(app.events);
    http_server_destroy(&http); /* answers what is in flight, accepts nothing more */
    s_stop(&app);
    vips_shutdown();
    log_info("rest: stopped");
    return rc == 0 ? 0 : img_error_code() == IMG_E_CONFIG ? CLI_EXIT_CONFIG : 1;
}

int main(int argc, char **argv)
{
    static img_config_t cfg;
    static const cli_spec_t spec = {"img-rest", "curve_server", "print-openapi"};
    cli_flags_t flags;
    int rc = cli_start(&spec, argc, argv, &cfg, &flags);
    if (rc >= 0)
        return rc;
    if (flags.extra)
        return s_print_openapi(&cfg);
    if (flags.no_supervisor)
        return s_serve(&cfg);
    const supervisor_spec_t supervised = {.name = "img-rest", .child_main = s_serve, .arg = &cfg};
    return supervisor_run(&supervised);
}
