/* chat_config.c: configuration from defaults, an EnvironmentFile and the environment.
 *
 * One table (config_vars) declares every variable once: name, default, meaning, kind, range
 * and where it lands in chat_config_t. Loading, validation and --help all walk it, so they
 * cannot disagree. The file parser follows systemd's EnvironmentFile state machine
 * (src/basic/env-file.c) but reports what systemd would silently skip, with the line number.
 * Thread: main only, at start-up; the result is read-only afterwards. */
#include "chat_config.h"
#include "chat_log.h"

#include <apr_file_io.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef CHAT_DEFAULT_DATA_DIR
#define CHAT_DEFAULT_DATA_DIR "/var/lib/chat-analytics"
#endif
#ifndef CHAT_DEFAULT_RUN_DIR
#define CHAT_DEFAULT_RUN_DIR "/run/chat-analytics"
#endif

#define CONFIG_MAX_FILE (1024 * 1024)

typedef enum {
    KIND_STRING,     /* any text */
    KIND_INT,        /* strict decimal in [min, max] */
    KIND_DOUBLE,     /* strict decimal number in [min, max] */
    KIND_BOOL,
    KIND_LEVEL,      /* LOG_LEVEL */
    KIND_ORIGINS,    /* ALLOWED_ORIGINS */
    KIND_PROXIES,    /* TRUSTED_PROXIES */
    KIND_STORAGE,    /* STORAGE */
    KIND_LOOP,       /* RELAY_EVENT_LOOP */
    KIND_LISTEN,     /* a listen address; empty allowed when the default is empty */
    KIND_PATH        /* a path; "$DATA_DIR/..." and "$RUN_DIR/..." defaults expand */
} var_kind_e;

typedef struct {
    const char *name;
    const char *def;
    const char *help;
    var_kind_e kind;
    size_t offset;
    double min, max;
} config_var_t;

#define OFF(field) offsetof(chat_config_t, field)

