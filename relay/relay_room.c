/* relay_room.c: rooms, rings, sequence numbers, replay, resume and fan-out (see relay_room.h).
 *
 * Ordering needs no locks: the ring, the members and the fan-out all live on the service
 * thread, so a joiner's backlog (hello, replay) is built from the ring in the same callback
 * that makes it live, and every later broadcast reaches its queue after that backlog. A
 * connection waiting for a storage read (warm-up, resume) is skipped by the fan-out; when the
 * answer comes its backlog is completed from the ring, which holds whatever was broadcast
 * meanwhile. So replay and live meet without gap or duplicate.
 *
 * Thread: lws service thread only; nothing here blocks (storage reads go to persistence
 * workers and come back through relay_room_on_read). */
#include "relay_room.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "chat_store.h"
#include "relay_conn.h"

struct relay_read_t {
    apr_uint64_t ticket;
    relay_room_t *room;          /* warm-up, or NULL (resume, or a warm-up given up) */
    relay_conn_t *conn;          /* resume, or NULL once that connection closed */
    apr_int64_t after;
    relay_read_t *next;
};

typedef struct relay_held_t {
    struct relay_held_t *next;
    relay_conn_t *conn;          /* to ack; NULL once it closed */
    apr_uint64_t nonce_key;
    apr_time_t received;
    int has_nonce;
    char nonce[4 * CHAT_MSG_MAX_NONCE + 1];
    char user_id[CHAT_MSG_MAX_USERID + 1];
    char username[4 * CHAT_MSG_MAX_USERNAME + 1];
    char content[];
} relay_held_t;

struct relay_room_t {
    char id[CHAT_MSG_MAX_ROOM + 1];
    relay_room_t *prev, *next;               /* srv->room_list */
    relay_conn_t *members;
    int n_members;
    relay_frame_t **ring;                    /* recent broadcasts, ascending seq */
    int ring_cap, ring_head, ring_len;
    apr_int64_t next_seq;
    apr_int64_t epoch;                       /* 0: durable sequence; else ms */
    int ready;                               /* next_seq is known */
    apr_time_t created;
    relay_read_t *warm;                      /* warm-up read in flight */
    relay_held_t *held, *held_tail;          /* messages waiting for the warm-up */
    int n_held;
    apr_time_t idle_since;                   /* last member left */
};

/* ------------------------------------------------------------------ ring */

static relay_frame_t *ring_at(const relay_room_t *room, int i)
{
    return room->ring[(room->ring_head + i) % room->ring_cap];
}

/* Takes over the caller's reference. */
static void ring_push(relay_room_t *room, relay_frame_t *f)
{
    if (room->ring_len == room->ring_cap) {
        relay_frame_unref(room->ring[room->ring_head]);
        room->ring_head = (room->ring_head + 1) % room->ring_cap;
        room->ring_len--;
    }
    room->ring[(room->ring_head + room->ring_len) % room->ring_cap] = f;
    room->ring_len++;
}

/* Index of the first frame with seq > after (ring_len when none). */
static int ring_first_after(const relay_room_t *room, apr_int64_t after)
{
    int lo = 0, hi = room->ring_len;

    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;

        if (ring_at(room, mid)->seq <= after) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    return lo;
}

/* 1 when the ring holds every message after seq `after`. */
static int ring_covers(const relay_room_t *room, apr_int64_t after)
{
    if (after >= room->next_seq - 1) {
        return 1;
    }
    return room->ring_len > 0 && ring_at(room, 0)->seq <= after + 1;
}

/* ------------------------------------------------------------------ backlog building */

typedef struct backlog_t {
    relay_frame_t **v;
    int n, cap;
} backlog_t;

static int backlog_init(backlog_t *b, int cap)
{
    b->n = 0;
    b->cap = cap;
    b->v = malloc(sizeof(*b->v) * (size_t)(cap > 0 ? cap : 1));
    return b->v != NULL;
}

/* Takes over f's reference. */
static void backlog_add(backlog_t *b, relay_frame_t *f)
{
    if (f == NULL) {
        return;
    }
    if (b->n < b->cap) {
        b->v[b->n++] = f;
    }
    else {
        relay_frame_unref(f);
    }
}

