/* relay_conn.c: one WebSocket client: inbound frames, outbound queue, slow consumers.
 *
 * Inbound: a message arrives in one or more RECEIVE callbacks (lws splits frames at its rx
 * buffer and the client may fragment); pieces are gathered in a malloc'd CHAT_MSG_MAX_FRAME
 * buffer only when a message does not arrive whole. A complete message is decoded
 * (chat_msg_decode), de-duplicated by nonce, rate limited (chat_bucket) and handed to the room.
 *
 * Outbound: see relay_conn.h. A client that loses messages to a full ring is told how many at
 * its next write; one that stays behind for SLOW_CLIENT_TIMEOUT, or accepts nothing for
 * SEND_TIMEOUT while data is pending, is closed with 1013.
 *
 * Thread: lws service thread only; nothing here blocks. */
#include "relay_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "relay_room.h"
#include "relay_gate.h"

#define CLOSE_TRY_AGAIN_LATER 1013
#define CLOSE_GRACE_S 3          /* a closing client that does not read is cut after this */
/* An oversized message is read to its end before the 1009 goes out, so the socket is not
 * closed with the client's data unread: the kernel would answer that data with a reset, which
 * can destroy the close frame in a proxy's (Apache's) receive buffer before it is forwarded.
 * A client that keeps sending, or stops mid-message, is closed at these bounds instead. */
#define DISCARD_MAX (256 * 1024)
#define DISCARD_GRACE (APR_USEC_PER_SEC)

/* ------------------------------------------------------------------ write pacing */

/* Write pacing. Below RELAY_PACE_RATE deliveries a second (srv->cfg->relay_pace_rate, measured
 * over RELAY_PACE_WINDOW; 0: never) a connection asks lws for a writeable as soon as something
 * is queued for it: one send() per delivery when messages are far apart, the lowest latency.
 * Above it, and until the rate falls under four fifths of it, a connection written less than
 * RELAY_PACE_QUANTUM ago waits on srv->paced until its quantum is over, so its next send()
 * carries everything that reached it in the meantime. A loopback send() costs the relay
 * ~9 us (the receiver's TCP path and wake-up run in the sender's softirq), so unpaced a busy
 * relay fills its core with sends and messages wait in its queues anyway, for longer
 * (docs/PERFORMANCE.md, "Fourth round"). Each connection waits for its own due time, not for
 * a common flush, so the writes stay spread over the quantum instead of coming in bursts of
 * every connection at once (which measured worse). Not held back: a connection whose
 * messages arrive further apart than half a quantum on average (waiting would gather none:
 * S1 at 100 msg/s), one whose last write carried RELAY_PACE_BATCH messages (it coalesces
 * already: S1 at 1600 msg/s and up), a connection that is behind (a full RELAY_TX_MAX frame
 * written, more queued), a close and a replayed backlog. */
#ifndef RELAY_PACE_QUANTUM
#define RELAY_PACE_QUANTUM (15 * 1000)        /* usec */
#endif
#ifndef RELAY_PACE_BATCH
#define RELAY_PACE_BATCH 12                   /* messages in a write: coalescing already */
#endif
#define RELAY_PACE_WINDOW (200 * 1000)        /* usec */
#define RELAY_PACE_SLACK 500                  /* usec: a connection due this soon goes now */

void relay_conn_want_write(relay_conn_t *c)
{
    if (!c->want_write) {
        c->want_write = 1;
        lws_callback_on_writable(c->wsi);
    }
}

/* The paced connection due first, or NULL. */
static relay_conn_t *pace_first(const relay_server_t *srv)
{
    lws_dll2_t *d = srv->paced.head;

    return d != NULL ? lws_container_of(d, relay_conn_t, pace_list) : NULL;
}

static int is_paced(const relay_conn_t *c)
{
    return !lws_dll2_is_detached(&c->pace_list);
}

