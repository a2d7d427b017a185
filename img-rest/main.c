/* img-rest — the HTTP front of the image service. See README.md. */
#include "cli.h"
#include "config.h"
#include "dispatcher.h"
#include "http_guard.h"
#include "http_server.h"
#include "img_error.h"
#include "job.h"
#include "job_events.h"
#include "job_files.h"
#include "job_orphans.h"
#include "job_store.h"
#include "log.h"
#include "metrics.h"
#include "rest_app.h"
#include "vips_server.h"

#include <czmq.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <vips/vips.h>

static void s_remove_files(const char *id, void *arg)
{
    const img_config_t *cfg = arg;
    if (job_files_remove(cfg->data_dir, id) < 0)
        log_warn("rest: %s", img_error_message());
}

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

int main(int argc, char **argv)
{
    static img_config_t cfg;
    static const cli_spec_t spec = {"img-rest", "curve_server", NULL};
    bool unused;
    int rc = cli_start(&spec, argc, argv, &cfg, &unused);
    if (rc >= 0)
        return rc;
    if (!cfg.db_path[0] && strlen(cfg.data_dir) + sizeof "/jobs.db" > sizeof cfg.db_path) {
        fprintf(stderr, "img-rest: data_dir is too long\n");
        return CLI_EXIT_CONFIG;
    }
    if (!cfg.db_path[0])
        strcat(strcpy(cfg.db_path, cfg.data_dir), "/jobs.db");

    /* every thread started from here on inherits the blocked stop signals */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    zsys_handler_set(NULL);

    if (vips_server_init("img-rest") < 0) {
        log_error("%s", img_error_message());
        return 1;
    }
    mkdir(cfg.data_dir, 0750);

    rest_app_t app = {.cfg = &cfg, .started_ms = job_now_ms()};
    dispatcher_deps_t deps = {.cfg = &cfg, .on_purged = s_remove_files, .on_purged_arg = &cfg};
    http_server_t *http = NULL;
    rc = 1;
    app.store = job_store_open_sqlite(cfg.db_path);
    app.events = job_events_new();
    app.metrics = metrics_new();
    app.guard = http_guard_new(&cfg);
    if (!app.store || !app.events || !app.metrics || !app.guard)
        goto done;
    int orphans = job_orphans_sweep(cfg.data_dir, app.store);
    if (orphans > 0)
        log_info("rest: removed %d job folder(s) left by an upload that never finished", orphans);
    deps.store = app.store;
    deps.events = app.events;
    app.dispatcher = dispatcher_new(&deps);
    if (!app.dispatcher)
        goto done;
    http = http_server_new(&app);
    if (!http)
        goto done;
    log_info("rest: serving on http://localhost:%d/ (data in %s)", http_server_port(http),
             cfg.data_dir);
    int sig = s_wait_for_stop();
    log_info("rest: %s received, finishing requests in progress", strsignal(sig));
    rc = 0;
done:
    if (rc)
        log_error("rest: %s", img_error_message());
    http_server_destroy(&http); /* answers what is in flight, accepts nothing more */
    dispatcher_destroy(&app.dispatcher);
    metrics_destroy(&app.metrics);
    http_guard_destroy(&app.guard);
    job_events_destroy(&app.events);
    job_store_destroy(&app.store);
    vips_shutdown();
    log_info("rest: stopped");
    return rc;
}
