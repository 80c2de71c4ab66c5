/* relay_proto.c: lws callback dispatch (see relay_proto.h).
 *
 * Thread: lws service thread only; nothing here blocks. */
#include "relay_proto.h"

#include "relay_conn.h"
#include "relay_gate.h"
#include "relay_http.h"
#include "relay_room.h"
#include "relay_wscheck.h"

/* lws allocates this much per connection and hands each RECEIVE at most this much; larger
 * messages arrive in pieces that relay_conn_on_receive gathers (up to CHAT_MSG_MAX_FRAME).
 * It also bounds what lws 4.1 parses from one connection per service pass: at 1-2 KiB a
 * publisher's messages come in a few at a time, each write round coalesces less, and a
 * 1000-member room at 3200 msg/s falls behind (docs/PERFORMANCE.md). The buffer lives in a
 * page-aligned slot (relay_rxslab.h), so it costs memory only once its client sends. */
#ifndef RELAY_RX_BUFFER                 /* -DRELAY_RX_BUFFER=N for benchmark builds */
#define RELAY_RX_BUFFER CHAT_MSG_MAX_FRAME
#endif
/* One send() may carry a whole coalesced frame and its header. lws's default (0) limits each
 * send() to rx_buffer_size and buffers (copies) the rest of the frame until later writeables. */
#define RELAY_TX_PACKET (RELAY_TX_MAX + 16)

static int on_event_wait_cancelled(relay_server_t *srv)
{
    if (srv != NULL && srv->persist != NULL) {
        relay_persist_drain(srv->persist, relay_room_on_read, srv);
    }
    return 0;
}

/* RFC 6455 5.5.1 and 7.4: a close payload is empty, or a 2-byte code and a UTF-8 reason.
 * libwebsockets 4.1 turns the codes it knows to be invalid into 1002 but echoes a 1-byte
 * payload and codes of 5000 and above; answer those with 1002 ourselves. */
static int on_peer_close(struct lws *wsi, const unsigned char *in, size_t len)
{
    if (len == 1 || (len >= 2 && ((in[0] << 8) | in[1]) >= 5000)) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, NULL, 0);
        return -1;
    }
    return 0;
}

/* relay_wscheck found a client frame breaking RFC 6455: refuse it like the relay's own checks. */
static void on_frame_violation(void *arg, int code, const char *reason)
{
    relay_conn_t *c = arg;

    chat_shm_add(c->srv->shm, CHAT_CTR_REJ_INVALID, 1);
    relay_conn_close(c, code, reason);
}

static int on_established(relay_server_t *srv, relay_conn_t *c, struct lws *wsi)
{
    if (relay_conn_on_established(srv, c) != 0) {
        return -1;
    }
    if (!lws_is_ssl(wsi)) {
        relay_wscheck_watch(lws_get_socket_fd(wsi), on_frame_violation, c);
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
    case LWS_CALLBACK_PROTOCOL_INIT:
        relay_wscheck_arm();             /* lws calls this on the thread that will serve */
        return 0;
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        relay_wscheck_accepted(((struct lws_filter_network_conn_args *)user)->accept_fd);
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        return on_established(srv, c, wsi);
    case LWS_CALLBACK_RECEIVE:
        return relay_conn_on_receive(srv, c, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return relay_conn_on_writeable(srv, c);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        return on_peer_close(wsi, in, len);
    case LWS_CALLBACK_CLOSED:
        relay_wscheck_forget(lws_get_socket_fd(wsi));
        relay_conn_on_closed(srv, c);
        return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
        relay_wscheck_forget(lws_get_socket_fd(wsi));
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        return on_event_wait_cancelled(srv);
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    { "chat", relay_proto_callback, sizeof(relay_conn_t), RELAY_RX_BUFFER, 0, NULL,
      RELAY_TX_PACKET },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

const struct lws_protocols *relay_proto_table(void)
{
    return protocols;
}
