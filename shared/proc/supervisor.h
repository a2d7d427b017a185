/* supervisor — keeps a program's real work running: both img-rest and
 * img-engine run under one.
 *
 * The program's main process forks the real work (child_main) as a child
 * and restarts it (after a short pause, growing while it keeps failing fast)
 * when it dies of a signal or exits with an error: a job that crashes
 * libvips, a watchdog exit for a stuck job, a crash of img-rest. SIGTERM
 * and SIGINT are passed to the child and the supervisor exits with the
 * child's status once it has stopped. An exit 0, or CLI_EXIT_CONFIG (a
 * configuration error would only fail again), is not restarted. The child
 * dies with its parent (PR_SET_PDEATHSIG), so killing the supervisor with
 * SIGKILL leaves nothing behind.
 */
#ifndef IMG_SUPERVISOR_H
#define IMG_SUPERVISOR_H

typedef struct {
    const char *name;             /* the child's name in log lines: "engine" */
    int (*child_main)(void *arg); /* the work; its return value is the child's exit code */
    void *arg;                    /* passed to every function here */
    /* Optional hooks: before the first start (in the supervisor), at the
     * start of each child, and after a child died of a crash (in the
     * supervisor, before the restart; returns a note for the log line). */
    void (*prepare)(void *arg);
    void (*in_child)(void *arg);
    const char *(*after_crash)(void *arg);
} supervisor_spec_t;

/* Runs spec->child_main in a child, again after each crash. Returns the exit
 * status for the supervisor's own exit. */
int supervisor_run(const supervisor_spec_t *spec);

#endif
