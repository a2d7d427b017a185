/* config — the settings of both programs, one table, three sources.
 *
 * Every setting has a built-in default (the embedded defaults: SQLite and a
 * local data folder), may be set in a `key = value` file, and may be
 * overridden by the environment variable IMG_<KEY> (upper case). Later
 * sources win: defaults < file < environment. Both programs read the same
 * file; each uses the keys it needs. The table in config.c is the single
 * list of keys, their bounds and their help (the README table mirrors it).
 */
#ifndef IMG_CONFIG_H
#define IMG_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define CONFIG_STR_MAX 512

typedef struct {
    /* shared */
    char data_dir[CONFIG_STR_MAX];
    char log_level[16];
    char log_format[16];
    char broker_bind[CONFIG_STR_MAX];    /* img-rest binds here */
    char broker_connect[CONFIG_STR_MAX]; /* img-engine connects here */
    int heartbeat_ms;
    int max_message_bytes;
    long long max_pixels;
    int max_frames;
    char allowed_formats[CONFIG_STR_MAX];
    int job_timeout_s;
    char curve_server_public[64];               /* Z85, 40 chars; empty = plain TCP */
    char curve_server_secret[64];               /* img-rest only */
    char curve_client_public[64];               /* img-engine only */
    char curve_client_secret[64];               /* img-engine only */
    char curve_allowed_clients[CONFIG_STR_MAX]; /* comma-separated Z85 public keys */
    /* img-rest */
    char db_url[CONFIG_STR_MAX]; /* empty: SQLite in <data_dir>/jobs.db */
    char http_listen[128];
    int http_threads;
    int http_timeout_ms;
    long long max_upload_bytes;
    int max_output_dim;
    int default_width;
    int default_height;
    int lease_ms;
    int max_attempts;
    int max_queued;
    int max_wait_s;
    int retention_s;
    char docs_dir[CONFIG_STR_MAX];
    char app_dir[CONFIG_STR_MAX];
    char api_keys[CONFIG_STR_MAX];     /* comma-separated; empty = no auth */
    char cors_origins[CONFIG_STR_MAX]; /* "", "*" or comma-separated origins */
    int keep_alive_timeout_ms;
    int max_event_streams;
    int result_cache;                    /* 1: a job equal to a complete one reuses its result */
    char webhook_secret[CONFIG_STR_MAX]; /* empty: <data_dir>/webhook_secret, made once */
    int webhook_max_attempts;
    char webhook_allow[CONFIG_STR_MAX]; /* hosts and CIDRs callbacks may reach anyway */
    int rate_limit_per_min;             /* per key (or per client address); 0 = off */
    /* img-engine */
    int engine_threads;       /* 0 = number of cores */
    int vips_concurrency;     /* libvips threads per image; 0 = its default */
    int engine_nice;          /* niceness of img-engine; 0 = as started */
    char metrics_listen[128]; /* img-engine's /metrics; empty = none */
    int shutdown_grace_s;
} img_config_t;

/* Fills cfg with the built-in defaults. */
void config_defaults(img_config_t *cfg);

/* Applies a `key = value` file on top of cfg. 0, or -1 with the file name,
 * line and reason in img_error (unknown key, bad value, value out of range). */
int config_load_file(img_config_t *cfg, const char *path);

/* Applies IMG_<KEY> environment variables on top of cfg; 0 or -1 as above. */
int config_load_env(img_config_t *cfg);

/* Sets one key from text; 0 or -1 with the reason in img_error. */
int config_set(img_config_t *cfg, const char *key, const char *value);

/* defaults, then path (if not NULL), then the environment. 0 or -1. */
int config_load(img_config_t *cfg, const char *path);

/* Prints "usage: <usage>" and every key with its help and default (--help). */
void config_print_help(FILE *out, const char *usage);

/* Number of keys, and the i-th key's name, default and help (for --help). */
size_t config_key_count(void);
void config_key_info(size_t i, const char **key, const char **def, const char **help);

#endif