static const config_var_t config_vars[] = {
    { "LOG_LEVEL", "info", "debug, info, warn or error", KIND_LEVEL, OFF(log_level), 0, 0 },
    { "LOG_FILE", "", "log file, appended and reopened for logrotate; empty logs to stderr",
      KIND_PATH, OFF(log_file), 0, 0 },
    { "ALLOWED_ORIGINS", "*", "comma-separated WebSocket/CORS origins, or * for any",
      KIND_ORIGINS, 0, 0, 0 },
    { "AUTH_SECRET", "", "HMAC secret of bearer tokens; empty disables token auth",
      KIND_STRING, OFF(auth_secret), 0, 0 },
    { "TOKEN_TTL", "3600", "lifetime of minted tokens (/api/token, chat-token), seconds",
      KIND_INT, OFF(token_ttl_s), 1, 315360000 },
    { "RATE_LIMIT_PER_SEC", "5", "messages per second per connection (<= 0 disables)",
      KIND_DOUBLE, OFF(rate_per_sec), -1e9, 1e9 },
    { "RATE_LIMIT_BURST", "10", "burst of messages per connection (<= 0 disables)",
      KIND_INT, OFF(rate_burst), -1000000, 1000000 },
    { "MAX_CONN_PER_IP", "100", "open connections per client address (0 disables)",
      KIND_INT, OFF(max_conn_per_ip), 0, 1000000 },
    { "TRUSTED_PROXIES", "127.0.0.1,::1",
      "proxies (IPs/CIDRs, comma-separated) whose X-Forwarded-For is believed",
      KIND_PROXIES, 0, 0, 0 },
    { "HANDSHAKE_TIMEOUT", "10", "seconds to complete the WebSocket handshake",
      KIND_INT, OFF(handshake_timeout_s), 1, 3600 },
    { "RELAY_LISTEN", "127.0.0.1:8081", "relay address: host:port, [v6]:port or :port",
      KIND_LISTEN, OFF(relay_listen), 0, 0 },
    { "RELAY_TLS_CERT", "", "PEM certificate; with RELAY_TLS_KEY the relay speaks wss",
      KIND_PATH, OFF(relay_tls_cert), 0, 0 },
    { "RELAY_TLS_KEY", "", "PEM private key of RELAY_TLS_CERT", KIND_PATH, OFF(relay_tls_key),
      0, 0 },
    { "RELAY_EVENT_LOOP", "poll",
      "how the relay waits for its sockets: poll (lws's poll() over all) or libev (epoll)",
      KIND_LOOP, 0, 0, 0 },
    { "PING_INTERVAL", "54", "seconds between WebSocket pings", KIND_INT, OFF(ping_interval_s),
      1, 3600 },
    { "PONG_TIMEOUT", "60", "seconds without a pong before a connection is dropped",
      KIND_INT, OFF(pong_timeout_s), 1, 3600 },
    { "SEND_TIMEOUT", "10", "seconds pending data may wait for the socket",
      KIND_INT, OFF(send_timeout_s), 1, 3600 },
    { "CLIENT_SEND_QUEUE", "256", "messages queued per connection before it counts as slow",
      KIND_INT, OFF(client_send_queue), 1, 65536 },
    { "RELAY_PACE_RATE", "150000",
      "deliveries per second above which a connection's writes wait up to 15 ms to be "
      "coalesced (0 = never)", KIND_INT, OFF(relay_pace_rate), 0, 1000000000 },
    { "SLOW_CLIENT_TIMEOUT", "10", "seconds a full send queue is tolerated",
      KIND_INT, OFF(slow_client_timeout_s), 1, 3600 },
    { "PRESENCE_EVENTS_MAX_ROOM", "1000",
      "members above which join/leave events are no longer broadcast",
      KIND_INT, OFF(presence_max_room), 0, 10000000 },
    { "HISTORY_REPLAY", "50", "recent messages replayed on join (<= ROOM_RING_SIZE)",
      KIND_INT, OFF(history_replay), 0, 1048576 },
    { "ROOM_RING_SIZE", "1024", "recent messages kept in memory per room",
      KIND_INT, OFF(room_ring_size), 1, 1048576 },
    { "MAX_ROOMS", "10000", "rooms open at once", KIND_INT, OFF(max_rooms), 1, 10000000 },
    { "STORAGE", "sqlite", "sqlite, dynamodb or none", KIND_STORAGE, 0, 0, 0 },
    { "PERSIST_WORKERS", "4", "store writer threads (SQLite: they take turns)", KIND_INT,
      OFF(persist_workers), 1, 64 },
    { "PERSIST_BATCH_SIZE", "25",
      "messages a writer takes per batch (SQLite: waiting batches share a transaction)", KIND_INT,
      OFF(persist_batch_size), 1, 1000 },
    { "PERSIST_QUEUE_SIZE", "1024", "messages waiting for a worker before spilling",
      KIND_INT, OFF(persist_queue_size), 1, 1048576 },
    { "PERSIST_FLUSH_MS", "200", "milliseconds a partial batch waits", KIND_INT,
      OFF(persist_flush_ms), 1, 60000 },
    { "SPOOL_FSYNC_MS", "100", "milliseconds between journal fsyncs (0 = every write)",
      KIND_INT, OFF(spool_fsync_ms), 0, 60000 },
    { "SHUTDOWN_DRAIN_S", "30", "seconds shutdown waits for queued writes", KIND_INT,
      OFF(shutdown_drain_s), 0, 3600 },
    { "PERSIST_STALL_MS", "5000",
      "milliseconds a store write may hang before the store is reported unavailable",
      KIND_INT, OFF(persist_stall_ms), 50, 3600000 },
    { "JOURNAL_SEGMENT_BYTES", "4194304", "journal segment rotation size, bytes",
      KIND_INT, OFF(journal_segment_bytes), 4096, 1073741824 },
    { "DATA_DIR", CHAT_DEFAULT_DATA_DIR, "state directory", KIND_PATH, OFF(data_dir), 0, 0 },
    { "RUN_DIR", CHAT_DEFAULT_RUN_DIR, "runtime directory", KIND_PATH, OFF(run_dir), 0, 0 },
    { "SQLITE_PATH", "$DATA_DIR/chat.db", "SQLite database", KIND_PATH, OFF(sqlite_path),
      0, 0 },
    { "JOURNAL_DIR", "$DATA_DIR/journal", "write-ahead journal of accepted messages",
      KIND_PATH, OFF(journal_dir), 0, 0 },
    { "DYNAMODB_ENDPOINT", "", "DynamoDB URL; empty = https://dynamodb.<region>.amazonaws.com",
      KIND_STRING, OFF(dynamodb_endpoint), 0, 0 },
    { "DYNAMODB_REGION", "us-east-1", "AWS region", KIND_STRING, OFF(dynamodb_region), 0, 0 },
    { "DYNAMODB_TABLE", "chat-messages", "DynamoDB table", KIND_STRING, OFF(dynamodb_table),
      0, 0 },
    { "AWS_ACCESS_KEY_ID", "", "AWS access key", KIND_STRING, OFF(aws_access_key_id), 0, 0 },
    { "AWS_SECRET_ACCESS_KEY", "", "AWS secret key", KIND_STRING, OFF(aws_secret_access_key),
      0, 0 },
    { "AWS_SESSION_TOKEN", "", "AWS session token (temporary credentials)", KIND_STRING,
      OFF(aws_session_token), 0, 0 },
    { "ANALYTICS_SHM", "$RUN_DIR/analytics.shm", "analytics shared-memory segment",
      KIND_PATH, OFF(analytics_shm), 0, 0 },
    { "ANALYTICS_MAX_USERS", "4096", "connections listed in the analytics segment",
      KIND_INT, OFF(analytics_max_users), 1, 1048576 },
    { "ANALYTICS_MAX_ROOMS", "1024", "rooms listed in the analytics segment",
      KIND_INT, OFF(analytics_max_rooms), 1, 1048576 },
    { "ANALYTICS_PUBLIC_USERS", "true", "whether /api/analytics lists user names",
      KIND_BOOL, OFF(analytics_public_users), 0, 0 },
    { "RESTAPI_LISTEN", "",
      "REST app socket: a path, host:port or :port; empty = stdin under mod_fcgid, "
      "else $RUN_DIR/restapi.sock", KIND_LISTEN, OFF(restapi_listen), 0, 0 },
    { "RESTAPI_THREADS", "8", "REST app threads", KIND_INT, OFF(restapi_threads), 1, 256 },
};

