/* chat_config.h: configuration shared by both daemons and the tools.
 *
 * Sources, later ones winning: built-in defaults < the --config FILE (systemd EnvironmentFile
 * syntax: KEY=value lines, '#' and ';' comments, single or double quotes, backslash escapes in
 * double quotes, optional "export ") < the real environment. A bad value stops the daemon with
 * an error naming the variable; there is no silent fallback. Unknown keys in the file are kept
 * (so one file can serve systemd and other tools) but logged by the caller if it wishes.
 *
 * Thread: loaded once by main; read-only afterwards, shared by every thread. */
#ifndef CHAT_CONFIG_H
#define CHAT_CONFIG_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <stdio.h>
#include "chat_err.h"

typedef enum {
    CHAT_STORAGE_SQLITE = 0,
    CHAT_STORAGE_DYNAMODB,
    CHAT_STORAGE_NONE
} chat_storage_e;

/* How chat-relay waits for its sockets (RELAY_EVENT_LOOP). */
typedef enum {
    CHAT_EVENT_LOOP_POLL = 0,          /* lws's own poll() over every descriptor */
    CHAT_EVENT_LOOP_LIBEV              /* libev (epoll), handed to lws as a foreign loop */
} chat_event_loop_e;

typedef struct chat_config_t {
    /* logging */
    const char *log_level;             /* LOG_LEVEL=info: debug|info|warn|error */
    const char *log_file;              /* LOG_FILE: empty = stderr */
    /* access control */
    int allow_all_origins;             /* ALLOWED_ORIGINS=* */
    apr_array_header_t *allowed_origins; /* const char *: the listed origins, lowercased */
    const char *auth_secret;           /* AUTH_SECRET: empty disables token auth */
    int token_ttl_s;                   /* TOKEN_TTL=3600 */
    double rate_per_sec;               /* RATE_LIMIT_PER_SEC=5 (<= 0 disables) */
    int rate_burst;                    /* RATE_LIMIT_BURST=10 (<= 0 disables) */
    int max_conn_per_ip;               /* MAX_CONN_PER_IP=100 (0 disables) */
    apr_array_header_t *trusted_proxies; /* TRUSTED_PROXIES: const char * IPs/CIDRs; default 127.0.0.1,::1 */
    int handshake_timeout_s;           /* HANDSHAKE_TIMEOUT=10 */
    /* relay */
    const char *relay_listen;          /* RELAY_LISTEN=127.0.0.1:8081 */
    const char *relay_tls_cert;        /* RELAY_TLS_CERT: PEM; with the key enables wss on the relay */
    const char *relay_tls_key;         /* RELAY_TLS_KEY */
    chat_event_loop_e event_loop;      /* RELAY_EVENT_LOOP=poll|libev */
    int ping_interval_s;               /* PING_INTERVAL=54 */
    int pong_timeout_s;                /* PONG_TIMEOUT=60 */
    int send_timeout_s;                /* SEND_TIMEOUT=10: pending data not accepted for this long */
    int client_send_queue;             /* CLIENT_SEND_QUEUE=256 messages */
    int relay_pace_rate;               /* RELAY_PACE_RATE=150000 deliveries/s; 0: never pace */
    int slow_client_timeout_s;         /* SLOW_CLIENT_TIMEOUT=10 */
    int presence_max_room;             /* PRESENCE_EVENTS_MAX_ROOM=1000 */
    int history_replay;                /* HISTORY_REPLAY=50: messages replayed on join */
    int room_ring_size;                /* ROOM_RING_SIZE=1024: recent messages kept per room */
    int max_rooms;                     /* MAX_ROOMS=10000 */
    /* persistence */
    chat_storage_e storage;            /* STORAGE=sqlite|dynamodb|none */
    int persist_workers;               /* PERSIST_WORKERS=4 (>= 1) */
    int persist_batch_size;            /* PERSIST_BATCH_SIZE=25 (1..1000) */
    int persist_queue_size;            /* PERSIST_QUEUE_SIZE=1024 (>= 1) */
    int persist_flush_ms;              /* PERSIST_FLUSH_MS=200 */
    int spool_fsync_ms;                /* SPOOL_FSYNC_MS=100 */
    int shutdown_drain_s;              /* SHUTDOWN_DRAIN_S=30 */
    int persist_stall_ms;              /* PERSIST_STALL_MS=5000: a write hanging this long
                                          marks the store unavailable */
    int journal_segment_bytes;         /* JOURNAL_SEGMENT_BYTES=4194304 (4096..1 GiB) */
    const char *data_dir;              /* DATA_DIR=$(localstatedir)/lib/chat-analytics */
    const char *run_dir;               /* RUN_DIR=$(runstatedir)/chat-analytics */
    const char *sqlite_path;           /* SQLITE_PATH=$DATA_DIR/chat.db */
    const char *journal_dir;           /* JOURNAL_DIR=$DATA_DIR/journal */
    const char *dynamodb_endpoint;     /* DYNAMODB_ENDPOINT: empty = https://dynamodb.<region>.amazonaws.com */
    const char *dynamodb_region;       /* DYNAMODB_REGION=us-east-1 */
    const char *dynamodb_table;        /* DYNAMODB_TABLE=chat-messages */
    const char *aws_access_key_id;     /* AWS_ACCESS_KEY_ID */
    const char *aws_secret_access_key; /* AWS_SECRET_ACCESS_KEY */
    const char *aws_session_token;     /* AWS_SESSION_TOKEN */
    /* analytics */
    const char *analytics_shm;         /* ANALYTICS_SHM=$RUN_DIR/analytics.shm */
    int analytics_max_users;           /* ANALYTICS_MAX_USERS=4096 rows (connections listed) */
    int analytics_max_rooms;           /* ANALYTICS_MAX_ROOMS=1024 rows */
    int analytics_public_users;        /* ANALYTICS_PUBLIC_USERS=true */
    /* REST app */
    const char *restapi_listen;        /* RESTAPI_LISTEN: empty = FastCGI on stdin when spawned
                                          (mod_fcgid), else $RUN_DIR/restapi.sock; a path or
                                          host:port / :port */
    int restapi_threads;               /* RESTAPI_THREADS=8 */
    /* every KEY=value seen (file, then environment overrides), for tools and diagnostics */
    apr_table_t *raw;
} chat_config_t;

