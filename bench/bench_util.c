/* bench_util — see bench_util.h. */
#include "bench_util.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_sleep_until(double t)
{
    for (;;) {
        double left = t - bench_now();
        if (left <= 0)
            return;
        struct timespec ts = {.tv_sec = (time_t)left,
                              .tv_nsec = (long)((left - floor(left)) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

void bench_samples_add(bench_samples_t *s, double x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        double *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            perror("realloc");
            exit(1);
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
}

void bench_samples_extend(bench_samples_t *to, const bench_samples_t *from)
{
    for (size_t i = 0; i < from->n; i++)
        bench_samples_add(to, from->v[i]);
}

void bench_samples_free(bench_samples_t *s)
{
    free(s->v);
    *s = (bench_samples_t){0};
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_percentile_sorted(const double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    double rank = ceil(p / 100.0 * (double)n);
    size_t k = rank < 1 ? 0 : (size_t)rank - 1;
    return v[k < n ? k : n - 1];
}

void bench_samples_json(FILE *out, bench_samples_t *s)
{
    if (s->n == 0) {
        fputs("{\"n\":0}", out);
        return;
    }
    qsort(s->v, s->n, sizeof *s->v, s_cmp_double);
    double sum = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += s->v[i];
    fprintf(out, "{\"n\":%zu,\"mean\":%.3f,\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f,\"max\":%.3f}",
            s->n, sum / (double)s->n, bench_percentile_sorted(s->v, s->n, 50),
            bench_percentile_sorted(s->v, s->n, 95), bench_percentile_sorted(s->v, s->n, 99),
            s->v[s->n - 1]);
}

bool bench_jpeg_size(const unsigned char *p, size_t len, int *width, int *height)
{
    if (len < 4 || p[0] != 0xFF || p[1] != 0xD8 || p[len - 2] != 0xFF || p[len - 1] != 0xD9)
        return false;
    size_t i = 2;
    while (i + 4 <= len) {
        if (p[i] != 0xFF)
            return false;
        unsigned char m = p[i + 1];
        if (m == 0xFF) { /* fill byte */
            i++;
            continue;
        }
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { /* no length */
            i += 2;
            continue;
        }
        size_t seg = ((size_t)p[i + 2] << 8) | p[i + 3];
        if (seg < 2 || i + 2 + seg > len)
            return false;
        bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
        if (sof) {
            if (seg < 7)
                return false;
            *height = (p[i + 5] << 8) | p[i + 6];
            *width = (p[i + 7] << 8) | p[i + 8];
            return true;
        }
        if (m == 0xDA) /* scan data before any frame header */
            return false;
        i += 2 + seg;
    }
    return false;
}

/* utime + stime + cutime + cstime of one process, in clock ticks; -1 if gone. */
static long long s_proc_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name (field 2) is in parentheses and may hold spaces. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    p++;
    /* Fields 3.. follow; utime, stime, cutime, cstime are 14..17. */
    long long v[17] = {0};
    int field = 3;
    while (field <= 17 && *p) {
        while (*p == ' ')
            p++;
        char *end;
        long long x = strtoll(p, &end, 10);
        if (end == p) { /* the state letter (field 3) */
            while (*p && *p != ' ')
                p++;
        } else {
            v[field - 1] = x;
            p = end;
        }
        field++;
    }
    return v[13] + v[14] + v[15] + v[16];
}

static long long s_tree_ticks(pid_t pid, int depth)
{
    long long total = s_proc_ticks(pid);
    if (total < 0 || depth > 16)
        return total;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return total;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char cpath[320];
        snprintf(cpath, sizeof cpath, "/proc/%d/task/%s/children", (int)pid, e->d_name);
        FILE *f = fopen(cpath, "r");
        if (!f)
            continue;
        int child;
        while (fscanf(f, "%d", &child) == 1) {
            long long t = s_tree_ticks((pid_t)child, depth + 1);
            if (t > 0)
                total += t;
        }
        fclose(f);
    }
    closedir(d);
    return total;
}

double bench_tree_cpu_ms(pid_t pid)
{
    long long ticks = s_tree_ticks(pid, 0);
    if (ticks < 0)
        return -1;
    return (double)ticks * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}