#define N_VARS (sizeof(config_vars) / sizeof(config_vars[0]))

/* ---- the EnvironmentFile parser ------------------------------------------------------- */

typedef enum {
    ST_PRE_KEY, ST_KEY, ST_PRE_VALUE, ST_VALUE, ST_VALUE_ESCAPE, ST_SINGLE, ST_DOUBLE,
    ST_DOUBLE_ESCAPE, ST_COMMENT, ST_COMMENT_ESCAPE
} parse_state_e;

typedef struct {
    apr_table_t *table;
    apr_pool_t *pool;
    char *key;            /* the key being read: key[0..klen) */
    apr_size_t klen;
    char *val;            /* the value being read */
    apr_size_t vlen;
    apr_size_t vlen_trim; /* vlen without trailing unquoted whitespace */
    unsigned line;        /* line of the current key */
    int have_key;
} env_parser_t;

static int is_key_char(char c, int first)
{
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (!first && c >= '0' && c <= '9');
}

static void add_value_char(env_parser_t *p, char c, int quoted)
{
    p->val[p->vlen++] = c;
    if (quoted || (c != ' ' && c != '\t')) {
        p->vlen_trim = p->vlen;
    }
}

/* Ends a KEY: checks the name and drops an "export " prefix. */
static apr_status_t finish_key(env_parser_t *p, char **err)
{
    char *k = p->key;
    apr_size_t n = p->klen;

    while (n > 0 && (k[n - 1] == ' ' || k[n - 1] == '\t')) {
        n--;
    }
    if (n > 7 && strncmp(k, "export", 6) == 0 && (k[6] == ' ' || k[6] == '\t')) {
        k += 7;
        n -= 7;
        while (n > 0 && (*k == ' ' || *k == '\t')) {
            k++, n--;
        }
    }
    for (apr_size_t i = 0; i < n; i++) {
        if (!is_key_char(k[i], i == 0)) {
            n = 0;
            break;
        }
    }
    if (n == 0) {
        *err = apr_psprintf(p->pool, "line %u: invalid variable name \"%.*s\"", p->line,
                            (int)p->klen, p->key);
        return CHAT_ECONFIG;
    }
    p->key = k;
    p->klen = n;
    p->have_key = 1;
    p->vlen = p->vlen_trim = 0;
    return APR_SUCCESS;
}

static void store_value(env_parser_t *p)
{
    apr_table_setn(p->table, apr_pstrmemdup(p->pool, p->key, p->klen),
                   apr_pstrmemdup(p->pool, p->val, p->vlen_trim));
    p->have_key = 0;
}

