#include "supervisor.h"

#include "cli.h"
#include "log.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAUSE_MIN_MS 200
#define PAUSE_MAX_MS 2000
#define HEALTHY_S 10 /* a child that ran this long restarts quickly again */

static volatile sig_atomic_t s_stop_signal;
static volatile pid_t s_child;

static void s_on_signal(int sig)
{
    s_stop_signal = sig;
    if (s_child > 0)
        kill(s_child, sig);
}

static pid_t s_spawn(const supervisor_spec_t *spec)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* the parent died before prctl */
        _exit(1);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    if (spec->in_child)
        spec->in_child(spec->arg);
    _exit(spec->child_main(spec->arg));
}

/* Waits for the child; true if it ran long enough to count as healthy. */
static bool s_wait(int *status)
{
    time_t started = time(NULL);
    while (waitpid(s_child, status, 0) < 0 && errno == EINTR)
        ;
    s_child = 0;
    return time(NULL) - started >= HEALTHY_S;
}

static bool s_finished(int status)
{
    return s_stop_signal || (WIFEXITED(status) &&
                             (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == CLI_EXIT_CONFIG));
}

static void s_log_crash(const supervisor_spec_t *spec, int status)
{
    const char *note = spec->after_crash ? spec->after_crash(spec->arg) : NULL;
    if (WIFSIGNALED(status))
        log_error("supervisor: %s died of signal %d; restarting it%s%s", spec->name,
                  WTERMSIG(status), note ? " " : "", note ? note : "");
    else
        log_error("supervisor: %s exited with %d; restarting it", spec->name, WEXITSTATUS(status));
}

int supervisor_run(const supervisor_spec_t *spec)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    unsigned pause_ms = PAUSE_MIN_MS;
    if (spec->prepare)
        spec->prepare(spec->arg);
    for (;;) {
        if (s_stop_signal) /* a stop during the pause before a restart */
            return 0;
        s_child = s_spawn(spec);
        if (s_child < 0) {
            log_error("supervisor: fork failed: %s", strerror(errno));
            return 1;
        }
        if (s_stop_signal) /* a stop between fork and here */
            kill(s_child, s_stop_signal);
        int status;
        if (s_wait(&status))
            pause_ms = PAUSE_MIN_MS;
        if (s_finished(status))
            return WIFEXITED(status) ? WEXITSTATUS(status) : 0;
        s_log_crash(spec, status);
        usleep(pause_ms * 1000);
        pause_ms = pause_ms < PAUSE_MAX_MS ? pause_ms * 2 : PAUSE_MAX_MS;
    }
}
