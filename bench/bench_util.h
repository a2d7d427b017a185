/* bench_util — small pieces the benchmark tools share: a monotonic clock,
 * percentiles, the size of a JPEG from its bytes, and the CPU time of a
 * process tree read from /proc. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* Seconds on CLOCK_MONOTONIC. */
double bench_now(void);

/* Sleeps until bench_now() >= t (or returns at once when it already is). */
void bench_sleep_until(double t);

/* A growable array of doubles (latencies in ms). */
typedef struct {
    double *v;
    size_t n, cap;
} bench_samples_t;

void bench_samples_add(bench_samples_t *s, double x);
/* Appends all of `from` to `to`. */
void bench_samples_extend(bench_samples_t *to, const bench_samples_t *from);
void bench_samples_free(bench_samples_t *s);

/* Writes {"n":..,"mean":..,"p50":..,"p95":..,"p99":..,"max":..} (nearest-rank
 * percentiles; sorts the samples). Empty: {"n":0}. */
void bench_samples_json(FILE *out, bench_samples_t *s);

/* The nearest-rank percentile p (0..100) of sorted samples; 0 when empty. */
double bench_percentile_sorted(const double *v, size_t n, double p);

/* Width and height of a JPEG (from its first SOF marker). Returns true only
 * for bytes that start with SOI, end with EOI and have a frame header. */
bool bench_jpeg_size(const unsigned char *p, size_t len, int *width, int *height);

/* CPU time (user + system, in ms) of process `pid` and all its living
 * descendants, plus the time of the children they have already reaped.
 * Returns -1 when `pid` is gone. */
double bench_tree_cpu_ms(pid_t pid);

#endif
