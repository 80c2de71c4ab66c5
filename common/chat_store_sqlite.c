/* chat_store_sqlite.c: the embedded SQLite backend, through APR-util's apr_dbd "sqlite3" driver.
 *
 * Owns one apr_dbd connection per handle, opened lazily on the first call (chat_store_open
 * touches nothing), and dropped after any failure so the next call reconnects: a store whose
 * directory appears later, or whose disk filled and emptied, comes back by itself.
 *
 * Design:
 *  - WAL and a busy timeout, because the relay's workers write while chat-restapi reads the
 *    same file from another process (WAL readers never block the writer); synchronous=FULL
 *    because a successful save lets the relay drop its journal. Reads wait patiently for a
 *    lock (busy timeout 1 s, retried); saves wait 50 ms per driver try and are not retried
 *    here, so a database another process holds locked fails a save within seconds and the
 *    relay's journal and backoff take over (and its /health says so) instead of one save
 *    waiting out the lock.
 *  - Data goes through prepared statements only (apr_dbd_prepare + apr_dbd_pb*); the only SQL
 *    built at run time is the multi-row INSERT, whose text depends on the row count alone.
 *  - A batch is written as INSERT OR IGNORE statements of up to SQ_ROWS rows each; a batch of
 *    more than one statement runs inside one BEGIN IMMEDIATE..COMMIT, so it costs one commit
 *    (one WAL fsync) and, more importantly, writes each index page it touches once: with
 *    messages spread over many rooms every row lands on another leaf of the room indexes, and
 *    a transaction of a few rows rewrites a page per row and index into the WAL (about 20k
 *    rows/s here), one of 10,000 rows about 90k rows/s (docs/PERFORMANCE.md, S5). A failed
 *    statement or COMMIT drops the connection, which rolls the transaction back, and because
 *    writes are idempotent the caller simply retries the batch whole.
 *  - Saves of one process take turns (sq_write_lock). apr_dbd serialises every driver call of
 *    a process under one mutex, and the driver sleeps out SQLITE_BUSY while holding it: a
 *    second in-process writer meeting our open transaction would wait in the busy handler with
 *    that mutex held, and the transaction could not reach its COMMIT. Reads take no turn (WAL
 *    readers never wait for the writer). Writing handles get a large page cache (the room
 *    indexes' hot leaves) and checkpoint less often; readers keep SQLite's defaults.
 *  - Timestamps are stored as epoch microseconds (lossless for chat_msg_t), type as its name.
 *
 * Thread: a handle belongs to the thread that opened it. Nothing here logs; failures leave the
 * driver's text in chat_store_last_error. */
#include "chat_store_private.h"

#include <apr_dbd.h>
#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <pthread.h>
#include <string.h>

#include "chat_id.h"

#define SQ_ROWS          100     /* rows per INSERT statement (8 parameters each) */
#define SQ_BUSY_MS       1000    /* reads; the driver retries BUSY another 15 x 100 ms on top */
#define SQ_BUSY_ATTEMPTS 3       /* our own attempts of a read answered BUSY/LOCKED */
/* Writes fail fast: the driver's 16 tries of (SQ_WRITE_BUSY_MS + its 100 ms sleep) are about
 * 2.4 s, after which the caller (the relay, whose journal holds the batch) backs off and
 * retries, and reports the store down meanwhile. With the read settings a database held
 * locked by another process kept each save waiting about 50 s, holding apr_dbd's
 * process-wide mutex for a second at a time. */
#define SQ_WRITE_BUSY_MS 50
/* SQLite result codes we tell apart (sqlite3.h is not one of our build dependencies). */
#define SQ_RC_BUSY       5
#define SQ_RC_LOCKED     6
/* Page cache of a handle that writes, KiB: the leaves the room and user indexes are written
 * at (a few thousand pages for a thousand busy rooms) plus their parents. Readers keep the
 * default (2 MiB). */
#define SQ_WRITE_CACHE_KIB 65536
/* WAL pages a writing handle lets accumulate before its commit checkpoints them into the
 * database (SQLite's default is 1000, less than one large transaction here): a hot index leaf
 * written by many transactions is then copied once per checkpoint, not once per transaction.
 * Costs up to 64 MiB of WAL file; 1.2-1.5x the rows/s of the default (docs/PERFORMANCE.md). */