/* Asks for the writeables of the connections whose quantum is over. The list is in the order
 * the connections were paced; each waits at most a quantum from then, since the ones before it
 * were paced earlier and are due no later. The timer fires again at the first one left. */
static void on_pace_flush(lws_sorted_usec_list_t *sul)
{
    relay_server_t *srv = lws_container_of(sul, relay_server_t, pace_flush);
    apr_time_t now = apr_time_now();
    relay_conn_t *c;

    while ((c = pace_first(srv)) != NULL && c->pace_due <= now + RELAY_PACE_SLACK) {
        lws_dll2_remove(&c->pace_list);
        relay_conn_want_write(c);
    }
    if (c != NULL) {
        lws_sul_schedule(srv->context, 0, &srv->pace_flush, on_pace_flush, c->pace_due - now);
    }
}

void relay_conn_pace_late(relay_server_t *srv, apr_time_t now)
{
    relay_conn_t *c = pace_first(srv);

    if (c != NULL && c->pace_due <= now + RELAY_PACE_SLACK) {
        on_pace_flush(&srv->pace_flush);
    }
}

apr_time_t relay_conn_pace_next(const relay_server_t *srv)
{
    relay_conn_t *c = pace_first(srv);

    return c != NULL ? c->pace_due : 0;
}

/* Counts one delivery queued at now and updates srv->pacing at the end of each window. */
static void pace_count(relay_server_t *srv, apr_time_t now)
{
    apr_interval_time_t span = now - srv->pace_since;

    srv->pace_count++;
    if (span >= RELAY_PACE_WINDOW) {
        apr_uint64_t rate = (apr_uint64_t)srv->pace_count * APR_USEC_PER_SEC / (apr_uint64_t)span;
        apr_uint64_t on = (apr_uint64_t)srv->cfg->relay_pace_rate;

        srv->pacing = on > 0 && rate >= (srv->pacing ? on * 4 / 5 : on);
        srv->pace_since = now;
        srv->pace_count = 0;
    }
}

/* Puts c on the list written at the end of the service pass. 0, or -1 when the list cannot
 * grow (the caller asks lws for a writeable instead). */
static int flush_later(relay_server_t *srv, relay_conn_t *c)
{
    if (srv->n_flush == srv->flush_cap) {
        int cap = srv->flush_cap > 0 ? 2 * srv->flush_cap : 64;
        relay_conn_t **grown = realloc(srv->flush, (size_t)cap * sizeof(*grown));

        if (grown == NULL) {
            return -1;
        }
        srv->flush = grown;
        srv->flush_cap = cap;
    }
    srv->flush[srv->n_flush++] = c;
    c->flush_slot = srv->n_flush;
    return 0;
}

/* Asks for a write: at the end of this service pass while not pacing; while pacing, a
 * writeable now, or at the end of the connection's quantum: for a
 * connection written less than a quantum ago whose messages arrive on average closer together
 * than half a quantum (so the wait gathers more than one; S1 at 100 msg/s, 10 ms apart, is
 * never held) and whose writes do not coalesce already. */
static void request_write(relay_conn_t *c, apr_time_t now)
{
    relay_server_t *srv = c->srv;
    apr_interval_time_t gap = now - c->last_enqueue;

    /* mean time between the frames queued for it, over roughly the last eight */
    gap = gap < RELAY_PACE_QUANTUM ? gap : RELAY_PACE_QUANTUM;
    c->gap_avg += (gap - c->gap_avg) / 8;
    c->last_enqueue = now;
    if (c->want_write || is_paced(c) || c->flush_slot != 0) {
        return;
    }
    if (!srv->pacing && c->state == RELAY_CONN_LIVE && c->close_code == 0
        && flush_later(srv, c) == 0) {
        return;
    }
    if (!srv->pacing || c->gap_avg >= RELAY_PACE_QUANTUM / 2 || c->last_batch >= RELAY_PACE_BATCH
        || now - c->last_write >= RELAY_PACE_QUANTUM) {
        relay_conn_want_write(c);
        return;
    }
    c->pace_due = c->last_write + RELAY_PACE_QUANTUM;
    if (srv->paced.count == 0) {
        lws_sul_schedule(srv->context, 0, &srv->pace_flush, on_pace_flush, c->pace_due - now);
    }
    lws_dll2_add_tail(&c->pace_list, &srv->paced);
}