static void backlog_add_ring(backlog_t *b, const relay_room_t *room, int from)
{
    int i;

    for (i = from; i < room->ring_len; i++) {
        relay_frame_t *f = ring_at(room, i);

        relay_frame_ref(f);
        backlog_add(b, f);
    }
}

static apr_size_t esc(char *dst, apr_size_t cap, const char *s)
{
    apr_size_t n = chat_msg_json_escape(dst, cap - 1, s, strlen(s), NULL);

    dst[n] = '\0';
    return n;
}

static relay_frame_t *make_hello(const relay_room_t *room, const relay_conn_t *c)
{
    char uid[6 * CHAT_MSG_MAX_USERID + 1], name[6 * 4 * CHAT_MSG_MAX_USERNAME + 1];
    char buf[sizeof(uid) + sizeof(name) + 256];
    int n;

    esc(uid, sizeof(uid), c->id.user_id);
    esc(name, sizeof(name), c->id.username);
    n = snprintf(buf, sizeof(buf),
                 "{\"type\":\"hello\",\"roomId\":\"%s\",\"clientId\":\"%s\",\"userId\":\"%s\","
                 "\"username\":\"%s\",\"epoch\":%" APR_INT64_T_FMT ",\"seq\":%" APR_INT64_T_FMT
                 "}", room->id, c->client_id, uid, name, room->epoch, room->next_seq - 1);
    return relay_frame_create(buf, (apr_size_t)n);
}

static relay_frame_t *make_resumed(const relay_room_t *room, int recovered)
{
    char buf[160];
    int n = snprintf(buf, sizeof(buf),
                     "{\"type\":\"resumed\",\"recovered\":%s,\"epoch\":%" APR_INT64_T_FMT
                     ",\"seq\":%" APR_INT64_T_FMT "}",
                     recovered ? "true" : "false", room->epoch, room->next_seq - 1);

    return relay_frame_create(buf, (apr_size_t)n);
}

/* hello, the newest HISTORY_REPLAY messages, and a resumed frame when resumed >= 0. */
static void deliver_history(relay_server_t *srv, relay_room_t *room, relay_conn_t *c,
                            int resumed)
{
    int want = srv->cfg->history_replay, from;
    backlog_t b;

    if (want < 0) {
        want = 0;
    }
    from = room->ring_len > want ? room->ring_len - want : 0;
    if (!backlog_init(&b, 2 + room->ring_len - from)) {
        relay_conn_close(c, 1011, "out of memory");
        return;
    }
    backlog_add(&b, make_hello(room, c));
    backlog_add_ring(&b, room, from);
    if (resumed >= 0) {
        backlog_add(&b, make_resumed(room, resumed));
    }
    relay_conn_set_backlog(c, b.v, b.n);
}

/* hello, stored frames (taken over), the ring after `after`, resumed. */
static void deliver_resume(relay_server_t *srv, relay_room_t *room, relay_conn_t *c,
                           relay_frame_t **stored, int n_stored, apr_int64_t after,
                           int recovered)
{
    int from = ring_first_after(room, after), i;
    backlog_t b;

    (void)srv;
    if (!backlog_init(&b, 2 + n_stored + room->ring_len - from)) {
        for (i = 0; i < n_stored; i++) {
            relay_frame_unref(stored[i]);
        }
        relay_conn_close(c, 1011, "out of memory");
        return;
    }
    backlog_add(&b, make_hello(room, c));
    for (i = 0; i < n_stored; i++) {
        backlog_add(&b, stored[i]);
    }
    backlog_add_ring(&b, room, from);
    backlog_add(&b, make_resumed(room, recovered));
    relay_conn_set_backlog(c, b.v, b.n);
}

/* ------------------------------------------------------------------ reads */

static relay_read_t *read_start(relay_server_t *srv, relay_read_kind_e kind, const char *room,
                                apr_int64_t after, int limit)
{
    relay_read_t *rd;
    apr_uint64_t ticket = 0;

    if (srv->cfg->storage == CHAT_STORAGE_NONE || srv->persist == NULL) {
        return NULL;
    }
    if (relay_persist_read(srv->persist, kind, room, after, limit, &ticket) != APR_SUCCESS) {
        return NULL;
    }
    rd = calloc(1, sizeof(*rd));
    if (rd == NULL) {
        return NULL;                     /* the answer will find no taker */
    }
    rd->ticket = ticket;
    rd->after = after;
    rd->next = srv->reads;
    srv->reads = rd;
    return rd;
}

