/* relay_gate.c: handshake checks (see relay_gate.h).
 *
 * Thread: lws service thread only; nothing here blocks (token checks are one HMAC). */
#include "relay_gate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_strings.h>

#include "chat_token.h"
#include "relay_http.h"
#include "relay_room.h"

#define ARG_MAX 4096                 /* lws keeps at most this much header data */
#define PROTO_MAX 127                /* lws copies Sec-WebSocket-Protocol into 128 bytes */
#define PROTO_NAME_MAX 63            /* and each offered name into 64 */
#define CHAT_PROTOCOL "chat"

struct relay_ip_t {
    int count;
    char ip[64];
};

/* What the handshake asked for, before checks. */
typedef struct gate_req_t {
    const char *room, *user_id, *username, *since, *epoch, *token;
} gate_req_t;

/* ------------------------------------------------------------------ trusted proxies */

static int parse_net(const char *s, relay_net_t *net, apr_pool_t *pool)
{
    char *addr = apr_pstrdup(pool, s), *slash = strchr(addr, '/');
    int max;

    if (slash != NULL) {
        *slash++ = '\0';
    }
    if (inet_pton(AF_INET, addr, net->addr) == 1) {
        net->family = AF_INET;
        max = 32;
    }
    else if (inet_pton(AF_INET6, addr, net->addr) == 1) {
        net->family = AF_INET6;
        max = 128;
    }
    else {
        return 0;
    }
    net->prefix = max;
    if (slash != NULL) {
        char *end;
        long bits = strtol(slash, &end, 10);

        if (*slash == '\0' || *end != '\0' || bits < 0 || bits > max) {
            return 0;
        }
        net->prefix = (int)bits;
    }
    return 1;
}

static int net_contains(const relay_net_t *net, int family, const unsigned char *addr)
{
    int full = net->prefix / 8, rest = net->prefix % 8;

    if (net->family != family || memcmp(net->addr, addr, (size_t)full) != 0) {
        return 0;
    }
    if (rest == 0) {
        return 1;
    }
    return ((net->addr[full] ^ addr[full]) & (0xff << (8 - rest))) == 0;
}

static int is_trusted(const relay_server_t *srv, const char *ip)
{
    unsigned char addr[16];
    int family = AF_INET, i;

    if (inet_pton(AF_INET, ip, addr) != 1) {
        family = AF_INET6;
        if (inet_pton(AF_INET6, ip, addr) != 1) {
            return 0;
        }
    }
    for (i = 0; i < srv->n_proxies; i++) {
        if (net_contains(&srv->proxies[i], family, addr)) {
            return 1;
        }
    }
    return 0;
}

apr_status_t relay_gate_init(relay_server_t *srv)
{
    const apr_array_header_t *list = srv->cfg->trusted_proxies;
    int i, n = list != NULL ? list->nelts : 0;

    srv->ips = apr_hash_make(srv->pool);
    srv->proxies = apr_pcalloc(srv->pool, sizeof(relay_net_t) * (size_t)(n + 1));
    for (i = 0; i < n; i++) {
        const char *s = APR_ARRAY_IDX(list, i, const char *);

        if (!parse_net(s, &srv->proxies[srv->n_proxies], srv->pool)) {
            CHAT_LOG(srv->log, CHAT_LOG_ERROR, "TRUSTED_PROXIES: not an address or CIDR",
                     "value", s);
            return CHAT_ECONFIG;
        }
        srv->n_proxies++;
    }
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ per-IP counts */

void relay_gate_ip_acquire(relay_server_t *srv, const char *ip)
{
    relay_ip_t *e = apr_hash_get(srv->ips, ip, APR_HASH_KEY_STRING);

    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        if (e == NULL) {
            return;
        }
        apr_cpystrn(e->ip, ip, sizeof(e->ip));
        apr_hash_set(srv->ips, e->ip, APR_HASH_KEY_STRING, e);
    }
    e->count++;
}

void relay_gate_ip_release(relay_server_t *srv, const char *ip)
{
    relay_ip_t *e = apr_hash_get(srv->ips, ip, APR_HASH_KEY_STRING);

    if (e != NULL && --e->count <= 0) {
        apr_hash_set(srv->ips, e->ip, APR_HASH_KEY_STRING, NULL);
        free(e);
    }
}