/* ------------------------------------------------------------------ outbound queue */

static void note_pending(relay_conn_t *c, apr_time_t now)
{
    if (c->pending_since == 0) {
        c->pending_since = now;
    }
}

static relay_frame_t **slot(relay_conn_t *c, int i)
{
    return &c->q[(c->q_head + i) % c->q_size];
}

/* Drops the oldest broadcast; replies queued before it move up one slot, keeping their order.
 * Only called with q_cap broadcasts queued, so one exists. */
static void drop_oldest(relay_conn_t *c, apr_time_t now)
{
    relay_frame_t *old;
    int i = 0;

    while ((*slot(c, i))->ctl) {
        i++;
    }
    old = *slot(c, i);
    for (; i > 0; i--) {
        *slot(c, i) = *slot(c, i - 1);
    }
    c->q_head = (c->q_head + 1) % c->q_size;
    c->q_len--;
    if (old->unsent > 0) {
        old->unsent--;
    }
    relay_frame_unref(old);
    c->missed++;
    if (c->behind_since == 0) {
        c->behind_since = now;
    }
    chat_shm_add(c->srv->shm, CHAT_CTR_SLOW_DROPPED, 1);
}

/* Makes room for one more entry: the ring doubles from RELAY_Q_MIN up to what q_cap broadcasts
 * and RELAY_CTL_MAX replies need. APR_ENOMEM when malloc fails. */
static apr_status_t grow_queue(relay_conn_t *c)
{
    int most = c->q_cap + RELAY_CTL_MAX;
    int size, i;
    relay_frame_t **q;

    if (c->q_len < c->q_size) {
        return APR_SUCCESS;
    }
    size = c->q_size == 0 ? RELAY_Q_MIN : 2 * c->q_size;
    size = size < most ? size : most;
    q = malloc((size_t)size * sizeof(*q));
    if (q == NULL) {
        return APR_ENOMEM;
    }
    for (i = 0; i < c->q_len; i++) {
        q[i] = *slot(c, i);
    }
    free(c->q);
    c->q = q;
    c->q_size = size;
    c->q_head = 0;
    return APR_SUCCESS;
}