static relay_read_t *read_take(relay_server_t *srv, apr_uint64_t ticket)
{
    relay_read_t **pp;

    for (pp = &srv->reads; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->ticket == ticket) {
            relay_read_t *rd = *pp;

            *pp = rd->next;
            return rd;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ joining */

static void start_conn(relay_server_t *srv, relay_room_t *room, relay_conn_t *c)
{
    apr_int64_t last = room->next_seq - 1, since = c->id.since;
    relay_read_t *rd;

    if (!c->id.has_since) {
        deliver_history(srv, room, c, -1);
        return;
    }
    if ((c->id.has_epoch && c->id.epoch != room->epoch) || since > last) {
        deliver_history(srv, room, c, 0);        /* another sequence: nothing to resume */
        return;
    }
    if (ring_covers(room, since)) {
        deliver_resume(srv, room, c, NULL, 0, since, 1);
        return;
    }
    if (last - since <= RELAY_RESUME_MAX) {
        rd = read_start(srv, RELAY_READ_AFTER, room->id, since, (int)(last - since));
        if (rd != NULL) {
            rd->conn = c;
            c->read = rd;
            c->state = RELAY_CONN_WAIT_STORE;
            return;
        }
    }
    deliver_history(srv, room, c, 0);
}

static void on_resume_read(relay_server_t *srv, relay_conn_t *c, const relay_read_result_t *r)
{
    relay_room_t *room = c->room;
    apr_int64_t expected = c->id.since + 1;
    relay_frame_t **stored = NULL;
    int n = 0, i, recovered = 1;

    c->read = NULL;
    if (r->status != APR_SUCCESS || r->msgs == NULL) {
        deliver_history(srv, room, c, 0);
        return;
    }
    stored = malloc(sizeof(*stored) * (size_t)(r->msgs->nelts + 1));
    if (stored == NULL) {
        deliver_history(srv, room, c, 0);
        return;
    }
    for (i = 0; i < r->msgs->nelts; i++) {
        const chat_msg_t *m = APR_ARRAY_IDX(r->msgs, i, const chat_msg_t *);
        relay_frame_t *f;

        if (m->seq < expected) {
            continue;
        }
        if (m->seq > expected) {
            recovered = 0;                       /* a hole in storage */
            break;
        }
        f = relay_frame_encode(m, srv->enc);
        if (f == NULL) {
            recovered = 0;
            break;
        }
        stored[n++] = f;
        expected++;
    }
    if (!ring_covers(room, expected - 1)) {
        recovered = 0;
    }
    deliver_resume(srv, room, c, stored, n, expected - 1, recovered);
    free(stored);
}

/* ------------------------------------------------------------------ presence and fan-out */

static void fan_out(relay_server_t *srv, relay_room_t *room, relay_frame_t *f, apr_time_t now)
{
    relay_conn_t *m;
    uint64_t n = 0;

    for (m = room->members; m != NULL; m = m->room_next) {
        if (m->state == RELAY_CONN_LIVE) {
            f->unsent++;
            relay_conn_enqueue(m, f, now);
            n++;
        }
    }
    chat_shm_add(srv->shm, CHAT_CTR_DELIVERIES, n);
}

static int has_other_conn(const relay_room_t *room, const relay_conn_t *c)
{
    const relay_conn_t *m;

    for (m = room->members; m != NULL; m = m->room_next) {
        if (m != c && strcmp(m->id.user_id, c->id.user_id) == 0) {
            return 1;
        }
    }
    return 0;
}

static void announce(relay_server_t *srv, relay_room_t *room, const relay_conn_t *c,
                     chat_msg_type_e type, apr_time_t now)
{
    char id[CHAT_MSG_ID_LEN + 1], text[4 * CHAT_MSG_MAX_USERNAME + 16];
    chat_msg_t m;
    relay_frame_t *f;

    if (room->n_members >= srv->cfg->presence_max_room || has_other_conn(room, c)) {
        return;
    }
    memset(&m, 0, sizeof(m));
    chat_id_next_message(&srv->ids, now, id);
    apr_snprintf(text, sizeof(text), "%s %s", c->id.username,
                 type == CHAT_MSG_JOIN ? "joined" : "left");
    m.message_id = id;
    m.room_id = room->id;
    m.type = type;
    m.user_id = c->id.user_id;
    m.username = c->id.username;
    m.content = text;
    m.timestamp = now;
    f = relay_frame_encode(&m, srv->enc);
    if (f != NULL) {
        fan_out(srv, room, f, now);
        relay_frame_unref(f);
    }
}

/* ------------------------------------------------------------------ sequencing */

static apr_status_t sequence(relay_server_t *srv, relay_room_t *room, relay_conn_t *c,
                             const char *user_id, const char *username, const char *content,
                             const char *nonce, apr_uint64_t key, apr_time_t received)
{
    char id[CHAT_MSG_ID_LEN + 1];
    apr_time_t now = apr_time_now();
    relay_frame_t *f;
    apr_status_t rv;
    chat_msg_t m;

    memset(&m, 0, sizeof(m));
    chat_id_next_message(&srv->ids, now, id);
    m.message_id = id;
    m.room_id = room->id;
    m.type = CHAT_MSG_CHAT;
    m.user_id = user_id;
    m.username = username;
    m.content = content;
    m.timestamp = now;
    m.seq = room->next_seq;
    f = relay_frame_encode(&m, srv->enc);
    if (f == NULL) {
        return APR_ENOMEM;
    }
    room->next_seq++;
    rv = relay_persist_push(srv->persist, &m);    /* journaled before anyone sees it */
    if (rv != APR_SUCCESS) {
        char ebuf[128];

        CHAT_LOG(srv->log, CHAT_LOG_ERROR, "journal write failed", "room", room->id,
                 "err", chat_err_str(rv, ebuf, sizeof(ebuf)));
    }
    f->received = received;
    f->nonce_key = key;
    ring_push(room, f);
    fan_out(srv, room, f, now);
    chat_shm_message(srv->shm, room->id, now);
    if (nonce != NULL && c != NULL) {
        relay_conn_send_ack(c, nonce, f, now);
    }
    return APR_SUCCESS;
}

static apr_status_t hold(relay_room_t *room, relay_conn_t *c, const chat_msg_t *msg,
                         apr_uint64_t key, apr_time_t received)
{
    size_t len = strlen(msg->content);
    relay_held_t *h;

    if (room->n_held >= RELAY_HOLD_MAX) {
        return CHAT_EFULL;
    }
    h = calloc(1, sizeof(*h) + len + 1);
    if (h == NULL) {
        return APR_ENOMEM;
    }
    h->conn = c;
    h->nonce_key = key;
    h->received = received;
    if (msg->nonce != NULL) {
        h->has_nonce = 1;
        apr_cpystrn(h->nonce, msg->nonce, sizeof(h->nonce));
    }
    apr_cpystrn(h->user_id, c->id.user_id, sizeof(h->user_id));
    apr_cpystrn(h->username, c->id.username, sizeof(h->username));
    memcpy(h->content, msg->content, len + 1);
    if (room->held_tail != NULL) {
        room->held_tail->next = h;
    }
    else {
        room->held = h;
    }
    room->held_tail = h;
    room->n_held++;
    return APR_SUCCESS;
}

apr_status_t relay_room_publish(relay_server_t *srv, relay_conn_t *c, const chat_msg_t *msg,
                                apr_uint64_t nonce_key, apr_time_t received)
{
    relay_room_t *room = c->room;

    if (!room->ready) {
        return hold(room, c, msg, nonce_key, received);
    }
    return sequence(srv, room, c, c->id.user_id, c->id.username, msg->content, msg->nonce,
                    nonce_key, received);
}

const relay_frame_t *relay_room_find_nonce(relay_conn_t *c, apr_uint64_t key, apr_time_t now,
                                           int *held)
{
    const relay_room_t *room = c->room;
    const relay_held_t *h;
    int i;

    *held = 0;
    for (h = room->held; h != NULL; h = h->next) {
        if (h->nonce_key == key) {
            *held = 1;
            return NULL;
        }
    }
    for (i = room->ring_len - 1; i >= 0; i--) {
        const relay_frame_t *f = ring_at(room, i);

        if (f->received == 0 || now - f->received > RELAY_NONCE_WINDOW) {
            break;                               /* older ones are older still */
        }
        if (f->nonce_key == key) {
            return f;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ sequence memo */

/* The sequence of a dropped room, so a later warm-up never hands out a seq twice even when
 * storage lags behind or cannot answer. Bounded at 4 x MAX_ROOMS entries: past that the room
 * dropped longest ago is forgotten, one at a time, since storage has most likely caught up
 * with it; the rooms dropped last, whose messages may still be on their way to the store,
 * are kept. */
typedef struct relay_memo_t {
    char id[CHAT_MSG_MAX_ROOM + 1];
    apr_int64_t next_seq;
    apr_int64_t epoch;
    lws_dll2_t order;                  /* on srv->memo_order, oldest dropped first */
} relay_memo_t;

/* Takes e out of the table and the list; the caller frees it. */
static void memo_unlink(relay_server_t *srv, relay_memo_t *e)
{
    apr_hash_set(srv->seq_memo, e->id, APR_HASH_KEY_STRING, NULL);
    lws_dll2_remove(&e->order);
}

static relay_memo_t *memo_oldest(relay_server_t *srv)
{
    lws_dll2_t *d = lws_dll2_get_head(&srv->memo_order);

    return d != NULL ? lws_container_of(d, relay_memo_t, order) : NULL;
}

static void memo_clear(relay_server_t *srv)
{
    relay_memo_t *e;

    while ((e = memo_oldest(srv)) != NULL) {
        memo_unlink(srv, e);
        free(e);
    }
}

static void memo_put(relay_server_t *srv, const relay_room_t *room)
{
    relay_memo_t *e;

    if (srv->seq_memo == NULL) {
        srv->seq_memo = apr_hash_make(srv->pool);
    }
    e = apr_hash_get(srv->seq_memo, room->id, APR_HASH_KEY_STRING);
    if (e != NULL) {
        memo_unlink(srv, e);                     /* dropped again: now the newest */
    }
    else {
        while ((int)srv->memo_order.count >= 4 * srv->cfg->max_rooms) {
            relay_memo_t *old = memo_oldest(srv);

            memo_unlink(srv, old);
            free(old);
        }
        e = calloc(1, sizeof(*e));
        if (e == NULL) {
            return;
        }
        apr_cpystrn(e->id, room->id, sizeof(e->id));
    }
    e->next_seq = room->next_seq;
    e->epoch = room->epoch;
    apr_hash_set(srv->seq_memo, e->id, APR_HASH_KEY_STRING, e);
    lws_dll2_add_tail(&e->order, &srv->memo_order);
}

/* Removes and returns the memo of room id (the caller frees it), or NULL. */
static relay_memo_t *memo_take(relay_server_t *srv, const char *id)
{
    relay_memo_t *e;

    if (srv->seq_memo == NULL) {
        return NULL;
    }
    e = apr_hash_get(srv->seq_memo, id, APR_HASH_KEY_STRING);
    if (e != NULL) {
        memo_unlink(srv, e);
    }
    return e;
}

/* ------------------------------------------------------------------ warm-up */

static apr_int64_t new_epoch(relay_server_t *srv, apr_time_t now)
{
    apr_int64_t ms = apr_time_as_msec(now);

    srv->epoch_base = ms > srv->epoch_base ? ms : srv->epoch_base + 1;
    return srv->epoch_base;
}

/* Ends the warm-up: with r (a successful RECENT answer) the sequence continues from storage;
 * without, a new epoch starts at seq 1. Then waiting joiners get their replay and held
 * messages are sequenced in arrival order. */
static void warm_finish(relay_server_t *srv, relay_room_t *room, const relay_read_result_t *r,
                        apr_time_t now)
{
    relay_memo_t *memo = memo_take(srv, room->id);
    relay_conn_t *m;
    relay_held_t *h;
    int i;

    if (room->warm != NULL) {
        room->warm->room = NULL;
        room->warm = NULL;
    }
    if (r != NULL && r->status == APR_SUCCESS) {
        apr_int64_t max = r->max_seq;

        for (i = 0; r->msgs != NULL && i < r->msgs->nelts; i++) {
            const chat_msg_t *msg = APR_ARRAY_IDX(r->msgs, i, const chat_msg_t *);
            relay_frame_t *f = relay_frame_encode(msg, srv->enc);

            if (f != NULL) {
                ring_push(room, f);
            }
            if (msg->seq > max) {
                max = msg->seq;
            }
        }
        room->epoch = 0;
        room->next_seq = max + 1;
        if (memo != NULL && memo->epoch == 0 && memo->next_seq > room->next_seq) {
            room->next_seq = memo->next_seq;     /* storage has not caught up yet */
        }
    }
    else if (memo != NULL) {
        room->epoch = memo->epoch;               /* this process knows where it was */
        room->next_seq = memo->next_seq;
    }
    else {
        room->epoch = new_epoch(srv, now);
        room->next_seq = 1;
        CHAT_LOG(srv->log, srv->cfg->storage == CHAT_STORAGE_NONE ? CHAT_LOG_DEBUG : CHAT_LOG_WARN,
                 "room sequence not recovered: new epoch", "room", room->id);
    }
    free(memo);
    room->ready = 1;
    for (m = room->members; m != NULL; m = m->room_next) {
        if (m->state == RELAY_CONN_WAIT_ROOM) {
            start_conn(srv, room, m);
        }
    }
    while ((h = room->held) != NULL) {
        room->held = h->next;
        sequence(srv, room, h->conn, h->user_id, h->username, h->content,
                 h->has_nonce ? h->nonce : NULL, h->nonce_key, h->received);
        free(h);
    }
    room->held_tail = NULL;
    room->n_held = 0;
}

static void warm_start(relay_server_t *srv, relay_room_t *room, apr_time_t now)
{
    int limit = room->ring_cap < CHAT_STORE_MAX_LIMIT ? room->ring_cap : CHAT_STORE_MAX_LIMIT;
    relay_read_t *rd = read_start(srv, RELAY_READ_RECENT, room->id, 0, limit);

    if (rd == NULL) {
        warm_finish(srv, room, NULL, now);       /* storage cannot say: new epoch */
        return;
    }
    rd->room = room;
    room->warm = rd;
}

void relay_room_on_read(void *arg, const relay_read_result_t *r)
{
    relay_server_t *srv = arg;
    relay_read_t *rd = read_take(srv, r->ticket);

    if (rd == NULL) {
        return;
    }
    if (rd->room != NULL) {
        warm_finish(srv, rd->room, r, apr_time_now());
    }
    else if (rd->conn != NULL) {
        on_resume_read(srv, rd->conn, r);
    }
    free(rd);
}

static void room_destroy(relay_server_t *srv, relay_room_t *room, int remember);

void relay_room_tick(relay_server_t *srv, apr_time_t now)
{
    relay_room_t *room, *next;

    for (room = srv->room_list; room != NULL; room = next) {
        next = room->next;
        if (!room->ready && now - room->created > RELAY_WARM_TIMEOUT) {
            warm_finish(srv, room, NULL, now);   /* a late answer finds no room */
        }
        else if (room->ready && room->n_members == 0
                 && now - room->idle_since > RELAY_ROOM_IDLE) {
            room_destroy(srv, room, 1);          /* its ring comes back from storage */
        }
    }
}

/* ------------------------------------------------------------------ room lifetime */

static void room_destroy(relay_server_t *srv, relay_room_t *room, int remember)
{
    relay_held_t *h;

    if (remember && room->ready) {
        memo_put(srv, room);
    }
    while (room->ring_len > 0) {
        relay_frame_unref(room->ring[room->ring_head]);
        room->ring_head = (room->ring_head + 1) % room->ring_cap;
        room->ring_len--;
    }
    while ((h = room->held) != NULL) {
        room->held = h->next;
        free(h);
    }
    if (room->warm != NULL) {
        room->warm->room = NULL;
    }
    apr_hash_set(srv->rooms, room->id, APR_HASH_KEY_STRING, NULL);
    if (room->prev != NULL) {
        room->prev->next = room->next;
    }
    else {
        srv->room_list = room->next;
    }
    if (room->next != NULL) {
        room->next->prev = room->prev;
    }
    srv->n_rooms--;
    free(room->ring);
    free(room);
}

/* The empty, warmed room idle the longest, or NULL. */
static relay_room_t *find_evictable(relay_server_t *srv)
{
    relay_room_t *room, *best = NULL;

    for (room = srv->room_list; room != NULL; room = room->next) {
        if (room->n_members == 0 && room->ready
            && (best == NULL || room->idle_since < best->idle_since)) {
            best = room;
        }
    }
    return best;
}

int relay_room_can_admit(relay_server_t *srv, const char *id)
{
    return apr_hash_get(srv->rooms, id, APR_HASH_KEY_STRING) != NULL
           || srv->n_rooms < srv->cfg->max_rooms || find_evictable(srv) != NULL;
}

static relay_room_t *room_get(relay_server_t *srv, const char *id, apr_time_t now)
{
    relay_room_t *room = apr_hash_get(srv->rooms, id, APR_HASH_KEY_STRING), *old;

    if (room != NULL) {
        return room;
    }
    if (srv->n_rooms >= srv->cfg->max_rooms) {
        old = find_evictable(srv);
        if (old == NULL) {
            return NULL;
        }
        room_destroy(srv, old, 1);
    }
    room = calloc(1, sizeof(*room));
    if (room == NULL) {
        return NULL;
    }
    room->ring_cap = srv->cfg->room_ring_size > 0 ? srv->cfg->room_ring_size : 1;
    room->ring = calloc((size_t)room->ring_cap, sizeof(*room->ring));
    if (room->ring == NULL) {
        free(room);
        return NULL;
    }
    apr_cpystrn(room->id, id, sizeof(room->id));
    room->created = now;
    room->idle_since = now;
    room->next = srv->room_list;
    if (srv->room_list != NULL) {
        srv->room_list->prev = room;
    }
    srv->room_list = room;
    srv->n_rooms++;
    apr_hash_set(srv->rooms, room->id, APR_HASH_KEY_STRING, room);
    warm_start(srv, room, now);
    return room;
}

apr_status_t relay_room_join(relay_server_t *srv, relay_conn_t *c, apr_time_t now)
{
    relay_room_t *room = room_get(srv, c->id.room, now);

    if (room == NULL) {
        return CHAT_EFULL;
    }
    c->room = room;
    c->room_prev = NULL;
    c->room_next = room->members;
    if (room->members != NULL) {
        room->members->room_prev = c;
    }
    room->members = c;
    room->n_members++;
    if (room->ready) {
        start_conn(srv, room, c);
    }
    else {
        c->state = RELAY_CONN_WAIT_ROOM;
    }
    announce(srv, room, c, CHAT_MSG_JOIN, now);
    return APR_SUCCESS;
}

void relay_room_leave(relay_server_t *srv, relay_conn_t *c, apr_time_t now)
{
    relay_room_t *room = c->room;
    relay_held_t *h;

    if (room == NULL) {
        return;
    }
    if (c->room_prev != NULL) {
        c->room_prev->room_next = c->room_next;
    }
    else {
        room->members = c->room_next;
    }
    if (c->room_next != NULL) {
        c->room_next->room_prev = c->room_prev;
    }
    room->n_members--;
    if (c->read != NULL) {
        c->read->conn = NULL;                    /* its answer finds no taker */
        c->read = NULL;
    }
    for (h = room->held; h != NULL; h = h->next) {
        if (h->conn == c) {
            h->conn = NULL;
        }
    }
    if (!srv->stopping) {
        announce(srv, room, c, CHAT_MSG_LEAVE, now);
    }
    if (room->n_members == 0) {
        room->idle_since = now;
    }
    c->room = NULL;
}

void relay_room_destroy_all(relay_server_t *srv)
{
    relay_read_t *rd;

    while (srv->room_list != NULL) {
        room_destroy(srv, srv->room_list, 0);
    }
    memo_clear(srv);
    while ((rd = srv->reads) != NULL) {
        srv->reads = rd->next;
        free(rd);
    }
}
