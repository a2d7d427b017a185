/* cli — what both programs do before their own work: read the command line
 * (-c CONFIG, --no-supervisor, --version, --curve-keypair, --help, and one
 * flag of the program's own), load the configuration and start logging. */
#ifndef IMG_CLI_H
#define IMG_CLI_H

#include "config.h"

#include <stdbool.h>

/* Exit code of a configuration error: the supervisor does not restart a
 * child that exits with it. */
#define CLI_EXIT_CONFIG 2

typedef struct {
    const char *program;      /* "img-rest": log and message prefix */
    const char *curve_prefix; /* "curve_server" or "curve_client" for --curve-keypair */
    const char *extra_flag;   /* a long option of the program's own, or NULL */
} cli_spec_t;

/* The flags given. */
typedef struct {
    bool no_supervisor; /* --no-supervisor: run the work in this process */
    bool extra;         /* the program's own flag */
} cli_flags_t;

/* Parses argv and loads cfg (file, then IMG_* variables). Returns -1 when
 * the program should go on (with *flags), otherwise the exit code to return
 * at once (--help, --version, --curve-keypair, a bad option or a bad
 * configuration, reported on stderr). */
int cli_start(const cli_spec_t *spec, int argc, char **argv, img_config_t *cfg, cli_flags_t *flags);

#endif
