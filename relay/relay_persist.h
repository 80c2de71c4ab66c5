/* relay_persist.h: the lossless persistence pipeline of the relay.
 *
 *   service thread --push--> journal (write(2)) --trypush--> bounded queue --> N workers --> store
 *                                    \__ fsync'd in groups by a background thread
 *   workers fall back to reading the journal when the queue overflowed or the store was down;
 *   a journal segment is deleted once every message in it is confirmed in the store.
 *
 * It also runs store reads for the service thread (room warm-up, resume from storage, max seq)
 * on its workers, delivering results through a mailbox drained on the service thread.
 *
 * Thread: create/recover/start/push/read/drain/shutdown are called from the service thread
 * (or main before serving). Workers never touch lws; they only call the wake callback. */
#ifndef RELAY_PERSIST_H
#define RELAY_PERSIST_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "chat_config.h"
#include "chat_log.h"
#include "chat_msg.h"
#include "chat_shm.h"

typedef struct relay_persist_t relay_persist_t;

/* Creates the pipeline (journal directory, queue) without starting threads. shm may be NULL. */
apr_status_t relay_persist_create(relay_persist_t **out, const chat_config_t *cfg,
                                  chat_shm_t *shm, chat_log_t *log, apr_pool_t *pool);

/* Before serving: replays any journal left by a previous run into the store (exactly once:
 * writes are idempotent). If the store is unreachable the journal is kept for the workers to
 * retry later; this never fails for that reason. Each store call is bounded to 2 s, so a
 * store that does not answer delays serving by about that much. Sets the store state (and
 * the storageUp gauge) from the first call. *recovered receives the count replayed. */
apr_status_t relay_persist_recover(relay_persist_t *p, apr_size_t *recovered);

/* Starts the workers and the fsync thread. wake(arg) is called from worker threads when a
 * read result is ready (the relay passes a function calling lws_cancel_service). */
apr_status_t relay_persist_start(relay_persist_t *p, void (*wake)(void *arg), void *arg);

/* Service thread, before broadcasting msg: appends it to the journal with write(2) and hands
 * a copy to the queue without blocking (a full queue leaves it to the journal). Returns
 * APR_SUCCESS, or an error only when the journal itself cannot be written (disk full), in
 * which case the copy is still queued when there is room, and the caller still broadcasts
 * but logs. APR_EOF after relay_persist_shutdown. With STORAGE=none this is a no-op. */
apr_status_t relay_persist_push(relay_persist_t *p, const chat_msg_t *msg);

typedef enum {
    RELAY_READ_RECENT = 0,   /* newest `limit` messages of room, oldest first */
    RELAY_READ_AFTER,        /* messages with seq > after_seq, oldest first, at most limit */
    RELAY_READ_MAX_SEQ       /* the room's highest stored seq */
} relay_read_kind_e;

typedef struct relay_read_result_t {
    relay_read_kind_e kind;
    apr_uint64_t ticket;          /* as returned by relay_persist_read */
    const char *room;
    apr_status_t status;          /* APR_SUCCESS, CHAT_ESTORE_DISABLED, CHAT_ESTORE_UNAVAILABLE */
    apr_array_header_t *msgs;     /* chat_msg_t *, oldest first (RECENT, AFTER) */
    apr_int64_t max_seq;          /* MAX_SEQ; for RECENT also filled (the room's highest seq) */
} relay_read_result_t;

/* Service thread: asks a worker to read from the store. Never blocks. *ticket identifies the
 * result. APR_SUCCESS, APR_EAGAIN when the read queue is full, CHAT_ESTORE_DISABLED. */
apr_status_t relay_persist_read(relay_persist_t *p, relay_read_kind_e kind, const char *room,
                                apr_int64_t after_seq, int limit, apr_uint64_t *ticket);

/* Service thread: calls on_result for every finished read (from the EVENT_WAIT_CANCELLED
 * callback). The result and its memory are released after the callback returns. */
void relay_persist_drain(relay_persist_t *p,
                         void (*on_result)(void *arg, const relay_read_result_t *r), void *arg);

/* Any thread: 1 while the last store operation succeeded and no writer's store call has been
 * waiting for longer than PERSIST_STALL_MS (a store that hangs instead of failing); 0 with
 * STORAGE=none. The analytics segment's storageUp gauge follows it, except that it stays 1
 * with STORAGE=none (nothing there can fail). */
int relay_persist_is_store_up(const relay_persist_t *p);

/* The pipeline's counters (the same numbers go to the analytics segment when one is given). */
typedef struct relay_persist_stats_t {
    apr_uint64_t queued;          /* handed to the in-memory queue */
    apr_uint64_t spilled;         /* left to the journal: queue full */
    apr_uint64_t written;         /* confirmed in the store */
    apr_uint64_t failed;          /* failed store write attempts */
    apr_uint64_t retried;         /* store write retries */
    apr_uint64_t depth;           /* jobs in the queue now */
    apr_uint64_t pending;         /* journaled, not yet confirmed */
    apr_uint64_t journal_bytes;   /* bytes in journal segments */
    apr_uint64_t journal_segments;
    apr_uint64_t last_batch_us;   /* latency of the last successful batch */
    apr_uint64_t batches;         /* successful store writes (with SQLite one transaction each,
                                   * which may hold several batches taken in one turn) */
    apr_uint64_t taken;           /* batches taken from the queue */
    apr_uint64_t largest_batch;   /* the most jobs one batch took: at most PERSIST_BATCH_SIZE */
    apr_uint64_t writers;         /* writer threads: PERSIST_WORKERS (0 with STORAGE=none) */
    apr_uint64_t writers_wrote;   /* writers that have written to the store */
} relay_persist_stats_t;

/* Any thread: a snapshot of the counters. */
void relay_persist_stats(relay_persist_t *p, relay_persist_stats_t *out);

/* Stops accepting pushes, drains the queue and the journal into the store until deadline,
 * joins the threads. Store calls already in flight are cut at deadline too
 * (chat_store_deadline_set), so a store that never answers cannot hold this past it. What
 * could not be written stays in the journal (counted in the log).
 * APR_SUCCESS or APR_TIMEUP when messages remain journaled. */
apr_status_t relay_persist_shutdown(relay_persist_t *p, apr_time_t deadline);

#endif