/* One character c at line *line. Returns CHAT_ECONFIG with *err on a syntax error. */
static apr_status_t parse_char(env_parser_t *p, parse_state_e *st, const char *at, char c,
                               unsigned *line, char **err)
{
    switch (*st) {
    case ST_PRE_KEY:
        if (c == '#' || c == ';') {
            *st = ST_COMMENT;
        }
        else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            p->key = (char *)at;
            p->klen = 1;
            p->line = *line;
            *st = ST_KEY;
            if (c == '=') {
                p->klen = 0;
                *st = ST_PRE_VALUE;
                return finish_key(p, err);   /* "=value": no name */
            }
        }
        return APR_SUCCESS;
    case ST_KEY:
        if (c == '\n') {
            *err = apr_psprintf(p->pool, "line %u: expected KEY=value", p->line);
            return CHAT_ECONFIG;
        }
        if (c == '=') {
            *st = ST_PRE_VALUE;
            return finish_key(p, err);
        }
        p->klen++;
        return APR_SUCCESS;
    case ST_PRE_VALUE:
        if (c == '\n') {
            store_value(p);
            *st = ST_PRE_KEY;
        }
        else if (c == '\'') {
            *st = ST_SINGLE;
        }
        else if (c == '"') {
            *st = ST_DOUBLE;
        }
        else if (c == '\\') {
            *st = ST_VALUE_ESCAPE;
        }
        else if (c != ' ' && c != '\t') {
            add_value_char(p, c, 0);
            *st = ST_VALUE;
        }
        return APR_SUCCESS;
    case ST_VALUE:
        if (c == '\n') {
            store_value(p);
            *st = ST_PRE_KEY;
        }
        else if (c == '\\') {
            *st = ST_VALUE_ESCAPE;
        }
        else {
            add_value_char(p, c, 0);
        }
        return APR_SUCCESS;
    case ST_VALUE_ESCAPE:
        *st = ST_VALUE;
        if (c != '\n') {
            add_value_char(p, c, 1);   /* an escaped character is kept even if blank */
        }
        return APR_SUCCESS;
    case ST_SINGLE:
        if (c == '\'') {
            *st = ST_PRE_VALUE;
        }
        else {
            add_value_char(p, c, 1);
        }
        return APR_SUCCESS;
    case ST_DOUBLE:
        if (c == '"') {
            *st = ST_PRE_VALUE;
        }
        else if (c == '\\') {
            *st = ST_DOUBLE_ESCAPE;
        }
        else {
            add_value_char(p, c, 1);
        }
        return APR_SUCCESS;
    case ST_DOUBLE_ESCAPE:
        *st = ST_DOUBLE;
        if (c == '\n') {
            return APR_SUCCESS;   /* line continuation */
        }
        if (strchr("\"\\`$", c) == NULL) {
            add_value_char(p, '\\', 1);   /* systemd keeps unknown escapes verbatim */
        }
        add_value_char(p, c, 1);
        return APR_SUCCESS;
    case ST_COMMENT:
        if (c == '\\') {
            *st = ST_COMMENT_ESCAPE;
        }
        else if (c == '\n') {
            *st = ST_PRE_KEY;
        }
        return APR_SUCCESS;
    case ST_COMMENT_ESCAPE:
        *st = ST_COMMENT;
        return APR_SUCCESS;
    }
    return APR_SUCCESS;
}

apr_status_t chat_config_parse_buffer(const char *buf, apr_size_t len, apr_table_t *table,
                                      char **err, apr_pool_t *pool)
{
    env_parser_t p = { table, pool, NULL, 0, NULL, 0, 0, 0, 0 };
    parse_state_e st = ST_PRE_KEY;
    unsigned line = 1;
    apr_status_t rv = APR_SUCCESS;

    p.val = apr_palloc(pool, len + 1);   /* a value is never longer than the input */
    for (apr_size_t i = 0; i < len && rv == APR_SUCCESS; i++) {
        char c = buf[i];

        if (c == '\0') {
            *err = apr_psprintf(pool, "line %u: NUL byte", line);
            return CHAT_ECONFIG;
        }
        if (c == '\r' && i + 1 < len && buf[i + 1] == '\n') {
            continue;   /* CRLF files read like LF files */
        }
        rv = parse_char(&p, &st, buf + i, c, &line, err);
        if (c == '\n') {
            line++;
        }
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* End of input ends the last line. */
    switch (st) {
    case ST_SINGLE:
    case ST_DOUBLE:
    case ST_DOUBLE_ESCAPE:
        *err = apr_psprintf(pool, "line %u: unterminated quote", p.line);
        return CHAT_ECONFIG;
    case ST_KEY:
        *err = apr_psprintf(pool, "line %u: expected KEY=value", p.line);
        return CHAT_ECONFIG;
    default:
        break;
    }
    if (p.have_key) {
        store_value(&p);
    }
    return APR_SUCCESS;
}

static apr_status_t read_file(const char *file, apr_table_t *table, char **err,
                              apr_pool_t *pool)
{
    apr_file_t *fp = NULL;
    apr_finfo_t fi;
    apr_size_t got = 0;
    char *buf;
    char ebuf[128];
    apr_status_t rv;

    rv = apr_file_open(&fp, file, APR_FOPEN_READ, APR_OS_DEFAULT, pool);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE, fp);
    }
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(pool, "%s: %s", file, apr_strerror(rv, ebuf, sizeof(ebuf)));
        goto done;
    }
    if (fi.size > CONFIG_MAX_FILE) {
        *err = apr_psprintf(pool, "%s: larger than %d bytes", file, CONFIG_MAX_FILE);
        rv = CHAT_ECONFIG;
        goto done;
    }
    buf = apr_palloc(pool, (apr_size_t)fi.size + 1);
    rv = apr_file_read_full(fp, buf, (apr_size_t)fi.size, &got);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        *err = apr_psprintf(pool, "%s: %s", file, apr_strerror(rv, ebuf, sizeof(ebuf)));
        goto done;
    }
    rv = chat_config_parse_buffer(buf, got, table, err, pool);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(pool, "%s: %s", file, *err);
    }