void relay_conn_enqueue_own(relay_conn_t *c, relay_frame_t *f, apr_time_t now)
{
    if (!c->q_open || c->close_code != 0) {
        relay_frame_unref(f);
        return;
    }
    if (f->ctl && c->q_ctl >= RELAY_CTL_MAX) {
        relay_frame_unref(f);            /* it does not even read its own replies */
        chat_shm_add(c->srv->shm, CHAT_CTR_SLOW_DISCONNECTS, 1);
        relay_conn_close(c, CLOSE_TRY_AGAIN_LATER, "too slow");
        return;
    }
    if (!f->ctl && c->q_len - c->q_ctl >= c->q_cap) {
        drop_oldest(c, now);
    }
    if (grow_queue(c) != APR_SUCCESS) {
        relay_frame_unref(f);
        relay_conn_close(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out of memory");
        return;
    }
    *slot(c, c->q_len) = f;
    c->q_len++;
    c->q_ctl += f->ctl;
    note_pending(c, now);
    request_write(c, now);
}

void relay_conn_enqueue(relay_conn_t *c, relay_frame_t *f, apr_time_t now)
{
    pace_count(c->srv, now);
    relay_frame_ref(f);
    relay_conn_enqueue_own(c, f, now);
}

void relay_conn_set_backlog(relay_conn_t *c, relay_frame_t **frames, int n)
{
    c->backlog = frames;
    c->bl_len = n;
    c->bl_pos = 0;
    c->state = RELAY_CONN_LIVE;
    if (n > 0 || c->q_len > 0) {
        note_pending(c, apr_time_now());
        relay_conn_want_write(c);
    }
}

static void release_backlog(relay_conn_t *c)
{
    int i;

    for (i = c->bl_pos; i < c->bl_len; i++) {
        relay_frame_unref(c->backlog[i]);
    }
    free(c->backlog);
    c->backlog = NULL;
    c->bl_len = c->bl_pos = 0;
}

/* Frees the ring's slots; with nothing queued (the next enqueue allocates again). */
static void free_ring(relay_conn_t *c)
{
    free(c->q);
    c->q = NULL;
    c->q_size = c->q_head = 0;
}

static void release_queue(relay_conn_t *c)
{
    while (c->q_len > 0) {
        relay_frame_t *f = *slot(c, 0);

        c->q_head = (c->q_head + 1) % c->q_size;
        c->q_len--;
        if (f->unsent > 0) {
            f->unsent--;
        }
        relay_frame_unref(f);
    }
    free_ring(c);
    c->q_ctl = 0;
    c->q_open = 0;
}

/* ------------------------------------------------------------------ per-connection frames */

/* A system message to this client alone (no seq, not stored). */
static relay_frame_t *make_notice(relay_conn_t *c, const char *text, apr_time_t now)
{
    char id[CHAT_MSG_ID_LEN + 1];
    chat_msg_t m;

    memset(&m, 0, sizeof(m));
    chat_id_next_message(&c->srv->ids, now, id);
    m.message_id = id;
    m.room_id = c->id.room;
    m.type = CHAT_MSG_SYSTEM;
    m.user_id = "system";
    m.username = "System";
    m.content = text;
    m.timestamp = now;
    return relay_frame_encode(&m, c->srv->enc);
}

static apr_size_t escape(char *dst, apr_size_t cap, const char *s)
{
    apr_size_t n = chat_msg_json_escape(dst, cap - 1, s, strlen(s), NULL);

    dst[n] = '\0';
    return n;
}

void relay_conn_send_ack(relay_conn_t *c, const char *nonce, const relay_frame_t *msg,
                         apr_time_t now)
{
    char esc[6 * CHAT_MSG_MAX_NONCE * 4 + 1], buf[sizeof(esc) + 160];
    relay_frame_t *f;
    int n;

    escape(esc, sizeof(esc), nonce);
    n = snprintf(buf, sizeof(buf),
                 "{\"type\":\"ack\",\"nonce\":\"%s\",\"messageId\":\"%s\",\"seq\":%"
                 APR_INT64_T_FMT "}", esc, msg->message_id, msg->seq);
    f = relay_frame_create(buf, (apr_size_t)n);
    if (f != NULL) {
        f->ctl = 1;
        relay_conn_enqueue_own(c, f, now);
    }
}

void relay_conn_send_reject(relay_conn_t *c, const char *nonce, apr_status_t why,
                            apr_int64_t retry_ms, apr_time_t now)
{
    char esc[6 * CHAT_MSG_MAX_NONCE * 4 + 1], text[256], buf[sizeof(esc) + 512];
    char ebuf[128];
    const char *msg = chat_err_str(why, ebuf, sizeof(ebuf));
    relay_frame_t *f;
    int n;

    if (why == CHAT_ERATE_LIMITED) {
        /* libc's %g: apr_snprintf writes 0.5 as ".5" */
        snprintf(text, sizeof(text), "rate limited: at most %g messages per second",
                 c->srv->cfg->rate_per_sec);
        msg = text;
    }
    if (nonce == NULL) {
        f = make_notice(c, msg, now);
    }
    else {
        char emsg[sizeof(text) * 6];

        escape(esc, sizeof(esc), nonce);
        escape(emsg, sizeof(emsg), msg);
        n = snprintf(buf, sizeof(buf),
                     "{\"type\":\"error\",\"nonce\":\"%s\",\"code\":\"%s\",\"message\":\"%s\","
                     "\"retryAfterMs\":%" APR_INT64_T_FMT "}",
                     esc, chat_err_code(why), emsg, retry_ms);
        f = relay_frame_create(buf, (apr_size_t)(n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1));
    }
    if (f != NULL) {
        f->ctl = 1;
        relay_conn_enqueue_own(c, f, now);
    }
}

/* ------------------------------------------------------------------ lifecycle */

int relay_conn_on_filter(relay_server_t *srv, relay_conn_t *c, struct lws *wsi)
{
    if (srv->gate_wsi != wsi) {
        return -1;                       /* not approved by the gate */
    }
    memset(c, 0, sizeof(*c));
    c->wsi = wsi;
    c->srv = srv;
    c->id = srv->gate_ident;
    c->shm_slot = -1;
    srv->gate_wsi = NULL;
    return 0;
}

int relay_conn_on_established(relay_server_t *srv, relay_conn_t *c)
{
    const chat_config_t *cfg = srv->cfg;
    apr_time_t now = apr_time_now();

    if (c->srv != srv) {
        return -1;
    }
    c->q_cap = cfg->client_send_queue > 0 ? cfg->client_send_queue : 1;
    c->q_open = 1;
    c->gap_avg = RELAY_PACE_QUANTUM;     /* not paced until its messages come close together */
    chat_id_next_client(&srv->ids, c->client_id);
    chat_bucket_init(&c->bucket, cfg->rate_per_sec, cfg->rate_burst, now);
    if (relay_room_join(srv, c, now) != APR_SUCCESS) {
        release_queue(c);                /* lws may skip CLOSED for a refused ESTABLISHED */
        c->srv = NULL;
        return -1;
    }
    c->joined = 1;
    relay_gate_ip_acquire(srv, c->id.ip);
    c->all_next = srv->conns;
    if (srv->conns != NULL) {
        srv->conns->all_prev = c;
    }
    srv->conns = c;
    srv->n_conns++;
    chat_shm_conn_open(srv->shm, c->client_id, c->id.user_id, c->id.username, c->id.room, now,
                       &c->shm_slot);
    CHAT_LOG(srv->log, CHAT_LOG_DEBUG, "client connected", "conn", c->client_id,
             "room", c->id.room, "user", c->id.user_id);
    return 0;
}

void relay_conn_on_closed(relay_server_t *srv, relay_conn_t *c)
{
    apr_time_t now = apr_time_now();

    if (c->srv != srv) {
        return;                          /* refused before it was ours */
    }
    if (c->joined) {
        relay_room_leave(srv, c, now);
        relay_gate_ip_release(srv, c->id.ip);
        if (c->all_prev != NULL) {
            c->all_prev->all_next = c->all_next;
        }
        else {
            srv->conns = c->all_next;
        }
        if (c->all_next != NULL) {
            c->all_next->all_prev = c->all_prev;
        }
        srv->n_conns--;
        chat_shm_conn_close(srv->shm, c->shm_slot, c->client_id, c->id.user_id, c->id.room);
        c->joined = 0;
    }
    lws_dll2_remove(&c->pace_list);
    if (c->flush_slot != 0) {
        srv->flush[c->flush_slot - 1] = NULL;
        c->flush_slot = 0;
    }
    release_backlog(c);
    release_queue(c);
    free(c->rx);
    c->rx = NULL;
    c->srv = NULL;
}

void relay_conn_close(relay_conn_t *c, int code, const char *reason)
{
    if (c->close_code != 0) {
        return;
    }
    c->close_code = code;
    c->close_reason = reason;
    lws_dll2_remove(&c->pace_list);      /* the close goes out at once */
    c->want_write = 0;                   /* force a fresh request */
    relay_conn_want_write(c);
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, CLOSE_GRACE_S);
}

