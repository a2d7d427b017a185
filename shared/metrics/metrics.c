#include "metrics.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_BUCKETS 16

typedef enum { M_COUNTER, M_GAUGE, M_HISTOGRAM } kind_t;

typedef struct series {
    char *labels; /* rendered: route="/x",method="GET" (may be "") */
    double value; /* counter, gauge; histogram: the sum */
    unsigned long long count;
    unsigned long long buckets[MAX_BUCKETS];
    struct series *next;
} series_t;

struct metric {
    kind_t kind;
    char *name, *help;
    char *label_names[METRICS_MAX_LABELS];
    int n_labels;
    double bounds[MAX_BUCKETS];
    int n_bounds;
    pthread_mutex_t lock;
    series_t *series;
    struct metric *next;
};

struct metrics {
    pthread_mutex_t lock;
    metric_t *families, *last;
    void (*on_render)(void *arg);
    void *on_render_arg;
};

/* ---- text building ---- */

typedef struct {
    char *buf;
    size_t len, cap;
    bool oom;
} text_t;

static void s_add(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_add(text_t *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0 || t->oom)
            return;
        if (t->buf && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap ? t->cap * 2 : 8192) + (size_t)n;
        char *grown = realloc(t->buf, cap);
        if (!grown) {
            t->oom = true;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
}

/* ---- registry ---- */

metrics_t *metrics_new(void)
{
    metrics_t *self = calloc(1, sizeof *self);
    if (self)
        pthread_mutex_init(&self->lock, NULL);
    return self;
}

static void s_free_family(metric_t *m)
{
    for (series_t *s = m->series, *next; s; s = next) {
        next = s->next;
        free(s->labels);
        free(s);
    }
    for (int i = 0; i < m->n_labels; i++)
        free(m->label_names[i]);
    pthread_mutex_destroy(&m->lock);
    free(m->name);
    free(m->help);
    free(m);
}

void metrics_destroy(metrics_t **pself)
{
    if (!pself || !*pself)
        return;
    for (metric_t *m = (*pself)->families, *next; m; m = next) {
        next = m->next;
        s_free_family(m);
    }
    pthread_mutex_destroy(&(*pself)->lock);
    free(*pself);
    *pself = NULL;
}

static bool s_name_ok(const char *name)
{
    if (!name || !(isalpha((unsigned char)*name) || *name == '_'))
        return false;
    for (const char *p = name; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return false;
    return true;
}

static int s_parse_labels(metric_t *m, const char *labels)
{
    char copy[256];
    snprintf(copy, sizeof copy, "%s", labels ? labels : "");
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (m->n_labels == METRICS_MAX_LABELS || !s_name_ok(tok) ||
            !(m->label_names[m->n_labels] = strdup(tok)))
            return -1;
        m->n_labels++;
    }
    return 0;
}

static metric_t *s_family(metrics_t *self, kind_t kind, const char *name, const char *help,
                          const char *labels)
{
    metric_t *m = calloc(1, sizeof *m);
    if (!m || !s_name_ok(name)) {
        free(m);
        return NULL;
    }
    m->kind = kind;
    pthread_mutex_init(&m->lock, NULL);
    m->name = strdup(name);
    m->help = strdup(help ? help : name);
    if (!m->name || !m->help || s_parse_labels(m, labels) < 0) {
        s_free_family(m);
        return NULL;
    }
    pthread_mutex_lock(&self->lock);
    if (self->last)
        self->last->next = m;
    else
        self->families = m;
    self->last = m;
    pthread_mutex_unlock(&self->lock);
    return m;
}

metric_t *metrics_counter(metrics_t *self, const char *name, const char *help, const char *labels)
{
    return s_family(self, M_COUNTER, name, help, labels);
}

metric_t *metrics_gauge(metrics_t *self, const char *name, const char *help, const char *labels)
{
    return s_family(self, M_GAUGE, name, help, labels);
}

metric_t *metrics_histogram(metrics_t *self, const char *name, const char *help, const char *labels,
                            const double *buckets, int n)
{
    if (n < 1 || n > MAX_BUCKETS)
        return NULL;
    metric_t *m = s_family(self, M_HISTOGRAM, name, help, labels);
    if (m) {
        memcpy(m->bounds, buckets, (size_t)n * sizeof *buckets);
        m->n_bounds = n;
    }
    return m;
}

void metrics_on_render(metrics_t *self, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&self->lock);
    self->on_render = fn;
    self->on_render_arg = arg;
    pthread_mutex_unlock(&self->lock);
}

/* ---- series ---- */

/* The label values (va_list) rendered: a="x",b="y", escaped. */
static void s_labels(const metric_t *m, va_list ap, text_t *t)
{
    for (int i = 0; i < m->n_labels; i++) {
        const char *v = va_arg(ap, const char *);
        s_add(t, "%s%s=\"", i ? "," : "", m->label_names[i]);
        for (const char *p = v ? v : ""; *p; p++) {
            if (*p == '\\' || *p == '"')
                s_add(t, "\\%c", *p);
            else if (*p == '\n')
                s_add(t, "\\n");
            else
                s_add(t, "%c", *p);
        }
        s_add(t, "\"");
    }
}

/* The series for the labels, created when new; with m->lock held. */
static series_t *s_series(metric_t *m, const char *labels)
{
    series_t **at = &m->series;
    for (; *at; at = &(*at)->next) {
        int cmp = strcmp((*at)->labels, labels);
        if (cmp == 0)
            return *at;
        if (cmp > 0)
            break; /* kept sorted: a stable exposition */
    }
    series_t *s = calloc(1, sizeof *s);
    if (!s || !(s->labels = strdup(labels))) {
        free(s);
        return NULL;
    }
    s->next = *at;
    *at = s;
    return s;
}

