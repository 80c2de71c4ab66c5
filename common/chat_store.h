/* chat_store.h: the storage interface and its backends (chat_store_sqlite.c, chat_store_dynamo.c;
 * their ops table lives in chat_store_private.h, which nobody outside common/ includes).
 *
 * Selected by STORAGE: sqlite (default; APR-util apr_dbd + sqlite3, WAL, prepared statements),
 * dynamodb (libcurl with CURLOPT_AWS_SIGV4 + json-c), none (every call answers
 * CHAT_ESTORE_DISABLED). Writes are idempotent by messageId: saving the same message twice
 * stores it once.
 *
 * Thread: a handle belongs to the thread that opened it (one apr_dbd connection or one CURL
 * easy handle, reused for keep-alive). Open one per worker / per REST thread. */
#ifndef CHAT_STORE_H
#define CHAT_STORE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "chat_config.h"
#include "chat_msg.h"

typedef struct chat_store_t chat_store_t;

#define CHAT_STORE_MAX_LIMIT 1000

/* Opens the backend cfg->storage selects. Closed when pool is destroyed. Does not touch the
 * network or create anything: an unreachable store still opens, and its calls then answer
 * CHAT_ESTORE_UNAVAILABLE. APR_SUCCESS or CHAT_ECONFIG. */
apr_status_t chat_store_open(chat_store_t **out, const chat_config_t *cfg, apr_pool_t *pool);

/* "sqlite", "dynamodb", "none". */
const char *chat_store_name(const chat_store_t *s);

/* The backend's text for the last failed call on s (apr_dbd_error, curl or DynamoDB error
 * message), "" when the last call succeeded or gave none. Owned by s; valid until the next call.
 * The store never logs: the caller that decides logs this (it never holds message content). */
const char *chat_store_last_error(const chat_store_t *s);

/* Bounds the calls on s: each one from now on, and one already in progress, ends by deadline
 * (0: no bound beyond the backend's own timeouts); one cut short answers
 * CHAT_ESTORE_UNAVAILABLE. The one function any thread may call on a handle another thread
 * owns (the relay's shutdown cuts its writers' requests at SHUTDOWN_DRAIN_S with it). DynamoDB
 * derives its request and connect timeouts from it and checks it during a transfer (libcurl's
 * progress callback, at least once a second) and before each backoff sleep; SQLite ignores it
 * (a call waits at most its busy timeout times the driver's retries). */
void chat_store_deadline_set(chat_store_t *s, apr_time_t deadline);

/* Creates the table/indexes if missing (DynamoDB: waits until ACTIVE, at most timeout).
 * APR_SUCCESS, CHAT_ESTORE_DISABLED or CHAT_ESTORE_UNAVAILABLE. */
apr_status_t chat_store_ensure_schema(chat_store_t *s, apr_interval_time_t timeout);

/* A cheap round trip. APR_SUCCESS, CHAT_ESTORE_DISABLED or CHAT_ESTORE_UNAVAILABLE. */
apr_status_t chat_store_health(chat_store_t *s);

/* Saves n messages (any rooms) idempotently; message_id, room_id and user_id must be set
 * (APR_EINVAL otherwise). SQLite keeps the timestamp in microseconds, DynamoDB in
 * milliseconds. All or nothing from the caller's view: on failure the caller retries the
 * whole batch (duplicates are harmless). DynamoDB retries UnprocessedItems, throttling, 5xx
 * and connection errors internally with backoff until deadline (0 = one attempt of each
 * chunk); SQLite ignores deadline. APR_SUCCESS, CHAT_ESTORE_DISABLED, CHAT_ESTORE_UNAVAILABLE,
 * CHAT_ESTORE_THROTTLED. scratch is cleared by the caller. */
apr_status_t chat_store_save(chat_store_t *s, const chat_msg_t *const *msgs, int n,
                             apr_time_t deadline, apr_pool_t *scratch);

/* The newest messages of room, at most limit (1..CHAT_STORE_MAX_LIMIT), older than the message
 * id before (NULL: from the newest). *out is an array of chat_msg_t * ordered oldest first,
 * allocated from pool; *has_more is 1 when older messages exist beyond the page. The next
 * page is asked for with before = the first (oldest) id of this one.
 * APR_SUCCESS, APR_EINVAL (limit out of range, room NULL), CHAT_EBAD_MESSAGE_ID (before is
 * not a lowercase UUID), CHAT_ESTORE_DISABLED, CHAT_ESTORE_UNAVAILABLE, CHAT_ESTORE_THROTTLED
 * (DynamoDB; reads are tried once), CHAT_ECORRUPT (a stored row does not decode). */
apr_status_t chat_store_room_recent(chat_store_t *s, const char *room, const char *before,
                                    int limit, apr_array_header_t **out, int *has_more,
                                    apr_pool_t *pool);

/* Messages of room with seq > after_seq, in seq order, at most limit (1..CHAT_STORE_MAX_LIMIT). */
apr_status_t chat_store_room_after(chat_store_t *s, const char *room, apr_int64_t after_seq,
                                   int limit, apr_array_header_t **out, apr_pool_t *pool);

/* The highest seq stored for room (0 when the room has none). */
apr_status_t chat_store_room_max_seq(chat_store_t *s, const char *room, apr_int64_t *out);

/* The newest messages of a user (any room) by time, like chat_store_room_recent: ordered by
 * (timestamp, message id). DynamoDB also answers CHAT_EBAD_MESSAGE_ID for a before that is not
 * a UUIDv7 (its cursor is the id's millisecond). */
apr_status_t chat_store_user_recent(chat_store_t *s, const char *user_id, const char *before,
                                    int limit, apr_array_header_t **out, int *has_more,
                                    apr_pool_t *pool);

#endif