void relay_conn_check(relay_conn_t *c, apr_time_t now)
{
    const chat_config_t *cfg = c->srv->cfg;
    apr_interval_time_t slow = apr_time_from_sec(cfg->slow_client_timeout_s);
    apr_interval_time_t stall = apr_time_from_sec(cfg->send_timeout_s);

    if (c->q_len == 0 && c->q != NULL) {
        free_ring(c);                    /* quiet for a tick: an idle connection holds no ring */
    }
    if (c->discard_until != 0 && now >= c->discard_until) {
        relay_conn_close(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "frame exceeds 8192 bytes");
    }
    if (c->close_code != 0 || c->state != RELAY_CONN_LIVE) {
        return;                          /* a connection waiting for storage is not slow */
    }
    if ((c->behind_since != 0 && cfg->slow_client_timeout_s > 0 && now - c->behind_since >= slow)
        || (c->pending_since != 0 && cfg->send_timeout_s > 0 && now - c->pending_since >= stall)) {
        chat_shm_add(c->srv->shm, CHAT_CTR_SLOW_DISCONNECTS, 1);
        CHAT_LOG(c->srv->log, CHAT_LOG_INFO, "slow client disconnected", "conn", c->client_id,
                 "room", c->id.room);
        relay_conn_close(c, CLOSE_TRY_AGAIN_LATER, "too slow");
    }
}

