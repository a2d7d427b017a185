/* log — one line per event, to stderr.
 *
 * Three formats, chosen by the log_format setting: `text` for people (the
 * default: "2026-11-22T13:00:00.123Z img-rest INFO dispatcher: ... request_id=..."),
 * `json` (one JSON object per line) and `logfmt` (key=value pairs), both
 * for log collectors. Every line has a time, the program, the level and a
 * message or an event with fields; the request id and the job id the
 * calling thread works for (log_context_set) are added to every line it
 * writes, so one request can be followed through both programs.
 * log_init() is called once from main() before any thread starts; the
 * module is read-only after that, and each line is one write(): lines of
 * different threads never interleave.
 */
#ifndef IMG_LOG_H
#define IMG_LOG_H

typedef enum { IMG_LOG_DEBUG = 0, IMG_LOG_INFO, IMG_LOG_WARN, IMG_LOG_ERROR } log_level_t;
typedef enum { IMG_LOG_TEXT = 0, IMG_LOG_JSON, IMG_LOG_LOGFMT } log_format_t;

/* program: name shown on each line (not copied: pass a literal). */
void log_init(const char *program, log_level_t level, log_format_t format);
/* "debug" | "info" | "warn" | "error" -> level; -1 if unknown. */
int log_level_parse(const char *name);
/* "text" | "json" | "logfmt" -> format; -1 if unknown. */
int log_format_parse(const char *name);

/* The request and the job this thread works for, added to its lines until
 * changed (copied; NULL or "" for none). */
void log_context_set(const char *request_id, const char *job_id);

/* A line with a message (printf-style). */
void log_msg(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A line for an event with fields: NULL-terminated pairs of key and value
 * strings, e.g. log_event(IMG_LOG_INFO, "access", "method", "GET", NULL). */
void log_event(log_level_t level, const char *event, ...) __attribute__((sentinel));

#define log_debug(...) log_msg(IMG_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(IMG_LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(IMG_LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(IMG_LOG_ERROR, __VA_ARGS__)

#endif