#define SQ_WRITE_CHECKPOINT_PAGES 16384

#define SQ_COLUMNS "message_id, room_id, type, user_id, username, content, ts, seq"

/* Constant text, so these go through apr_dbd_select/apr_dbd_query; data never does. The
 * pragmas answer a row, which apr_dbd_query would report as an error. */
#define SQ_PRAGMA_READ_BUSY ("PRAGMA busy_timeout = " APR_STRINGIFY(SQ_BUSY_MS))
#define SQ_PRAGMA_WRITE_BUSY ("PRAGMA busy_timeout = " APR_STRINGIFY(SQ_WRITE_BUSY_MS))
#define SQ_PRAGMA_WRITE_CACHE ("PRAGMA cache_size = -" APR_STRINGIFY(SQ_WRITE_CACHE_KIB))
#define SQ_PRAGMA_WRITE_CHECKPOINT \
    ("PRAGMA wal_autocheckpoint = " APR_STRINGIFY(SQ_WRITE_CHECKPOINT_PAGES))
static const char *const sq_pragmas[] = {
    SQ_PRAGMA_READ_BUSY,
    "PRAGMA journal_mode = WAL",
    /* FULL, not NORMAL: the relay deletes its journal once a save returns, so a committed
     * batch must survive power loss too; in WAL mode FULL costs one fsync per commit (per
     * statement for a small save, per transaction for a large one). */
    "PRAGMA synchronous = FULL",
};
static const char *const sq_schema[] = {
    "CREATE TABLE IF NOT EXISTS messages ("
    " message_id TEXT PRIMARY KEY NOT NULL,"
    " room_id TEXT NOT NULL,"
    " type TEXT NOT NULL,"
    " user_id TEXT NOT NULL,"
    " username TEXT NOT NULL,"
    " content TEXT NOT NULL,"
    " ts INTEGER NOT NULL,"             /* epoch microseconds */
    " seq INTEGER NOT NULL DEFAULT 0)", /* per-room sequence; 0 = none */
    "CREATE INDEX IF NOT EXISTS messages_room_id ON messages (room_id, message_id)",
    "CREATE INDEX IF NOT EXISTS messages_user_ts ON messages (user_id, ts, message_id)",
    "CREATE INDEX IF NOT EXISTS messages_room_seq ON messages (room_id, seq)",
};

/* The statements, by index into sq_sql[]. */
enum {
    SQ_PING = 0,
    SQ_ROOM_NEWEST,
    SQ_ROOM_BEFORE,
    SQ_ROOM_AFTER,
    SQ_ROOM_MAX_SEQ,
    SQ_USER_NEWEST,
    SQ_USER_BEFORE,
    SQ__COUNT
};

static const char *const sq_sql[SQ__COUNT] = {
    "SELECT 1",
    "SELECT " SQ_COLUMNS " FROM messages WHERE room_id = %s"
    " ORDER BY message_id DESC LIMIT %d",
    "SELECT " SQ_COLUMNS " FROM messages WHERE room_id = %s AND message_id < %s"
    " ORDER BY message_id DESC LIMIT %d",
    "SELECT " SQ_COLUMNS " FROM messages WHERE room_id = %s AND seq > %lld"
    " ORDER BY seq ASC LIMIT %d",
    "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE room_id = %s",
    "SELECT " SQ_COLUMNS " FROM messages WHERE user_id = %s"
    " ORDER BY ts DESC, message_id DESC LIMIT %d",
    /* The cursor's time comes from the stored row; for an id not (or no longer) stored, from
     * the millisecond in its UUIDv7 (the second parameter), so paging still moves on. */
    "SELECT " SQ_COLUMNS " FROM messages WHERE user_id = %s AND (ts, message_id) <"
    " (COALESCE((SELECT ts FROM messages WHERE message_id = %s), %lld), %s)"
    " ORDER BY ts DESC, message_id DESC LIMIT %d",
};

typedef struct sq_t {
    const apr_dbd_driver_t *driver;
    apr_pool_t *conn_pool;                      /* holds db and statements; NULL = closed */
    apr_dbd_t *db;
    apr_dbd_prepared_t *stmt[SQ__COUNT];
    apr_dbd_prepared_t *insert[SQ_ROWS + 1];    /* by row count, prepared on first use */
    int busy_ms;                                /* the connection's busy timeout now */
    int write_cache;                            /* the SQ_PRAGMA_WRITE_* ran on it */
} sq_t;

