/* bench_sqlite_raw.c: the SQLite baseline of scenario S5 (issue 8).
 *
 * Inserts N rows shaped like chat messages into a fresh database with the store's schema and
 * the pragmas of its writing handles (WAL, synchronous=FULL, a 64 MiB page cache, the three
 * indexes), through one prepared single-row INSERT in a loop, committing every --batch rows.
 * This is the fastest a writer can go through SQLite on this disk without our queue, journal
 * and apr_dbd around it, so the ratio of the relay's figure to this one is our overhead.
 * Prints one JSON line.
 *
 * Thread: single-threaded program. Departure from STYLE.md: plain sqlite3 API rather than
 * apr_dbd, because the point is to measure SQLite without our layers.
 */
#include <config.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const setup_sql[] = {
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA cache_size = -65536",
    "CREATE TABLE IF NOT EXISTS messages ("
    " message_id TEXT PRIMARY KEY NOT NULL, room_id TEXT NOT NULL, type TEXT NOT NULL,"
    " user_id TEXT NOT NULL, username TEXT NOT NULL, content TEXT NOT NULL,"
    " ts INTEGER NOT NULL, seq INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS messages_room_id ON messages (room_id, message_id)",
    "CREATE INDEX IF NOT EXISTS messages_user_ts ON messages (user_id, ts, message_id)",
    "CREATE INDEX IF NOT EXISTS messages_room_seq ON messages (room_id, seq)",
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int exec_sql(sqlite3 *db, const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "bench-sqlite-raw: %s: %s\n", sql, err ? err : "?");
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : NULL;
    long rows = argc > 2 ? atol(argv[2]) : 100000;
    long batch = argc > 3 ? atol(argv[3]) : 25;
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    char id[32], room[16], user[16], content[128];
    double t0, t1;
    int rc = 1;

    if (path == NULL || rows < 1 || rows > 10000000 || batch < 1 || batch > 100000) {
        fprintf(stderr, "usage: bench-sqlite-raw DB_PATH [ROWS (<= 1e7)] [BATCH]\n");
        return 2;
    }
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        fprintf(stderr, "bench-sqlite-raw: cannot open %s\n", path);
        goto done;
    }
    for (size_t i = 0; i < sizeof(setup_sql) / sizeof(setup_sql[0]); i++) {
        if (exec_sql(db, setup_sql[i]) != 0) {
            goto done;
        }
    }
    if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO messages (message_id, room_id, type, "
                           "user_id, username, content, ts, seq) VALUES (?,?,?,?,?,?,?,?)",
                           -1, &ins, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench-sqlite-raw: prepare: %s\n", sqlite3_errmsg(db));
        goto done;
    }
    t0 = now_s();
    for (long i = 0; i < rows; i++) {
        if (i % batch == 0 && exec_sql(db, "BEGIN") != 0) {
            goto done;
        }
        snprintf(id, sizeof(id), "m%016lx", i);
        snprintf(room, sizeof(room), "r%ld", i % 1000);
        snprintf(user, sizeof(user), "u%ld", i % 1000);
        snprintf(content, sizeof(content), "~Braw:%ld:%ld:0:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                 i % 1000, i / 1000);
        sqlite3_bind_text(ins, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, room, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, "chat", -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 4, user, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 5, user, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 6, content, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 7, 1700000000000000LL + i);
        sqlite3_bind_int64(ins, 8, i / 1000 + 1);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            fprintf(stderr, "bench-sqlite-raw: insert: %s\n", sqlite3_errmsg(db));
            goto done;
        }
        sqlite3_reset(ins);
        if ((i + 1) % batch == 0 || i + 1 == rows) {
            if (exec_sql(db, "COMMIT") != 0) {
                goto done;
            }
        }
    }
    t1 = now_s();
    printf("{\"tool\":\"bench-sqlite-raw\",\"rows\":%ld,\"batch\":%ld,\"seconds\":%.3f,"
           "\"rows_per_s\":%.0f}\n", rows, batch, t1 - t0, (double)rows / (t1 - t0));
    rc = 0;
done:
    sqlite3_finalize(ins);      /* NULL is fine */
    sqlite3_close(db);
    return rc;
}
