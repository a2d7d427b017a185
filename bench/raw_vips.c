/* raw_vips — the benchmark's resize done by libvips directly, as fast as it
 * goes: the ceiling a service built on the same libvips could reach.
 *
 * N threads (default: the number of cores) each loop: vips_thumbnail() from
 * the file to the given width (height unbounded: the aspect ratio is kept;
 * shrink-on-load where the format allows), then save as JPEG at the given
 * quality, metadata stripped, to memory (vips_jpegsave_buffer) or to a file
 * of the thread's own. The libvips operation cache is off; libvips' own
 * worker threads per image are set with --concurrency (default 1: with one
 * loop per core, throughput is best when each image runs on one thread).
 * After --warmup seconds, the images finished within --duration seconds are
 * counted. Prints one JSON object: images/s, the time per image, the process'
 * CPU time per image, errors.
 *
 *   raw_vips --file in.jpg --width 256 [--quality 80] [--threads N]
 *            [--concurrency 1] [--warmup 2] [--duration 6]
 *            [--save buffer|file] [--out-dir DIR]
 */
#include "bench_util.h"

#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <vips/vips.h>

typedef struct {
    const char *file;
    int width, quality, threads, concurrency;
    double warmup_s, duration_s;
    bool to_file;
    const char *out_dir;
} rv_config_t;

typedef struct {
    int index;
    const rv_config_t *cfg;
    double *t_end, *ms; /* per image */
    size_t n, cap;
    long errors;
    int out_w, out_h;
    size_t out_bytes;
    char error[256];
    pthread_t thread;
} rv_worker_t;

static atomic_bool g_stop;

static void s_fail(const char *what)
{
    fprintf(stderr, "raw_vips: %s\n", what);
    exit(2);
}

/* One image. Returns 0, or -1 with w->error set. */
static int s_one(rv_worker_t *w, const char *out_path)
{
    const rv_config_t *cfg = w->cfg;
    VipsImage *thumb = NULL;
    int rc = -1;
    if (vips_thumbnail(cfg->file, &thumb, cfg->width, "height", VIPS_MAX_COORD, NULL))
        goto done;
    if (cfg->to_file) {
        if (vips_jpegsave(thumb, out_path, "Q", cfg->quality, "strip", TRUE, NULL))
            goto done;
        w->out_bytes = 0;
    } else {
        void *buf = NULL;
        size_t len = 0;
        if (vips_jpegsave_buffer(thumb, &buf, &len, "Q", cfg->quality, "strip", TRUE, NULL))
            goto done;
        int bw = 0, bh = 0;
        bool ok = bench_jpeg_size(buf, len, &bw, &bh);
        g_free(buf);
        if (!ok || bw != vips_image_get_width(thumb) || bh != vips_image_get_height(thumb)) {
            snprintf(w->error, sizeof w->error, "the saved JPEG is not %dx%d",
                     vips_image_get_width(thumb), vips_image_get_height(thumb));
            g_object_unref(thumb);
            return -1;
        }
        w->out_bytes = len;
    }
    w->out_w = vips_image_get_width(thumb);
    w->out_h = vips_image_get_height(thumb);
    if (w->out_w != cfg->width) {
        snprintf(w->error, sizeof w->error, "the result is %d wide, expected %d", w->out_w,
                 cfg->width);
        g_object_unref(thumb);
        return -1;
    }
    rc = 0;
done:
    if (rc < 0 && !w->error[0])
        snprintf(w->error, sizeof w->error, "%s", vips_error_buffer());
    if (thumb)
        g_object_unref(thumb);
    return rc;
}

static void *s_worker(void *arg)
{
    rv_worker_t *w = arg;
    char out_path[4096];
    if (w->cfg->to_file)
        snprintf(out_path, sizeof out_path, "%s/raw-vips-%d.jpg", w->cfg->out_dir, w->index);
    while (!atomic_load(&g_stop)) {
        double t0 = bench_now();
        w->error[0] = '\0';
        if (s_one(w, out_path) < 0) {
            if (w->errors++ == 0)
                fprintf(stderr, "raw_vips: error (thread %d): %s\n", w->index, w->error);
            vips_error_clear();
            usleep(20000);
            continue;
        }
        double t1 = bench_now();
        if (w->n == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 1024;
            w->t_end = realloc(w->t_end, w->cap * sizeof *w->t_end);
            w->ms = realloc(w->ms, w->cap * sizeof *w->ms);
            if (!w->t_end || !w->ms)
                s_fail("out of memory");
        }
        w->t_end[w->n] = t1;
        w->ms[w->n++] = (t1 - t0) * 1000.0;
    }
    vips_thread_shutdown();
    return NULL;
}

static double s_cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

static void s_usage(void)
{
    fputs("usage: raw_vips --file IMAGE --width W [--quality Q] [--threads N]\n"
          "                [--concurrency C] [--warmup S] [--duration S]\n"
          "                [--save buffer|file] [--out-dir DIR]\n",
          stderr);
}