static apr_status_t close_db(void *data)
{
    sq_t *sq = data;

    if (sq->db != NULL) {
        apr_dbd_close(sq->driver, sq->db);
        sq->db = NULL;
    }
    return APR_SUCCESS;
}

/* Drops the connection (statements die with it); the next call reconnects. */
static void close_conn(sq_t *sq)
{
    if (sq->conn_pool != NULL) {
        apr_pool_destroy(sq->conn_pool);        /* runs close_db */
        sq->conn_pool = NULL;
    }
    memset(sq->stmt, 0, sizeof(sq->stmt));
    memset(sq->insert, 0, sizeof(sq->insert));
    sq->write_cache = 0;
}

/* Records the driver's text for rc and turns it into our status. */
static apr_status_t fail_db(chat_store_t *s, sq_t *sq, int rc, const char *what)
{
    const char *text = sq->db != NULL ? apr_dbd_error(sq->driver, sq->db, rc) : NULL;

    chat_store_error_set(s, "sqlite %s: %s (%d)", what, text != NULL ? text : "error", rc);
    close_conn(sq);
    return CHAT_ESTORE_UNAVAILABLE;
}

/* Allocates from pool, which is the connection's: a store retried while it stays unavailable
 * must not grow its handle's pool. */
static apr_status_t make_parent_dir(chat_store_t *s, const char *path, apr_pool_t *pool)
{
    char *dir = apr_pstrdup(pool, path);
    char *slash = strrchr(dir, '/');
    apr_status_t rv;
    char buf[128];

    if (slash == NULL || slash == dir) {
        return APR_SUCCESS;                     /* current directory or "/" */
    }
    *slash = '\0';
    rv = apr_dir_make_recursive(dir, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE
                                     | APR_FPROT_GREAD | APR_FPROT_GEXECUTE, pool);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EEXIST(rv)) {
        chat_store_error_set(s, "sqlite: cannot create directory %s: %s", dir,
                             apr_strerror(rv, buf, sizeof(buf)));
        return CHAT_ESTORE_UNAVAILABLE;
    }
    return APR_SUCCESS;
}

static apr_status_t prepare_all(chat_store_t *s, sq_t *sq)
{
    int rc;

    for (int i = 0; i < SQ__COUNT; i++) {
        rc = apr_dbd_prepare(sq->driver, sq->conn_pool, sq->db, sq_sql[i], NULL, &sq->stmt[i]);
        if (rc != 0) {
            return fail_db(s, sq, rc, "prepare");
        }
    }
    return APR_SUCCESS;
}

/* Opens the file, sets the pragmas, creates the schema if missing, prepares the statements. */
static apr_status_t open_db(chat_store_t *s, sq_t *sq)
{
    const char *path = s->cfg->sqlite_path;
    const char *err = NULL;
    apr_status_t rv;
    int nrows;
    int rc;

    if (sq->db != NULL) {
        return APR_SUCCESS;
    }
    if (path == NULL || path[0] == '\0') {
        chat_store_error_set(s, "sqlite: SQLITE_PATH is empty");
        return CHAT_ESTORE_UNAVAILABLE;
    }
    rv = apr_pool_create(&sq->conn_pool, s->pool);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = make_parent_dir(s, path, sq->conn_pool);
    if (rv != APR_SUCCESS) {
        close_conn(sq);
        return rv;
    }
    rv = apr_dbd_open_ex(sq->driver, sq->conn_pool, path, &sq->db, &err);
    if (rv != APR_SUCCESS) {
        sq->db = NULL;
        chat_store_error_set(s, "sqlite open %s: %s", path, err != NULL ? err : "failed");
        close_conn(sq);
        return CHAT_ESTORE_UNAVAILABLE;
    }
    apr_pool_cleanup_register(sq->conn_pool, sq, close_db, apr_pool_cleanup_null);
    for (apr_size_t i = 0; i < sizeof(sq_pragmas) / sizeof(sq_pragmas[0]); i++) {
        apr_dbd_results_t *res = NULL;

        rc = apr_dbd_select(sq->driver, sq->conn_pool, sq->db, &res, sq_pragmas[i], 0);
        if (rc != 0) {
            return fail_db(s, sq, rc, "pragma");
        }
    }
    sq->busy_ms = SQ_BUSY_MS;
    for (apr_size_t i = 0; i < sizeof(sq_schema) / sizeof(sq_schema[0]); i++) {
        rc = apr_dbd_query(sq->driver, sq->db, &nrows, sq_schema[i]);
        if (rc != 0) {
            return fail_db(s, sq, rc, "schema");
        }
    }
    return prepare_all(s, sq);
}