done:
    if (fp != NULL) {
        apr_file_close(fp);
    }
    return rv == APR_SUCCESS ? APR_SUCCESS : CHAT_ECONFIG;
}

/* ---- values --------------------------------------------------------------------------- */

static apr_status_t bad_value(char **err, apr_pool_t *pool, const config_var_t *v,
                              const char *why, const char *value)
{
    *err = apr_psprintf(pool, "%s: %s: \"%s\"", v->name, why, value);
    return CHAT_ECONFIG;
}

static apr_status_t parse_int(const config_var_t *v, const char *s, int *out, char **err,
                              apr_pool_t *pool)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(s, &end, 10);
    if (end == s || *end != '\0' || isspace((unsigned char)*s)) {
        return bad_value(err, pool, v, "not a number", s);
    }
    if (errno == ERANGE || (double)n < v->min || (double)n > v->max) {
        return bad_value(err, pool, v, apr_psprintf(pool, "must be between %.0f and %.0f",
                                                    v->min, v->max), s);
    }
    *out = (int)n;
    return APR_SUCCESS;
}

static apr_status_t parse_double(const config_var_t *v, const char *s, double *out,
                                 char **err, apr_pool_t *pool)
{
    char *end;
    double d;

    /* Plain decimals only: strtod would also take "inf", "nan" and hex. */
    if (s[0] == '\0' || s[strspn(s, "0123456789+-.eE")] != '\0') {
        return bad_value(err, pool, v, "not a number", s);
    }
    errno = 0;
    d = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(d)) {
        return bad_value(err, pool, v, "not a number", s);
    }
    if (d < v->min || d > v->max) {
        return bad_value(err, pool, v, apr_psprintf(pool, "must be between %g and %g",
                                                    v->min, v->max), s);
    }
    *out = d;
    return APR_SUCCESS;
}

static apr_status_t parse_bool(const config_var_t *v, const char *s, int *out, char **err,
                               apr_pool_t *pool)
{
    static const char *const yes[] = { "true", "1", "yes", "on" };
    static const char *const no[] = { "false", "0", "no", "off" };

    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return APR_SUCCESS;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return APR_SUCCESS;
        }
    }
    return bad_value(err, pool, v, "not a boolean (true/false/1/0/yes/no/on/off)", s);
}

/* Splits a comma-separated list into trimmed, non-empty items. */
static apr_array_header_t *split_list(const char *s, apr_pool_t *pool)
{
    apr_array_header_t *items = apr_array_make(pool, 4, sizeof(const char *));
    char *copy = apr_pstrdup(pool, s);
    char *state = NULL;

    for (char *tok = apr_strtok(copy, ",", &state); tok != NULL;
         tok = apr_strtok(NULL, ",", &state)) {
        char *end;

        while (*tok == ' ' || *tok == '\t') {
            tok++;
        }
        end = tok + strlen(tok);
        while (end > tok && (end[-1] == ' ' || end[-1] == '\t')) {
            *--end = '\0';
        }
        if (*tok != '\0') {
            APR_ARRAY_PUSH(items, const char *) = tok;
        }
    }
    return items;
}

static apr_status_t parse_origins(chat_config_t *cfg, const config_var_t *v, const char *s,
                                  char **err, apr_pool_t *pool)
{
    apr_array_header_t *items = split_list(s, pool);

    if (items->nelts == 0) {
        return bad_value(err, pool, v, "must be * or a comma-separated list of origins", s);
    }
    cfg->allowed_origins = apr_array_make(pool, items->nelts, sizeof(const char *));
    cfg->allow_all_origins = 0;
    for (int i = 0; i < items->nelts; i++) {
        char *o = apr_pstrdup(pool, APR_ARRAY_IDX(items, i, const char *));
        apr_size_t n = strlen(o);

        if (strcmp(o, "*") == 0) {
            cfg->allow_all_origins = 1;
            continue;
        }
        if (n > 1 && o[n - 1] == '/') {
            o[n - 1] = '\0';   /* browsers never send the slash; a listed one would never match */
        }
        if (strcmp(o, "null") != 0 && strstr(o, "://") == NULL) {
            return bad_value(err, pool, v, "an origin must look like scheme://host[:port]", o);
        }
        for (char *c = o; *c != '\0'; c++) {
            *c = (char)tolower((unsigned char)*c);
        }
        APR_ARRAY_PUSH(cfg->allowed_origins, const char *) = o;
    }
    return APR_SUCCESS;
}

