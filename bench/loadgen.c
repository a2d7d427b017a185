/* loadgen — an HTTP load generator for the image-resize benchmark (libcurl).
 *
 * N client threads, each with its own keep-alive curl handle, run jobs back
 * to back (a closed loop) for a fixed time after a warm-up, or until a fixed
 * number of jobs is done. One job is, by mode:
 *   service  POST <url>/<op> (multipart: field `file` + the --param fields),
 *            which must answer 202 with the job's id; then
 *            GET <url>/<op>/status/<id>?wait=30 until the status is complete;
 *            then GET <url>/<op>/<id>, which must answer 200 with the image;
 *   sync     POST <url> (the same multipart body), which must answer 200 with
 *            the image;
 *   upload   POST <url> (the same multipart body), which must answer 200 with
 *            a JSON object whose "bytes" (the body bytes the server stored)
 *            is at least the input's size (bench/bare_receiver).
 * Any other status code, a failed job, a transport error or a result that is
 * not a JPEG of the expected size counts as an error; errors are counted,
 * the first few are printed to stderr and named in the JSON, and the exit
 * status is then 1 (0 without errors, 2 for bad usage).
 *
 * Every upload is made unique: a JPEG input gets a comment segment (COM)
 * with the client's number and a counter right after its SOI marker, so a
 * server that caches results by input bytes cannot answer from its cache.
 * The counters start at a random number, so that runs against one server
 * (the rounds of make bench) never send the same bytes twice either.
 * The image itself is unchanged.
 *
 * With --jobs N, the clients share N jobs and all finished ones count;
 * --max-seconds S stops starting new ones after S seconds.
 *
 * Measured: jobs finished inside the measured window, jobs/s, per-job
 * end-to-end latency (first byte of the POST to the last byte of the image)
 * and, in service mode, the submit latency (POST to its 202); and, for each
 * --pid NAME=PID, the CPU time (user + system) of that process and all its
 * descendants over the window, read from /proc, per job. Prints one JSON
 * object on stdout.
 *
 *   loadgen --mode service --url http://127.0.0.1:8080 --file in.jpg \
 *           --param width=256 --param format=jpeg --param quality=80 \
 *           --expect-width 256 --expect-height 192 --clients 4 \
 *           --warmup 2 --duration 6 --pid img-rest=123 --pid img-engine=456
 */
#include "bench_util.h"

#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_PARAMS 16
#define MAX_PIDS 8
#define MAX_EXAMPLES 5
#define COM_TEXT_LEN 16
#define JOB_TIMEOUT_S 120.0

typedef enum { MODE_SERVICE, MODE_SYNC, MODE_UPLOAD } lg_mode_t;

static const char *const s_mode_names[] = {"service", "sync", "upload"};

typedef struct {
    lg_mode_t mode;
    const char *url;
    const char *op;
    const char *file;
    const char *params[MAX_PARAMS]; /* "name=value" */
    int n_params;
    int clients;
    double warmup_s, duration_s;
    long jobs;    /* > 0: a fixed number of jobs instead of a duration */
    double max_s; /* > 0 with jobs: start no job after this many seconds */
    int expect_width, expect_height;
    const char *pid_names[MAX_PIDS];
    pid_t pids[MAX_PIDS];
    int n_pids;
    int wait_s;
} lg_config_t;

/* One finished job. */
typedef struct {
    double t_end;     /* bench_now() when it finished */
    double e2e_ms;    /* POST start to image received */
    double submit_ms; /* POST start to 202 (service mode) */
    int status_requests;
    long connects; /* new connections the job opened */
    size_t result_bytes;
} lg_job_t;

typedef struct {
    int index;
    const lg_config_t *cfg;
    CURL *curl;
    struct curl_slist *headers;
    unsigned char *body; /* the input, with a comment segment when JPEG */
    size_t body_len;
    bool unique; /* body has the comment segment to rewrite */
    size_t read_pos;
    unsigned long seq;
    unsigned char *resp;
    size_t resp_len, resp_cap;
    char errbuf[CURL_ERROR_SIZE];
    lg_job_t *jobs;
    size_t n_jobs, cap_jobs;
    long errors, errors_in_window;
    pthread_t thread;
} lg_client_t;

