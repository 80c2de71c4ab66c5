/* Tests relay/relay_persist.c through its header against a real SQLite file in a temporary
 * directory: exactly-once delivery through the queue, a full queue, a store that is down and
 * comes back, replay of a leftover journal, shutdown draining, reads, STORAGE=none.
 *
 * "Store down" is made without root-defeatable permissions: SQLITE_PATH points below a path
 * component that is a regular file (ENOTDIR); replacing that file by a directory restores it.
 * Waiting happens through the API (shutdown drains; reads signal their wake callback), and
 * where a test must observe the running pipeline it polls its counters with a bound. */
#include "../check_main.h"
#include "relay_persist.h"
#include "relay_journal.h"

#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat_config.h"
#include "chat_id.h"
#include "chat_store.h"

#define ROOMS 10

typedef struct fixture_t {
    const char *dir;          /* everything of the test lives below */
    const char *blocker;      /* dir/db: a directory (store up) or a file (store down) */
    const char *journal;
    chat_config_t *cfg;
    chat_log_t *log;
    chat_id_gen_t ids;
} fixture_t;


TCase *tcase_relay_persist(void);
static void rm_rf(const char *path)
{
    apr_dir_t *d;
    apr_finfo_t fi;

    if (apr_dir_open(&d, path, test_pool) == APR_SUCCESS) {
        while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS) {
            if (strcmp(fi.name, ".") != 0 && strcmp(fi.name, "..") != 0) {
                rm_rf(apr_pstrcat(test_pool, path, "/", fi.name, NULL));
            }
        }
        apr_dir_close(d);
        apr_dir_remove(path, test_pool);
    }
    else {
        apr_file_remove(path, test_pool);
    }
}

static void store_down(fixture_t *f)
{
    apr_file_t *fh;

    rm_rf(f->blocker);
    ck_assert_int_eq(apr_file_open(&fh, f->blocker, APR_FOPEN_CREATE | APR_FOPEN_WRITE,
                                   APR_FPROT_OS_DEFAULT, test_pool), APR_SUCCESS);
    apr_file_close(fh);
}

static void store_up(fixture_t *f)
{
    apr_file_remove(f->blocker, test_pool);
    ck_assert_int_eq(apr_dir_make_recursive(f->blocker, APR_FPROT_OS_DEFAULT, test_pool),
                     APR_SUCCESS);
}

/* A configuration for the test's directory; extra: NULL-terminated "KEY=value" overrides;
 * file_text: the content of a configuration file to load as well (NULL: none). */
static void fixture_load(fixture_t *f, const char *tag, const char *const *extra,
                         const char *file_text)
{
    const char *env[32];
    const char *file = NULL;
    char *err = NULL;
    int n = 0;

    memset(f, 0, sizeof(*f));
    f->dir = apr_psprintf(test_pool, "/tmp/test_relay_persist_%s_%ld", tag, (long)getpid());
    rm_rf(f->dir);
    f->blocker = apr_pstrcat(test_pool, f->dir, "/db", NULL);
    f->journal = apr_pstrcat(test_pool, f->dir, "/journal", NULL);
    ck_assert_int_eq(apr_dir_make_recursive(f->blocker, APR_FPROT_OS_DEFAULT, test_pool),
                     APR_SUCCESS);
    env[n++] = "STORAGE=sqlite";
    env[n++] = apr_pstrcat(test_pool, "DATA_DIR=", f->dir, NULL);
    env[n++] = apr_pstrcat(test_pool, "SQLITE_PATH=", f->blocker, "/chat.db", NULL);
    env[n++] = apr_pstrcat(test_pool, "JOURNAL_DIR=", f->journal, NULL);
    env[n++] = "PERSIST_FLUSH_MS=20";
    env[n++] = "SPOOL_FSYNC_MS=20";
    for (int i = 0; extra != NULL && extra[i] != NULL; i++) {
        env[n++] = extra[i];
    }
    env[n] = NULL;
    if (file_text != NULL) {
        apr_file_t *fh;

        file = apr_pstrcat(test_pool, f->dir, "/chat.conf", NULL);
        ck_assert_int_eq(apr_file_open(&fh, file, APR_FOPEN_CREATE | APR_FOPEN_WRITE,
                                       APR_FPROT_OS_DEFAULT, test_pool), APR_SUCCESS);
        ck_assert_int_eq(apr_file_puts(file_text, fh), APR_SUCCESS);
        apr_file_close(fh);
    }
    ck_assert_msg(chat_config_load(&f->cfg, file, env, &err, test_pool) == APR_SUCCESS, "%s",
                  err != NULL ? err : "");
    /* Quiet: the tests assert on codes and counters; set CHAT_TEST_LOG=1 to see the log. */
    ck_assert_int_eq(chat_log_create(&f->log, CHAT_LOG_DEBUG,
                                     getenv("CHAT_TEST_LOG") != NULL ? NULL : "/dev/null",
                                     test_pool), APR_SUCCESS);
    ck_assert_int_eq(chat_id_gen_init(&f->ids), APR_SUCCESS);
}