/* 1 if s is "ip" or "ip/prefix" with a whole IPv4 or IPv6 address. */
static int is_ip_or_cidr(const char *s, apr_pool_t *pool)
{
    char *addr = apr_pstrdup(pool, s);
    char *slash = strchr(addr, '/');
    unsigned char bin[16];
    long max;

    if (slash != NULL) {
        *slash++ = '\0';
    }
    if (inet_pton(AF_INET, addr, bin) == 1) {
        max = 32;
    }
    else if (inet_pton(AF_INET6, addr, bin) == 1) {
        max = 128;
    }
    else {
        return 0;
    }
    if (slash != NULL) {
        char *end;
        long bits;

        errno = 0;
        bits = strtol(slash, &end, 10);
        if (end == slash || *end != '\0' || !isdigit((unsigned char)*slash) || bits > max) {
            return 0;
        }
    }
    return 1;
}

static apr_status_t parse_proxies(chat_config_t *cfg, const config_var_t *v, const char *s,
                                  char **err, apr_pool_t *pool)
{
    apr_array_header_t *items = split_list(s, pool);

    for (int i = 0; i < items->nelts; i++) {
        const char *item = APR_ARRAY_IDX(items, i, const char *);

        if (!is_ip_or_cidr(item, pool)) {
            return bad_value(err, pool, v, "not an IP address or CIDR", item);
        }
    }
    cfg->trusted_proxies = items;
    return APR_SUCCESS;
}

apr_status_t chat_config_parse_listen(const char *s, char **host, int *port, int *is_unix,
                                      apr_pool_t *pool)
{
    const char *colon;
    const char *port_s;
    char *end;
    long n;

    if (s == NULL || *s == '\0') {
        return CHAT_ECONFIG;
    }
    if (strchr(s, '/') != NULL) {
        *host = apr_pstrdup(pool, s);
        *port = 0;
        *is_unix = 1;
        return APR_SUCCESS;
    }
    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (close == NULL || close[1] != ':' || close == s + 1) {
            return CHAT_ECONFIG;
        }
        colon = close + 1;
    }
    else {
        colon = strchr(s, ':');
        if (colon == NULL || strchr(colon + 1, ':') != NULL) {
            return CHAT_ECONFIG;   /* no port, or an IPv6 address without brackets */
        }
    }
    port_s = colon + 1;
    if (!isdigit((unsigned char)*port_s)) {
        return CHAT_ECONFIG;
    }
    errno = 0;
    n = strtol(port_s, &end, 10);
    if (*end != '\0' || errno == ERANGE || n < 1 || n > 65535) {
        return CHAT_ECONFIG;
    }
    if (s[0] == '[') {
        *host = apr_pstrmemdup(pool, s + 1, (apr_size_t)(colon - s - 2));
    }
    else {
        *host = colon == s ? NULL : apr_pstrmemdup(pool, s, (apr_size_t)(colon - s));
    }
    *port = (int)n;
    *is_unix = 0;
    return APR_SUCCESS;
}

/* Expands a leading $DATA_DIR or $RUN_DIR of a default path. */
static const char *expand_default(const chat_config_t *cfg, const char *def, apr_pool_t *pool)
{
    if (strncmp(def, "$DATA_DIR", 9) == 0) {
        return apr_pstrcat(pool, cfg->data_dir, def + 9, NULL);
    }
    if (strncmp(def, "$RUN_DIR", 8) == 0) {
        return apr_pstrcat(pool, cfg->run_dir, def + 8, NULL);
    }
    return def;
}

static apr_status_t set_var(chat_config_t *cfg, const config_var_t *v, const char *value,
                            char **err, apr_pool_t *pool)
{
    char *base = (char *)cfg;
    chat_log_level_e level;
    char *host;
    int port, is_unix;

    switch (v->kind) {
    case KIND_INT:
        return parse_int(v, value, (int *)(base + v->offset), err, pool);
    case KIND_DOUBLE:
        return parse_double(v, value, (double *)(base + v->offset), err, pool);
    case KIND_BOOL:
        return parse_bool(v, value, (int *)(base + v->offset), err, pool);
    case KIND_ORIGINS:
        return parse_origins(cfg, v, value, err, pool);
    case KIND_PROXIES:
        return parse_proxies(cfg, v, value, err, pool);
    case KIND_STORAGE:
        for (int s = CHAT_STORAGE_SQLITE; s <= CHAT_STORAGE_NONE; s++) {
            if (strcmp(value, chat_config_storage_name((chat_storage_e)s)) == 0) {
                cfg->storage = (chat_storage_e)s;
                return APR_SUCCESS;
            }
        }
        return bad_value(err, pool, v, "must be sqlite, dynamodb or none", value);
    case KIND_LOOP:
        for (int l = CHAT_EVENT_LOOP_POLL; l <= CHAT_EVENT_LOOP_LIBEV; l++) {
            if (strcmp(value, chat_config_event_loop_name((chat_event_loop_e)l)) == 0) {
                cfg->event_loop = (chat_event_loop_e)l;
                return APR_SUCCESS;
            }
        }
        return bad_value(err, pool, v, "must be poll or libev", value);
    case KIND_LEVEL:
        if (chat_log_level_parse(value, &level) != APR_SUCCESS) {
            return bad_value(err, pool, v, "must be debug, info, warn or error", value);
        }
        break;
    case KIND_LISTEN:
        /* Empty only where the default is (RESTAPI_LISTEN): an empty RELAY_LISTEN would pass
         * here and fail only when the relay binds (found by fuzz/fuzz_config). */
        if ((*value != '\0' || v->def[0] != '\0')
            && chat_config_parse_listen(value, &host, &port, &is_unix, pool) != APR_SUCCESS) {
            return bad_value(err, pool, v, "not host:port, [v6]:port, :port or a path", value);
        }
        break;
    case KIND_PATH:
        value = expand_default(cfg, value, pool);
        break;
    case KIND_STRING:
        break;
    }
    *(const char **)(base + v->offset) = apr_pstrdup(pool, value);
    return APR_SUCCESS;
}

