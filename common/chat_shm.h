/* chat_shm.h: live analytics in a named APR shared-memory segment.
 *
 * The relay creates the segment (chat_shm_create) and is its only writer; chat-restapi and
 * tools attach read-only (chat_shm_reader_*). The layout is fixed-size with no pointers:
 *
 *   +--------------------------------------------------------------+ offset 0
 *   | header: magic, layout version, total size, relay pid,        |
 *   |   relay start time, generation (new every relay start),      |
 *   |   heartbeat (refreshed every second), table capacities       |
 *   +--------------------------------------------------------------+
 *   | counters[CHAT_CTR__COUNT]      _Atomic uint64_t              |
 *   | minute window: 15 slots of (minute, count), rotating         |
 *   | latency histograms: all-time + last-minute, atomic buckets   |
 *   | user rows[max_users]           one per connection, seqlock   |
 *   | room rows[max_rooms]           one per active room, seqlock  |
 *   | overflow counts (rows that did not fit)                      |
 *   +--------------------------------------------------------------+
 *
 * Counters are C11 atomics (checked lock-free at start: APR's fallback atomics would not work
 * across processes). Compound rows are written under a per-row seqlock so a reader never sees
 * a torn row. Latency uses a log-linear histogram (CHAT_SHM_HIST_BUCKETS buckets from 1 us to
 * 60 s, percentiles within 2 % relative error).
 *
 * Thread: the writer handle belongs to the relay's service thread, except the persistence
 * counters which any relay thread may bump with chat_shm_add (atomics). A reader handle
 * belongs to one thread; several readers may coexist. */
#ifndef CHAT_SHM_H
#define CHAT_SHM_H

#include <apr_pools.h>
#include <apr_time.h>
#include <stdint.h>
#include "chat_err.h"
#include "chat_msg.h"

enum chat_ctr {
#define CHAT_CTR(id, key, kind, prom, help) CHAT_CTR_##id,
#include "chat_shm_counters.def"
#undef CHAT_CTR
    CHAT_CTR__COUNT
};

#define CHAT_SHM_WINDOW_MINUTES 15
#define CHAT_SHM_HEARTBEAT_STALE (5 * APR_USEC_PER_SEC)

typedef struct chat_shm_t chat_shm_t;               /* writer, opaque */
typedef struct chat_shm_reader_t chat_shm_reader_t; /* reader, opaque */

typedef struct chat_shm_limits_t {
    int max_users;      /* connection rows listed (ANALYTICS_MAX_USERS) */
    int max_rooms;      /* room rows (ANALYTICS_MAX_ROOMS) */
} chat_shm_limits_t;

/* ---------------------------------------------------------------- writer (relay) */

/* Creates the segment at path with mode 0640, replacing a stale one left by a dead relay
 * (its pid is gone) or one with another layout. Fails with APR_EEXIST if a live relay owns
 * it. Records pid, start time (now) and a fresh generation. Destroyed with pool. */
apr_status_t chat_shm_create(chat_shm_t **out, const char *path, const chat_shm_limits_t *lim,
                             apr_time_t now, apr_pool_t *pool);

/* Refreshes the heartbeat, rotates the minute window and last-minute histogram, updates
 * per-room last-minute counts. Call every second (and from tests with an injected now). */
void chat_shm_tick(chat_shm_t *shm, apr_time_t now);

/* Atomic counter updates. Any relay thread. */
void chat_shm_add(chat_shm_t *shm, enum chat_ctr ctr, uint64_t n);
void chat_shm_sub(chat_shm_t *shm, enum chat_ctr ctr, uint64_t n);
void chat_shm_set(chat_shm_t *shm, enum chat_ctr ctr, uint64_t v);

/* A connection opened: adds a user row (clientId, userId, username, roomId, joinedAt),
 * counts unique users (a user with three tabs counts once) and per-room connections and
 * users, updates activeConnections and peakConnections. When the user table is full the row
 * is not listed and the overflow count grows, but counters stay exact. *slot receives a
 * handle for chat_shm_conn_close (-1 when not listed). */
