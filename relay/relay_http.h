/* relay_http.h: the relay's few plain HTTP answers: GET /health and handshake refusals.
 *
 * Bodies are short JSON written in one go from the callback that decided them (lws buffers what
 * the socket does not take at once); the caller then ends the HTTP transaction.
 *
 * Thread: lws service thread only; nothing here blocks. */
#ifndef RELAY_HTTP_H
#define RELAY_HTTP_H

#include "relay_server.h"

/* Writes a complete response: status, Content-Type, Content-Length, body. 0 or -1. */
int relay_http_reply(struct lws *wsi, unsigned int status, const char *content_type,
                     const char *body, apr_size_t len);

/* Writes {"error":code,"message":why} with status. 0 or -1. */
int relay_http_reply_error(struct lws *wsi, unsigned int status, const char *code,
                           const char *why);

/* LWS_CALLBACK_HTTP: GET /health answers {"status":"ok","clients":N,"storage":...}; anything
 * else 404. Returns what the callback should return. */
int relay_http_on_request(relay_server_t *srv, struct lws *wsi, const char *path);

#endif
