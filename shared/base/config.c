#include "config.h"

#include "img_error.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_STR, T_INT, T_LL } key_type_t;

typedef struct {
    const char *key;
    key_type_t type;
    size_t offset;
    size_t size; /* T_STR: buffer size */
    long long min, max;
    const char *def;
    const char *help;
} key_t_;

#define STR(k, d, h)                                                                               \
    {                                                                                              \
#k, T_STR, offsetof(img_config_t, k), sizeof(((img_config_t *)0)->k), 0, 0, d, h           \
    }
#define INT(k, lo, hi, d, h)                                                                       \
    {                                                                                              \
#k, T_INT, offsetof(img_config_t, k), sizeof(int), lo, hi, d, h                            \
    }
#define LL(k, lo, hi, d, h)                                                                        \
    {                                                                                              \
#k, T_LL, offsetof(img_config_t, k), sizeof(long long), lo, hi, d, h                       \
    }

static const key_t_ s_keys[] = {
    STR(data_dir, "./data",
        "shared volume: job folders (inputs, results) and the default job store"),
    STR(log_level, "info", "debug, info, warn or error"),
    STR(log_format, "text", "log lines as text (for people), json or logfmt (for collectors)"),
    STR(broker_bind, "tcp://127.0.0.1:5555", "ZeroMQ endpoint img-rest binds for workers"),
    STR(broker_connect, "tcp://127.0.0.1:5555", "ZeroMQ endpoint img-engine connects to"),
    INT(heartbeat_ms, 50, 60000, "1000",
        "heartbeat interval both ways; a peer silent for 3 intervals is gone"),
    INT(max_message_bytes, 1024, 16777216, "65536", "largest ZeroMQ message accepted"),
    LL(max_pixels, 1, 10000000000LL, "100000000",
       "largest input, width x height x pages (422 image_too_large)"),
    INT(max_frames, 1, 100000, "256", "most pages/frames in an input"),
    STR(allowed_formats, "jpeg,png,webp,gif,tiff,heif,avif",
        "input formats accepted (415 otherwise)"),
    INT(job_timeout_s, 1, 86400, "60",
        "time limit of one job attempt; the work is stopped past it"),
    STR(curve_server_public, "", "CURVE: the broker's public key (Z85); empty = no encryption"),
    STR(curve_server_secret, "", "CURVE: the broker's secret key (img-rest)"),
    STR(curve_client_public, "", "CURVE: this worker's public key (img-engine)"),
    STR(curve_client_secret, "", "CURVE: this worker's secret key (img-engine)"),
    STR(curve_allowed_clients, "", "CURVE: comma-separated worker public keys allowed to connect"),
    STR(db_url, "",
        "job store: empty = SQLite in <data_dir>/jobs.db; a file path = SQLite there; "
        "postgresql://... = PostgreSQL (replicas of img-rest)"),
    STR(http_listen, "8080", "civetweb listening_ports (e.g. 8080 or 127.0.0.1:8080)"),
    INT(http_threads, 2, 4096, "128",
        "HTTP threads for requests and open connections (event streams have their own)"),
    INT(keep_alive_timeout_ms, 0, 600000, "5000",
        "an idle persistent connection is closed after this; 0 = one request per connection"),
    INT(http_timeout_ms, 1000, 3600000, "30000", "HTTP request timeout (slow clients are cut off)"),
    LL(max_upload_bytes, 1, 1LL << 40, "52428800", "largest upload body (413 payload_too_large)"),
    INT(max_output_dim, 1, 100000, "16384", "largest width/height a job may ask for"),
    INT(default_width, 1, 100000, "100", "resize box width when neither width nor height is given"),
    INT(default_height, 1, 100000, "100",
        "resize box height when neither width nor height is given"),
    INT(lease_ms, 100, 86400000, "15000",
        "a dispatched job returns to the queue if not renewed for this long"),
    INT(max_attempts, 1, 100, "3", "attempts before a job fails"),
    INT(max_queued, 1, 10000000, "1000", "queued jobs before POST answers 503 queue_full"),
    INT(max_wait_s, 0, 3600, "30", "largest ?wait=N on status routes"),
    INT(retention_s, 0, 315360000, "86400",
        "finished jobs and files are removed after this; 0 = keep"),
    STR(docs_dir, "./docs",
        "folder with openapi.base.json, the docs page (static/) and Swagger UI (node_modules/)"),
    STR(app_dir, "./app", "folder with the web app served at /app"),
    STR(api_keys, "", "comma-separated API keys; empty = no authentication"),
    STR(cors_origins, "",
        "origins whose browser pages may use the API: comma-separated, or *; empty = none"),
    INT(max_event_streams, 1, 10000, "64",
        "open event streams (GET .../events) at most; past it 503 too_many_streams"),
    INT(result_cache, 0, 1, "1",
        "1: a job equal to a complete one still held completes at once with its result"),
    STR(webhook_secret, "",
        "HMAC-SHA256 key of callback signatures; empty = a random one kept in "
        "<data_dir>/webhook_secret"),
    INT(webhook_max_attempts, 1, 100, "8", "calls of a callback_url before its delivery fails"),
    STR(webhook_allow, "",
        "hosts and CIDRs callbacks may reach although private or loopback (comma-separated)"),
    INT(rate_limit_per_min, 0, 1000000, "0", "requests per minute per key (or address); 0 = off"),
    INT(engine_threads, 0, 1024, "0", "worker threads in img-engine; 0 = number of cores"),
    INT(vips_concurrency, 0, 1024, "1",
        "libvips threads per image in img-engine (1: best throughput with one worker per core, "
        "and libvips 8.14 never loses a corrupt input's error; more: lower latency for few "
        "large images, but a corrupt input may complete with blank tiles); 0 = libvips' default"),
    INT(engine_nice, 0, 19, "10",
        "niceness img-engine runs at: its image work gives way to img-rest's requests and to "
        "other programs on the machine; 0 = as started"),
    STR(metrics_listen, "",
        "img-engine serves Prometheus' /metrics here (e.g. 9101 or 127.0.0.1:9101); empty = no"),
    INT(shutdown_grace_s, 0, 3600, "10", "on SIGTERM, time img-engine lets running jobs finish"),
};

