/* relay_proto.c: lws callback dispatch (see relay_proto.h).
 *
 * Thread: lws service thread only; nothing here blocks. */
#include "relay_proto.h"

#include "relay_conn.h"
#include "relay_gate.h"
#include "relay_http.h"
#include "relay_room.h"

/* lws hands each RECEIVE at most this much; larger messages arrive in pieces. */
#define RELAY_RX_BUFFER CHAT_MSG_MAX_FRAME

static int on_event_wait_cancelled(relay_server_t *srv)
{
    if (srv != NULL && srv->persist != NULL) {
        relay_persist_drain(srv->persist, relay_room_on_read, srv);
    }
    return 0;
}

static int relay_proto_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                                void *in, size_t len)
{
    relay_server_t *srv = relay_server_of(wsi);
    relay_conn_t *c = user;

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return relay_http_on_request(srv, wsi, in);
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return relay_gate_on_confirm_upgrade(srv, wsi, in);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return relay_conn_on_filter(srv, c, wsi);
    case LWS_CALLBACK_ESTABLISHED:
        return relay_conn_on_established(srv, c);
    case LWS_CALLBACK_RECEIVE:
        return relay_conn_on_receive(srv, c, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return relay_conn_on_writeable(srv, c);
    case LWS_CALLBACK_CLOSED:
        relay_conn_on_closed(srv, c);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        return on_event_wait_cancelled(srv);
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    { "chat", relay_proto_callback, sizeof(relay_conn_t), RELAY_RX_BUFFER, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

const struct lws_protocols *relay_proto_table(void)
{
    return protocols;
}