static atomic_bool g_stop;
static atomic_long g_next_job;
static double g_t0, g_t1; /* the measured window, set by main */
static atomic_bool g_window_open;
static pthread_mutex_t g_examples_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_examples[MAX_EXAMPLES];
static int g_n_examples;

static void s_fail(const char *what)
{
    fprintf(stderr, "loadgen: %s\n", what);
    exit(2);
}

static void s_record_error(lg_client_t *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->errors++;
    if (atomic_load(&g_window_open))
        c->errors_in_window++;
    pthread_mutex_lock(&g_examples_lock);
    if (g_n_examples < MAX_EXAMPLES) {
        g_examples[g_n_examples++] = strdup(msg);
        fprintf(stderr, "loadgen: error (client %d): %s\n", c->index, msg);
    }
    pthread_mutex_unlock(&g_examples_lock);
}

/* -- curl callbacks ----------------------------------------------------------- */

static size_t s_write(char *data, size_t size, size_t nmemb, void *arg)
{
    lg_client_t *c = arg;
    size_t n = size * nmemb;
    if (c->resp_len + n + 1 > c->resp_cap) {
        size_t cap = c->resp_cap ? c->resp_cap : 65536;
        while (cap < c->resp_len + n + 1)
            cap *= 2;
        unsigned char *p = realloc(c->resp, cap);
        if (!p)
            return 0; /* curl reports a write error */
        c->resp = p;
        c->resp_cap = cap;
    }
    memcpy(c->resp + c->resp_len, data, n);
    c->resp_len += n;
    c->resp[c->resp_len] = '\0';
    return n;
}

static size_t s_read_body(char *buf, size_t size, size_t nitems, void *arg)
{
    lg_client_t *c = arg;
    size_t left = c->body_len - c->read_pos, n = size * nitems;
    if (n > left)
        n = left;
    memcpy(buf, c->body + c->read_pos, n);
    c->read_pos += n;
    return n;
}