/* apr_dbd_init is "call once only" (apr_dbd.h), and every worker thread opens its own store,
 * several at the same moment in chat-restapi. APR's own re-entry guard spins on atomics inside
 * libaprutil that ThreadSanitizer cannot see, so TSan reported those opens as a race on
 * apr_dbd's mutex; pthread_once runs it exactly once and makes the others wait for it, like
 * curl_global_init's process-wide setup. These two statics are that one-time state. */
static pthread_once_t dbd_once = PTHREAD_ONCE_INIT;
static apr_status_t dbd_once_rv = APR_EINIT;

/* The turn every save of this process takes, for the whole of its transaction (see the
 * design notes at the top): process-wide like apr_dbd's own mutex, which is why it is a
 * static rather than part of a handle. Held on writer threads only, never by a reader. */
static pthread_mutex_t sq_write_lock = PTHREAD_MUTEX_INITIALIZER;

static void dbd_init_once(void)
{
    apr_pool_t *pool = NULL;

    /* apr_dbd_init registers its cleanup on the root of the pool it gets (the global pool),
     * so this pool only has to be a child of it; it lives until apr_terminate. */
    dbd_once_rv = apr_pool_create(&pool, NULL);
    if (dbd_once_rv == APR_SUCCESS) {
        dbd_once_rv = apr_dbd_init(pool);
    }
}

static apr_status_t sq_open(chat_store_t *s)
{
    sq_t *sq = apr_pcalloc(s->pool, sizeof(*sq));
    apr_status_t rv;

    rv = pthread_once(&dbd_once, dbd_init_once) == 0 ? dbd_once_rv : APR_EINIT;
    if (rv == APR_SUCCESS) {
        rv = apr_dbd_get_driver(s->pool, "sqlite3", &sq->driver);
    }
    if (rv != APR_SUCCESS) {
        chat_store_error_set(s, "apr_dbd sqlite3 driver not available "
                             "(Debian: libaprutil1-dbd-sqlite3)");
        return CHAT_ECONFIG;
    }
    s->impl = sq;
    return APR_SUCCESS;
}

static apr_status_t sq_ensure_schema(chat_store_t *s, apr_interval_time_t timeout)
{
    (void)timeout;                              /* local: creating the schema does not wait */
    return open_db(s, s->impl);
}

/* Switches the open connection's busy timeout between SQ_BUSY_MS (reads) and SQ_WRITE_BUSY_MS
 * (writes), and gives a connection its write-sized page cache the first time it writes. A
 * handle mostly does one or the other (relay writers save, the relay's reader and chat-restapi
 * read), so this rarely runs a statement. */
static apr_status_t set_busy(chat_store_t *s, sq_t *sq, int ms)
{
    apr_dbd_results_t *res = NULL;
    int rc;

    if (ms == SQ_WRITE_BUSY_MS && !sq->write_cache) {
        rc = apr_dbd_select(sq->driver, sq->conn_pool, sq->db, &res, SQ_PRAGMA_WRITE_CACHE, 0);
        if (rc == 0) {
            rc = apr_dbd_select(sq->driver, sq->conn_pool, sq->db, &res,
                                SQ_PRAGMA_WRITE_CHECKPOINT, 0);
        }
        if (rc != 0) {
            return fail_db(s, sq, rc, "pragma");
        }
        sq->write_cache = 1;
    }
    if (sq->busy_ms == ms) {
        return APR_SUCCESS;
    }
    rc = apr_dbd_select(sq->driver, sq->conn_pool, sq->db, &res,
                        ms == SQ_WRITE_BUSY_MS ? SQ_PRAGMA_WRITE_BUSY : SQ_PRAGMA_READ_BUSY, 0);
    if (rc != 0) {
        return fail_db(s, sq, rc, "pragma");
    }
    sq->busy_ms = ms;
    return APR_SUCCESS;
}