#define N_KEYS (sizeof s_keys / sizeof s_keys[0])

static const key_t_ *s_find(const char *key)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(s_keys[i].key, key) == 0)
            return &s_keys[i];
    return NULL;
}

static int s_parse_ll(const char *text, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

int config_set(img_config_t *cfg, const char *key, const char *value)
{
    const key_t_ *k = s_find(key);
    if (!k) {
        img_error_set(IMG_E_CONFIG, "unknown setting '%s'", key);
        return -1;
    }
    char *field = (char *)cfg + k->offset;
    if (k->type == T_STR) {
        if (strlen(value) >= k->size) {
            img_error_set(IMG_E_CONFIG, "setting '%s' is longer than %zu characters", key,
                          k->size - 1);
            return -1;
        }
        memcpy(field, value, strlen(value) + 1);
        return 0;
    }
    long long v;
    if (s_parse_ll(value, &v) < 0 || v < k->min || v > k->max) {
        img_error_set(IMG_E_CONFIG,
                      "setting '%s' must be a whole number from %lld to %lld, not '%s'", key,
                      k->min, k->max, value);
        return -1;
    }
    if (k->type == T_INT)
        *(int *)field = (int)v;
    else
        *(long long *)field = v;
    return 0;
}

void config_defaults(img_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < N_KEYS; i++) {
        int rc = config_set(cfg, s_keys[i].key, s_keys[i].def);
        (void)rc; /* the table's defaults are valid by construction (unit-tested) */
    }
}

static char *s_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

int config_load_file(img_config_t *cfg, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        img_error_set(IMG_E_CONFIG, "cannot open config file %s: %s", path, strerror(errno));
        return -1;
    }
    char line[2048];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            img_error_set(IMG_E_CONFIG, "%s:%d: line too long", path, lineno);
            rc = -1;
            break;
        }
        char *s = s_trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            img_error_set(IMG_E_CONFIG, "%s:%d: expected 'key = value'", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = s_trim(s), *value = s_trim(eq + 1);
        if (config_set(cfg, key, value) < 0) {
            char reason[512];
            snprintf(reason, sizeof reason, "%s", img_error_message());
            img_error_set(IMG_E_CONFIG, "%s:%d: %s", path, lineno, reason);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

int config_load_env(img_config_t *cfg)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        char name[96] = "IMG_";
        size_t n = 4;
        for (const char *p = s_keys[i].key; *p && n < sizeof name - 1; p++)
            name[n++] = (char)toupper((unsigned char)*p);
        name[n] = '\0';
        const char *value = getenv(name);
        if (!value)
            continue;
        if (config_set(cfg, s_keys[i].key, value) < 0) {
            char reason[512];
            snprintf(reason, sizeof reason, "%s", img_error_message());
            img_error_set(IMG_E_CONFIG, "%s: %s", name, reason);
            return -1;
        }
    }
    return 0;
}

int config_load(img_config_t *cfg, const char *path)
{
    config_defaults(cfg);
    if (path && config_load_file(cfg, path) < 0)
        return -1;
    if (config_load_env(cfg) < 0)
        return -1;
    if (log_level_parse(cfg->log_level) < 0) {
        img_error_set(IMG_E_CONFIG,
                      "setting 'log_level' must be debug, info, warn or error, not '%s'",
                      cfg->log_level);
        return -1;
    }
    if (log_format_parse(cfg->log_format) < 0) {
        img_error_set(IMG_E_CONFIG, "setting 'log_format' must be text, json or logfmt, not '%s'",
                      cfg->log_format);
        return -1;
    }
    return 0;
}

size_t config_key_count(void)
{
    return N_KEYS;
}

void config_key_info(size_t i, const char **key, const char **def, const char **help)
{
    *key = s_keys[i].key;
    *def = s_keys[i].def;
    *help = s_keys[i].help;
}

void config_print_help(FILE *out, const char *usage)
{
    fprintf(out,
            "usage: %s\n"
            "Settings come from CONFIG (key = value), then IMG_<KEY> variables:\n",
            usage);
    for (size_t i = 0; i < N_KEYS; i++)
        fprintf(out, "  %-22s %s (default \"%s\")\n", s_keys[i].key, s_keys[i].help, s_keys[i].def);
}
