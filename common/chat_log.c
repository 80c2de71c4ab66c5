/* chat_log.c: structured logging, one JSON object per line.
 *
 * Each line is formatted into a stack buffer and written with a single write(2), so lines from
 * different threads never interleave. The level is an atomic int, so any thread may change
 * it. Reopening after logrotate opens the new file and dup2()s it over the descriptor writers
 * use: dup2 replaces the descriptor atomically, so writers need no lock and never see a closed
 * or reused descriptor. Thread: any. */
#include "chat_log.h"
#include "chat_msg.h"

#include <apr_strings.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct chat_log_t {
    atomic_int level;
    int fd;              /* stderr, or our own descriptor (fixed number; see reopen) */
    const char *path;    /* NULL for stderr */
};

static const char *const level_names[] = { "debug", "info", "warn", "error" };

/* Room kept free for the closing `,"truncated":true}` and the newline. */
#define LOG_TAIL_RESERVE 24

static apr_status_t close_log_fd(void *data)
{
    chat_log_t *log = data;

    if (log->fd >= 0) {
        close(log->fd);
        log->fd = -1;
    }
    return APR_SUCCESS;
}

static apr_status_t open_log_file(const char *path, int *fd)
{
    int f = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

    if (f < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    *fd = f;
    return APR_SUCCESS;
}

apr_status_t chat_log_create(chat_log_t **out, chat_log_level_e level, const char *path,
                             apr_pool_t *pool)
{
    chat_log_t *log = apr_pcalloc(pool, sizeof(*log));
    apr_status_t rv;

    atomic_init(&log->level, (int)level);
    log->fd = STDERR_FILENO;
    if (path != NULL && path[0] != '\0') {
        rv = open_log_file(path, &log->fd);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        log->path = apr_pstrdup(pool, path);
        apr_pool_cleanup_register(pool, log, close_log_fd, apr_pool_cleanup_null);
    }
    *out = log;
    return APR_SUCCESS;
}

apr_status_t chat_log_level_parse(const char *s, chat_log_level_e *out)
{
    if (s == NULL) {
        return CHAT_ECONFIG;
    }
    for (int i = CHAT_LOG_DEBUG; i <= CHAT_LOG_ERROR; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (chat_log_level_e)i;
            return APR_SUCCESS;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = CHAT_LOG_WARN;
        return APR_SUCCESS;
    }
    return CHAT_ECONFIG;
}

void chat_log_level_set(chat_log_t *log, chat_log_level_e level)
{
    atomic_store(&log->level, (int)level);
}

int chat_log_is_enabled(const chat_log_t *log, chat_log_level_e level)
{
    /* atomic_load takes a non-const pointer in C11; the cast only drops const. */
    return log != NULL && (int)level >= atomic_load((atomic_int *)&log->level);
}

apr_status_t chat_log_reopen(chat_log_t *log)
{
    int fresh = -1;
    apr_status_t rv;

    if (log->path == NULL) {
        return APR_SUCCESS;
    }
    rv = open_log_file(log->path, &fresh);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* dup2 swaps the file under the descriptor atomically; it clears close-on-exec. */
    if (dup2(fresh, log->fd) < 0 || fcntl(log->fd, F_SETFD, FD_CLOEXEC) < 0) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    close(fresh);
    return rv;
}

/* A line under construction: buf[0..len), never more than cap - LOG_TAIL_RESERVE of text. */
typedef struct {
    char buf[CHAT_LOG_MAX_LINE];
    apr_size_t len;
    int truncated;
} log_line_t;

static void put_raw(log_line_t *l, const char *s)
{
    apr_size_t n = strlen(s);
    apr_size_t room = sizeof(l->buf) - LOG_TAIL_RESERVE - l->len;

    if (n > room) {
        l->truncated = 1;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

/* Appends "s" escaped and quoted; a cut value still gets its closing quote. Returns 1 when
 * all of s fit. */
static int put_string(log_line_t *l, const char *s)
{
    apr_size_t room = sizeof(l->buf) - LOG_TAIL_RESERVE - l->len;
    apr_size_t n = strlen(s);
    apr_size_t used;

    if (room < 2) {
        l->truncated = 1;
        return 0;
    }
    l->buf[l->len++] = '"';
    l->len += chat_msg_json_escape(l->buf + l->len, room - 2, s, n, &used);
    l->buf[l->len++] = '"';
    if (used < n) {
        l->truncated = 1;
        return 0;
    }
    return 1;
}

/* Appends ,"key":"value". A field whose key does not fit is dropped whole; a value that does
 * not fit is cut (still valid JSON) and ends the line. */
static void put_field(log_line_t *l, const char *key, const char *value)
{
    apr_size_t start = l->len;

    if (l->truncated) {
        return;
    }
    put_raw(l, ",");
    if (l->truncated || !put_string(l, key)) {
        l->len = start;
        return;
    }
    put_raw(l, ":");
    if (!l->truncated) {
        if (value == NULL) {
            put_raw(l, "null");
        }
        else {
            put_string(l, value);
        }
    }
    if (l->len == start || l->buf[l->len - 1] == ':') {
        l->len = start;   /* nothing of the value fit: drop the field */
        l->truncated = 1;
    }
}

static void write_all(int fd, const char *buf, apr_size_t len)
{
    ssize_t n;

    do {
        n = write(fd, buf, len);
    } while (n < 0 && errno == EINTR);
    /* A short or failed write of a log line has nowhere better to be reported. */
}

void chat_log_write(chat_log_t *log, chat_log_level_e level, const char *msg, ...)
{
    log_line_t line;
    char ts[CHAT_MSG_TIME_LEN + 1];
    const char *key;
    va_list ap;

    if (!chat_log_is_enabled(log, level)) {
        return;
    }
    if ((int)level < CHAT_LOG_DEBUG || (int)level > CHAT_LOG_ERROR) {
        level = CHAT_LOG_ERROR;
    }
    line.len = 0;
    line.truncated = 0;
    chat_msg_time_format(apr_time_now(), ts);
    put_raw(&line, "{\"ts\":\"");
    put_raw(&line, ts);
    put_raw(&line, "\",\"level\":\"");
    put_raw(&line, level_names[level]);
    put_raw(&line, "\"");
    put_field(&line, "msg", msg != NULL ? msg : "");
    va_start(ap, msg);
    while ((key = va_arg(ap, const char *)) != NULL) {
        put_field(&line, key, va_arg(ap, const char *));
    }
    va_end(ap);
    if (line.truncated) {
        memcpy(line.buf + line.len, ",\"truncated\":true", 17);
        line.len += 17;
    }
    line.buf[line.len++] = '}';
    line.buf[line.len++] = '\n';
    write_all(log->fd, line.buf, line.len);
}
