/* img-engine — the libvips worker process. See link/engine.h. */
#include "cli.h"
#include "config.h"
#include "crash_report.h"
#include "engine.h"
#include "img_error.h"
#include "log.h"
#include "supervisor.h"
#include "vips_server.h"

#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <vips/vips.h>

static engine_t *s_engine;

static void s_on_signal(int sig)
{
    (void)sig;
    if (s_engine)
        engine_stop(s_engine);
}

/* Runs the engine at niceness `nice` at least (engine_nice), so that image
 * work gives way to img-rest's requests on a shared machine: with both at
 * the same niceness, uploads waited for the cores the workers held (the
 * README's "Where the time goes" has the measurements). On
 * Linux a niceness is a thread's and new threads take their creator's, so
 * this runs before the engine starts any (its workers, libvips', ZeroMQ's).
 * An engine started nicer stays so; a failure is only logged. */
static void s_be_nice(int nice)
{
    if (nice <= 0)
        return;
    errno = 0;
    int now = getpriority(PRIO_PROCESS, 0);
    if (errno == 0 && now >= nice)
        return;
    if (setpriority(PRIO_PROCESS, 0, nice) < 0)
        log_warn("engine: cannot run at niceness %d: %s", nice, strerror(errno));
}

/* The engine itself, in the supervised child. */
static int s_engine_main(void *arg)
{
    const img_config_t *cfg = arg;
    s_be_nice(cfg->engine_nice);
    zsys_handler_set(NULL);
    if (vips_server_init("img-engine") == 0)
        s_engine = engine_new(cfg);
    if (!s_engine) { /* e.g. a bad broker_connect list: not retried */
        log_error("%s", img_error_message());
        return img_error_code() == IMG_E_CONFIG ? CLI_EXIT_CONFIG : 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int rc = engine_run(s_engine);
    bool config_error = rc < 0 && img_error_code() == IMG_E_CONFIG;
    if (rc < 0)
        log_error("engine: %s", img_error_message());
    bool busy = engine_busy(s_engine);
    engine_destroy(&s_engine); /* flushes the last messages (linger) */
    log_info("engine: stopped");
    if (busy) /* threads still inside libvips: do not wait for them */
        _exit(config_error ? CLI_EXIT_CONFIG : rc < 0 ? 1 : 0);
    vips_shutdown();
    /* a configuration error will not go away by restarting: tell the supervisor */
    return config_error ? CLI_EXIT_CONFIG : rc < 0 ? 1 : 0;
}

/* The crash report (crash_report.h) over the supervisor's restarts. */
static void s_crash_report_open(void *arg)
{
    (void)arg;
    if (crash_report_open() < 0)
        log_warn("supervisor: no crash report pipe; crashes charge every running job");
}

static void s_crash_report_install(void *arg)
{
    (void)arg;
    crash_report_install();
}

static const char *s_crash_report_collect(void *arg)
{
    static char note[96];
    (void)arg;
    snprintf(note, sizeof note,
             "(it will hand back %d job(s) that ran beside the one that crashed)",
             crash_report_collect());
    return note;
}

int main(int argc, char **argv)
{
    static img_config_t cfg;
    static const cli_spec_t spec = {"img-engine", "curve_client", NULL};
    cli_flags_t flags;
    int rc = cli_start(&spec, argc, argv, &cfg, &flags);
    if (rc >= 0)
        return rc;
    if (flags.no_supervisor)
        return s_engine_main(&cfg);
    const supervisor_spec_t supervised = {.name = "engine",
                                          .child_main = s_engine_main,
                                          .arg = &cfg,
                                          .prepare = s_crash_report_open,
                                          .in_child = s_crash_report_install,
                                          .after_crash = s_crash_report_collect};
    return supervisor_run(&supervised);
}
