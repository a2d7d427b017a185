/* supervisor — keeps the engine process running.
 *
 * img-engine's main process forks the real engine as a child and restarts
 * it (after a short, growing pause) if it dies of a signal or exits with an
 * error, e.g. a job that crashes libvips or a watchdog exit for a stuck job.
 * SIGTERM/SIGINT are forwarded to the child and the supervisor exits with
 * the child's status. The child dies with its parent (PR_SET_PDEATHSIG), so
 * killing img-engine with SIGKILL leaves nothing behind.
 */
#ifndef IMG_SUPERVISOR_H
#define IMG_SUPERVISOR_H

/* Calls child_main() in a forked child, again after each crash. Returns the
 * exit status for the supervisor's own exit once the child stops cleanly or
 * a stop signal arrived. child_main's return value is the child's exit code. */
int supervisor_run(int (*child_main)(void *arg), void *arg);

#endif
