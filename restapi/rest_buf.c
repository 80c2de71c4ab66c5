/* rest_buf.c: the capped body builder (see rest_buf.h).
 * Thread: per request; no shared state. */
#include "rest_buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "chat_msg.h"

void rest_buf_init(rest_buf_t *b, apr_size_t initial, apr_pool_t *pool)
{
    if (initial < 64) {
        initial = 64;
    }
    b->pool = pool;
    b->data = apr_palloc(pool, initial);
    b->data[0] = '\0';
    b->len = 0;
    b->cap = initial;
    b->overflow = 0;
}

/* Makes room for n more bytes plus the NUL; 0 when the cap forbids it. */
static int reserve(rest_buf_t *b, apr_size_t n)
{
    apr_size_t want = b->len + n + 1;
    apr_size_t cap = b->cap;
    char *grown;

    if (b->overflow || want > REST_BUF_MAX) {
        b->overflow = 1;
        return 0;
    }
    if (want <= cap) {
        return 1;
    }
    while (cap < want) {
        cap *= 2;
    }
    if (cap > REST_BUF_MAX) {
        cap = REST_BUF_MAX;
    }
    grown = apr_palloc(b->pool, cap);
    memcpy(grown, b->data, b->len + 1);
    b->data = grown;
    b->cap = cap;
    return 1;
}

void rest_buf_putn(rest_buf_t *b, const char *s, apr_size_t n)
{
    if (!reserve(b, n)) {
        return;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void rest_buf_puts(rest_buf_t *b, const char *s)
{
    rest_buf_putn(b, s, strlen(s));
}

void rest_buf_printf(rest_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (apr_size_t)n)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (apr_size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (apr_size_t)n;
}

void rest_buf_json_str(rest_buf_t *b, const char *s)
{
    apr_size_t len, worst;

    if (s == NULL) {
        rest_buf_puts(b, "null");
        return;
    }
    len = strlen(s);
    worst = 6 * len + 2;          /* every byte escaped as \u00XX, plus the quotes */
    if (!reserve(b, worst)) {
        return;
    }
    b->data[b->len++] = '"';
    b->len += chat_msg_json_escape(b->data + b->len, b->cap - b->len - 1, s, len, NULL);
    b->data[b->len++] = '"';
    b->data[b->len] = '\0';
}

void rest_buf_json_double(rest_buf_t *b, double v)
{
    if (!isfinite(v)) {
        v = 0.0;
    }
    rest_buf_printf(b, "%.3f", v);
}