static void s_parse(int argc, char **argv, rv_config_t *cfg)
{
    static const struct option opts[] = {
        {"file", required_argument, NULL, 'f'},
        {"width", required_argument, NULL, 'w'},
        {"quality", required_argument, NULL, 'q'},
        {"threads", required_argument, NULL, 't'},
        {"concurrency", required_argument, NULL, 'c'},
        {"warmup", required_argument, NULL, 'W'},
        {"duration", required_argument, NULL, 'd'},
        {"save", required_argument, NULL, 's'},
        {"out-dir", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    *cfg = (rv_config_t){.quality = 80,
                         .threads = cores > 0 ? (int)cores : 1,
                         .concurrency = 1,
                         .warmup_s = 2,
                         .duration_s = 6,
                         .out_dir = "."};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'f':
            cfg->file = optarg;
            break;
        case 'w':
            cfg->width = atoi(optarg);
            break;
        case 'q':
            cfg->quality = atoi(optarg);
            break;
        case 't':
            cfg->threads = atoi(optarg);
            break;
        case 'c':
            cfg->concurrency = atoi(optarg);
            break;
        case 'W':
            cfg->warmup_s = atof(optarg);
            break;
        case 'd':
            cfg->duration_s = atof(optarg);
            break;
        case 's':
            if (strcmp(optarg, "file") != 0 && strcmp(optarg, "buffer") != 0)
                s_fail("--save is buffer or file");
            cfg->to_file = strcmp(optarg, "file") == 0;
            break;
        case 'o':
            cfg->out_dir = optarg;
            break;
        case 'h':
            s_usage();
            exit(0);
        default:
            s_usage();
            exit(2);
        }
    }
    if (!cfg->file || cfg->width < 1 || optind != argc) {
        s_usage();
        exit(2);
    }
    if (cfg->threads < 1 || cfg->threads > 256 || cfg->concurrency < 1 || cfg->quality < 1 ||
        cfg->quality > 100 || cfg->duration_s <= 0 || cfg->warmup_s < 0)
        s_fail("bad --threads, --concurrency, --quality, --duration or --warmup");
}

int main(int argc, char **argv)
{
    rv_config_t cfg;
    s_parse(argc, argv, &cfg);
    if (VIPS_INIT(argv[0]))
        s_fail(vips_error_buffer());
    vips_cache_set_max(0);
    vips_concurrency_set(cfg.concurrency);

    rv_worker_t *workers = calloc((size_t)cfg.threads, sizeof *workers);
    if (!workers)
        s_fail("out of memory");
    double start = bench_now();
    for (int i = 0; i < cfg.threads; i++) {
        workers[i].index = i;
        workers[i].cfg = &cfg;
        if (pthread_create(&workers[i].thread, NULL, s_worker, &workers[i]) != 0)
            s_fail("pthread_create failed");
    }
    bench_sleep_until(start + cfg.warmup_s);
    double t0 = bench_now(), cpu0 = s_cpu_ms();
    bench_sleep_until(t0 + cfg.duration_s);
    double t1 = bench_now(), cpu1 = s_cpu_ms();
    atomic_store(&g_stop, true);
    for (int i = 0; i < cfg.threads; i++)
        pthread_join(workers[i].thread, NULL);

    bench_samples_t ms = {0};
    long errors = 0;
    int out_w = 0, out_h = 0;
    size_t out_bytes = 0;
    for (int i = 0; i < cfg.threads; i++) {
        rv_worker_t *w = &workers[i];
        errors += w->errors;
        if (w->out_w) {
            out_w = w->out_w;
            out_h = w->out_h;
            out_bytes = w->out_bytes;
        }
        for (size_t j = 0; j < w->n; j++)
            if (w->t_end[j] >= t0 && w->t_end[j] <= t1)
                bench_samples_add(&ms, w->ms[j]);
    }
    size_t jobs = ms.n;
    double seconds = t1 - t0;
    printf("{\"tool\":\"raw_vips\",\"file\":\"%s\",\"width\":%d,\"quality\":%d,"
           "\"threads\":%d,\"vips_concurrency\":%d,\"save\":\"%s\",\"libvips\":\"%s\","
           "\"warmup_s\":%.3f,\"duration_s\":%.3f,\"seconds\":%.4f,\"jobs\":%zu,"
           "\"jobs_per_s\":%.4f,\"errors\":%ld,\"result\":{\"width\":%d,\"height\":%d,"
           "\"bytes\":%zu},\"cpu_ms_per_job\":%.3f,\"image_ms\":",
           cfg.file, cfg.width, cfg.quality, cfg.threads, vips_concurrency_get(),
           cfg.to_file ? "file" : "buffer", vips_version_string(), cfg.warmup_s, cfg.duration_s,
           seconds, jobs, seconds > 0 ? (double)jobs / seconds : 0.0, errors, out_w, out_h,
           out_bytes, jobs ? (cpu1 - cpu0) / (double)jobs : 0.0);
    bench_samples_json(stdout, &ms);
    printf("}\n");

    for (int i = 0; i < cfg.threads; i++) {
        free(workers[i].t_end);
        free(workers[i].ms);
    }
    free(workers);
    bench_samples_free(&ms);
    vips_shutdown();
    return errors ? 1 : 0;
}