/* ------------------------------------------------------------------ inbound */

static int close_now(relay_conn_t *c, enum lws_close_status code, const char *reason)
{
    lws_close_reason(c->wsi, code, (unsigned char *)reason, strlen(reason));
    return -1;
}

static void handle_message(relay_server_t *srv, relay_conn_t *c, const char *buf,
                           apr_size_t len, apr_time_t now)
{
    chat_msg_t *msg = NULL;
    const char *nonce = NULL;
    const relay_frame_t *prev;
    apr_uint64_t key = 0;
    apr_status_t rv;
    int held = 0;

    rv = chat_msg_decode(&msg, &nonce, buf, len, srv->scratch);
    if (rv != APR_SUCCESS) {
        chat_shm_add(srv->shm, CHAT_CTR_REJ_INVALID, 1);
        relay_conn_send_reject(c, nonce, rv, 0, now);
        goto done;
    }
    if (msg->nonce != NULL) {
        key = relay_frame_nonce_key(c->id.user_id, msg->nonce);
        prev = relay_room_find_nonce(c, key, now, &held);
        if (prev != NULL) {
            relay_conn_send_ack(c, msg->nonce, prev, now);     /* a resend: ack again only */
            goto done;
        }
        if (held) {
            goto done;                   /* the original is acked once it is sequenced */
        }
    }
    if (!chat_bucket_take(&c->bucket, now)) {
        apr_interval_time_t wait = chat_bucket_retry_after(&c->bucket, now);

        chat_shm_add(srv->shm, CHAT_CTR_REJ_RATE, 1);
        /* Without a nonce, one notice a second is enough: a flood must not flood back. */
        if (msg->nonce != NULL || now - c->rate_noticed >= APR_USEC_PER_SEC) {
            c->rate_noticed = msg->nonce != NULL ? c->rate_noticed : now;
            relay_conn_send_reject(c, msg->nonce, CHAT_ERATE_LIMITED, (wait + 999) / 1000, now);
        }
        goto done;
    }
    rv = relay_room_publish(srv, c, msg, key, now);
    if (rv != APR_SUCCESS) {
        relay_conn_send_reject(c, msg->nonce, rv, 1000, now);
    }
done:
    apr_pool_clear(srv->scratch);
}