/* Loads the configuration: defaults, then file (NULL for none), then envp (a NULL-terminated
 * "KEY=value" array, normally environ; tests pass their own). Every value is validated; on
 * failure returns CHAT_ECONFIG and *err (from pool) names the variable and the reason, e.g.
 * "RATE_LIMIT_PER_SEC: not a number: \"abc\"", or the file and line for a syntax error.
 * *out and every string in it are allocated from pool. */
apr_status_t chat_config_load(chat_config_t **out, const char *file, const char *const *envp,
                              char **err, apr_pool_t *pool);

/* Parses EnvironmentFile text buf[0..len) into table (later keys override earlier ones).
 * APR_SUCCESS, or CHAT_ECONFIG with *err "line N: reason". Never reads past len. */
apr_status_t chat_config_parse_buffer(const char *buf, apr_size_t len, apr_table_t *table,
                                      char **err, apr_pool_t *pool);

/* Parses a listen address: "host:port", "[v6]:port", ":port" (host = NULL) or a path
 * containing '/' (unix socket; *port = 0, *host = the path). APR_SUCCESS or CHAT_ECONFIG. */
apr_status_t chat_config_parse_listen(const char *s, char **host, int *port, int *is_unix,
                                      apr_pool_t *pool);

/* 1 if origin (as sent in the Origin header) is allowed by cfg: "*" allows everything,
 * otherwise an exact case-insensitive match with a listed origin ("null" and a missing
 * origin only if listed literally). */
int chat_config_is_origin_allowed(const chat_config_t *cfg, const char *origin);

/* For a reload (SIGHUP): copies each variable named in names (a NULL-terminated list of
 * settings the running process cannot change, e.g. its listen address) from running into next,
 * so next differs from running only in what can change at run time. Returns the names whose
 * value in next differed before the copy, comma-separated (from pool), or NULL when none did;
 * the caller logs them as waiting for a restart. Names that are not variables are ignored. */
const char *chat_config_carry(chat_config_t *next, const chat_config_t *running,
                              const char *const *names, apr_pool_t *pool);

/* "sqlite", "dynamodb", "none". */
const char *chat_config_storage_name(chat_storage_e s);

/* "poll", "libev". */
const char *chat_config_event_loop_name(chat_event_loop_e loop);

/* Prints the variables, their defaults and meaning (for --help and the man page). */
void chat_config_print_help(FILE *out);

#endif
