/* relay_http.c: /health and HTTP error replies (see relay_http.h).
 *
 * Thread: lws service thread only; nothing here blocks. */
#include "relay_http.h"

#include <stdio.h>
#include <string.h>

#define HTTP_BODY_MAX 1024

int relay_http_reply(struct lws *wsi, unsigned int status, const char *content_type,
                     const char *body, apr_size_t len)
{
    unsigned char buf[LWS_PRE + 1024 + HTTP_BODY_MAX];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + LWS_PRE + 1024;

    if (len > HTTP_BODY_MAX) {
        len = HTTP_BODY_MAX;
    }
    if (lws_add_http_common_headers(wsi, status, content_type, (lws_filepos_t)len, &p, end)
        || lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                        (const unsigned char *)"no-store", 8, &p, end)
        || lws_finalize_write_http_header(wsi, start, &p, end)) {
        return -1;
    }
    memcpy(start, body, len);
    if (lws_write(wsi, start, len, LWS_WRITE_HTTP_FINAL) < (int)len) {
        return -1;
    }
    return 0;
}

int relay_http_reply_error(struct lws *wsi, unsigned int status, const char *code,
                           const char *why)
{
    char body[HTTP_BODY_MAX], esc[HTTP_BODY_MAX / 2];
    apr_size_t n = chat_msg_json_escape(esc, sizeof(esc) - 1, why, strlen(why), NULL);
    int len;

    esc[n] = '\0';
    len = snprintf(body, sizeof(body), "{\"error\":\"%s\",\"message\":\"%s\"}\n", code, esc);
    if (len < 0 || len >= (int)sizeof(body)) {
        return -1;
    }
    return relay_http_reply(wsi, status, "application/json", body, (apr_size_t)len);
}

static const char *storage_state(const relay_server_t *srv)
{
    if (srv->cfg->storage == CHAT_STORAGE_NONE) {
        return "disabled";
    }
    return relay_persist_is_store_up(srv->persist) ? "ok" : "unavailable";
}

int relay_http_on_request(relay_server_t *srv, struct lws *wsi, const char *path)
{
    char body[256];
    int len, rc;

    if (path == NULL || strcmp(path, "/health") != 0) {
        rc = relay_http_reply_error(wsi, 404, "not_found", "not found");
    }
    else {
        len = snprintf(body, sizeof(body),
                       "{\"status\":\"%s\",\"clients\":%d,\"storage\":\"%s\"}\n",
                       srv->stopping ? "stopping" : "ok", srv->n_conns, storage_state(srv));
        rc = relay_http_reply(wsi, srv->stopping ? 503 : 200, "application/json", body,
                              (apr_size_t)len);
    }
    if (rc < 0) {
        return -1;
    }
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}
