/* rest_reply.c: replies, JSON errors and CORS for every route.
 *
 * CORS follows ALLOWED_ORIGINS: "*" answers Access-Control-Allow-Origin: * and never sends
 * Access-Control-Allow-Credentials (browsers reject the pair, and it would let any site read
 * a logged-in user's data); a list echoes the matching origin and adds Vary: Origin so caches
 * keep per-origin copies. A refused origin gets no CORS headers at all.
 *
 * Thread: any REST thread, on its own request. */
#include "rest_reply.h"

#include <string.h>

void rest_reply_init(rest_req_t *r, const rest_ctx_t *ctx, apr_pool_t *pool)
{
    memset(r, 0, sizeof(*r));
    r->pool = pool;
    r->ctx = ctx;
    r->now = apr_time_now();
    r->method = "GET";
    r->path = "/";
    r->query_string = "";
    r->query = apr_table_make(pool, 4);
    r->headers = apr_table_make(pool, 8);
    rest_buf_init(&r->body, 1024, pool);
    r->status = 500;
    r->content_type = REST_JSON;
}

void rest_reply_start(rest_req_t *r, int status, const char *content_type)
{
    r->status = status;
    r->content_type = content_type;
    rest_buf_init(&r->body, 1024, r->pool);
}

void rest_reply_error(rest_req_t *r, int status, const char *msg)
{
    rest_reply_start(r, status, REST_JSON);
    rest_buf_puts(&r->body, "{\"error\":");
    rest_buf_json_str(&r->body, msg);
    rest_buf_puts(&r->body, "}\n");
}

void rest_reply_not_allowed(rest_req_t *r, const char *allow)
{
    rest_reply_error(r, 405, "method not allowed");
    apr_table_setn(r->headers, "Allow", allow);
}

int rest_reply_cors(rest_req_t *r)
{
    const chat_config_t *cfg = r->ctx->cfg;

    if (cfg->allow_all_origins) {
        if (r->origin != NULL) {
            apr_table_setn(r->headers, "Access-Control-Allow-Origin", "*");
        }
        return 1;
    }
    /* The answer depends on Origin even when it is refused or absent. */
    apr_table_mergen(r->headers, "Vary", "Origin");
    if (r->origin == NULL) {
        return 1;
    }
    if (!chat_config_is_origin_allowed(cfg, r->origin)) {
        return 0;
    }
    apr_table_set(r->headers, "Access-Control-Allow-Origin", r->origin);
    return 1;
}

const char *rest_reply_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default:  return "Unknown";
    }
}

static int add_header_line(void *data, const char *key, const char *value)
{
    rest_buf_t *b = data;

    /* Values come from our own code or an allowlisted origin; still never split a line. */
    if (strpbrk(value, "\r\n") == NULL) {
        rest_buf_printf(b, "%s: %s\r\n", key, value);
    }
    return 1;
}

char *rest_reply_head(const rest_req_t *r, apr_pool_t *pool)
{
    rest_buf_t b;

    rest_buf_init(&b, 512, pool);
    rest_buf_printf(&b, "Status: %d %s\r\n", r->status, rest_reply_reason(r->status));
    if (r->status != 204) {
        rest_buf_printf(&b, "Content-Type: %s\r\n", r->content_type);
        rest_buf_printf(&b, "Content-Length: %lu\r\n", (unsigned long)r->body.len);
    }
    if (apr_table_get(r->headers, "Cache-Control") == NULL) {
        rest_buf_puts(&b, "Cache-Control: no-store\r\n");
    }
    apr_table_do(add_header_line, &b, r->headers, NULL);
    rest_buf_puts(&b, "\r\n");
    return b.data;
}