/* Runs a SELECT; *res is the buffered result (the sqlite3 driver reads every row up front). */
static apr_status_t run_select(chat_store_t *s, sq_t *sq, int which, const void **args,
                               apr_dbd_results_t **res, apr_pool_t *pool)
{
    apr_status_t rv = set_busy(s, sq, SQ_BUSY_MS);
    int rc = 0;

    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (int attempt = 0; attempt < SQ_BUSY_ATTEMPTS; attempt++) {
        *res = NULL;
        rc = apr_dbd_pbselect(sq->driver, pool, sq->db, res, sq->stmt[which], 0, args);
        if (rc != SQ_RC_BUSY && rc != SQ_RC_LOCKED) {
            break;
        }
    }
    return rc == 0 ? APR_SUCCESS : fail_db(s, sq, rc, "select");
}

static apr_status_t sq_health(chat_store_t *s)
{
    sq_t *sq = s->impl;
    apr_dbd_results_t *res;
    apr_pool_t *tmp = NULL;
    apr_status_t rv;

    rv = open_db(s, sq);
    if (rv == APR_SUCCESS) {
        rv = apr_pool_create(&tmp, s->pool);
    }
    if (rv == APR_SUCCESS) {
        rv = run_select(s, sq, SQ_PING, NULL, &res, tmp);
    }
    if (tmp != NULL) {
        apr_pool_destroy(tmp);
    }
    return rv;
}

/* "INSERT OR IGNORE ... VALUES (...),(...)" for rows rows; constant for a given count. */
static const char *insert_sql(int rows, apr_pool_t *pool)
{
    static const char head[] = "INSERT OR IGNORE INTO messages (" SQ_COLUMNS ") VALUES ";
    static const char row[] = "(%s,%s,%s,%s,%s,%s,%lld,%lld)";
    apr_size_t cap = sizeof(head) + (apr_size_t)rows * sizeof(row);
    char *sql = apr_palloc(pool, cap);
    char *p = sql;

    memcpy(p, head, sizeof(head) - 1);
    p += sizeof(head) - 1;
    for (int i = 0; i < rows; i++) {
        if (i > 0) {
            *p++ = ',';
        }
        memcpy(p, row, sizeof(row) - 1);
        p += sizeof(row) - 1;
    }
    *p = '\0';
    return sql;
}

static apr_status_t insert_rows(chat_store_t *s, sq_t *sq, const chat_msg_t *const *msgs,
                                int rows, apr_pool_t *scratch)
{
    const void **args = apr_palloc(scratch, sizeof(*args) * 8 * (apr_size_t)rows);
    apr_int64_t *nums = apr_palloc(scratch, sizeof(*nums) * 2 * (apr_size_t)rows);
    int nrows = 0;
    int rc = 0;

    if (sq->insert[rows] == NULL) {
        rc = apr_dbd_prepare(sq->driver, sq->conn_pool, sq->db, insert_sql(rows, scratch), NULL,
                             &sq->insert[rows]);
        if (rc != 0) {
            return fail_db(s, sq, rc, "prepare insert");
        }
    }
    for (int i = 0; i < rows; i++) {
        const chat_msg_t *m = msgs[i];
        const void **a = args + 8 * i;

        nums[2 * i] = m->timestamp;
        nums[2 * i + 1] = m->seq;
        a[0] = m->message_id;
        a[1] = m->room_id;
        a[2] = chat_msg_type_name(m->type);
        a[3] = m->user_id;
        a[4] = m->username != NULL ? m->username : "";
        a[5] = m->content != NULL ? m->content : "";
        a[6] = &nums[2 * i];
        a[7] = &nums[2 * i + 1];
    }
    /* One attempt: a batch that meets a lock fails fast and the caller retries it whole. */
    rc = apr_dbd_pbquery(sq->driver, scratch, sq->db, &nrows, sq->insert[rows], args);
    return rc == 0 ? APR_SUCCESS : fail_db(s, sq, rc, "insert");
}

/* BEGIN IMMEDIATE or COMMIT (constant text). A failure drops the connection, and with it
 * any transaction it had open. */
static apr_status_t run_txn(chat_store_t *s, sq_t *sq, const char *sql)
{
    int nrows = 0;
    int rc = apr_dbd_query(sq->driver, sq->db, &nrows, sql);

    return rc == 0 ? APR_SUCCESS : fail_db(s, sq, rc, sql[0] == 'B' ? "begin" : "commit");
}

