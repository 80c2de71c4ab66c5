/* rest_buf.h: a capped, pool-backed text builder for response bodies.
 *
 * Bodies are built by appending; the buffer doubles inside the request pool up to a fixed cap
 * (REST_BUF_MAX). Appends past the cap are dropped and the buffer remembers it, so a handler
 * answers 500 instead of sending a truncated document (curl's dynbuf idea).
 *
 * Thread: a rest_buf_t belongs to the request (and thread) that created it. */
#ifndef REST_BUF_H
#define REST_BUF_H

#include <apr_pools.h>

#define REST_BUF_MAX (8 * 1024 * 1024)

typedef struct rest_buf_t {
    apr_pool_t *pool;
    char *data;             /* NUL-terminated */
    apr_size_t len;
    apr_size_t cap;
    int overflow;           /* 1 once an append did not fit under REST_BUF_MAX */
} rest_buf_t;

/* Prepares b in caller storage with an initial capacity; memory comes from pool. */
void rest_buf_init(rest_buf_t *b, apr_size_t initial, apr_pool_t *pool);

void rest_buf_putn(rest_buf_t *b, const char *s, apr_size_t n);
void rest_buf_puts(rest_buf_t *b, const char *s);
void rest_buf_printf(rest_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string with the quotes (chat_msg_json_escape); NULL appends null. */
void rest_buf_json_str(rest_buf_t *b, const char *s);
/* Appends a JSON number for a double: finite with 3 decimals, otherwise 0. */
void rest_buf_json_double(rest_buf_t *b, double v);

#endif
