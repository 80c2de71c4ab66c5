/* chat_shm.h: live analytics in a named APR shared-memory segment.
 *
 * The relay creates the segment (chat_shm_create) and is its only writer; chat-restapi and
 * tools attach read-only (chat_shm_reader_*). The layout is fixed-size with no pointers (each
 * process maps it at its own address); every region starts on a 64-byte boundary and the
 * header records the offsets, so a reader can check them before trusting anything:
 *
 *   +--------------------------------------------------------------+ offset 0
 *   | header                                                       |
 *   |   magic "CHATSHM1" (stored last, release; 0 once closed)     |
 *   |   layout version, header size, total size                   |
 *   |   relay pid, relay start time, generation (random, per start)|
 *   |   heartbeat (atomic, refreshed by chat_shm_tick)             |
 *   |   capacities: max users, max rooms, counters, buckets,      |
 *   |     window minutes, user/room row sizes                      |
 *   |   region offsets (below)                                     |
 *   |   users overflow, rooms overflow (atomic gauges)             |
 *   +--------------------------------------------------------------+ off_counters
 *   | counters[CHAT_CTR__COUNT]      _Atomic uint64_t              |
 *   +--------------------------------------------------------------+ off_window
 *   | minute window[15]: one atomic word per slot,                 |
 *   |   minute number << 38 | count                               |
 *   +--------------------------------------------------------------+ off_hist_all
 *   | all-time latency: sum_us, buckets[CHAT_SHM_HIST_BUCKETS]     |
 *   +--------------------------------------------------------------+ off_hist_min
 *   | minute latency x2 (even/odd minute): seq, minute, sum_us,    |
 *   |   buckets[CHAT_SHM_HIST_BUCKETS]; cleared under the seqlock  |
 *   +--------------------------------------------------------------+ off_users
 *   | user rows[max_users]: seq, then the row as atomic words      |
 *   |   (clientId, userId, username, roomId, joinedAt, in_use)     |
 *   +--------------------------------------------------------------+ off_rooms
 *   | room rows[max_rooms]: seq, roomId words, in_use,             |
 *   |   connections, users (under the seqlock); total and 60       |
 *   |   per-second slots (second << 32 | count), bumped atomically |
 *   +--------------------------------------------------------------+ total size
 *
 * Counters are C11 atomics (checked lock-free at start: APR's fallback atomics would not work
 * across processes). Compound rows are written under a per-row seqlock so a reader never sees
 * a torn row. Latency uses a log-linear histogram (CHAT_SHM_HIST_BUCKETS buckets, exact below
 * 64 us, then 32 per power of two up to 2^36 us; percentiles within 1/64 < 2 % relative error
 * from 1 us to 60 s). docs/ANALYTICS.md has the details.
 *
 * Thread: the writer handle belongs to the relay's service thread, except the counters which
 * any relay thread may change with chat_shm_add/sub/set (atomics). Every writer function
 * accepts shm == NULL and then does nothing, so a relay without analytics needs no checks.
 * A reader handle belongs to one thread; several readers may coexist. */
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
#define CHAT_SHM_LAYOUT_VERSION 1     /* bump on any change of the layout above */
#define CHAT_SHM_MODE 0640            /* the relay reads and writes, its group reads */
#define CHAT_SHM_MAX_ROWS 1048576     /* upper bound of max_users and max_rooms */

typedef struct chat_shm_t chat_shm_t;               /* writer, opaque */
typedef struct chat_shm_reader_t chat_shm_reader_t; /* reader, opaque */

typedef struct chat_shm_limits_t {
    int max_users;      /* connection rows listed (ANALYTICS_MAX_USERS) */
    int max_rooms;      /* room rows (ANALYTICS_MAX_ROOMS) */
} chat_shm_limits_t;

/* ---------------------------------------------------------------- writer (relay) */

