#include "cli.h"

#include "curve.h"
#include "img_error.h"
#include "log.h"

#include <getopt.h>
#include <stdio.h>

static void s_usage(const cli_spec_t *spec, FILE *out)
{
    char usage[256];
    snprintf(usage, sizeof usage,
             "%s [-c CONFIG] [--no-supervisor]%s%s%s [--curve-keypair] [--version] [--help]",
             spec->program, spec->extra_flag ? " [--" : "",
             spec->extra_flag ? spec->extra_flag : "", spec->extra_flag ? "]" : "");
    config_print_help(out, usage);
}

int cli_start(const cli_spec_t *spec, int argc, char **argv, img_config_t *cfg, cli_flags_t *flags)
{
    /* the program's own flag last: without one, its NULL name ends the list */
    const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                  {"version", no_argument, NULL, 'V'},
                                  {"curve-keypair", no_argument, NULL, 'K'},
                                  {"help", no_argument, NULL, 'h'},
                                  {"no-supervisor", no_argument, NULL, 'S'},
                                  {spec->extra_flag, no_argument, NULL, 'x'},
                                  {NULL, 0, NULL, 0}};
    const char *config_path = NULL;
    int c;
    *flags = (cli_flags_t){0};
    optind = 0; /* GNU getopt: start afresh (tests call this more than once) */
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'x':
            flags->extra = true;
            break;
        case 'S':
            flags->no_supervisor = true;
            break;
        case 'V':
            printf("%s 0.1.0\n", spec->program);
            return 0;
        case 'K':
            return curve_print_keypair(spec->curve_prefix) == 0 ? 0 : 1;
        case 'h':
            s_usage(spec, stdout);
            return 0;
        default:
            s_usage(spec, stderr);
            return CLI_EXIT_CONFIG;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", spec->program, argv[optind]);
        return CLI_EXIT_CONFIG;
    }
    if (config_load(cfg, config_path) < 0) {
        fprintf(stderr, "%s: %s\n", spec->program, img_error_message());
        return CLI_EXIT_CONFIG;
    }
    log_init(spec->program, (log_level_t)log_level_parse(cfg->log_level),
             (log_format_t)log_format_parse(cfg->log_format));
    return -1;
}
