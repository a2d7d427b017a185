#include "crash_report.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int s_pipe[2] = {-1, -1};
static crash_job_t s_slots[CRASH_REPORT_MAX];
static volatile int s_n_slots;
static crash_job_t s_committing[CRASH_REPORT_MAX];
static volatile int s_n_committing;
static _Thread_local crash_job_t s_current;
static crash_job_t s_innocents[CRASH_REPORT_MAX];
static int s_n_innocents;

int crash_report_open(void)
{
    if (pipe(s_pipe) < 0)
        return -1;
    fcntl(s_pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(s_pipe[1], F_SETFL, O_NONBLOCK);
    return 0;
}

void crash_report_slot(int i, const char *id, int dispatch)
{
    if (i < 0 || i >= CRASH_REPORT_MAX)
        return;
    if (id)
        memcpy(s_slots[i].id, id, JOB_ID_LEN + 1);
    s_slots[i].dispatch = id ? dispatch : 0;
    if (!id)
        s_slots[i].id[0] = '\0';
    if (i >= s_n_slots)
        s_n_slots = i + 1;
}

void crash_report_committing_add(const char *id, int dispatch)
{
    int n = s_n_committing;
    if (n >= CRASH_REPORT_MAX)
        return;
    memcpy(s_committing[n].id, id, JOB_ID_LEN + 1);
    s_committing[n].dispatch = dispatch;
    s_n_committing = n + 1; /* counted once whole: the handler reads the first n */
}

void crash_report_committing_remove(const char *id)
{
    int n = s_n_committing;
    for (int i = 0; i < n; i++)
        if (strcmp(s_committing[i].id, id) == 0) {
            /* the last one moves here, then is counted once: a handler
             * running meanwhile may report it twice (the second release is
             * refused by the broker) or read it torn (refused by collect) */
            s_committing[i] = s_committing[n - 1];
            s_n_committing = n - 1;
            return;
        }
}

void crash_report_current(const char *id, int dispatch)
{
    if (id)
        memcpy(s_current.id, id, JOB_ID_LEN + 1);
    else
        s_current.id[0] = '\0';
    s_current.dispatch = dispatch;
}

/* Async-signal-safe: formats "<tag> <id> <dispatch>\n" by hand and write()s it. */
static void s_write_line(char tag, const crash_job_t *job)
{
    char line[64];
    size_t n = 0;
    line[n++] = tag;
    line[n++] = ' ';
    memcpy(line + n, job->id, JOB_ID_LEN);
    n += JOB_ID_LEN;
    line[n++] = ' ';
    char digits[12];
    int d = 0;
    unsigned v = (unsigned)job->dispatch;
    do {
        digits[d++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && d < 11);
    while (d)
        line[n++] = digits[--d];
    line[n++] = '\n';
    if (write(s_pipe[1], line, n) < 0) {
        /* nothing to do in a dying process */
    }
}

static void s_on_fatal(int sig)
{
    int saved = errno;
    bool have_culprit = s_current.id[0] != '\0';
    /* pixels are decoded and encoded on libvips' own threads, which run no
     * job of their own: with a single job running, it is the culprit; with
     * several, the crash cannot be pinned and every one is charged */
    int busy = 0, last = -1;
    for (int i = 0; !have_culprit && i < s_n_slots; i++)
        if (s_slots[i].id[0]) {
            busy++;
            last = i;
        }
    if (!have_culprit && busy == 1) {
        s_current = s_slots[last];
        have_culprit = true;
    }
    if (have_culprit)
        s_write_line('C', &s_current);
    for (int i = 0; have_culprit && i < s_n_slots; i++)
        if (s_slots[i].id[0] && memcmp(s_slots[i].id, s_current.id, JOB_ID_LEN) != 0)
            s_write_line('I', &s_slots[i]);
    for (int i = 0; i < s_n_committing; i++) /* done computing: never the culprit */
        s_write_line('I', &s_committing[i]);
    errno = saved;
    /* SA_RESETHAND restored the default action: die of the same signal */
    raise(sig);
}

void crash_report_install(void)
{
    if (s_pipe[1] < 0)
        return;
    close(s_pipe[0]);
    s_pipe[0] = -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_fatal;
    sa.sa_flags = (int)SA_RESETHAND | SA_NODEFER;
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        sigaction(fatal[i], &sa, NULL);
}

int crash_report_collect(void)
{
    s_n_innocents = 0;
    if (s_pipe[0] < 0)
        return 0;
    char buf[CRASH_REPORT_MAX * 48];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(s_pipe[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    for (char *line = strtok(buf, "\n"); line && s_n_innocents < CRASH_REPORT_MAX;
         line = strtok(NULL, "\n")) {
        crash_job_t job;
        char tag;
        if (sscanf(line, "%c %36s %d", &tag, job.id, &job.dispatch) == 3 && tag == 'I' &&
            job_id_valid(job.id))
            s_innocents[s_n_innocents++] = job;
    }
    return s_n_innocents;
}

int crash_report_innocents(const crash_job_t **jobs)
{
    *jobs = s_innocents;
    return s_n_innocents;
}
