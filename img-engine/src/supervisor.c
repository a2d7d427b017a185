#include "supervisor.h"

#include "cli.h"
#include "crash_report.h"
#include "log.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t s_stop_signal;
static volatile pid_t s_child;

static void s_on_signal(int sig)
{
    s_stop_signal = sig;
    if (s_child > 0)
        kill(s_child, sig);
}

static pid_t s_spawn(int (*child_main)(void *), void *arg)
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
    crash_report_install();
    _exit(child_main(arg));
}

int supervisor_run(int (*child_main)(void *arg), void *arg)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    unsigned pause_ms = 200;
    if (crash_report_open() < 0)
        log_warn("supervisor: no crash report pipe; crashes charge every running job");
    for (;;) {
        if (s_stop_signal) /* a stop during the pause before a restart */
            return 0;
        s_child = s_spawn(child_main, arg);
        if (s_child > 0 && s_stop_signal) /* a stop between fork and here */
            kill(s_child, s_stop_signal);
        if (s_child < 0) {
            log_error("supervisor: fork failed: %s", strerror(errno));
            return 1;
        }
        int status;
        time_t started = time(NULL);
        while (waitpid(s_child, &status, 0) < 0 && errno == EINTR)
            ;
        if (time(NULL) - started >= 10)
            pause_ms = 200; /* it ran well for a while: restart quickly again */
        s_child = 0;
        if (s_stop_signal || (WIFEXITED(status) &&
                              (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == CLI_EXIT_CONFIG)))
            return WIFEXITED(status) ? WEXITSTATUS(status) : 0;
        int innocent = crash_report_collect();
        if (WIFSIGNALED(status))
            log_error("supervisor: engine died of signal %d; restarting (it will hand back %d "
                      "job(s) that ran beside the one that crashed)",
                      WTERMSIG(status), innocent);
        else
            log_error("supervisor: engine exited with %d; restarting", WEXITSTATUS(status));
        usleep(pause_ms * 1000);
        pause_ms = pause_ms < 2000 ? pause_ms * 2 : 2000;
    }
}
