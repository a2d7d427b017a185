/* img-engine — the libvips worker process. See src/engine.h. */
#include "config.h"
#include "curve.h"
#include "engine.h"
#include "img_error.h"
#include "log.h"
#include "supervisor.h"
#include "vips_server.h"

#include <czmq.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <vips/vips.h>

#define EXIT_CONFIG 2

static engine_t *s_engine;

static void s_on_signal(int sig)
{
    (void)sig;
    if (s_engine)
        engine_stop(s_engine);
}

static void s_usage(FILE *out)
{
    config_print_help(
        out, "img-engine [-c CONFIG] [--no-supervisor] [--curve-keypair] [--version] [--help]");
}

/* The engine itself, in the supervised child. */
static int s_engine_main(void *arg)
{
    const img_config_t *cfg = arg;
    zsys_handler_set(NULL);
    if (vips_server_init("img-engine") == 0)
        s_engine = engine_new(cfg);
    if (!s_engine) {
        log_error("%s", img_error_message());
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int rc = engine_run(s_engine);
    bool config_error = rc < 0 && img_error_code() == IMG_E_BAD_REQUEST;
    if (rc < 0)
        log_error("engine: %s", img_error_message());
    bool busy = engine_busy(s_engine);
    engine_destroy(&s_engine); /* flushes the last messages (linger) */
    log_info("engine: stopped");
    if (busy) /* threads still inside libvips: do not wait for them */
        _exit(config_error ? EXIT_CONFIG : rc < 0 ? 1 : 0);
    vips_shutdown();
    /* a configuration error will not go away by restarting: tell the supervisor */
    return config_error ? EXIT_CONFIG : rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    int supervised = 1;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"no-supervisor", no_argument, NULL, 'n'},
        {"version", no_argument, NULL, 'V'},      {"curve-keypair", no_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'n':
            supervised = 0;
            break;
        case 'V':
            puts("img-engine 0.1.0");
            return 0;
        case 'K':
            return curve_print_keypair("curve_client") == 0 ? 0 : 1;
        case 'h':
            s_usage(stdout);
            return 0;
        default:
            s_usage(stderr);
            return EXIT_CONFIG;
        }
    }
    static img_config_t cfg;
    if (config_load(&cfg, config_path) < 0) {
        fprintf(stderr, "img-engine: %s\n", img_error_message());
        return EXIT_CONFIG;
    }
    log_init("img-engine", (log_level_t)log_level_parse(cfg.log_level));
    return supervised ? supervisor_run(s_engine_main, &cfg) : s_engine_main(&cfg);
}
