/* chat_log.h: structured logging, one JSON object per line.
 *
 *   {"ts":"2026-11-30T03:21:13.123Z","level":"info","msg":"relay listening","port":"8081"}
 *
 * msg is a constant phrase per call site; variable parts go in fields. Never log tokens,
 * secrets or message content. The level is checked before anything is formatted.
 *
 * Thread: a chat_log_t may be used from any thread; each line is one write(2) (lines are cut
 * at CHAT_LOG_MAX_LINE bytes), and the level and file can be changed at run time. */
#ifndef CHAT_LOG_H
#define CHAT_LOG_H

#include <apr_pools.h>
#include "chat_err.h"

#define CHAT_LOG_MAX_LINE 4096

typedef enum {
    CHAT_LOG_DEBUG = 0,
    CHAT_LOG_INFO,
    CHAT_LOG_WARN,
    CHAT_LOG_ERROR
} chat_log_level_e;

typedef struct chat_log_t chat_log_t;

/* Creates a logger writing to path (appended, created 0640), or stderr when path is NULL or
 * empty. The file is closed when pool is destroyed. */
apr_status_t chat_log_create(chat_log_t **out, chat_log_level_e level, const char *path,
                             apr_pool_t *pool);

/* "debug", "info", "warn" (or "warning"), "error", case-insensitive. APR_SUCCESS or
 * CHAT_ECONFIG. */
apr_status_t chat_log_level_parse(const char *s, chat_log_level_e *out);

void chat_log_level_set(chat_log_t *log, chat_log_level_e level);
int chat_log_is_enabled(const chat_log_t *log, chat_log_level_e level);

/* Reopens the file (after logrotate moved it). No-op for stderr. */
apr_status_t chat_log_reopen(chat_log_t *log);

/* Writes one line: level, msg, then NULL-terminated pairs of (const char *key, const char
 * *value); a NULL value is written as JSON null. Keys and values are JSON-escaped. */
void chat_log_write(chat_log_t *log, chat_log_level_e level, const char *msg, ...);

/* Checks the level before evaluating the arguments. */
#define CHAT_LOG(log, level, ...)                                   \
    do {                                                            \
        if (chat_log_is_enabled((log), (level))) {                  \
            chat_log_write((log), (level), __VA_ARGS__, (char *)0); \
        }                                                           \
    } while (0)

#endif