void chat_shm_conn_open(chat_shm_t *shm, const char *client_id, const char *user_id,
                        const char *username, const char *room_id, apr_time_t joined,
                        int *slot);
/* The matching close; pass the same ids. */
void chat_shm_conn_close(chat_shm_t *shm, int slot, const char *client_id, const char *user_id,
                         const char *room_id);

/* A chat message was accepted in room at now: totalMessages, the minute window, the room's
 * total and last-minute counts. */
void chat_shm_message(chat_shm_t *shm, const char *room_id, apr_time_t now);

/* Records one fan-out latency sample (receipt of the inbound frame to the write to the last
 * recipient), in microseconds, into the all-time and the current-minute histograms. */
void chat_shm_latency(chat_shm_t *shm, apr_interval_time_t usec);

/* ---------------------------------------------------------------- reader (REST app) */

typedef struct chat_shm_user_t {
    char client_id[48];
    char user_id[CHAT_MSG_MAX_USERID + 1];
    char username[4 * CHAT_MSG_MAX_USERNAME + 1];
    char room_id[CHAT_MSG_MAX_ROOM + 1];
    apr_time_t joined_at;
} chat_shm_user_t;

typedef struct chat_shm_room_t {
    char room_id[CHAT_MSG_MAX_ROOM + 1];
    uint64_t connections;
    uint64_t users;
    uint64_t messages_last_minute;
    uint64_t messages_total;
} chat_shm_room_t;

#define CHAT_SHM_HIST_BUCKETS 1024   /* fixed log-linear layout; see chat_shm_hist_bound */

typedef struct chat_shm_snapshot_t {
    int relay_up;                    /* 0: no segment or heartbeat older than 5 s */
    apr_int64_t relay_pid;
    apr_time_t start_time;           /* relay start */
    apr_time_t heartbeat;
    uint64_t generation;
    uint64_t counters[CHAT_CTR__COUNT];
    uint64_t per_minute[CHAT_SHM_WINDOW_MINUTES];  /* oldest first, current minute last */
    double p50_ms, p95_ms, p99_ms;                 /* all-time */
    double p50_ms_1m, p95_ms_1m, p99_ms_1m;        /* last minute */
    uint64_t hist[CHAT_SHM_HIST_BUCKETS];          /* all-time counts, for /metrics */
    uint64_t hist_count;
    double hist_sum_us;
    chat_shm_user_t *users;  int n_users;  uint64_t users_overflow;
    chat_shm_room_t *rooms;  int n_rooms;  uint64_t rooms_overflow;
} chat_shm_snapshot_t;

/* Opens a reader for the segment at path. Succeeds even when no segment exists yet: the
 * reader attaches lazily and re-attaches when the relay restarts (new generation). */
apr_status_t chat_shm_reader_create(chat_shm_reader_t **out, const char *path,
                                    apr_pool_t *pool);

/* Takes a consistent snapshot at time now (rows copied under their seqlocks; arrays from
 * pool). With no segment or a stale heartbeat returns APR_SUCCESS with relay_up = 0 and zero
 * counters (the REST app reports "relay":"down" rather than failing). CHAT_ESHM_LAYOUT for a
 * segment of another layout version. */
apr_status_t chat_shm_reader_snapshot(chat_shm_reader_t *r, apr_time_t now,
                                      chat_shm_snapshot_t *snap, apr_pool_t *pool);

/* Histogram helpers (shared by writer, reader and /metrics). */
int chat_shm_hist_index(uint64_t usec);                 /* bucket of a sample */
uint64_t chat_shm_hist_bound(int index);                /* upper bound (us) of a bucket */
double chat_shm_hist_percentile(const uint64_t *hist, uint64_t count, double q); /* ms */

/* Counter metadata from chat_shm_counters.def. */
const char *chat_shm_counter_key(enum chat_ctr ctr);    /* JSON key */
const char *chat_shm_counter_prom(enum chat_ctr ctr);   /* Prometheus name */
const char *chat_shm_counter_help(enum chat_ctr ctr);
int chat_shm_counter_is_gauge(enum chat_ctr ctr);

#endif