static int is_storable(const chat_msg_t *m)
{
    return m != NULL && m->message_id != NULL && m->room_id != NULL && m->user_id != NULL;
}

static apr_status_t sq_save(chat_store_t *s, const chat_msg_t *const *msgs, int n,
                            apr_time_t deadline, apr_pool_t *scratch)
{
    sq_t *sq = s->impl;
    apr_status_t rv;

    (void)deadline;                             /* local writes do not wait for the network */
    for (int i = 0; i < n; i++) {
        if (!is_storable(msgs[i])) {
            return APR_EINVAL;
        }
    }
    pthread_mutex_lock(&sq_write_lock);
    rv = open_db(s, sq);
    if (rv == APR_SUCCESS) {
        rv = set_busy(s, sq, SQ_WRITE_BUSY_MS);
    }
    if (rv == APR_SUCCESS && n > SQ_ROWS) {
        rv = run_txn(s, sq, "BEGIN IMMEDIATE");
    }
    for (int done = 0; rv == APR_SUCCESS && done < n; done += SQ_ROWS) {
        int rows = n - done < SQ_ROWS ? n - done : SQ_ROWS;

        rv = insert_rows(s, sq, msgs + done, rows, scratch);
    }
    if (rv == APR_SUCCESS && n > SQ_ROWS) {
        rv = run_txn(s, sq, "COMMIT");          /* a failure drops the connection: rollback */
    }
    pthread_mutex_unlock(&sq_write_lock);
    return rv;
}

/* Turns one row (SQ_COLUMNS order) into a message allocated from pool. */
static apr_status_t take_row(sq_t *sq, apr_dbd_row_t *row, chat_msg_t **out, apr_pool_t *pool)
{
    chat_msg_t *m = apr_pcalloc(pool, sizeof(*m));
    const char *type = apr_dbd_get_entry(sq->driver, row, 2);

    m->message_id = apr_dbd_get_entry(sq->driver, row, 0);
    m->room_id = apr_dbd_get_entry(sq->driver, row, 1);
    m->user_id = apr_dbd_get_entry(sq->driver, row, 3);
    m->username = apr_dbd_get_entry(sq->driver, row, 4);
    m->content = apr_dbd_get_entry(sq->driver, row, 5);
    if (m->message_id == NULL || m->room_id == NULL || m->user_id == NULL || type == NULL
        || chat_msg_type_parse(type, &m->type) != APR_SUCCESS
        || apr_dbd_datum_get(sq->driver, row, 6, APR_DBD_TYPE_LONGLONG, &m->timestamp) != 0
        || apr_dbd_datum_get(sq->driver, row, 7, APR_DBD_TYPE_LONGLONG, &m->seq) != 0) {
        return CHAT_ECORRUPT;
    }
    if (m->username == NULL) {
        m->username = "";
    }
    if (m->content == NULL) {
        m->content = "";
    }
    *out = m;
    return APR_SUCCESS;
}

/* Collects the rows of res. newest_first rows are reversed into oldest-first order; a row
 * beyond limit only sets *has_more. */
static apr_status_t collect(chat_store_t *s, sq_t *sq, apr_dbd_results_t *res, int limit,
                            int newest_first, apr_array_header_t **out, int *has_more,
                            apr_pool_t *pool)
{
    apr_array_header_t *arr = apr_array_make(pool, limit, sizeof(chat_msg_t *));
    apr_dbd_row_t *row = NULL;
    chat_msg_t *m;
    int more = 0;

    while (apr_dbd_get_row(sq->driver, pool, res, &row, -1) == 0) {
        if (arr->nelts == limit) {
            more = 1;
            continue;                           /* drain: the driver buffers rows anyway */
        }
        if (take_row(sq, row, &m, pool) != APR_SUCCESS) {
            chat_store_error_set(s, "sqlite: a stored row does not decode");
            return CHAT_ECORRUPT;
        }
        APR_ARRAY_PUSH(arr, chat_msg_t *) = m;
    }
    if (newest_first) {
        chat_msg_t **e = (chat_msg_t **)arr->elts;

        for (int i = 0, j = arr->nelts - 1; i < j; i++, j--) {
            m = e[i];
            e[i] = e[j];
            e[j] = m;
        }
    }
    *out = arr;
    if (has_more != NULL) {
        *has_more = more;
    }
    return APR_SUCCESS;
}