/* 1 if s has min..max characters, all from allowed. */
static int is_made_of(const char *s, const char *allowed, apr_size_t min, apr_size_t max)
{
    apr_size_t n = strlen(s);

    return n >= min && n <= max && s[strspn(s, allowed)] == '\0';
}

#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* The DynamoDB settings end up in a host name, a SigV4 scope and request bodies, so they are
 * held to what AWS allows. */
static apr_status_t check_dynamodb(const chat_config_t *cfg, char **err, apr_pool_t *pool)
{
    const char *ep = cfg->dynamodb_endpoint;

    if (*ep != '\0' && strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0) {
        *err = apr_psprintf(pool, "DYNAMODB_ENDPOINT: must be an http:// or https:// URL: \"%s\"",
                            ep);
        return CHAT_ECONFIG;
    }
    if (!is_made_of(cfg->dynamodb_region, LOWER_DIGITS "-", 1, 32)) {
        *err = apr_psprintf(pool, "DYNAMODB_REGION: must be an AWS region name: \"%s\"",
                            cfg->dynamodb_region);
        return CHAT_ECONFIG;
    }
    if (!is_made_of(cfg->dynamodb_table, LOWER_DIGITS UPPER "_.-", 3, 255)) {
        *err = apr_psprintf(pool, "DYNAMODB_TABLE: must be 3-255 of A-Z a-z 0-9 _ . -: \"%s\"",
                            cfg->dynamodb_table);
        return CHAT_ECONFIG;
    }
    return APR_SUCCESS;
}

/* Checks that need more than one variable. */
static apr_status_t check_together(const chat_config_t *cfg, char **err, apr_pool_t *pool)
{
    if (cfg->history_replay > cfg->room_ring_size) {
        *err = apr_psprintf(pool, "HISTORY_REPLAY: must not exceed ROOM_RING_SIZE (%d): \"%d\"",
                            cfg->room_ring_size, cfg->history_replay);
        return CHAT_ECONFIG;
    }
    if ((*cfg->relay_tls_cert == '\0') != (*cfg->relay_tls_key == '\0')) {
        *err = apr_pstrdup(pool, *cfg->relay_tls_cert == '\0'
                                     ? "RELAY_TLS_CERT: required when RELAY_TLS_KEY is set"
                                     : "RELAY_TLS_KEY: required when RELAY_TLS_CERT is set");
        return CHAT_ECONFIG;
    }
    return check_dynamodb(cfg, err, pool);
}

/* Copies envp's KEY=value entries into a table. */
static apr_table_t *env_table(const char *const *envp, apr_pool_t *pool)
{
    apr_table_t *t = apr_table_make(pool, 64);

    for (const char *const *e = envp; e != NULL && *e != NULL; e++) {
        const char *eq = strchr(*e, '=');

        if (eq != NULL && eq != *e) {
            apr_table_setn(t, apr_pstrmemdup(pool, *e, (apr_size_t)(eq - *e)), eq + 1);
        }
    }
    return t;
}

