/* relay_server.h: the relay's process-wide state, shared by the relay/ sources (nobody outside
 * relay/ includes it; it plays the part of a relay_private.h).
 *
 * One relay_server_t exists per process. main builds it before serving and tears it down after
 * the lws context is destroyed; in between only the lws service thread touches it (persistence
 * workers see the relay_persist_t alone). The lws context carries it as its user pointer, so
 * every callback finds it with relay_server_of(wsi).
 *
 * Thread: lws service thread only (main before and after serving). */
#ifndef RELAY_SERVER_H
#define RELAY_SERVER_H

#include <libwebsockets.h>
#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_time.h>
#include "chat_config.h"
#include "chat_id.h"
#include "chat_log.h"
#include "chat_msg.h"
#include "chat_shm.h"
#include "relay_persist.h"

/* One outbound text frame coalesces queued messages up to this many bytes. */
#define RELAY_TX_MAX (64 * 1024)
/* Nonce de-duplication window. */
#define RELAY_NONCE_WINDOW (300 * APR_USEC_PER_SEC)
/* Messages of a room held while its warm-up read is in flight. */
#define RELAY_HOLD_MAX 256
/* A warm-up read that has not answered after this long is given up (new epoch). */
#define RELAY_WARM_TIMEOUT (5 * APR_USEC_PER_SEC)
/* An empty room is dropped after this long (with storage, a later join warms it again;
 * without, it starts a new epoch). */
#define RELAY_ROOM_IDLE (300 * APR_USEC_PER_SEC)
/* Resume: the most messages fetched from storage for one reconnect. */
#define RELAY_RESUME_MAX 1000

typedef struct relay_conn_t relay_conn_t;
typedef struct relay_room_t relay_room_t;
typedef struct relay_read_t relay_read_t;
typedef struct relay_ip_t relay_ip_t;

/* The handshake identity the gate decided on (relay_gate.c), handed to the connection. */
typedef struct relay_ident_t {
    char room[CHAT_MSG_MAX_ROOM + 1];
    char user_id[CHAT_MSG_MAX_USERID + 1];
    char username[4 * CHAT_MSG_MAX_USERNAME + 1];
    char ip[64];
    int has_since;
    apr_int64_t since;
    int has_epoch;
    apr_int64_t epoch;
} relay_ident_t;

/* A trusted proxy network (TRUSTED_PROXIES), parsed once at start. */
typedef struct relay_net_t {
    int family;                 /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int prefix;                 /* bits */
} relay_net_t;

typedef struct relay_server_t {
    apr_pool_t *pool;                  /* process lifetime */
    const chat_config_t *cfg;
    chat_log_t *log;
    chat_shm_t *shm;                   /* NULL: no analytics (every chat_shm_ call accepts it) */
    relay_persist_t *persist;
    struct lws_context *context;
    apr_time_t started;
    apr_int64_t epoch_base;            /* the last ephemeral epoch handed out (ms) */
    chat_id_gen_t ids;

    apr_hash_t *rooms;                 /* room id -> relay_room_t * */
    relay_room_t *room_list;           /* every room, for the tick and eviction */
    int n_rooms;
    apr_hash_t *seq_memo;              /* room id -> next seq/epoch of dropped rooms */
    lws_dll2_owner_t memo_order;       /* the memo's entries, oldest dropped first */

    apr_hash_t *ips;                   /* client ip -> relay_ip_t * */
    relay_net_t *proxies;
    int n_proxies;

    relay_conn_t *conns;               /* every established connection */
    int n_conns;

    relay_read_t *reads;               /* storage reads in flight */

    /* The gate's verdict travels from HTTP_CONFIRM_UPGRADE to FILTER_PROTOCOL_CONNECTION of
     * the same wsi; lws runs both in one call, so one slot suffices. */
    struct lws *gate_wsi;
    relay_ident_t gate_ident;

    apr_pool_t *scratch;               /* per inbound message; cleared after each */
    char *enc;                         /* CHAT_MSG_MAX_ENCODED + 1 bytes, encode buffer */
    unsigned char *tx;                 /* LWS_PRE + RELAY_TX_MAX + 1 bytes, write buffer */
    lws_sorted_usec_list_t tick;
    apr_time_t tick_due;               /* the tick's next run; 0 before the first */

    /* Write pacing (relay_conn.c): while the relay queues deliveries fast, a connection written
     * less than a quantum ago waits here for the flush timer instead of asking lws for a
     * writeable at once, so one send() carries what reached it in the meantime. */
    lws_dll2_owner_t paced;            /* relay_conn_t.pace_list, oldest first    */
    lws_sorted_usec_list_t pace_flush;
    int pacing;                        /* the delivery rate is above the pacing threshold */
    apr_time_t pace_since;             /* start of the window the rate is measured over */
    apr_uint32_t pace_count;           /* deliveries queued in that window */
    /* End-of-pass writes (relay_conn.c): while not pacing, a connection that has frames queued
     * goes here instead of asking lws for a writeable, and is written once the service pass is
     * over, with everything the pass queued for it. Waiting for the writeable costs a second
     * pass, which with lws's poll() is a scan of every descriptor. NULL slots: closed since. */
    relay_conn_t **flush;
    int n_flush, flush_cap;
    int stopping;                      /* SIGTERM seen: refuse handshakes, close clients */
} relay_server_t;

static inline relay_server_t *relay_server_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

#endif
