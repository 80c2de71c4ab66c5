/* rest_route.c: the route table and dispatch (see rest_route.h).
 *
 * Paths are matched on the raw REQUEST_URI path, segment by segment, so an encoded '/' in an
 * id can never open another route. Thread: any REST thread, on its own request. */
#include "rest_route.h"

#include <apr_escape.h>
#include <apr_strings.h>
#include <string.h>
#include "rest_analytics.h"
#include "rest_health.h"
#include "rest_history.h"
#include "rest_metrics.h"
#include "rest_token.h"

#define ALLOW_GET "GET, HEAD, OPTIONS"
#define MAX_SEGMENTS 8

typedef void (*route_fn)(rest_req_t *r, const char *id);

static void on_health(rest_req_t *r, const char *id)    { (void)id; rest_health_live(r); }
static void on_ready(rest_req_t *r, const char *id)     { (void)id; rest_health_ready(r); }
static void on_analytics(rest_req_t *r, const char *id) { (void)id; rest_analytics_handle(r); }
static void on_rooms(rest_req_t *r, const char *id)     { (void)id; rest_analytics_rooms(r); }
static void on_status(rest_req_t *r, const char *id)    { (void)id; rest_analytics_status(r); }
static void on_metrics(rest_req_t *r, const char *id)   { (void)id; rest_metrics_handle(r); }
static void on_token(rest_req_t *r, const char *id)     { (void)id; rest_token_handle(r); }
static void on_room_msgs(rest_req_t *r, const char *id) { rest_history_room(r, id); }
static void on_user_msgs(rest_req_t *r, const char *id) { rest_history_user(r, id); }

/* "*" matches one non-empty segment, which becomes the handler's id. */
static const struct route {
    const char *pattern;
    route_fn fn;
} routes[] = {
    { "/health",                 on_health },
    { "/ready",                  on_ready },
    { "/metrics",                on_metrics },
    { "/api/analytics",          on_analytics },
    { "/api/status",             on_status },
    { "/api/rooms",              on_rooms },
    { "/api/rooms/*/messages",   on_room_msgs },
    { "/api/users/*/messages",   on_user_msgs },
    { "/api/token",              on_token },
};

void rest_route_parse_query(rest_req_t *r, const char *qs)
{
    char *copy, *pair, *state = NULL;

    if (qs == NULL || *qs == '\0') {
        return;
    }
    copy = apr_pstrdup(r->pool, qs);
    for (pair = apr_strtok(copy, "&", &state); pair != NULL;
         pair = apr_strtok(NULL, "&", &state)) {
        char *eq = strchr(pair, '=');
        const char *key, *val;

        if (eq != NULL) {
            *eq = '\0';
        }
        key = apr_punescape_url(r->pool, pair, NULL, NULL, 1);
        val = apr_punescape_url(r->pool, eq != NULL ? eq + 1 : "", NULL, NULL, 1);
        if (key == NULL || val == NULL) {
            r->query_bad = 1;
            continue;
        }
        if (apr_table_get(r->query, key) == NULL) {
            apr_table_setn(r->query, key, val);
        }
    }
}

apr_status_t rest_route_decode_segment(const char *seg, apr_size_t len, char **out,
                                       apr_pool_t *pool)
{
    /* A NUL-terminated copy first: the unescaper peeks two bytes past a '%'. */
    const char *copy = apr_pstrmemdup(pool, seg, len);
    const char *dec = apr_punescape_url(pool, copy, "/", NULL, 0);

    if (dec == NULL) {
        return APR_EINVAL;
    }
    *out = (char *)dec;
    return APR_SUCCESS;
}

/* Splits path into at most MAX_SEGMENTS segments; returns their count, or -1. */
static int split(const char *path, const char **seg, apr_size_t *len)
{
    int n = 0;
    const char *p = path;

    if (*p != '/') {
        return -1;
    }
    while (*p == '/') {
        const char *start = ++p;

        while (*p != '\0' && *p != '/') {
            p++;
        }
        if (n == MAX_SEGMENTS) {
            return -1;
        }
        seg[n] = start;
        len[n] = (apr_size_t)(p - start);
        n++;
    }
    return n;
}

/* 1 when path matches pattern; *id_seg and *id_len receive the "*" segment. */
static int match(const char *pattern, const char **seg, const apr_size_t *len, int n,
                 const char **id_seg, apr_size_t *id_len)
{
    const char *pseg[MAX_SEGMENTS];
    apr_size_t plen[MAX_SEGMENTS];
    int pn = split(pattern, pseg, plen), i;

    if (pn != n) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (plen[i] == 1 && pseg[i][0] == '*') {
            if (len[i] == 0) {
                return 0;
            }
            *id_seg = seg[i];
            *id_len = len[i];
        }
        else if (plen[i] != len[i] || memcmp(pseg[i], seg[i], len[i]) != 0) {
            return 0;
        }
    }
    return 1;
}

static void preflight(rest_req_t *r)
{
    if (r->origin != NULL && !rest_reply_cors(r)) {
        rest_reply_error(r, 403, "origin not allowed");
        return;
    }
    rest_reply_start(r, 204, REST_JSON);
    apr_table_setn(r->headers, "Access-Control-Allow-Methods", ALLOW_GET);
    apr_table_setn(r->headers, "Access-Control-Allow-Headers",
                   "Content-Type, Authorization, X-Requested-With");
    apr_table_setn(r->headers, "Access-Control-Max-Age", "600");
    apr_table_setn(r->headers, "Allow", ALLOW_GET);
}

static void dispatch(rest_req_t *r, const struct route *rt, const char *id_seg,
                     apr_size_t id_len)
{
    char *id = NULL;
    apr_status_t rv;

    if (strcmp(r->method, "OPTIONS") == 0) {
        preflight(r);
        return;
    }
    rest_reply_cors(r);
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        rest_reply_not_allowed(r, ALLOW_GET);
        return;
    }
    if (r->query_bad) {
        rest_reply_error(r, 400, "malformed query string");
        return;
    }
    if (id_seg != NULL) {
        rv = rest_route_decode_segment(id_seg, id_len, &id, r->pool);
        if (rv != APR_SUCCESS) {
            rest_reply_error(r, 400, "malformed percent-encoding in path");
            return;
        }
    }
    rt->fn(r, id);
}

void rest_route_handle(rest_req_t *r)
{
    const char *seg[MAX_SEGMENTS];
    apr_size_t len[MAX_SEGMENTS];
    int n = split(r->path, seg, len);
    apr_size_t i;

    for (i = 0; n >= 0 && i < sizeof(routes) / sizeof(routes[0]); i++) {
        const char *id_seg = NULL;
        apr_size_t id_len = 0;

        if (match(routes[i].pattern, seg, len, n, &id_seg, &id_len)) {
            dispatch(r, &routes[i], id_seg, id_len);
            return;
        }
    }
    rest_reply_cors(r);
    rest_reply_error(r, 404, "not found");
}
