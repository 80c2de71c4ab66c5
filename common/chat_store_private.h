/* chat_store_private.h: what chat_store.c shares with its backends (chat_store_sqlite.c,
 * chat_store_dynamo.c). Nobody outside common/ and the store's own tests includes this.
 *
 * chat_store.c validates arguments once (limits, NULL checks) and dispatches through the ops
 * table; a backend sees only well-formed calls. Thread: a chat_store_t belongs to one thread. */
#ifndef CHAT_STORE_PRIVATE_H
#define CHAT_STORE_PRIVATE_H

#include "chat_store.h"

#include <apr_tables.h>
#include <stdatomic.h>

#define CHAT_STORE_ERRBUF 512

typedef struct chat_store_ops_t {
    const char *name;
    /* Sets s->impl. Must not touch the network or the file system beyond what is cheap. */
    apr_status_t (*open)(chat_store_t *s);
    apr_status_t (*ensure_schema)(chat_store_t *s, apr_interval_time_t timeout);
    apr_status_t (*health)(chat_store_t *s);
    apr_status_t (*save)(chat_store_t *s, const chat_msg_t *const *msgs, int n,
                         apr_time_t deadline, apr_pool_t *scratch);
    apr_status_t (*room_recent)(chat_store_t *s, const char *room, const char *before,
                                int limit, apr_array_header_t **out, int *has_more,
                                apr_pool_t *pool);
    apr_status_t (*room_after)(chat_store_t *s, const char *room, apr_int64_t after_seq,
                               int limit, apr_array_header_t **out, apr_pool_t *pool);
    apr_status_t (*room_max_seq)(chat_store_t *s, const char *room, apr_int64_t *out);
    apr_status_t (*user_recent)(chat_store_t *s, const char *user_id, const char *before,
                                int limit, apr_array_header_t **out, int *has_more,
                                apr_pool_t *pool);
} chat_store_ops_t;

struct chat_store_t {
    const chat_store_ops_t *ops;
    const chat_config_t *cfg;
    apr_pool_t *pool;                   /* the handle's lifetime */
    void *impl;                         /* the backend's state */
    char errbuf[CHAT_STORE_ERRBUF];     /* last backend error text, "" when none */
    _Atomic apr_int64_t deadline;       /* chat_store_deadline_set, from any thread; 0: none */
};

/* The deadline chat_store_deadline_set gave (0: none). Any thread. */
apr_time_t chat_store_deadline_get(const chat_store_t *s);

/* The earlier of a and the handle's deadline, where 0 means none for both. */
apr_time_t chat_store_deadline_min(const chat_store_t *s, apr_time_t a);

extern const chat_store_ops_t chat_store_sqlite_ops;
extern const chat_store_ops_t chat_store_dynamo_ops;

/* Records the backend's error text for chat_store_last_error (printf-style, truncated). */
void chat_store_error_set(chat_store_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* DynamoDB answers, parsed defensively (they come from the network; fuzzed).
 *
 * chat_store_dynamo_parse_items: a Query answer {"Items":[...], "LastEvaluatedKey":{...}}.
 * *items receives the rows as chat_msg_t * in answer order; *last_key the LastEvaluatedKey as
 * JSON text (NULL when the results end), both from pool. APR_SUCCESS, CHAT_EBAD_JSON (not one
 * JSON object, deeper than 16, larger than 16 MiB, invalid UTF-8) or CHAT_ECORRUPT (a row lacks
 * MessageID/RoomID/Type/Timestamp, has a wrong attribute type, an unknown Type, a bad
 * Timestamp or Seq, or a NUL in a string). Missing UserID, Username, Content read as "" and a
 * missing Seq as 0 (rows the Go system wrote). Outputs are untouched on failure. */
apr_status_t chat_store_dynamo_parse_items(const char *body, apr_size_t len,
                                           apr_array_header_t **items, char **last_key,
                                           apr_pool_t *pool);

/* An error answer {"__type":"...#Name","message":"..."}: *type the part after '#' ("" when
 * absent), *message ("" when absent), from pool. APR_SUCCESS or CHAT_EBAD_JSON. */
apr_status_t chat_store_dynamo_parse_error(const char *body, apr_size_t len, const char **type,
                                           const char **message, apr_pool_t *pool);

#endif