static int ip_count(relay_server_t *srv, const char *ip)
{
    relay_ip_t *e = apr_hash_get(srv->ips, ip, APR_HASH_KEY_STRING);

    return e != NULL ? e->count : 0;
}

void relay_gate_fini(relay_server_t *srv)
{
    apr_hash_index_t *hi;

    if (srv->ips == NULL) {
        return;
    }
    /* Delete, then free: the key lives in the entry (see relay_room's memo_clear). */
    for (hi = apr_hash_first(srv->pool, srv->ips); hi != NULL; hi = apr_hash_next(hi)) {
        relay_ip_t *e = apr_hash_this_val(hi);

        apr_hash_set(srv->ips, e->ip, APR_HASH_KEY_STRING, NULL);
        free(e);
    }
}

/* ------------------------------------------------------------------ request parsing */

/* "::ffff:1.2.3.4" -> "1.2.3.4"; trims blanks. */
static void normalize_ip(char *ip)
{
    char *s = ip, *e;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    if (strncasecmp(s, "::ffff:", 7) == 0 && strchr(s + 7, '.') != NULL) {
        s += 7;
    }
    memmove(ip, s, strlen(s) + 1);
    e = ip + strlen(ip);
    while (e > ip && (e[-1] == ' ' || e[-1] == '\t')) {
        *--e = '\0';
    }
}

static void client_ip(relay_server_t *srv, struct lws *wsi, char *out, apr_size_t cap,
                      apr_pool_t *pool)
{
    int len = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
    char *xff, *comma;

    out[0] = '\0';
    lws_get_peer_simple(wsi, out, cap);
    normalize_ip(out);
    if (len <= 0 || len > ARG_MAX || !is_trusted(srv, out)) {
        return;
    }
    xff = apr_palloc(pool, (apr_size_t)len + 1);
    if (lws_hdr_copy(wsi, xff, len + 1, WSI_TOKEN_X_FORWARDED_FOR) < 0) {
        return;
    }
    /* Walk from the right: each trusted hop vouches for the address to its left. */
    while (1) {
        char *hop;

        comma = strrchr(xff, ',');
        hop = comma != NULL ? comma + 1 : xff;
        normalize_ip(hop);
        if (*hop != '\0') {
            apr_cpystrn(out, hop, cap);
            if (!is_trusted(srv, out)) {
                return;
            }
        }
        if (comma == NULL) {
            return;
        }
        *comma = '\0';
    }
}

static void take_args(struct lws *wsi, gate_req_t *req, apr_pool_t *pool)
{
    char buf[ARG_MAX + 1];
    int n;

    for (n = 0; lws_hdr_copy_fragment(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_URI_ARGS, n) >= 0;
         n++) {
        static const char *const names[] = { "room=", "userId=", "username=", "since=",
                                             "epoch=", "token=" };
        const char **slots[] = { &req->room, &req->user_id, &req->username, &req->since,
                                 &req->epoch, &req->token };
        size_t i;

        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            size_t nl = strlen(names[i]);

            if (strncmp(buf, names[i], nl) == 0 && *slots[i] == NULL && buf[nl] != '\0') {
                *slots[i] = apr_pstrdup(pool, buf + nl);
            }
        }
    }
}

/* Finds "bearer.<token>" in the Sec-WebSocket-Protocol list and checks that "chat" is
 * offered. Returns 0, or an HTTP status with *why set. */
static int take_protocols(struct lws *wsi, gate_req_t *req, const char **why, apr_pool_t *pool)
{
    int len = lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL), has_chat = 0;
    char *list, *tok, *last = NULL;

    if (len <= 0) {
        return 0;
    }
    if (len > PROTO_MAX) {
        *why = "Sec-WebSocket-Protocol is longer than 127 bytes; pass the token as ?token= "
               "or in Authorization";
        return 400;
    }
    list = apr_palloc(pool, (apr_size_t)len + 1);
    if (lws_hdr_copy(wsi, list, len + 1, WSI_TOKEN_PROTOCOL) < 0) {
        *why = "unreadable Sec-WebSocket-Protocol";
        return 400;
    }
    for (tok = apr_strtok(list, ", \t", &last); tok != NULL;
         tok = apr_strtok(NULL, ", \t", &last)) {
        if (strcmp(tok, CHAT_PROTOCOL) == 0) {
            has_chat = 1;
        }
        else if (!has_chat && strlen(tok) > PROTO_NAME_MAX) {
            /* lws walks the offer in order and gives up (no HTTP answer) on a name this long
             * before it reaches one it knows. */
            *why = "offer \"chat\" before a Sec-WebSocket-Protocol entry longer than 63 bytes";
            return 400;
        }
        if (strncmp(tok, "bearer.", 7) == 0 && req->token == NULL) {
            req->token = tok + 7;
        }
    }
    if (!has_chat) {
        *why = "Sec-WebSocket-Protocol must offer \"chat\"";
        return 400;
    }
    return 0;
}

