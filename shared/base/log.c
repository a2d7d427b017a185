#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *s_program = "img";
static log_level_t s_level = IMG_LOG_INFO;
static const char *const s_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void log_init(const char *program, log_level_t level)
{
    s_program = program;
    s_level = level;
}

int log_level_parse(const char *name)
{
    static const char *const lower[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, lower[i]) == 0)
            return i;
    return -1;
}

void log_msg(log_level_t level, const char *fmt, ...)
{
    if (level < s_level)
        return;
    struct timespec ts;
    struct tm tm;
    char stamp[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    char line[1024];
    int n = snprintf(line, sizeof line, "%s.%03ldZ %s %s ", stamp, ts.tv_nsec / 1000000L, s_program,
                     s_names[level]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* one write per line so that threads never interleave inside a line */
    fprintf(stderr, "%s\n", line);
}