typedef enum { OP_ADD, OP_SET, OP_OBSERVE } op_t;

static void s_apply(metric_t *m, op_t op, double v, va_list ap)
{
    text_t t = {0};
    s_labels(m, ap, &t);
    pthread_mutex_lock(&m->lock);
    series_t *s = t.oom ? NULL : s_series(m, t.buf ? t.buf : "");
    if (s && op == OP_ADD)
        s->value += v;
    else if (s && op == OP_SET)
        s->value = v;
    else if (s) {
        s->value += v;
        s->count++;
        for (int i = 0; i < m->n_bounds; i++)
            if (v <= m->bounds[i])
                s->buckets[i]++;
    }
    pthread_mutex_unlock(&m->lock);
    free(t.buf);
}

void metric_add(metric_t *m, double v, ...)
{
    va_list ap;
    if (!m)
        return;
    va_start(ap, v);
    s_apply(m, OP_ADD, v, ap);
    va_end(ap);
}

void metric_set(metric_t *m, double v, ...)
{
    va_list ap;
    if (!m)
        return;
    va_start(ap, v);
    s_apply(m, OP_SET, v, ap);
    va_end(ap);
}

void metric_observe(metric_t *m, double v, ...)
{
    va_list ap;
    if (!m)
        return;
    va_start(ap, v);
    s_apply(m, OP_OBSERVE, v, ap);
    va_end(ap);
}

/* ---- rendering ---- */

static const char *const s_types[] = {"counter", "gauge", "histogram"};

static void s_render_series(const metric_t *m, const series_t *s, text_t *t)
{
    const char *sep = s->labels[0] ? "," : "";
    if (m->kind != M_HISTOGRAM) {
        s_add(t, "%s%s%s%s %.15g\n", m->name, s->labels[0] ? "{" : "", s->labels,
              s->labels[0] ? "}" : "", s->value);
        return;
    }
    for (int i = 0; i < m->n_bounds; i++)
        s_add(t, "%s_bucket{%s%sle=\"%g\"} %llu\n", m->name, s->labels, sep, m->bounds[i],
              s->buckets[i]);
    s_add(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", m->name, s->labels, sep, s->count);
    s_add(t, "%s_sum%s%s%s %.15g\n", m->name, s->labels[0] ? "{" : "", s->labels,
          s->labels[0] ? "}" : "", s->value);
    s_add(t, "%s_count%s%s%s %llu\n", m->name, s->labels[0] ? "{" : "", s->labels,
          s->labels[0] ? "}" : "", s->count);
}

static void s_render_family(metric_t *m, text_t *t)
{
    s_add(t, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, s_types[m->kind]);
    pthread_mutex_lock(&m->lock);
    for (const series_t *s = m->series; s; s = s->next)
        s_render_series(m, s, t);
    pthread_mutex_unlock(&m->lock);
}

static long s_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    long n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

/* utime, stime (clock ticks), vsize (bytes), rss (pages), starttime (ticks
 * since boot) from /proc/self/stat. */
static int s_proc_stat(double *cpu_s, double *vsize, double *rss, double *start_ticks)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command may hold blanks */
    unsigned long long ut, st, vs, start;
    long long rs;
    if (!p ||
        sscanf(p + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
               "%llu %llu %lld",
               &ut, &st, &start, &vs, &rs) != 5)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    *cpu_s = (double)(ut + st) / (double)hz;
    *vsize = (double)vs;
    *rss = (double)rs * (double)sysconf(_SC_PAGESIZE);
    *start_ticks = (double)start / (double)hz;
    return 0;
}

static double s_boot_time(void)
{
    FILE *f = fopen("/proc/stat", "r");
    char line[256];
    double btime = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "btime %lf", &btime) == 1)
            break;
    if (f)
        fclose(f);
    return btime;
}

static void s_render_process(text_t *t)
{
    double cpu, vsize, rss, start;
    struct rlimit rl;
    if (s_proc_stat(&cpu, &vsize, &rss, &start) == 0) {
        s_add(t,
              "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
              "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.2f\n",
              cpu);
        s_add(t,
              "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
              "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %.0f\n",
              rss);
        s_add(t,
              "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
              "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes %.0f\n",
              vsize);
        s_add(t,
              "# HELP process_start_time_seconds Start time of the process since unix epoch in "
              "seconds.\n# TYPE process_start_time_seconds gauge\n"
              "process_start_time_seconds %.2f\n",
              s_boot_time() + start);
    }
    long fds = s_open_fds();
    if (fds >= 0)
        s_add(t,
              "# HELP process_open_fds Number of open file descriptors.\n"
              "# TYPE process_open_fds gauge\nprocess_open_fds %ld\n",
              fds);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        s_add(t,
              "# HELP process_max_fds Maximum number of open file descriptors.\n"
              "# TYPE process_max_fds gauge\nprocess_max_fds %llu\n",
              (unsigned long long)rl.rlim_cur);
}

char *metrics_render(metrics_t *self)
{
    text_t t = {0};
    pthread_mutex_lock(&self->lock);
    void (*hook)(void *) = self->on_render;
    void *arg = self->on_render_arg;
    pthread_mutex_unlock(&self->lock);
    if (hook)
        hook(arg);
    pthread_mutex_lock(&self->lock);
    for (metric_t *m = self->families; m; m = m->next)
        s_render_family(m, &t);
    pthread_mutex_unlock(&self->lock);
    s_render_process(&t);
    if (t.oom) {
        free(t.buf);
        return NULL;
    }
    return t.buf;
}