static int s_seek_body(void *arg, curl_off_t offset, int origin)
{
    lg_client_t *c = arg;
    if (origin != SEEK_SET || offset < 0 || (size_t)offset > c->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    c->read_pos = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

/* -- requests ----------------------------------------------------------------- */

/* Performs the request set up on c->curl; the answer is in c->resp.
 * Returns the HTTP status, or -1 after recording a transport error. */
static long s_perform(lg_client_t *c, const char *what, long *connects)
{
    c->resp_len = 0;
    c->errbuf[0] = '\0';
    CURLcode rc = curl_easy_perform(c->curl);
    long n = 0;
    curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &n);
    *connects += n;
    if (rc != CURLE_OK) {
        s_record_error(c, "%s: %s", what, c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
        return -1;
    }
    long code = 0;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

static void s_get(lg_client_t *c, const char *url)
{
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
}

/* The multipart body for one POST: field `file` then the parameters.
 * Caller owns the return value (curl_mime_free). */
static curl_mime *s_mime(lg_client_t *c)
{
    if (c->unique) {
        char text[32];
        snprintf(text, sizeof text, "%03u%013lu", (unsigned)c->index % 1000u,
                 c->seq % 10000000000000UL);
        memcpy(c->body + 6, text, COM_TEXT_LEN);
    }
    c->seq++;
    c->read_pos = 0;
    curl_mime *mime = curl_mime_init(c->curl);
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_name(part, "file");
    curl_mime_filename(part, "input.jpg");
    curl_mime_type(part, "application/octet-stream");
    curl_mime_data_cb(part, (curl_off_t)c->body_len, s_read_body, s_seek_body, NULL, c);
    for (int i = 0; i < c->cfg->n_params; i++) {
        const char *eq = strchr(c->cfg->params[i], '=');
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(eq - c->cfg->params[i]), c->cfg->params[i]);
        part = curl_mime_addpart(mime);
        curl_mime_name(part, name);
        curl_mime_data(part, eq + 1, CURL_ZERO_TERMINATED);
    }
    return mime;
}

/* Checks the image in c->resp. Returns 0, or -1 after recording an error. */
static int s_check_image(lg_client_t *c, const char *what)
{
    int w = 0, h = 0;
    if (!bench_jpeg_size(c->resp, c->resp_len, &w, &h)) {
        s_record_error(c, "%s: the answer (%zu bytes) is not a whole JPEG", what, c->resp_len);
        return -1;
    }
    const lg_config_t *cfg = c->cfg;
    if ((cfg->expect_width && w != cfg->expect_width) ||
        (cfg->expect_height && abs(h - cfg->expect_height) > 1)) {
        s_record_error(c, "%s: the image is %dx%d, expected %dx%d", what, w, h, cfg->expect_width,
                       cfg->expect_height);
        return -1;
    }
    return 0;
}

/* A short description of an answer for error messages. */
static const char *s_snippet(lg_client_t *c, char *buf, size_t size)
{
    size_t n = c->resp_len < 160 ? c->resp_len : 160;
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < size; i++)
        buf[j++] = (c->resp[i] >= 32 && c->resp[i] < 127) ? (char)c->resp[i] : '.';
    buf[j] = '\0';
    return buf;
}

/* POSTs the multipart body to --url: the answer's status code, or -1
 * (error recorded). */
static long s_post_body(lg_client_t *c, lg_job_t *job)
{
    curl_mime *mime = s_mime(c);
    curl_easy_setopt(c->curl, CURLOPT_URL, c->cfg->url);
    curl_easy_setopt(c->curl, CURLOPT_MIMEPOST, mime);
    long code = s_perform(c, "POST", &job->connects);
    curl_easy_setopt(c->curl, CURLOPT_MIMEPOST, NULL);
    curl_mime_free(mime);
    return code;
}

/* One job in sync mode. Returns 0 and fills *job, or -1 (error recorded). */
static int s_job_sync(lg_client_t *c, lg_job_t *job)
{
    char snip[200];
    double t0 = bench_now();
    long code = s_post_body(c, job);
    if (code < 0)
        return -1;
    if (code != 200) {
        s_record_error(c, "POST answered %ld: %s", code, s_snippet(c, snip, sizeof snip));
        return -1;
    }
    if (s_check_image(c, "POST") < 0)
        return -1;
    job->t_end = bench_now();
    job->e2e_ms = (job->t_end - t0) * 1000.0;
    job->result_bytes = c->resp_len;
    return 0;
}

/* The string member `key` of a JSON object in c->resp, copied into buf. */
static int s_json_str(lg_client_t *c, const char *key, char *buf, size_t size)
{
    json_error_t err;
    json_t *root = json_loadb((const char *)c->resp, c->resp_len, 0, &err);
    const char *v = root ? json_string_value(json_object_get(root, key)) : NULL;
    int rc = -1;
    if (v && strcmp(key, "status") == 0 && strcmp(v, "failed") == 0) {
        /* Name the job's error in the status text. */
        json_t *e = json_object_get(root, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        snprintf(buf, size, "failed (%s: %s)", code ? code : "?", msg ? msg : "?");
        rc = 0;
    } else if (v && strlen(v) < size) {
        strcpy(buf, v);
        rc = 0;
    }
    json_decref(root);
    return rc;
}

/* One job in upload mode. Returns 0 and fills *job, or -1 (error recorded). */
static int s_job_upload(lg_client_t *c, lg_job_t *job)
{
    char snip[200];
    double t0 = bench_now();
    long code = s_post_body(c, job);
    if (code < 0)
        return -1;
    json_t *root = code == 200 ? json_loadb((const char *)c->resp, c->resp_len, 0, NULL) : NULL;
    json_int_t stored = json_integer_value(json_object_get(root, "bytes"));
    json_decref(root);
    if (code != 200 || stored < (json_int_t)c->body_len) {
        s_record_error(c, "POST answered %ld, not 200 with bytes >= %zu: %s", code, c->body_len,
                       s_snippet(c, snip, sizeof snip));
        return -1;
    }
    job->t_end = bench_now();
    job->e2e_ms = (job->t_end - t0) * 1000.0;
    return 0;
}

/* One job in service mode. */
static int s_job_service(lg_client_t *c, lg_job_t *job)
{
    const lg_config_t *cfg = c->cfg;
    char url[1024], id[64], status[256], snip[200];
    double t0 = bench_now();

    curl_mime *mime = s_mime(c);
    snprintf(url, sizeof url, "%s/%s", cfg->url, cfg->op);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_MIMEPOST, mime);
    long code = s_perform(c, "POST", &job->connects);
    curl_easy_setopt(c->curl, CURLOPT_MIMEPOST, NULL);
    curl_mime_free(mime);
    if (code < 0)
        return -1;
    if (code != 202) {
        s_record_error(c, "POST /%s answered %ld: %s", cfg->op, code,
                       s_snippet(c, snip, sizeof snip));
        return -1;
    }
    if (s_json_str(c, "id", id, sizeof id) < 0) {
        s_record_error(c, "POST /%s: 202 without a job id: %s", cfg->op,
                       s_snippet(c, snip, sizeof snip));
        return -1;
    }
    job->submit_ms = (bench_now() - t0) * 1000.0;

    snprintf(url, sizeof url, "%s/%s/status/%s?wait=%d", cfg->url, cfg->op, id, cfg->wait_s);
    for (;;) {
        s_get(c, url);
        code = s_perform(c, "GET status", &job->connects);
        job->status_requests++;
        if (code < 0)
            return -1;
        if (code != 200) {
            s_record_error(c, "GET status of %s answered %ld: %s", id, code,
                           s_snippet(c, snip, sizeof snip));
            return -1;
        }
        if (s_json_str(c, "status", status, sizeof status) < 0) {
            s_record_error(c, "GET status of %s: no status: %s", id,
                           s_snippet(c, snip, sizeof snip));
            return -1;
        }
        if (strcmp(status, "complete") == 0)
            break;
        if (strcmp(status, "queued") != 0 && strcmp(status, "processing") != 0) {
            s_record_error(c, "job %s: %s", id, status);
            return -1;
        }
        if (bench_now() - t0 > JOB_TIMEOUT_S) {
            s_record_error(c, "job %s: still %s after %.0f s", id, status, JOB_TIMEOUT_S);
            return -1;
        }
    }

    snprintf(url, sizeof url, "%s/%s/%s", cfg->url, cfg->op, id);
    s_get(c, url);
    code = s_perform(c, "GET result", &job->connects);
    if (code < 0)
        return -1;
    if (code != 200) {
        s_record_error(c, "GET result of %s answered %ld: %s", id, code,
                       s_snippet(c, snip, sizeof snip));
        return -1;
    }
    if (s_check_image(c, "GET result") < 0)
        return -1;
    job->t_end = bench_now();
    job->e2e_ms = (job->t_end - t0) * 1000.0;
    job->result_bytes = c->resp_len;
    return 0;
}

static void *s_client(void *arg)
{
    lg_client_t *c = arg;
    const lg_config_t *cfg = c->cfg;
    for (;;) {
        if (atomic_load(&g_stop))
            break;
        if (cfg->jobs > 0 && atomic_fetch_add(&g_next_job, 1) >= cfg->jobs)
            break;
        if (cfg->jobs > 0 && cfg->max_s > 0 && bench_now() - g_t0 > cfg->max_s)
            break;
        lg_job_t job = {0};
        int rc = cfg->mode == MODE_SERVICE ? s_job_service(c, &job)
                 : cfg->mode == MODE_SYNC  ? s_job_sync(c, &job)
                                           : s_job_upload(c, &job);
        if (rc < 0) {
            usleep(20000); /* no hot loop against a refusing server */
            continue;
        }
        if (c->n_jobs == c->cap_jobs) {
            size_t cap = c->cap_jobs ? c->cap_jobs * 2 : 256;
            lg_job_t *p = realloc(c->jobs, cap * sizeof *p);
            if (!p)
                s_fail("out of memory");
            c->jobs = p;
            c->cap_jobs = cap;
        }
        c->jobs[c->n_jobs++] = job;
    }
    return NULL;
}

/* -- set-up and report ------------------------------------------------------------ */

static unsigned char *s_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            unsigned char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* The client's copy of the input: a JPEG gets a COM segment after its SOI. */
static void s_client_body(lg_client_t *c, const unsigned char *in, size_t len)
{
    c->unique = len > 2 && in[0] == 0xFF && in[1] == 0xD8;
    unsigned long start = 0;
    if (getrandom(&start, sizeof start, 0) != (ssize_t)sizeof start)
        s_fail("getrandom failed");
    c->seq = start % 10000000000000UL;
    c->body_len = c->unique ? len + 4 + COM_TEXT_LEN : len;
    c->body = malloc(c->body_len);
    if (!c->body)
        s_fail("out of memory");
    if (!c->unique) {
        memcpy(c->body, in, len);
        return;
    }
    unsigned char *p = c->body;
    p[0] = 0xFF;
    p[1] = 0xD8;
    p[2] = 0xFF;
    p[3] = 0xFE; /* COM */
    p[4] = 0;
    p[5] = 2 + COM_TEXT_LEN;
    memset(p + 6, '0', COM_TEXT_LEN);
    memcpy(p + 6 + COM_TEXT_LEN, in + 2, len - 2);
}

static double s_self_cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

static void s_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 32)
            fprintf(out, "\\u%04x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

static void s_usage(void)
{
    fputs("usage: loadgen --mode service|sync|upload --url URL --file IMAGE [--op resize]\n"
          "               [--param NAME=VALUE]... [--clients N] [--warmup S]\n"
          "               [--duration S | --jobs N [--max-seconds S]]\n"
          "               [--expect-width W] [--expect-height H]\n"
          "               [--pid NAME=PID]... [--wait S]\n"
          "service: POST URL/OP (202), GET URL/OP/status/<id>?wait=S until complete,\n"
          "         GET URL/OP/<id> (200, the image); sync: POST URL (200, the image);\n"
          "upload: POST URL (200, {\"bytes\": the body bytes stored}).\n",
          stderr);
}

static void s_parse(int argc, char **argv, lg_config_t *cfg)
{
    static const struct option opts[] = {
        {"mode", required_argument, NULL, 'm'},
        {"url", required_argument, NULL, 'u'},
        {"op", required_argument, NULL, 'o'},
        {"file", required_argument, NULL, 'f'},
        {"param", required_argument, NULL, 'p'},
        {"clients", required_argument, NULL, 'c'},
        {"warmup", required_argument, NULL, 'W'},
        {"duration", required_argument, NULL, 'd'},
        {"jobs", required_argument, NULL, 'j'},
        {"max-seconds", required_argument, NULL, 'M'},
        {"expect-width", required_argument, NULL, 'x'},
        {"expect-height", required_argument, NULL, 'y'},
        {"pid", required_argument, NULL, 'P'},
        {"wait", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *cfg = (lg_config_t){.mode = MODE_SERVICE,
                         .op = "resize",
                         .clients = 4,
                         .warmup_s = 2,
                         .duration_s = 6,
                         .wait_s = 30};
    const char *mode = "service";
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'm':
            mode = optarg;
            break;
        case 'u':
            cfg->url = optarg;
            break;
        case 'o':
            cfg->op = optarg;
            break;
        case 'f':
            cfg->file = optarg;
            break;
        case 'p':
            if (cfg->n_params == MAX_PARAMS || !strchr(optarg, '=') || optarg[0] == '=')
                s_fail("--param takes NAME=VALUE (at most 16)");
            cfg->params[cfg->n_params++] = optarg;
            break;
        case 'c':
            cfg->clients = atoi(optarg);
            break;
        case 'W':
            cfg->warmup_s = atof(optarg);
            break;
        case 'd':
            cfg->duration_s = atof(optarg);
            break;
        case 'j':
            cfg->jobs = atol(optarg);
            break;
        case 'M':
            cfg->max_s = atof(optarg);
            break;
        case 'x':
            cfg->expect_width = atoi(optarg);
            break;
        case 'y':
            cfg->expect_height = atoi(optarg);
            break;
        case 'w':
            cfg->wait_s = atoi(optarg);
            break;
        case 'P': {
            const char *eq = strchr(optarg, '=');
            if (cfg->n_pids == MAX_PIDS || !eq || eq == optarg || atoi(eq + 1) <= 0)
                s_fail("--pid takes NAME=PID (at most 8)");
            cfg->pid_names[cfg->n_pids] = strndup(optarg, (size_t)(eq - optarg));
            cfg->pids[cfg->n_pids++] = (pid_t)atoi(eq + 1);
            break;
        }
        case 'h':
            s_usage();
            exit(0);
        default:
            s_usage();
            exit(2);
        }
    }
    size_t n_modes = sizeof s_mode_names / sizeof s_mode_names[0], m = 0;
    while (m < n_modes && strcmp(mode, s_mode_names[m]) != 0)
        m++;
    if (m == n_modes)
        s_fail("--mode is service, sync or upload");
    cfg->mode = (lg_mode_t)m;
    if (!cfg->url || !cfg->file || optind != argc) {
        s_usage();
        exit(2);
    }
    if (cfg->clients < 1 || cfg->clients > 256)
        s_fail("--clients is 1..256");
    if (cfg->jobs <= 0 && (cfg->duration_s <= 0 || cfg->warmup_s < 0))
        s_fail("--duration must be > 0 and --warmup >= 0");
}

int main(int argc, char **argv)
{
    lg_config_t cfg;
    s_parse(argc, argv, &cfg);
    size_t in_len = 0;
    unsigned char *in = s_read_file(cfg.file, &in_len);
    if (!in || in_len == 0) {
        fprintf(stderr, "loadgen: cannot read %s\n", cfg.file);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        s_fail("curl_global_init failed");

    lg_client_t *clients = calloc((size_t)cfg.clients, sizeof *clients);
    if (!clients)
        s_fail("out of memory");
    for (int i = 0; i < cfg.clients; i++) {
        lg_client_t *c = &clients[i];
        c->index = i;
        c->cfg = &cfg;
        s_client_body(c, in, in_len);
        c->curl = curl_easy_init();
        if (!c->curl)
            s_fail("curl_easy_init failed");
        /* No "Expect: 100-continue" round trip before large bodies. */
        c->headers = curl_slist_append(NULL, "Expect:");
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
        curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, s_write);
        curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf);
        curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, 10L);
        curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, (long)cfg.wait_s + 60L);
        curl_easy_setopt(c->curl, CURLOPT_TCP_NODELAY, 1L);
    }

    double cpu0[MAX_PIDS] = {0}, cpu1[MAX_PIDS] = {0}, self0 = 0, self1 = 0;
    double start = bench_now();
    bool fixed = cfg.jobs > 0;
    if (fixed) {
        g_t0 = start;
        for (int k = 0; k < cfg.n_pids; k++)
            cpu0[k] = bench_tree_cpu_ms(cfg.pids[k]);
        self0 = s_self_cpu_ms();
        atomic_store(&g_window_open, true);
    }
    for (int i = 0; i < cfg.clients; i++)
        if (pthread_create(&clients[i].thread, NULL, s_client, &clients[i]) != 0)
            s_fail("pthread_create failed");
    if (!fixed) {
        bench_sleep_until(start + cfg.warmup_s);
        g_t0 = bench_now();
        for (int k = 0; k < cfg.n_pids; k++)
            cpu0[k] = bench_tree_cpu_ms(cfg.pids[k]);
        self0 = s_self_cpu_ms();
        atomic_store(&g_window_open, true);
        bench_sleep_until(g_t0 + cfg.duration_s);
        g_t1 = bench_now();
        for (int k = 0; k < cfg.n_pids; k++)
            cpu1[k] = bench_tree_cpu_ms(cfg.pids[k]);
        self1 = s_self_cpu_ms();
        atomic_store(&g_window_open, false);
        atomic_store(&g_stop, true);
    }
    for (int i = 0; i < cfg.clients; i++)
        pthread_join(clients[i].thread, NULL);
    if (fixed) {
        g_t1 = bench_now();
        for (int k = 0; k < cfg.n_pids; k++)
            cpu1[k] = bench_tree_cpu_ms(cfg.pids[k]);
        self1 = s_self_cpu_ms();
    }

    /* The jobs that finished inside the window. */
    bench_samples_t e2e = {0}, submit = {0};
    long jobs = 0, errors = 0, errors_window = 0, all_jobs = 0;
    double polls = 0, connects = 0, bytes = 0;
    for (int i = 0; i < cfg.clients; i++) {
        lg_client_t *c = &clients[i];
        errors += c->errors;
        errors_window += c->errors_in_window;
        all_jobs += (long)c->n_jobs;
        for (size_t j = 0; j < c->n_jobs; j++) {
            lg_job_t *job = &c->jobs[j];
            if (job->t_end < g_t0 || job->t_end > g_t1)
                continue;
            jobs++;
            bench_samples_add(&e2e, job->e2e_ms);
            if (cfg.mode == MODE_SERVICE)
                bench_samples_add(&submit, job->submit_ms);
            polls += job->status_requests;
            connects += (double)job->connects;
            bytes += (double)job->result_bytes;
        }
    }
    double seconds = g_t1 - g_t0;

    FILE *out = stdout;
    fprintf(out, "{\"tool\":\"loadgen\",\"mode\":\"%s\",\"url\":", s_mode_names[cfg.mode]);
    s_json_string(out, cfg.url);
    fprintf(out, ",\"op\":\"%s\",\"file\":", cfg.op);
    s_json_string(out, cfg.file);
    fprintf(out, ",\"upload_bytes\":%zu,\"unique_uploads\":%s,\"params\":{", in_len,
            clients[0].unique ? "true" : "false");
    for (int i = 0; i < cfg.n_params; i++) {
        const char *eq = strchr(cfg.params[i], '=');
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(eq - cfg.params[i]), cfg.params[i]);
        fprintf(out, "%s", i ? "," : "");
        s_json_string(out, name);
        fputc(':', out);
        s_json_string(out, eq + 1);
    }
    fprintf(out, "},\"clients\":%d,", cfg.clients);
    if (fixed)
        fprintf(out, "\"jobs_target\":%ld,\"max_seconds\":%.1f,", cfg.jobs, cfg.max_s);
    else
        fprintf(out, "\"warmup_s\":%.3f,\"duration_s\":%.3f,", cfg.warmup_s, cfg.duration_s);
    fprintf(out,
            "\"seconds\":%.4f,\"jobs\":%ld,\"jobs_per_s\":%.4f,\"jobs_all\":%ld,"
            "\"errors\":%ld,\"errors_in_window\":%ld,\"error_examples\":[",
            seconds, jobs, seconds > 0 ? (double)jobs / seconds : 0.0, all_jobs, errors,
            errors_window);
    for (int i = 0; i < g_n_examples; i++) {
        fprintf(out, "%s", i ? "," : "");
        s_json_string(out, g_examples[i]);
    }
    fputs("],\"e2e_ms\":", out);
    bench_samples_json(out, &e2e);
    if (cfg.mode == MODE_SERVICE) {
        fputs(",\"submit_ms\":", out);
        bench_samples_json(out, &submit);
        fprintf(out, ",\"status_requests_per_job\":%.3f", jobs ? polls / (double)jobs : 0.0);
    }
    fprintf(out, ",\"connections_per_job\":%.3f,\"result_bytes_mean\":%.1f",
            jobs ? connects / (double)jobs : 0.0, jobs ? bytes / (double)jobs : 0.0);
    fprintf(out, ",\"client_cpu_ms_per_job\":%.3f,\"cpu\":{",
            jobs ? (self1 - self0) / (double)jobs : 0.0);
    for (int k = 0; k < cfg.n_pids; k++) {
        bool ok = cpu0[k] >= 0 && cpu1[k] >= 0;
        double ms = cpu1[k] - cpu0[k];
        fprintf(out, "%s", k ? "," : "");
        s_json_string(out, cfg.pid_names[k]);
        if (ok)
            fprintf(out, ":{\"pid\":%d,\"ms\":%.1f,\"ms_per_job\":%.3f}", (int)cfg.pids[k], ms,
                    jobs ? ms / (double)jobs : 0.0);
        else
            fprintf(out, ":{\"pid\":%d,\"gone\":true}", (int)cfg.pids[k]);
    }
    fputs("}}\n", out);

    if (errors)
        fprintf(stderr, "loadgen: %ld error(s) (%ld in the measured window); see error_examples\n",
                errors, errors_window);
    int status = errors ? 1 : 0;
    for (int i = 0; i < cfg.clients; i++) {
        curl_easy_cleanup(clients[i].curl);
        curl_slist_free_all(clients[i].headers);
        free(clients[i].body);
        free(clients[i].resp);
        free(clients[i].jobs);
    }
    free(clients);
    free(in);
    bench_samples_free(&e2e);
    bench_samples_free(&submit);
    curl_global_cleanup();
    return status;
}
