/* relay_gate.h: handshake checks, answered with an HTTP status before the upgrade.
 *
 * LWS_CALLBACK_HTTP_CONFIRM_UPGRADE runs while the request headers are still available and
 * before any 101 is sent: there the gate checks, in order, shutdown (503), path (404), Origin
 * against ALLOWED_ORIGINS (403), the query parameters room/userId/username/since/epoch and the
 * Sec-WebSocket-Protocol offer (400), the token when AUTH_SECRET is set (401), the per-IP limit
 * MAX_CONN_PER_IP (429) and room capacity (503). A refusal writes a short JSON body
 * {"error":code,"message":text}; lws then ends the HTTP transaction.
 *
 * The client address is the peer, or, when the peer is one of TRUSTED_PROXIES, the rightmost
 * untrusted entry of X-Forwarded-For.
 *
 * Thread: lws service thread only; nothing here blocks. */
#ifndef RELAY_GATE_H
#define RELAY_GATE_H

#include "relay_server.h"

/* Parses TRUSTED_PROXIES and creates the per-IP table. APR_SUCCESS or CHAT_ECONFIG (logged). */
apr_status_t relay_gate_init(relay_server_t *srv);

/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE. Returns 0 to let the upgrade proceed (the identity is left
 * in srv->gate_ident for relay_conn_on_filter), 1 when it answered with an HTTP error, -1 to
 * hang up. */
int relay_gate_on_confirm_upgrade(relay_server_t *srv, struct lws *wsi, const char *upgrade);

/* Counts one more / one less connection from ip. */
void relay_gate_ip_acquire(relay_server_t *srv, const char *ip);
void relay_gate_ip_release(relay_server_t *srv, const char *ip);

/* Frees the per-IP table entries (shutdown). */
void relay_gate_fini(relay_server_t *srv);

#endif