/* Creates the segment at path with mode 0640, replacing a stale one left by a dead relay
 * (its pid is gone) or one with another layout. Fails with APR_EEXIST if a live relay owns
 * it, APR_EINVAL for limits outside 1..CHAT_SHM_MAX_ROWS, APR_ENOTIMPL when 64-bit atomics
 * are not lock-free. Records pid, start time (now) and a fresh generation. Destroyed with
 * pool: the header is marked closed first, so attached readers notice at once. */
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
/* The matching close; pass the slot and ids the open used. Frees the row (slot >= 0) or
 * lowers the overflow count (slot -1); a room whose last connection leaves stays listed with
 * 0 connections until a new room needs its row. */
void chat_shm_conn_close(chat_shm_t *shm, int slot, const char *client_id, const char *user_id,
                         const char *room_id);

/* The file that backs the segment (on Debian's APR an object in /dev/shm whose name APR
 * derives from path), or NULL when it cannot be found. For diagnostics and tests. */
const char *chat_shm_file_get(const chat_shm_t *shm);

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
    /* *_overflow: open connections (rooms with connections) that are not listed right now
     * because their table was full; a gauge, so rows + overflow = what is open. */
} chat_shm_snapshot_t;

/* Opens a reader for the segment at path. Succeeds even when no segment exists yet: the
 * reader attaches lazily and re-attaches when the relay restarts (new generation). */
apr_status_t chat_shm_reader_create(chat_shm_reader_t **out, const char *path,
                                    apr_pool_t *pool);

/* Takes a consistent snapshot at time now (rows copied under their seqlocks; arrays from
 * pool). With no segment or a stale heartbeat returns APR_SUCCESS with relay_up = 0 and zero
 * counters (the REST app reports "relay":"down" rather than failing); with a stale heartbeat
 * relay_pid, start_time, heartbeat and generation still describe the silent relay.
 * CHAT_ESHM_LAYOUT for a segment of another layout version. The windows are read at now:
 * per_minute ends with now's minute; "last minute" latency merges now's minute and the one
 * before; a room's messages_last_minute counts the 60 seconds ending at now. */
apr_status_t chat_shm_reader_snapshot(chat_shm_reader_t *r, apr_time_t now,
                                      chat_shm_snapshot_t *snap, apr_pool_t *pool);

/* chat_shm_reader_snapshot_parts: the same, copying only the tables parts names besides the
 * identity, the counters and the two overflow gauges, which it always copies (the rest stays
 * zero/NULL). /health needs
 * no table, /api/analytics no user rows unless it shows them: the user table is scanned row by
 * row (ANALYTICS_MAX_USERS of them), about half of a /health request's cost otherwise. */
#define CHAT_SHM_PART_WINDOW 0x1    /* per_minute, latency percentiles, hist */
#define CHAT_SHM_PART_USERS  0x2
#define CHAT_SHM_PART_ROOMS  0x4
#define CHAT_SHM_PART_ALL    0x7
apr_status_t chat_shm_reader_snapshot_parts(chat_shm_reader_t *r, apr_time_t now, int parts,
                                            chat_shm_snapshot_t *snap, apr_pool_t *pool);

/* Histogram helpers (shared by writer, reader and /metrics).
 * chat_shm_hist_index: the bucket of a sample; samples beyond the last bucket land in it.
 * chat_shm_hist_bound: the largest sample (us, inclusive) of bucket index, so for usec
 *   below 2^36 usec <= chat_shm_hist_bound(i) exactly when chat_shm_hist_index(usec) <= i.
 * chat_shm_hist_percentile: the nearest-rank percentile (the ceil(q * count)-th smallest
 *   sample) in milliseconds, reported as its bucket's midpoint, so within 1/64 of the exact
 *   sample. q is a fraction (0.99 for p99); q > 1 is read as a percentage (99). count is the
 *   sum of hist (0 gives 0.0). */
int chat_shm_hist_index(uint64_t usec);
uint64_t chat_shm_hist_bound(int index);
double chat_shm_hist_percentile(const uint64_t *hist, uint64_t count, double q);

/* Counter metadata from chat_shm_counters.def. */
const char *chat_shm_counter_key(enum chat_ctr ctr);    /* JSON key */
const char *chat_shm_counter_prom(enum chat_ctr ctr);   /* Prometheus name */
const char *chat_shm_counter_help(enum chat_ctr ctr);
int chat_shm_counter_is_gauge(enum chat_ctr ctr);

#endif
