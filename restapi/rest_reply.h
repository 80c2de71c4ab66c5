/* rest_reply.h: one request as the handlers see it, and how they answer.
 *
 * rest_main turns a FastCGI request into a rest_req_t (method, path, query, the few CGI
 * variables we use), the router and one handler fill in the reply (status, headers, body),
 * and rest_main writes it out. Handlers never touch FastCGI streams, which keeps them testable
 * with a plain struct. Every reply gets Cache-Control: no-store unless a handler says
 * otherwise, and CORS headers per ALLOWED_ORIGINS (rest_reply_cors).
 *
 * Thread: a rest_req_t belongs to the REST thread serving it; everything is allocated from
 * its pool, which is cleared after the request is finished. */
#ifndef REST_REPLY_H
#define REST_REPLY_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "chat_config.h"
#include "chat_log.h"
#include "chat_shm.h"
#include "chat_store.h"
#include "rest_buf.h"

/* Process-wide and read-only once the threads run. */
typedef struct rest_ctx_t {
    const chat_config_t *cfg;
    chat_log_t *log;
    apr_time_t started;          /* chat-restapi start */
} rest_ctx_t;

/* The last storage health check of one thread, reused for REST_HEALTH_CACHE so a flood of
 * /health requests does not become a flood of store round trips (a DynamoDB call each). */
typedef struct rest_health_cache_t {
    apr_time_t at;               /* 0: never checked */
    apr_status_t rv;
} rest_health_cache_t;

typedef struct rest_req_t {
    apr_pool_t *pool;
    const rest_ctx_t *ctx;
    chat_store_t *store;         /* this thread's handle; NULL when it could not be opened */
    chat_shm_reader_t *shm;      /* this thread's reader */
    rest_health_cache_t *health; /* this thread's cache; NULL checks every time */
    apr_time_t now;
    /* request */
    const char *method;          /* REQUEST_METHOD */
    const char *path;            /* raw (still percent-encoded) path without the query */
    const char *query_string;    /* QUERY_STRING, "" when absent */
    apr_table_t *query;          /* decoded query parameters (first value wins on lookup) */
    int query_bad;               /* 1 when QUERY_STRING held a malformed escape */
    const char *origin;          /* HTTP_ORIGIN or NULL */
    const char *remote_user;     /* REMOTE_USER or NULL (set by Apache's auth modules) */
    const char *acrh;            /* HTTP_ACCESS_CONTROL_REQUEST_HEADERS or NULL */
    /* reply */
    int status;
    apr_table_t *headers;        /* sent as given; Content-Type and Status are added */
    const char *content_type;
    rest_buf_t body;             /* sent for HEAD too: Apache drops it */
} rest_req_t;

#define REST_JSON "application/json; charset=utf-8"
#define REST_TEXT "text/plain; charset=utf-8"
#define REST_PROM "text/plain; version=0.0.4; charset=utf-8"

/* Prepares r for a new request (fresh tables and body buffer from pool). */
void rest_reply_init(rest_req_t *r, const rest_ctx_t *ctx, apr_pool_t *pool);

/* Starts a reply: status and content type; the body is appended to r->body by the caller. */
void rest_reply_start(rest_req_t *r, int status, const char *content_type);

/* A JSON error body {"error":msg} with status; replaces any body built so far. */
void rest_reply_error(rest_req_t *r, int status, const char *msg);

/* 405 with Allow: allow. */
void rest_reply_not_allowed(rest_req_t *r, const char *allow);

/* Adds Access-Control-Allow-Origin per cfg: "*" when every origin is allowed (never with
 * credentials), the echoed origin plus Vary: Origin when it is on the list, nothing otherwise.
 * Returns 1 when the request's origin is allowed (or absent), 0 when it is refused. */
int rest_reply_cors(rest_req_t *r);

/* The HTTP reason phrase of status ("Not Found"), "Unknown" for others. */
const char *rest_reply_reason(int status);

/* Renders the CGI response head ("Status: ...\r\nHeader: v\r\n...\r\n\r\n") from pool. */
char *rest_reply_head(const rest_req_t *r, apr_pool_t *pool);

#endif
