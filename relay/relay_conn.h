/* relay_conn.h: one WebSocket client of the relay.
 *
 * The struct is the lws per-session data of the "chat" protocol: lws allocates it (zeroed) when
 * the upgrade is accepted and frees it after LWS_CALLBACK_CLOSED, so it is fixed-size and
 * inline; only the outbound ring (CLIENT_SEND_QUEUE pointers), a replay backlog and a partial
 * inbound frame are malloc'd. relay_room.c walks room members through the fields below, which
 * is why the struct is visible to the relay's files (nobody outside relay/ includes this).
 *
 * Outbound path: the room enqueues shared frames (relay_conn_enqueue); a ring holding
 * CLIENT_SEND_QUEUE broadcasts drops its oldest broadcast and counts it. Replies to the client
 * itself (ack, error, rejection notices: frame->ctl) are never dropped; at most RELAY_CTL_MAX
 * of them wait, beyond that the client is not reading and is closed with 1013. The ring is
 * allocated at the first enqueue and doubles from RELAY_Q_MIN slots, so an idle connection
 * holds none. A write sends the backlog (hello, replay, resume) first, then the ring,
 * coalesced into one text frame of up to RELAY_TX_MAX bytes joined by '\n'. Writes happen on
 * LWS_CALLBACK_SERVER_WRITEABLE, or, while the relay is not pacing, at the end of the service
 * pass that queued the frames (relay_conn_flush), which saves lws a poll round trip per message.
 *
 * Thread: lws service thread only; nothing here blocks. */
#ifndef RELAY_CONN_H
#define RELAY_CONN_H

#include "relay_server.h"
#include "relay_frame.h"
#include "chat_bucket.h"

typedef enum {
    RELAY_CONN_WAIT_ROOM = 0,    /* the room's warm-up read is in flight */
    RELAY_CONN_WAIT_STORE,       /* a resume read is in flight */
    RELAY_CONN_LIVE              /* backlog built; receives the room's broadcasts */
} relay_conn_state_e;

struct relay_conn_t {
    struct lws *wsi;
    relay_server_t *srv;
    relay_room_t *room;
    relay_conn_t *room_prev, *room_next;       /* room->members */
    relay_conn_t *all_prev, *all_next;         /* srv->conns */
    relay_conn_state_e state;
    int joined;                                /* counted in the room, ip table, shm */
    int close_code;                            /* nonzero: close at the next writeable */
    const char *close_reason;                  /* static text */
    relay_ident_t id;                          /* room, user, name, ip, since, epoch */
    char client_id[CHAT_ID_CLIENT_LEN + 1];
    int shm_slot;
    chat_bucket_t bucket;
    apr_time_t rate_noticed;                   /* last "rate limited" system message */
    relay_read_t *read;                        /* resume read in flight, or NULL */

    char *rx;                                  /* partial inbound message (malloc'd) */
    apr_size_t rx_len;
    apr_time_t discard_until;                  /* nonzero: reading an oversized message to
                                                * its end (or this deadline) before the 1009 */
    apr_size_t discarded;                      /* bytes of it read and dropped so far */

    relay_frame_t **q;                         /* outbound ring of q_size slots, grown on
                                                * demand; NULL until the first enqueue */
    int q_cap;                                 /* CLIENT_SEND_QUEUE: broadcasts held at most */
    int q_size, q_head, q_len;                 /* q_len counts every entry */
    int q_ctl;                                 /* entries that are replies (frame->ctl) */
    int q_open;                                /* accepts frames: established, not closed */
    relay_frame_t **backlog;                   /* sent before the ring; malloc'd */
    int bl_len, bl_pos;
    apr_uint64_t missed;                       /* dropped, not yet reported to the client */
    apr_time_t behind_since;                   /* first drop since the ring last ran empty */
    apr_time_t pending_since;                  /* data pending and unwritten since */
    int want_write;                            /* lws_callback_on_writable requested */
    lws_dll2_t pace_list;                      /* on srv->paced until its quantum ends */
    int flush_slot;                            /* 1 + its index in srv->flush; 0: not there */
    apr_time_t last_write;                     /* the last frame written */
    int last_batch;                            /* messages it carried */
    apr_time_t pace_due;                       /* paced: when its quantum ends */
    apr_time_t last_enqueue;                   /* the last frame queued */
    apr_interval_time_t gap_avg;               /* mean time between queued frames (pacing) */
};

