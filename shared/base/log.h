/* log — one-line structured logging to stderr.
 *
 * Lines look like `2026-11-22T13:00:00.123Z img-rest INFO dispatcher: ...`.
 * log_init() is called once from main() before any thread starts; after
 * that the module is read-only and safe from every thread.
 */
#ifndef IMG_LOG_H
#define IMG_LOG_H

typedef enum { IMG_LOG_DEBUG = 0, IMG_LOG_INFO, IMG_LOG_WARN, IMG_LOG_ERROR } log_level_t;

/* program: name shown on each line (not copied: pass a literal). */
void log_init(const char *program, log_level_t level);
/* "debug" | "info" | "warn" | "error" -> level; -1 if unknown. */
int log_level_parse(const char *name);
void log_msg(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(IMG_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(IMG_LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(IMG_LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(IMG_LOG_ERROR, __VA_ARGS__)

#endif