static void fixture_init(fixture_t *f, const char *tag, const char *const *extra)
{
    fixture_load(f, tag, extra, NULL);
}

/* Message i of a run: room "r<i % ROOMS>", seq i / ROOMS + 1, a fresh id. */
static chat_msg_t *make_msg(fixture_t *f, int i, apr_pool_t *pool)
{
    chat_msg_t *m = apr_pcalloc(pool, sizeof(*m));
    char *id = apr_palloc(pool, CHAT_MSG_ID_LEN + 1);

    chat_id_next_message(&f->ids, apr_time_now(), id);
    m->message_id = id;
    m->room_id = apr_psprintf(pool, "r%d", i % ROOMS);
    m->type = CHAT_MSG_CHAT;
    m->user_id = apr_psprintf(pool, "user-%d", i % 7);
    m->username = "Tester";
    m->content = apr_psprintf(pool, "message %d caf\xc3\xa9", i);
    m->timestamp = apr_time_now();
    m->seq = i / ROOMS + 1;
    m->nonce = "never-stored";
    return m;
}

/* Pushes n messages; their ids go to ids (may be NULL). */
static void push_n(fixture_t *f, relay_persist_t *p, int n, apr_hash_t *ids)
{
    apr_pool_t *tmp;

    ck_assert_int_eq(apr_pool_create(&tmp, test_pool), APR_SUCCESS);
    for (int i = 0; i < n; i++) {
        chat_msg_t *m = make_msg(f, i, tmp);

        ck_assert_int_eq(relay_persist_push(p, m), APR_SUCCESS);
        if (ids != NULL) {
            apr_hash_set(ids, apr_pstrdup(test_pool, m->message_id), APR_HASH_KEY_STRING, "");
        }
        if (i % 500 == 499) {
            apr_pool_clear(tmp);
        }
    }
    apr_pool_destroy(tmp);
}

/* Reads every room back and checks that exactly the ids in want are stored, each once. */
static void assert_stored_exactly(fixture_t *f, apr_hash_t *want)
{
    apr_pool_t *sp;
    chat_store_t *store;
    int total = 0;

    ck_assert_int_eq(apr_pool_create(&sp, test_pool), APR_SUCCESS);
    ck_assert_int_eq(chat_store_open(&store, f->cfg, sp), APR_SUCCESS);
    for (int r = 0; r < ROOMS; r++) {
        apr_hash_t *seen = apr_hash_make(sp);
        const char *before = NULL;
        int has_more = 1;

        while (has_more) {
            apr_array_header_t *page = NULL;

            ck_assert_int_eq(chat_store_room_recent(store, apr_psprintf(sp, "r%d", r), before,
                                                    CHAT_STORE_MAX_LIMIT, &page, &has_more, sp),
                             APR_SUCCESS);
            for (int i = 0; i < page->nelts; i++) {
                const chat_msg_t *m = APR_ARRAY_IDX(page, i, const chat_msg_t *);

                ck_assert_msg(apr_hash_get(want, m->message_id, APR_HASH_KEY_STRING) != NULL,
                              "stored a message that was never pushed");
                ck_assert_msg(apr_hash_get(seen, m->message_id, APR_HASH_KEY_STRING) == NULL,
                              "message stored twice");
                apr_hash_set(seen, m->message_id, APR_HASH_KEY_STRING, "");
                total++;
            }
            if (page->nelts > 0) {
                before = APR_ARRAY_IDX(page, 0, const chat_msg_t *)->message_id;
            }
            else {
                has_more = 0;
            }
        }
    }
    ck_assert_int_eq(total, (int)apr_hash_count(want));
    apr_pool_destroy(sp);
}

static int count_segments(fixture_t *f)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    int n = 0;

    if (apr_dir_open(&d, f->journal, test_pool) != APR_SUCCESS) {
        return -1;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
        n += strncmp(fi.name, "seg-", 4) == 0;
    }
    apr_dir_close(d);
    return n;
}

/* Shuts p down with the store up: everything drains within secs, nothing stays journaled. */
static void shutdown_drained(relay_persist_t *p, int secs)
{
    ck_assert_int_eq(relay_persist_shutdown(p, apr_time_now() + secs * APR_USEC_PER_SEC),
                     APR_SUCCESS);
}

/* The end of a run that wrote everything: every journal segment confirmed and deleted, exactly
 * the ids in want stored, each once; removes the test's directory. */