/* Replies (frame->ctl) one connection may have waiting before it is closed as not reading. */
#define RELAY_CTL_MAX 256
/* The outbound ring's first allocation, in slots. */
#define RELAY_Q_MIN 8

/* LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: adopts the identity the gate approved for wsi.
 * Returns 0, or -1 to refuse (no approval recorded for this wsi). */
int relay_conn_on_filter(relay_server_t *srv, relay_conn_t *c, struct lws *wsi);

/* LWS_CALLBACK_ESTABLISHED: opens the queue, counts the connection, joins the room. 0/-1. */
int relay_conn_on_established(relay_server_t *srv, relay_conn_t *c);

/* LWS_CALLBACK_RECEIVE: reassembles fragments (up to CHAT_MSG_MAX_FRAME, else close 1009),
 * refuses binary (1003) and handles each complete message. 0, or -1 to close. */
int relay_conn_on_receive(relay_server_t *srv, relay_conn_t *c, const void *in, size_t len);

/* LWS_CALLBACK_SERVER_WRITEABLE: one coalesced write. 0, or -1 to close. */
int relay_conn_on_writeable(relay_server_t *srv, relay_conn_t *c);

/* LWS_CALLBACK_CLOSED: leaves the room and releases everything the connection holds. */
void relay_conn_on_closed(relay_server_t *srv, relay_conn_t *c);

/* Queues a shared frame (takes a reference). With CLIENT_SEND_QUEUE broadcasts queued the
 * oldest broadcast is dropped (replies never are). */
void relay_conn_enqueue(relay_conn_t *c, relay_frame_t *f, apr_time_t now);

/* Queues a frame made for this connection alone (takes over the caller's reference). A frame
 * with ctl set is a reply: never dropped; the RELAY_CTL_MAX+1st closes the connection (1013). */
void relay_conn_enqueue_own(relay_conn_t *c, relay_frame_t *f, apr_time_t now);

/* Installs the backlog (takes over the array and its references), marks the connection
 * live and asks for a writeable callback. */
void relay_conn_set_backlog(relay_conn_t *c, relay_frame_t **frames, int n);

/* Tells the client its message was accepted: {"type":"ack","nonce","messageId","seq"}. */
void relay_conn_send_ack(relay_conn_t *c, const char *nonce, const relay_frame_t *msg,
                         apr_time_t now);

/* Tells the client its message was refused: an error frame when it sent a nonce, else a
 * system message. retry_ms > 0 is reported as retryAfterMs. */
void relay_conn_send_reject(relay_conn_t *c, const char *nonce, apr_status_t why,
                            apr_int64_t retry_ms, apr_time_t now);

/* Closes the connection with code at its next writeable (and at the latest a few seconds
 * later, for a client that no longer reads). */
void relay_conn_close(relay_conn_t *c, int code, const char *reason);

/* Tick: closes a connection that stayed behind for SLOW_CLIENT_TIMEOUT or accepted nothing for
 * SEND_TIMEOUT while data was pending. */
void relay_conn_check(relay_conn_t *c, apr_time_t now);

/* Asks lws for a writeable callback unless one is already pending. */
void relay_conn_want_write(relay_conn_t *c);

/* After each service pass: releases the paced connections whose quantum is over if lws's
 * timer for them is late (see service_once in relay_main.c). */
void relay_conn_pace_late(relay_server_t *srv, apr_time_t now);

/* When the first paced connection is due; 0 when none waits. */
apr_time_t relay_conn_pace_next(const relay_server_t *srv);

/* After each service pass: writes to the connections that had frames queued in it (see
 * relay_server_t.flush). Service thread, outside any lws callback. */
void relay_conn_flush(relay_server_t *srv);

/* At exit: frees srv->flush. */
void relay_conn_flush_fini(relay_server_t *srv);

#endif