apr_status_t chat_config_load(chat_config_t **out, const char *file, const char *const *envp,
                              char **err, apr_pool_t *pool)
{
    chat_config_t *cfg = apr_pcalloc(pool, sizeof(*cfg));
    apr_table_t *env = env_table(envp, pool);
    apr_status_t rv;

    cfg->raw = apr_table_make(pool, 32);
    if (file != NULL) {
        rv = read_file(file, cfg->raw, err, pool);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    /* In table order, so DATA_DIR and RUN_DIR are set before the paths that default below
     * them; the real environment overrides the file. */
    for (apr_size_t i = 0; i < N_VARS; i++) {
        const config_var_t *v = &config_vars[i];
        const char *value = apr_table_get(env, v->name);

        if (value != NULL) {
            apr_table_set(cfg->raw, v->name, value);
        }
        else {
            value = apr_table_get(cfg->raw, v->name);
        }
        rv = set_var(cfg, v, value != NULL ? value : v->def, err, pool);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    rv = check_together(cfg, err, pool);
    if (rv == APR_SUCCESS) {
        *out = cfg;
    }
    return rv;
}

/* 1 if v's value differs between a and b. */
static int var_differs(const config_var_t *v, const chat_config_t *a, const chat_config_t *b)
{
    const char *pa = (const char *)a + v->offset, *pb = (const char *)b + v->offset;

    switch (v->kind) {
    case KIND_INT:
    case KIND_BOOL:
        return *(const int *)pa != *(const int *)pb;
    case KIND_DOUBLE:
        return *(const double *)pa != *(const double *)pb;
    case KIND_STORAGE:
        return a->storage != b->storage;
    case KIND_LOOP:
        return a->event_loop != b->event_loop;
    case KIND_ORIGINS:
    case KIND_PROXIES: {
        const char *ra = apr_table_get(a->raw, v->name), *rb = apr_table_get(b->raw, v->name);

        return strcmp(ra != NULL ? ra : v->def, rb != NULL ? rb : v->def) != 0;
    }
    default:
        return strcmp(*(const char *const *)pa, *(const char *const *)pb) != 0;
    }
}

static void var_copy(const config_var_t *v, chat_config_t *to, const chat_config_t *from)
{
    const char *raw = apr_table_get(from->raw, v->name);

    switch (v->kind) {
    case KIND_STORAGE:
        to->storage = from->storage;
        break;
    case KIND_LOOP:
        to->event_loop = from->event_loop;
        break;
    case KIND_ORIGINS:
        to->allow_all_origins = from->allow_all_origins;
        to->allowed_origins = from->allowed_origins;
        break;
    case KIND_PROXIES:
        to->trusted_proxies = from->trusted_proxies;
        break;
    case KIND_INT:
    case KIND_BOOL:
        *(int *)((char *)to + v->offset) = *(const int *)((const char *)from + v->offset);
        break;
    case KIND_DOUBLE:
        *(double *)((char *)to + v->offset) = *(const double *)((const char *)from + v->offset);
        break;
    default:
        *(const char **)((char *)to + v->offset) =
            *(const char *const *)((const char *)from + v->offset);
        break;
    }
    if (raw != NULL) {
        apr_table_set(to->raw, v->name, raw);
    }
    else {
        apr_table_unset(to->raw, v->name);
    }
}

const char *chat_config_carry(chat_config_t *next, const chat_config_t *running,
                              const char *const *names, apr_pool_t *pool)
{
    const char *changed = NULL;

    for (const char *const *n = names; *n != NULL; n++) {
        for (apr_size_t i = 0; i < N_VARS; i++) {
            const config_var_t *v = &config_vars[i];

            if (strcmp(v->name, *n) != 0) {
                continue;
            }
            if (var_differs(v, next, running)) {
                changed = changed == NULL ? v->name : apr_pstrcat(pool, changed, ",", v->name,
                                                                  NULL);
            }
            var_copy(v, next, running);
        }
    }
    return changed;
}

int chat_config_is_origin_allowed(const chat_config_t *cfg, const char *origin)
{
    if (cfg->allow_all_origins) {
        return 1;
    }
    if (origin == NULL || *origin == '\0') {
        origin = "null";   /* a missing origin passes only where "null" is listed */
    }
    for (int i = 0; cfg->allowed_origins != NULL && i < cfg->allowed_origins->nelts; i++) {
        if (strcasecmp(origin, APR_ARRAY_IDX(cfg->allowed_origins, i, const char *)) == 0) {
            return 1;
        }
    }
    return 0;
}

const char *chat_config_storage_name(chat_storage_e s)
{
    switch (s) {
    case CHAT_STORAGE_SQLITE:
        return "sqlite";
    case CHAT_STORAGE_DYNAMODB:
        return "dynamodb";
    default:
        return "none";
    }
}

const char *chat_config_event_loop_name(chat_event_loop_e loop)
{
    return loop == CHAT_EVENT_LOOP_LIBEV ? "libev" : "poll";
}

void chat_config_print_help(FILE *out)
{
    fputs("Configuration (environment variables, or KEY=value lines in the --config file;\n"
          "the environment wins):\n", out);
    for (apr_size_t i = 0; i < N_VARS; i++) {
        const config_var_t *v = &config_vars[i];

        fprintf(out, "  %-26s %s\n", v->name, v->help);
        if (v->def[0] != '\0') {
            fprintf(out, "  %-26s (default: %s)\n", "", v->def);
        }
    }
}