int relay_conn_on_receive(relay_server_t *srv, relay_conn_t *c, const void *in, size_t len)
{
    apr_size_t remaining = lws_remaining_packet_payload(c->wsi);
    int final = lws_is_final_fragment(c->wsi) && remaining == 0;
    apr_time_t now;

    if (c->srv != srv || c->close_code != 0) {
        return 0;
    }
    if (c->discard_until != 0) {
        c->discarded += len;
        if (final || c->discarded > DISCARD_MAX) {
            relay_conn_close(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "frame exceeds 8192 bytes");
        }
        return 0;
    }
    if (lws_frame_is_binary(c->wsi)) {
        chat_shm_add(srv->shm, CHAT_CTR_REJ_INVALID, 1);
        return close_now(c, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "binary frames not accepted");
    }
    if (c->rx_len + len + remaining > CHAT_MSG_MAX_FRAME) {
        chat_shm_add(srv->shm, CHAT_CTR_REJ_TOO_LARGE, 1);
        free(c->rx);
        c->rx = NULL;
        c->rx_len = 0;
        /* Closed from a later writeable, not from here: lws 4.1 drops the close frame when a
         * RECEIVE callback closes while more of the client's data waits in its rx buffer (a
         * message in many small fragments), and the client would see a bare TCP close. And
         * not before the rest of the message is read (DISCARD_MAX). */
        if (final) {
            relay_conn_close(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "frame exceeds 8192 bytes");
        } else {
            c->discard_until = apr_time_now() + DISCARD_GRACE;
            c->discarded = len;
        }
        return 0;
    }
    now = apr_time_now();
    if (final && c->rx_len == 0) {
        handle_message(srv, c, in, len, now);   /* the common case: no copy */
        return 0;
    }
    if (c->rx == NULL) {
        c->rx = malloc(CHAT_MSG_MAX_FRAME);
        if (c->rx == NULL) {
            return -1;
        }
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (final) {
        handle_message(srv, c, c->rx, c->rx_len, now);
        free(c->rx);
        c->rx = NULL;
        c->rx_len = 0;
    }
    return 0;
}

/* ------------------------------------------------------------------ writeable */

static relay_frame_t *peek_next(relay_conn_t *c)
{
    if (c->bl_pos < c->bl_len) {
        return c->backlog[c->bl_pos];
    }
    if (c->backlog != NULL) {
        free(c->backlog);                /* backlog done */
        c->backlog = NULL;
        c->bl_len = c->bl_pos = 0;
    }
    return c->q_len > 0 ? *slot(c, 0) : NULL;
}

static void pop_next(relay_conn_t *c, apr_time_t now)
{
    relay_frame_t *f;

    if (c->bl_pos < c->bl_len) {
        f = c->backlog[c->bl_pos++];
    }
    else {
        f = *slot(c, 0);
        c->q_head = (c->q_head + 1) % c->q_size;
        c->q_len--;
        c->q_ctl -= f->ctl;
    }
    if (f->unsent > 0 && --f->unsent == 0 && f->received != 0) {
        chat_shm_latency(c->srv->shm, now - f->received);
    }
    relay_frame_unref(f);
}

/* Appends the "you missed N messages" notice, if one is due and fits. */
static apr_size_t put_missed_notice(relay_conn_t *c, char *out, apr_size_t len, apr_time_t now)
{
    char text[128];
    relay_frame_t *f;

    if (c->missed == 0 || c->bl_pos < c->bl_len) {
        return len;
    }
    apr_snprintf(text, sizeof(text),
                 "you missed %" APR_UINT64_T_FMT " messages because your connection fell behind",
                 c->missed);
    f = make_notice(c, text, now);
    if (f != NULL && len + f->len + 1 <= RELAY_TX_MAX) {
        if (len > 0) {
            out[len++] = '\n';
        }
        memcpy(out + len, relay_frame_data(f), f->len);
        len += f->len;
        c->missed = 0;
    }
    relay_frame_unref(f);
    return len;
}

/* After a write: either everything went out, or ask for the next writeable. */
static void after_write(relay_conn_t *c, apr_time_t now)
{
    if (c->q_len == 0 && c->bl_pos >= c->bl_len) {
        c->pending_since = 0;
        c->behind_since = 0;             /* caught up */
        if (c->missed > 0) {
            relay_conn_want_write(c);    /* the notice did not fit: next time */
        }
    }
    else {
        c->pending_since = now;          /* progress; more to send */
        relay_conn_want_write(c);
    }
}

/* The one pending frame goes out from its own buffer, which has LWS_PRE headroom: the header
 * lws writes there is the same for every recipient (same length, unmasked), so a shared frame
 * can be written by each in turn without the copy into srv->tx. */
static int write_alone(relay_conn_t *c, relay_frame_t *f, apr_time_t now)
{
    int n;

    relay_frame_ref(f);                  /* pop_next may drop the last queue reference */
    pop_next(c, now);
    n = lws_write(c->wsi, (unsigned char *)relay_frame_data(f), f->len, LWS_WRITE_TEXT);
    n = n < (int)f->len ? -1 : 0;
    relay_frame_unref(f);
    if (n == 0) {
        c->last_write = now;
        c->last_batch = 1;
        after_write(c, now);
    }
    return n;
}

int relay_conn_on_writeable(relay_server_t *srv, relay_conn_t *c)
{
    char *out = (char *)srv->tx + LWS_PRE;
    apr_size_t len = 0;
    int batch = 0;
    apr_time_t now = apr_time_now();
    relay_frame_t *f;

    c->want_write = 0;
    if (c->srv != srv) {
        return 0;
    }
    lws_dll2_remove(&c->pace_list);      /* writing now: what waited goes too */
    if (c->close_code != 0) {
        return close_now(c, (enum lws_close_status)c->close_code, c->close_reason);
    }
    if (c->state != RELAY_CONN_LIVE) {
        return 0;                        /* replay first: the backlog is not built yet */
    }
    f = peek_next(c);
    if (f != NULL && c->missed == 0 && (c->bl_len - c->bl_pos) + c->q_len == 1) {
        return write_alone(c, f, now);
    }
    while ((f = peek_next(c)) != NULL) {
        if (len > 0 && len + 1 + f->len > RELAY_TX_MAX) {
            break;
        }
        if (len > 0) {
            out[len++] = '\n';
        }
        memcpy(out + len, relay_frame_data(f), f->len);
        len += f->len;
        pop_next(c, now);
        batch++;
    }
    len = put_missed_notice(c, out, len, now);
    if (len == 0) {
        c->pending_since = 0;
        return 0;
    }
    if (lws_write(c->wsi, (unsigned char *)out, len, LWS_WRITE_TEXT) < (int)len) {
        return -1;
    }
    c->last_write = now;
    c->last_batch = batch;
    after_write(c, now);
    return 0;
}

/* Writes what the pass queued, as the writeable callback would. A connection that waits for a
 * writeable already (a close, a paced one, output lws could not send) is left to it, and so is
 * one whose socket is full. lws_send_pipe_choked is lws's test for writing outside the
 * WRITEABLE callback: it also tells lws this write is not a back-to-back one. */
void relay_conn_flush(relay_server_t *srv)
{
    for (int i = 0; i < srv->n_flush; i++) {
        relay_conn_t *c = srv->flush[i];

        if (c == NULL) {
            continue;                    /* closed during the pass */
        }
        c->flush_slot = 0;
        if (c->want_write || is_paced(c)) {
            continue;
        }
        if (c->close_code != 0 || lws_send_pipe_choked(c->wsi)) {
            relay_conn_want_write(c);
            continue;
        }
        if (relay_conn_on_writeable(srv, c) != 0) {
            /* lws could not send: outside a callback it is closed this way */
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        }
    }
    srv->n_flush = 0;
}

void relay_conn_flush_fini(relay_server_t *srv)
{
    free(srv->flush);
    srv->flush = NULL;
    srv->n_flush = srv->flush_cap = 0;
}