static apr_status_t sq_room_recent(chat_store_t *s, const char *room, const char *before,
                                   int limit, apr_array_header_t **out, int *has_more,
                                   apr_pool_t *pool)
{
    sq_t *sq = s->impl;
    int fetch = limit + 1;                      /* one extra row answers has_more */
    const void *args_newest[] = { room, &fetch };
    const void *args_before[] = { room, before, &fetch };
    apr_dbd_results_t *res = NULL;
    apr_status_t rv;

    rv = open_db(s, sq);
    if (rv == APR_SUCCESS) {
        rv = before == NULL ? run_select(s, sq, SQ_ROOM_NEWEST, args_newest, &res, pool)
                            : run_select(s, sq, SQ_ROOM_BEFORE, args_before, &res, pool);
    }
    if (rv == APR_SUCCESS) {
        rv = collect(s, sq, res, limit, 1, out, has_more, pool);
    }
    return rv;
}

static apr_status_t sq_user_recent(chat_store_t *s, const char *user_id, const char *before,
                                   int limit, apr_array_header_t **out, int *has_more,
                                   apr_pool_t *pool)
{
    sq_t *sq = s->impl;
    int fetch = limit + 1;
    apr_time_t id_time = 0;
    const void *args_newest[] = { user_id, &fetch };
    const void *args_before[] = { user_id, before, &id_time, before, &fetch };
    apr_dbd_results_t *res = NULL;
    apr_status_t rv;

    if (before != NULL && chat_id_time(before, &id_time) != APR_SUCCESS) {
        id_time = 0;                            /* not a v7 id: only a stored row can anchor */
    }
    rv = open_db(s, sq);
    if (rv == APR_SUCCESS) {
        rv = before == NULL ? run_select(s, sq, SQ_USER_NEWEST, args_newest, &res, pool)
                            : run_select(s, sq, SQ_USER_BEFORE, args_before, &res, pool);
    }
    if (rv == APR_SUCCESS) {
        rv = collect(s, sq, res, limit, 1, out, has_more, pool);
    }
    return rv;
}

static apr_status_t sq_room_after(chat_store_t *s, const char *room, apr_int64_t after_seq,
                                  int limit, apr_array_header_t **out, apr_pool_t *pool)
{
    sq_t *sq = s->impl;
    const void *args[] = { room, &after_seq, &limit };
    apr_dbd_results_t *res = NULL;
    apr_status_t rv;

    rv = open_db(s, sq);
    if (rv == APR_SUCCESS) {
        rv = run_select(s, sq, SQ_ROOM_AFTER, args, &res, pool);
    }
    if (rv == APR_SUCCESS) {
        rv = collect(s, sq, res, limit, 0, out, NULL, pool);
    }
    return rv;
}

static apr_status_t sq_room_max_seq(chat_store_t *s, const char *room, apr_int64_t *out)
{
    sq_t *sq = s->impl;
    const void *args[] = { room };
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    apr_pool_t *tmp = NULL;
    apr_int64_t max = 0;
    apr_status_t rv;

    rv = open_db(s, sq);
    if (rv == APR_SUCCESS) {
        rv = apr_pool_create(&tmp, s->pool);
    }
    if (rv == APR_SUCCESS) {
        rv = run_select(s, sq, SQ_ROOM_MAX_SEQ, args, &res, tmp);
    }
    if (rv == APR_SUCCESS) {
        if (apr_dbd_get_row(sq->driver, tmp, res, &row, -1) != 0
            || apr_dbd_datum_get(sq->driver, row, 0, APR_DBD_TYPE_LONGLONG, &max) != 0) {
            chat_store_error_set(s, "sqlite: MAX(seq) gave no value");
            rv = CHAT_ECORRUPT;
        }
    }
    if (rv == APR_SUCCESS) {
        *out = max;
    }
    if (tmp != NULL) {
        apr_pool_destroy(tmp);
    }
    return rv;
}

const chat_store_ops_t chat_store_sqlite_ops = {
    "sqlite", sq_open, sq_ensure_schema, sq_health, sq_save,
    sq_room_recent, sq_room_after, sq_room_max_seq, sq_user_recent
};