static const char *header_token(struct lws *wsi, apr_pool_t *pool)
{
    int len = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    char *v;

    if (len <= 7 || len > ARG_MAX) {
        return NULL;
    }
    v = apr_palloc(pool, (apr_size_t)len + 1);
    if (lws_hdr_copy(wsi, v, len + 1, WSI_TOKEN_HTTP_AUTHORIZATION) < 0
        || strncasecmp(v, "Bearer ", 7) != 0) {
        return NULL;
    }
    v += 7;
    while (*v == ' ') {
        v++;
    }
    return *v != '\0' ? v : NULL;
}

static int parse_int64(const char *s, apr_int64_t min, apr_int64_t *out)
{
    char *end;
    apr_int64_t v;

    if (s == NULL || *s == '\0') {
        return 0;
    }
    errno = 0;
    v = apr_strtoi64(s, &end, 10);
    if (*end != '\0' || errno == ERANGE || v < min) {
        return 0;
    }
    *out = v;
    return 1;
}

static const char *origin_of(struct lws *wsi, apr_pool_t *pool)
{
    int len = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
    char *v;

    if (len <= 0 || len > ARG_MAX) {
        return NULL;
    }
    v = apr_palloc(pool, (apr_size_t)len + 1);
    return lws_hdr_copy(wsi, v, len + 1, WSI_TOKEN_ORIGIN) < 0 ? NULL : v;
}

/* ------------------------------------------------------------------ the checks */

typedef struct gate_verdict_t {
    int status;                  /* 0 = accepted */
    const char *code;            /* error code */
    const char *why;             /* message */
    enum chat_ctr ctr;           /* rejection counter */
} gate_verdict_t;

static int refuse(gate_verdict_t *v, int status, const char *code, const char *why,
                  enum chat_ctr ctr)
{
    v->status = status;
    v->code = code;
    v->why = why;
    v->ctr = ctr;
    return status;
}

static int check_identity(relay_server_t *srv, struct lws *wsi, gate_req_t *req,
                          relay_ident_t *id, gate_verdict_t *v, apr_pool_t *pool)
{
    const char *secret = srv->cfg->auth_secret;
    const char *user_id = req->user_id != NULL ? req->user_id : "anonymous";
    const char *username = req->username != NULL ? req->username : "Anonymous";
    apr_status_t rv;

    if (secret != NULL && *secret != '\0') {
        chat_token_claims_t claims;
        char ebuf[128];
        const char *token = req->token != NULL ? req->token : header_token(wsi, pool);

        rv = chat_token_verify(secret, token, apr_time_now(), &claims, pool);
        if (rv != APR_SUCCESS) {
            return refuse(v, 401, chat_err_code(rv), chat_err_str(rv, ebuf, sizeof(ebuf)),
                          CHAT_CTR_REJ_UNAUTHORIZED);
        }
        user_id = claims.user_id;
        if (claims.name != NULL) {
            username = claims.name;
        }
    }
    if (chat_msg_validate_userid(user_id) != APR_SUCCESS
        || strlen(user_id) >= sizeof(id->user_id)) {
        return refuse(v, 400, "bad_user_id", "userId must be 1-128 printable characters",
                      CHAT_CTR_REJ_BAD_REQUEST);
    }
    rv = chat_msg_validate_username(username);
    if (rv != APR_SUCCESS || strlen(username) >= sizeof(id->username)) {
        char ebuf[128];

        return refuse(v, 400, chat_err_code(rv),
                      apr_pstrdup(pool, chat_err_str(rv, ebuf, sizeof(ebuf))),
                      CHAT_CTR_REJ_BAD_REQUEST);
    }
    apr_cpystrn(id->user_id, user_id, sizeof(id->user_id));
    apr_cpystrn(id->username, username, sizeof(id->username));
    return 0;
}