static void assert_all_stored_and_clean(fixture_t *f, apr_hash_t *want)
{
    ck_assert_int_eq(count_segments(f), 0);
    assert_stored_exactly(f, want);
    rm_rf(f->dir);
}

/* Polls the pipeline's counters until cond holds; fails after 60 s. */
#define WAIT_FOR(p, st, cond)                                             \
    do {                                                                  \
        int waited_;                                                      \
        for (waited_ = 0; waited_ < 6000; waited_++) {                    \
            relay_persist_stats((p), &(st));                              \
            if (cond) {                                                   \
                break;                                                    \
            }                                                             \
            apr_sleep(10 * 1000);                                         \
        }                                                                 \
        ck_assert_msg(waited_ < 6000, "timed out waiting for " #cond);    \
    } while (0)

START_TEST(ten_thousand_messages_arrive_exactly_once)
{
    static const char *const extra[] = { "PERSIST_WORKERS=4", "PERSIST_BATCH_SIZE=25",
                                         "PERSIST_QUEUE_SIZE=256", NULL };
    fixture_t f;
    relay_persist_t *p;
    relay_persist_stats_t st;
    apr_hash_t *ids = apr_hash_make(test_pool);
    apr_size_t recovered;

    fixture_load(&f, "10k", extra, "JOURNAL_SEGMENT_BYTES=65536\n");
    ck_assert_int_eq(relay_persist_create(&p, f.cfg, NULL, f.log, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_recover(p, &recovered), APR_SUCCESS);
    ck_assert_uint_eq(recovered, 0);
    ck_assert_int_eq(relay_persist_start(p, NULL, NULL), APR_SUCCESS);
    push_n(&f, p, 10000, ids);
    shutdown_drained(p, 120);
    relay_persist_stats(p, &st);
    ck_assert_uint_eq(st.queued + st.spilled, 10000);
    ck_assert_uint_eq(st.written, 10000);
    ck_assert_uint_eq(st.pending, 0);
    ck_assert_uint_eq(st.writers, 4);
    ck_assert_uint_ge(st.largest_batch, 1);
    ck_assert_uint_le(st.largest_batch, 25);   /* however far behind the writers fell */
    ck_assert_uint_eq(st.writers_wrote, 4);    /* SQLite: the turn goes round them all */
    assert_all_stored_and_clean(&f, ids);
}
END_TEST

/* A backlog (20,000 messages pushed before the writers start: 1024 queued, the rest left to
 * the journal) with SQLite: all PERSIST_WORKERS writers run and take batches of at most
 * PERSIST_BATCH_SIZE, the writer whose turn it is writes the batches waiting behind its own in
 * the same transaction, so the backlog goes in a handful of large transactions instead of
 * 800 commits of 25 rows, and every message arrives exactly once. */
START_TEST(a_sqlite_backlog_is_written_in_a_few_large_transactions_exactly_once)
{
    static const char *const extra[] = { "PERSIST_WORKERS=4", "PERSIST_BATCH_SIZE=25",
                                         "PERSIST_QUEUE_SIZE=1024", NULL };
    fixture_t f;
    relay_persist_t *p;
    relay_persist_stats_t st;
    apr_hash_t *ids = apr_hash_make(test_pool);

    fixture_init(&f, "backlog", extra);
    ck_assert_int_eq(relay_persist_create(&p, f.cfg, NULL, f.log, test_pool), APR_SUCCESS);
    push_n(&f, p, 20000, ids);
    relay_persist_stats(p, &st);
    ck_assert_uint_eq(st.queued, 1024);
    ck_assert_uint_eq(st.spilled, 20000 - 1024);
    ck_assert_uint_eq(st.writers, 4);
    ck_assert_int_eq(relay_persist_start(p, NULL, NULL), APR_SUCCESS);
    WAIT_FOR(p, st, st.written == 20000);
    ck_assert_uint_eq(st.pending, 0);
    /* The queue's 1024 jobs were taken 25 at a time... */
    ck_assert_uint_eq(st.largest_batch, 25);
    ck_assert_uint_ge(st.taken, 1024 / 25 + 1);
    /* ...and written in a few transactions: the queue in one (the writer whose turn it is
     * takes what waits behind its batch), each 4 MiB segment (about 14,000 records) in one or
     * two. */
    ck_assert_uint_le(st.batches, 6);
    ck_assert_uint_eq(st.failed, 0);
    shutdown_drained(p, 60);
    assert_all_stored_and_clean(&f, ids);
}
END_TEST

START_TEST(a_full_queue_never_blocks_and_loses_nothing)
{
    static const char *const extra[] = { "PERSIST_WORKERS=1", "PERSIST_BATCH_SIZE=2",
                                         "PERSIST_QUEUE_SIZE=4", NULL };
    fixture_t f;
    relay_persist_t *p;
    relay_persist_stats_t st;
    apr_hash_t *ids = apr_hash_make(test_pool);

    fixture_init(&f, "full", extra);
    store_down(&f);
    ck_assert_int_eq(relay_persist_create(&p, f.cfg, NULL, f.log, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_start(p, NULL, NULL), APR_SUCCESS);
    /* With the one worker stuck retrying, at most the 4 queued plus its write fit in memory:
     * its batch of 2 and, SQLite, the batches that were waiting behind it (at most the
     * queue's 4). The rest spill. */
    push_n(&f, p, 500, ids);
    relay_persist_stats(p, &st);
    ck_assert_uint_eq(st.queued + st.spilled, 500);
    ck_assert_uint_ge(st.spilled, 500 - 4 - (2 + 4));
    ck_assert_uint_le(st.largest_batch, 2);
    ck_assert_uint_eq(st.pending, 500);
    store_up(&f);
    WAIT_FOR(p, st, st.written == 500);        /* while running, from the journal */
    ck_assert_uint_eq(st.pending, 0);
    ck_assert_int_eq(relay_persist_is_store_up(p), 1);
    shutdown_drained(p, 60);
    assert_all_stored_and_clean(&f, ids);
}
END_TEST

START_TEST(a_store_down_then_restored_gets_every_message_once)
{
    static const char *const extra[] = { "PERSIST_WORKERS=2", "PERSIST_BATCH_SIZE=10", NULL };
    fixture_t f;
    relay_persist_t *p;
    relay_persist_stats_t st;
    apr_hash_t *ids = apr_hash_make(test_pool);

    fixture_init(&f, "down", extra);
    store_down(&f);
    ck_assert_int_eq(relay_persist_create(&p, f.cfg, NULL, f.log, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_start(p, NULL, NULL), APR_SUCCESS);
    push_n(&f, p, 200, ids);
    WAIT_FOR(p, st, st.failed >= 2);
    ck_assert_int_eq(relay_persist_is_store_up(p), 0);
    ck_assert_uint_eq(st.written, 0);
    store_up(&f);
    WAIT_FOR(p, st, st.written == 200);
    ck_assert_uint_gt(st.retried, 0);
    ck_assert_int_eq(relay_persist_is_store_up(p), 1);
    shutdown_drained(p, 60);
    assert_all_stored_and_clean(&f, ids);
}
END_TEST

/* Shutdown with the store down gives up at the deadline and keeps everything journaled; the
 * next run's recover writes it, once, and a third run finds nothing left. */
START_TEST(shutdown_keeps_what_it_cannot_write_and_recover_replays_it_once)
{
    static const char *const extra[] = { "PERSIST_WORKERS=2", NULL };
    fixture_t f;
    relay_persist_t *p;
    relay_persist_stats_t st;
    apr_hash_t *ids = apr_hash_make(test_pool);
    apr_pool_t *run;
    apr_size_t recovered;

    fixture_init(&f, "drain", extra);
    store_down(&f);
    ck_assert_int_eq(apr_pool_create(&run, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_create(&p, f.cfg, NULL, f.log, run), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_start(p, NULL, NULL), APR_SUCCESS);
    push_n(&f, p, 120, ids);
    ck_assert_int_eq(relay_persist_shutdown(p, apr_time_now() + 300 * 1000), APR_TIMEUP);
    relay_persist_stats(p, &st);
    ck_assert_uint_eq(st.pending, 120);
    ck_assert_uint_eq(st.written, 0);
    ck_assert_int_ge(count_segments(&f), 1);
    apr_pool_destroy(run);

    /* Store still down: recover keeps the journal and still succeeds. */
    ck_assert_int_eq(apr_pool_create(&run, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_create(&p, f.cfg, NULL, f.log, run), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_recover(p, &recovered), APR_SUCCESS);
    ck_assert_uint_eq(recovered, 0);
    ck_assert_int_eq(relay_persist_is_store_up(p), 0);
    apr_pool_destroy(run);

    store_up(&f);
    ck_assert_int_eq(apr_pool_create(&run, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_create(&p, f.cfg, NULL, f.log, run), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_recover(p, &recovered), APR_SUCCESS);
    ck_assert_uint_eq(recovered, 120);
    ck_assert_int_eq(count_segments(&f), 0);
    apr_pool_destroy(run);
    assert_stored_exactly(&f, ids);

    ck_assert_int_eq(apr_pool_create(&run, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_create(&p, f.cfg, NULL, f.log, run), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_recover(p, &recovered), APR_SUCCESS);
    ck_assert_uint_eq(recovered, 0);
    apr_pool_destroy(run);
    assert_stored_exactly(&f, ids);
    rm_rf(f.dir);
}
END_TEST

/* A journal as a killed relay leaves it (written, never confirmed, torn at the end), part of
 * which already reached the store: recover stores each message once. */
START_TEST(recover_replays_a_killed_runs_journal_exactly_once)
{
    fixture_t f;
    relay_persist_t *p;
    relay_journal_t *j;
    apr_hash_t *ids = apr_hash_make(test_pool);
    apr_pool_t *run, *sp;
    chat_store_t *store;
    const chat_msg_t *some[10];
    char *buf = apr_palloc(test_pool, CHAT_MSG_MAX_ENCODED + 1);
    apr_size_t recovered, len;
    apr_uint64_t seg;
    apr_file_t *fh;

    fixture_init(&f, "kill", NULL);
    ck_assert_int_eq(apr_pool_create(&run, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_journal_open(&j, f.journal, 0, run), APR_SUCCESS);
    for (int i = 0; i < 300; i++) {
        chat_msg_t *m = make_msg(&f, i, test_pool);

        ck_assert_int_eq(chat_msg_encode(m, buf, CHAT_MSG_MAX_ENCODED + 1, &len), APR_SUCCESS);
        ck_assert_int_eq(relay_journal_append(j, buf, len, &seg), APR_SUCCESS);
        apr_hash_set(ids, m->message_id, APR_HASH_KEY_STRING, "");
        if (i < 10) {
            some[i] = m;
        }
    }
    /* A torn record at the end, as a kill mid-write leaves it. */
    ck_assert_int_eq(apr_file_open(&fh, relay_journal_path(j, seg, test_pool),
                                   APR_FOPEN_WRITE | APR_FOPEN_APPEND, APR_FPROT_OS_DEFAULT,
                                   test_pool), APR_SUCCESS);
    ck_assert_int_eq(apr_file_write_full(fh, "\xfe" "CJ\x01\x40\x00\x00\x00{\"mess", 14, NULL),
                     APR_SUCCESS);
    apr_file_close(fh);
    apr_pool_destroy(run);

    ck_assert_int_eq(apr_pool_create(&sp, test_pool), APR_SUCCESS);
    ck_assert_int_eq(chat_store_open(&store, f.cfg, sp), APR_SUCCESS);
    ck_assert_int_eq(chat_store_ensure_schema(store, APR_USEC_PER_SEC), APR_SUCCESS);
    ck_assert_int_eq(chat_store_save(store, some, 10, 0, sp), APR_SUCCESS);
    apr_pool_destroy(sp);

    ck_assert_int_eq(apr_pool_create(&run, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_create(&p, f.cfg, NULL, f.log, run), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_recover(p, &recovered), APR_SUCCESS);
    ck_assert_uint_eq(recovered, 300);
    apr_pool_destroy(run);
    assert_all_stored_and_clean(&f, ids);
}
END_TEST

/* A leftover segment with one damaged record: recover stores every other message, including
 * the ones after the damage, and deletes the segment. */
START_TEST(recover_skips_a_damaged_record_and_keeps_the_ones_after_it)
{
    fixture_t f;
    relay_persist_t *p;
    relay_journal_t *j;
    apr_hash_t *ids = apr_hash_make(test_pool);
    apr_pool_t *run;
    char *buf = apr_palloc(test_pool, CHAT_MSG_MAX_ENCODED + 1);
    const char *victim = NULL, *path;
    apr_size_t recovered, len, pos = 0, plen;
    const unsigned char *pl;
    apr_uint64_t seg;
    apr_file_t *fh;
    apr_finfo_t fi;
    unsigned char *file;

    fixture_init(&f, "flip", NULL);
    ck_assert_int_eq(apr_pool_create(&run, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_journal_open(&j, f.journal, 0, run), APR_SUCCESS);
    for (int i = 0; i < 100; i++) {
        chat_msg_t *m = make_msg(&f, i, test_pool);

        ck_assert_int_eq(chat_msg_encode(m, buf, CHAT_MSG_MAX_ENCODED + 1, &len), APR_SUCCESS);
        ck_assert_int_eq(relay_journal_append(j, buf, len, &seg), APR_SUCCESS);
        if (i == 40) {
            victim = m->message_id;          /* damaged below, so not expected */
        }
        else {
            apr_hash_set(ids, m->message_id, APR_HASH_KEY_STRING, "");
        }
    }
    path = relay_journal_path(j, seg, test_pool);
    apr_pool_destroy(run);

    /* Flip one payload byte of record 40 in place. */
    ck_assert_int_eq(apr_stat(&fi, path, APR_FINFO_SIZE, test_pool), APR_SUCCESS);
    file = apr_palloc(test_pool, (apr_size_t)fi.size);
    ck_assert_int_eq(apr_file_open(&fh, path, APR_FOPEN_READ | APR_FOPEN_WRITE,
                                   APR_FPROT_OS_DEFAULT, test_pool), APR_SUCCESS);
    ck_assert_int_eq(apr_file_read_full(fh, file, (apr_size_t)fi.size, NULL), APR_SUCCESS);
    for (int i = 0; i <= 40; i++) {
        ck_assert_int_eq(relay_journal_scan(file, (apr_size_t)fi.size, 1, &pos, &pl, &plen, NULL),
                         APR_SUCCESS);
    }
    ck_assert(memmem(pl, plen, victim, strlen(victim)) != NULL);
    file[(pl - file) + plen / 2] ^= 0x01;
    {
        apr_off_t zero = 0;

        ck_assert_int_eq(apr_file_seek(fh, APR_SET, &zero), APR_SUCCESS);
    }
    ck_assert_int_eq(apr_file_write_full(fh, file, (apr_size_t)fi.size, NULL), APR_SUCCESS);
    apr_file_close(fh);

    ck_assert_int_eq(apr_pool_create(&run, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_create(&p, f.cfg, NULL, f.log, run), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_recover(p, &recovered), APR_SUCCESS);
    ck_assert_uint_eq(recovered, 99);
    apr_pool_destroy(run);
    assert_all_stored_and_clean(&f, ids);
}
END_TEST

/* JOURNAL_SEGMENT_BYTES (from the environment, like every known variable; the 10k test sets it
 * in the configuration file) rotates segments; a run that ends with the store down leaves many
 * of them, and the next run's recover writes and deletes them all. */
START_TEST(many_leftover_segments_are_all_replayed_and_deleted)
{
    static const char *const extra[] = { "PERSIST_WORKERS=1", "PERSIST_QUEUE_SIZE=8",
                                         "JOURNAL_SEGMENT_BYTES=4096", NULL };
    fixture_t f;
    relay_persist_t *p;
    relay_persist_stats_t st;
    apr_hash_t *ids = apr_hash_make(test_pool);
    apr_pool_t *run;
    apr_size_t recovered;

    fixture_init(&f, "segs", extra);
    store_down(&f);
    ck_assert_int_eq(apr_pool_create(&run, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_create(&p, f.cfg, NULL, f.log, run), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_start(p, NULL, NULL), APR_SUCCESS);
    push_n(&f, p, 1000, ids);
    relay_persist_stats(p, &st);
    ck_assert_uint_gt(st.journal_segments, 20);
    ck_assert_int_eq(relay_persist_shutdown(p, apr_time_now()), APR_TIMEUP);
    apr_pool_destroy(run);
    ck_assert_int_gt(count_segments(&f), 20);

    store_up(&f);
    ck_assert_int_eq(apr_pool_create(&run, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_create(&p, f.cfg, NULL, f.log, run), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_recover(p, &recovered), APR_SUCCESS);
    ck_assert_uint_eq(recovered, 1000);
    apr_pool_destroy(run);
    assert_all_stored_and_clean(&f, ids);
}
END_TEST

/* ---------------------------------------------------------------- a store that hangs */

/* A loopback listener that never accepts: the kernel completes the handshake, the request is
 * sent, and no answer ever comes (the DynamoDB client waits for its own timeout, 10 s). */
static const char *silent_endpoint(apr_socket_t **out)
{
    apr_sockaddr_t *sa, *bound;
    apr_socket_t *s;

    ck_assert_int_eq(apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0, test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_socket_create(&s, APR_INET, SOCK_STREAM, APR_PROTO_TCP, test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_socket_bind(s, sa), APR_SUCCESS);
    ck_assert_int_eq(apr_socket_listen(s, 16), APR_SUCCESS);
    ck_assert_int_eq(apr_socket_addr_get(&bound, APR_LOCAL, s), APR_SUCCESS);
    *out = s;
    return apr_psprintf(test_pool, "DYNAMODB_ENDPOINT=http://127.0.0.1:%d/", (int)bound->port);
}

/* The stall watchdog: a write that hangs reports the store down after PERSIST_STALL_MS, while
 * the call is still waiting (nothing has failed yet), and shutdown cuts the hanging call at its
 * deadline, leaving the message journaled. */
START_TEST(a_write_that_hangs_reports_the_store_down_before_it_fails)
{
    apr_socket_t *hole;
    const char *extra[] = { "STORAGE=dynamodb", silent_endpoint(&hole), "AWS_ACCESS_KEY_ID=t",
                            "AWS_SECRET_ACCESS_KEY=t", "PERSIST_STALL_MS=100",
                            "PERSIST_WORKERS=1", NULL };
    fixture_t f;
    relay_persist_t *p;
    relay_persist_stats_t st;

    fixture_init(&f, "stall", extra);
    ck_assert_int_eq(relay_persist_create(&p, f.cfg, NULL, f.log, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_start(p, NULL, NULL), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_is_store_up(p), 1);      /* nothing written: not down */
    push_n(&f, p, 1, NULL);
    WAIT_FOR(p, st, !relay_persist_is_store_up(p));
    relay_persist_stats(p, &st);
    /* The call waits up to 10 s for the silent endpoint; the watchdog spoke after 100 ms. */
    ck_assert_uint_eq(st.failed, 0);
    ck_assert_uint_eq(st.written, 0);
    ck_assert_int_eq(relay_persist_shutdown(p, apr_time_now() + apr_time_from_msec(200)),
                     APR_TIMEUP);
    relay_persist_stats(p, &st);
    ck_assert_uint_eq(st.pending, 1);
    apr_socket_close(hole);
    rm_rf(f.dir);
}
END_TEST

/* ---------------------------------------------------------------- reads */

typedef struct waiter_t {
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *cond;
    int woken;                  /* {lock} */
    relay_read_result_t got[4];
    int ngot;
    apr_pool_t *keep;           /* copies of the results' messages */
} waiter_t;

static void on_wake(void *arg)
{
    waiter_t *w = arg;

    apr_thread_mutex_lock(w->lock);
    w->woken++;
    apr_thread_cond_signal(w->cond);
    apr_thread_mutex_unlock(w->lock);
}

static void on_result(void *arg, const relay_read_result_t *r)
{
    waiter_t *w = arg;
    relay_read_result_t *c = &w->got[w->ngot++];

    *c = *r;
    c->room = apr_pstrdup(w->keep, r->room);
    c->msgs = r->msgs != NULL ? apr_array_copy(w->keep, r->msgs) : NULL;
    for (int i = 0; c->msgs != NULL && i < c->msgs->nelts; i++) {
        const chat_msg_t *m = APR_ARRAY_IDX(r->msgs, i, const chat_msg_t *);
        chat_msg_t *k = apr_pmemdup(w->keep, m, sizeof(*m));

        k->message_id = apr_pstrdup(w->keep, m->message_id);
        APR_ARRAY_IDX(c->msgs, i, const chat_msg_t *) = k;
    }
}

/* Waits (bounded) until the reader has woken us want times, then drains. */
static void wait_results(relay_persist_t *p, waiter_t *w, int want)
{
    apr_thread_mutex_lock(w->lock);
    for (int i = 0; i < 600 && w->woken < want; i++) {
        apr_thread_cond_timedwait(w->cond, w->lock, 100 * 1000);
    }
    ck_assert_int_ge(w->woken, want);
    apr_thread_mutex_unlock(w->lock);
    relay_persist_drain(p, on_result, w);
    ck_assert_int_eq(w->ngot, want);
}

START_TEST(reads_run_on_the_reader_and_come_back_through_the_mailbox)
{
    fixture_t f;
    relay_persist_t *p;
    apr_pool_t *sp;
    chat_store_t *store;
    const chat_msg_t *msgs[30];
    waiter_t w;
    apr_uint64_t t1, t2, t3;

    fixture_init(&f, "read", NULL);
    ck_assert_int_eq(apr_pool_create(&sp, test_pool), APR_SUCCESS);
    ck_assert_int_eq(chat_store_open(&store, f.cfg, sp), APR_SUCCESS);
    ck_assert_int_eq(chat_store_ensure_schema(store, APR_USEC_PER_SEC), APR_SUCCESS);
    for (int i = 0; i < 30; i++) {
        chat_msg_t *m = make_msg(&f, i * ROOMS, test_pool);  /* all in room r0, seq 1..30 */

        msgs[i] = m;
    }
    ck_assert_int_eq(chat_store_save(store, msgs, 30, 0, sp), APR_SUCCESS);
    apr_pool_destroy(sp);

    memset(&w, 0, sizeof(w));
    w.keep = test_pool;
    ck_assert_int_eq(apr_thread_mutex_create(&w.lock, APR_THREAD_MUTEX_DEFAULT, test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_thread_cond_create(&w.cond, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_create(&p, f.cfg, NULL, f.log, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_start(p, on_wake, &w), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_read(p, RELAY_READ_RECENT, "r0", 0, 10, &t1), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_read(p, RELAY_READ_AFTER, "r0", 25, 100, &t2), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_read(p, RELAY_READ_MAX_SEQ, "r0", 0, 0, &t3), APR_SUCCESS);
    ck_assert_uint_ne(t1, t2);
    wait_results(p, &w, 3);

    ck_assert_uint_eq(w.got[0].ticket, t1);
    ck_assert_int_eq(w.got[0].status, APR_SUCCESS);
    ck_assert_str_eq(w.got[0].room, "r0");
    ck_assert_int_eq(w.got[0].msgs->nelts, 10);
    ck_assert_str_eq(APR_ARRAY_IDX(w.got[0].msgs, 0, const chat_msg_t *)->message_id,
                     msgs[20]->message_id);                 /* oldest first */
    ck_assert_int_eq(w.got[0].max_seq, 30);
    ck_assert_uint_eq(w.got[1].ticket, t2);
    ck_assert_int_eq(w.got[1].msgs->nelts, 5);
    ck_assert_int_eq(APR_ARRAY_IDX(w.got[1].msgs, 0, const chat_msg_t *)->seq, 26);
    ck_assert_uint_eq(w.got[2].ticket, t3);
    ck_assert_int_eq(w.got[2].max_seq, 30);
    shutdown_drained(p, 10);
    rm_rf(f.dir);
}
END_TEST

START_TEST(reads_answer_unavailable_while_the_store_is_down)
{
    fixture_t f;
    relay_persist_t *p;
    waiter_t w;
    apr_uint64_t t;

    fixture_init(&f, "readdown", NULL);
    store_down(&f);
    memset(&w, 0, sizeof(w));
    w.keep = test_pool;
    ck_assert_int_eq(apr_thread_mutex_create(&w.lock, APR_THREAD_MUTEX_DEFAULT, test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_thread_cond_create(&w.cond, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_create(&p, f.cfg, NULL, f.log, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_start(p, on_wake, &w), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_read(p, RELAY_READ_RECENT, "r0", 0, 10, &t), APR_SUCCESS);
    wait_results(p, &w, 1);
    ck_assert_int_eq(w.got[0].status, CHAT_ESTORE_UNAVAILABLE);
    ck_assert_int_eq(relay_persist_is_store_up(p), 0);
    shutdown_drained(p, 10);
    rm_rf(f.dir);
}
END_TEST

START_TEST(storage_none_makes_push_and_read_no_ops_without_a_journal)
{
    static const char *const extra[] = { "STORAGE=none", NULL };
    fixture_t f;
    relay_persist_t *p;
    apr_uint64_t t = 0;
    apr_size_t recovered = 7;
    apr_finfo_t fi;

    fixture_init(&f, "none", extra);
    ck_assert_int_eq(relay_persist_create(&p, f.cfg, NULL, f.log, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_persist_recover(p, &recovered), APR_SUCCESS);
    ck_assert_uint_eq(recovered, 0);
    ck_assert_int_eq(relay_persist_start(p, NULL, NULL), APR_SUCCESS);
    push_n(&f, p, 10, NULL);
    ck_assert_int_eq(relay_persist_read(p, RELAY_READ_RECENT, "r0", 0, 10, &t),
                     CHAT_ESTORE_DISABLED);
    ck_assert_int_eq(relay_persist_is_store_up(p), 0);
    ck_assert_int_eq(relay_persist_shutdown(p, apr_time_now()), APR_SUCCESS);
    ck_assert_int_ne(apr_stat(&fi, f.journal, APR_FINFO_TYPE, test_pool), APR_SUCCESS);
    rm_rf(f.dir);
}
END_TEST

TCase *tcase_relay_persist(void)
{
    TCase *tc = chat_tcase_create("relay_persist");

    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, ten_thousand_messages_arrive_exactly_once);
    tcase_add_test(tc, a_sqlite_backlog_is_written_in_a_few_large_transactions_exactly_once);
    tcase_add_test(tc, a_full_queue_never_blocks_and_loses_nothing);
    tcase_add_test(tc, a_store_down_then_restored_gets_every_message_once);
    tcase_add_test(tc, shutdown_keeps_what_it_cannot_write_and_recover_replays_it_once);
    tcase_add_test(tc, recover_replays_a_killed_runs_journal_exactly_once);
    tcase_add_test(tc, recover_skips_a_damaged_record_and_keeps_the_ones_after_it);
    tcase_add_test(tc, many_leftover_segments_are_all_replayed_and_deleted);
    tcase_add_test(tc, a_write_that_hangs_reports_the_store_down_before_it_fails);
    tcase_add_test(tc, reads_run_on_the_reader_and_come_back_through_the_mailbox);
    tcase_add_test(tc, reads_answer_unavailable_while_the_store_is_down);
    tcase_add_test(tc, storage_none_makes_push_and_read_no_ops_without_a_journal);
    return tc;
}
