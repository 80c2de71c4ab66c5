/* relay_proto.h: the lws protocol table and its callback.
 *
 * One protocol, "chat", serves both plain HTTP (GET /health, handshake refusals) and the
 * WebSocket connections; it is also the vhost's default, so clients that offer no
 * Sec-WebSocket-Protocol get it too. The callback only dispatches, each reason to an on_<reason>
 * helper of the module that owns it.
 *
 * Thread: lws service thread only. */
#ifndef RELAY_PROTO_H
#define RELAY_PROTO_H

#include "relay_server.h"

/* The NULL-terminated protocol table for lws_context_creation_info.protocols. */
const struct lws_protocols *relay_proto_table(void);

#endif