static int check_request(relay_server_t *srv, struct lws *wsi, relay_ident_t *id,
                         gate_verdict_t *v, apr_pool_t *pool)
{
    gate_req_t req = { 0 };
    char uri[64];
    const char *why = NULL;
    int status;

    if (srv->stopping) {
        return refuse(v, 503, "shutting_down", "the relay is shutting down",
                      CHAT_CTR__COUNT);
    }
    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0 || strcmp(uri, "/ws") != 0) {
        return refuse(v, 404, "not_found", "WebSocket endpoint is /ws", CHAT_CTR_REJ_BAD_REQUEST);
    }
    if (!chat_config_is_origin_allowed(srv->cfg, origin_of(wsi, pool))) {
        return refuse(v, 403, "forbidden_origin", "Origin not allowed", CHAT_CTR_REJ_ORIGIN);
    }
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS) > ARG_MAX) {
        return refuse(v, 400, "bad_request", "query string too long", CHAT_CTR_REJ_BAD_REQUEST);
    }
    take_args(wsi, &req, pool);
    status = take_protocols(wsi, &req, &why, pool);
    if (status != 0) {
        return refuse(v, status, "bad_request", why, CHAT_CTR_REJ_BAD_REQUEST);
    }
    if (req.room == NULL) {
        req.room = "global";
    }
    if (chat_msg_validate_room(req.room) != APR_SUCCESS) {
        return refuse(v, 400, "bad_room",
                      "room must be 1-64 characters of letters, digits, '-', '_', '.', ':'",
                      CHAT_CTR_REJ_BAD_REQUEST);
    }
    apr_cpystrn(id->room, req.room, sizeof(id->room));
    if (req.since != NULL) {
        if (!parse_int64(req.since, 0, &id->since)) {
            return refuse(v, 400, "bad_request", "since must be a non-negative integer",
                          CHAT_CTR_REJ_BAD_REQUEST);
        }
        id->has_since = 1;
    }
    if (req.epoch != NULL) {
        if (!parse_int64(req.epoch, 0, &id->epoch)) {
            return refuse(v, 400, "bad_request", "epoch must be a non-negative integer",
                          CHAT_CTR_REJ_BAD_REQUEST);
        }
        id->has_epoch = 1;
    }
    status = check_identity(srv, wsi, &req, id, v, pool);
    if (status != 0) {
        return status;
    }
    client_ip(srv, wsi, id->ip, sizeof(id->ip), pool);
    if (srv->cfg->max_conn_per_ip > 0 && ip_count(srv, id->ip) >= srv->cfg->max_conn_per_ip) {
        return refuse(v, 429, "too_many_connections", "too many connections from this address",
                      CHAT_CTR_REJ_CONN_LIMIT);
    }
    if (!relay_room_can_admit(srv, id->room)) {
        return refuse(v, 503, "full", "too many rooms", CHAT_CTR__COUNT);
    }
    return 0;
}

int relay_gate_on_confirm_upgrade(relay_server_t *srv, struct lws *wsi, const char *upgrade)
{
    gate_verdict_t v = { 0 };
    relay_ident_t id;
    apr_pool_t *pool = srv->scratch;
    int rc = 0;

    if (upgrade == NULL || strcasecmp(upgrade, "websocket") != 0) {
        return relay_http_reply_error(wsi, 400, "bad_request", "only WebSocket upgrades") < 0
               ? -1 : 1;
    }
    memset(&id, 0, sizeof(id));
    if (check_request(srv, wsi, &id, &v, pool) == 0) {
        srv->gate_wsi = wsi;
        srv->gate_ident = id;
    }
    else {
        if (v.ctr != CHAT_CTR__COUNT) {
            chat_shm_add(srv->shm, v.ctr, 1);
        }
        CHAT_LOG(srv->log, CHAT_LOG_INFO, "handshake refused", "status",
                 apr_itoa(pool, v.status), "code", v.code);
        rc = relay_http_reply_error(wsi, (unsigned int)v.status, v.code, v.why) < 0 ? -1 : 1;
    }
    apr_pool_clear(pool);
    return rc;
}
