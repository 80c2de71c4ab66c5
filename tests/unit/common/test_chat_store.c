/* test_chat_store.c: the storage interface against real backends: SQLite in a temporary
 * directory and DynamoDB as dynalite behind the fault-injecting proxy of
 * tests/integration/lib/dynalite.mjs, which this program starts itself (unchecked fixture of
 * the DynamoDB TCase) so `make check` always runs both. No node or dynalite: the DynamoDB tests
 * fail and say why; they never skip.
 *
 * The same behaviour tests run once per backend (STORE_TEST below makes the pair). */
#include "../check_main.h"

#include <apr_dbd.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <curl/curl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chat_store.h"
#include "chat_store_private.h"

#ifndef CHAT_TEST_SRCDIR
#error "CHAT_TEST_SRCDIR must name the source tree (tests/local.mk sets it)"
#endif

const char *const chat_suite_name = "store";

/* ---------------------------------------------------------------- dynalite (parent process) */

static apr_pool_t *dyn_pool;
static apr_proc_t dyn_proc;
static int dyn_running;
static const char *dyn_endpoint;        /* the proxy; NULL when dynalite did not start */
static char dyn_error[512] = "dynalite was not started";

static void dynalite_start(void)
{
    const char *script = CHAT_TEST_SRCDIR "/tests/integration/lib/dynalite.mjs";
    /* The proxy checks every signature against the secret config_make uses. */
    const char *args[] = { "node", script, "--exit-on-stdin-close", "--verify-sigv4", "test",
                           NULL };
    apr_procattr_t *attr = NULL;
    char line[512] = "";
    char *p;
    char *q;
    apr_status_t rv;

    if (apr_pool_create(&dyn_pool, NULL) != APR_SUCCESS) {
        return;
    }
    rv = apr_procattr_create(&attr, dyn_pool);
    if (rv == APR_SUCCESS) {
        rv = apr_procattr_io_set(attr, APR_FULL_BLOCK, APR_CHILD_BLOCK, APR_NO_PIPE);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_procattr_cmdtype_set(attr, APR_PROGRAM_PATH);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_proc_create(&dyn_proc, "node", args, NULL, attr, dyn_pool);
    }
    if (rv != APR_SUCCESS) {
        snprintf(dyn_error, sizeof(dyn_error), "cannot run node (Debian: apt-get install nodejs)");
        return;
    }
    dyn_running = 1;
    apr_file_pipe_timeout_set(dyn_proc.out, apr_time_from_sec(20));
    rv = apr_file_gets(line, sizeof(line), dyn_proc.out);
    p = strstr(line, "\"endpoint\":\"");
    q = p != NULL ? strchr(p + 12, '"') : NULL;
    if (rv != APR_SUCCESS || q == NULL) {
        snprintf(dyn_error, sizeof(dyn_error),
                 "dynalite did not start: `node %s` printed \"%s\" (is node on PATH and "
                 "tests/node_modules installed? run (cd tests && npm ci))", script, line);
        return;
    }
    dyn_endpoint = apr_pstrmemdup(dyn_pool, p + 12, (apr_size_t)(q - (p + 12)));
}

static void dynalite_stop(void)
{
    int code;
    apr_exit_why_e why;

    if (dyn_running) {
        apr_file_close(dyn_proc.in);            /* dynalite.mjs exits when stdin ends */
        apr_proc_kill(&dyn_proc, SIGTERM);
        apr_proc_wait(&dyn_proc, &code, &why, APR_WAIT);
        dyn_running = 0;
    }
    dyn_endpoint = NULL;
    if (dyn_pool != NULL) {
        apr_pool_destroy(dyn_pool);
        dyn_pool = NULL;
    }
}

static size_t discard(char *data, size_t size, size_t nmemb, void *userdata)
{
    (void)data;
    (void)userdata;
    return size * nmemb;
}

/* POSTs (or DELETEs when json is NULL) the proxy's fault queue. */
static void faults_set(const char *json)
{
    CURL *c = curl_easy_init();
    long status = 0;
    CURLcode cc;

    ck_assert_ptr_nonnull(c);
    curl_easy_setopt(c, CURLOPT_URL, apr_pstrcat(test_pool, dyn_endpoint, "/__faults", NULL));
    if (json != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    }
    else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    ck_assert_msg(cc == CURLE_OK && status == 200, "fault proxy control failed: %s",
                  curl_easy_strerror(cc));
}

typedef struct body_t {
    char buf[4096];
    size_t len;
} body_t;

static size_t keep(char *data, size_t size, size_t nmemb, void *userdata)
{
    body_t *b = userdata;
    size_t n = size * nmemb;

    if (n > sizeof(b->buf) - 1 - b->len) {
        return 0;
    }
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return n;
}

/* The proxy's counter named key ("injected", "pending", or an operation name). */
static long proxy_stat(const char *key)
{
    CURL *c = curl_easy_init();
    body_t body = { "", 0 };
    const char *p;

    curl_easy_setopt(c, CURLOPT_URL, apr_pstrcat(test_pool, dyn_endpoint, "/__stats", NULL));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    p = strstr(body.buf, apr_psprintf(test_pool, "\"%s\":", key));
    return p != NULL ? strtol(p + strlen(key) + 3, NULL, 10) : 0;
}

/* ---------------------------------------------------------------- fixtures and helpers */

static char suite_dir[64];     /* per TCase, made and removed in the parent process */
static char tmp_dir[128];      /* per test, inside suite_dir */
static int table_seq;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* The parent removes everything at the end, so a failed test (whose child never reaches its
 * teardown) leaves nothing behind either. */
static void suite_dir_make(void)
{
    strcpy(suite_dir, "/tmp/chat-store-test.XXXXXX");
    if (mkdtemp(suite_dir) == NULL) {
        suite_dir[0] = '\0';
    }
}

static void suite_dir_remove(void)
{
    if (suite_dir[0] != '\0') {
        nftw(suite_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        suite_dir[0] = '\0';
    }
}

static void tmp_setup(void)
{
    chat_test_pool_setup();
    ck_assert_msg(suite_dir[0] != '\0', "cannot create a directory under /tmp");
    snprintf(tmp_dir, sizeof(tmp_dir), "%s/t.XXXXXX", suite_dir);
    ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static void tmp_teardown(void)
{
    chat_test_pool_teardown();                  /* closes the stores */
}

static void dynamo_fixture_start(void)
{
    suite_dir_make();
    dynalite_start();
}

static void dynamo_fixture_stop(void)
{
    dynalite_stop();
    suite_dir_remove();
}

static chat_config_t *config_make(chat_storage_e kind)
{
    chat_config_t *cfg = apr_pcalloc(test_pool, sizeof(*cfg));

    cfg->storage = kind;
    cfg->sqlite_path = apr_pstrcat(test_pool, tmp_dir, "/data/chat.db", NULL);
    cfg->dynamodb_endpoint = dyn_endpoint;
    cfg->dynamodb_region = "us-east-1";
    cfg->dynamodb_table = apr_psprintf(test_pool, "chat-test-%ld-%d", (long)getpid(),
                                       ++table_seq);
    cfg->aws_access_key_id = "test";
    cfg->aws_secret_access_key = "test";
    return cfg;
}

/* An open store with its schema, on its own pool (a subpool of the test's). */
static chat_store_t *store_open(const chat_config_t *cfg)
{
    chat_store_t *s = NULL;
    apr_pool_t *pool;
    apr_status_t rv;

    if (cfg->storage == CHAT_STORAGE_DYNAMODB) {
        ck_assert_msg(dyn_endpoint != NULL, "%s", dyn_error);
    }
    ck_assert_int_eq(apr_pool_create(&pool, test_pool), APR_SUCCESS);
    ck_assert_int_eq(chat_store_open(&s, cfg, pool), APR_SUCCESS);
    rv = chat_store_ensure_schema(s, apr_time_from_sec(10));
    ck_assert_msg(rv == APR_SUCCESS, "ensure_schema: %d %s", rv, chat_store_last_error(s));
    return s;
}

/* A UUIDv7 text for millisecond ms; counter orders ids within one millisecond. */
static const char *id_make(apr_uint64_t ms, unsigned counter)
{
    return apr_psprintf(test_pool, "%08x-%04x-7%03x-%04x-%012" APR_UINT64_T_HEX_FMT,
                        (unsigned)(ms >> 16), (unsigned)(ms & 0xffff), counter & 0xfff,
                        0x8000 | (counter & 0x3fff), (apr_uint64_t)counter * 7919);
}

#define BASE_MS APR_UINT64_C(1795000000000)     /* 2026-11-18 */

/* A message of room by user at BASE_MS + ms; ctr orders ids within a millisecond. */
static chat_msg_t *msg_make(const char *room, const char *user, apr_uint64_t ms, unsigned ctr,
                            apr_int64_t seq)
{
    chat_msg_t *m = apr_pcalloc(test_pool, sizeof(*m));

    m->message_id = id_make(BASE_MS + ms, ctr);
    m->room_id = room;
    m->type = CHAT_MSG_CHAT;
    m->user_id = user;
    m->username = apr_pstrcat(test_pool, "name of ", user, NULL);
    m->content = apr_psprintf(test_pool, "message %u at %" APR_UINT64_T_FMT, ctr, ms);
    m->timestamp = apr_time_from_msec((apr_time_t)(BASE_MS + ms));
    m->seq = seq;
    return m;
}

static void save_ok(chat_store_t *s, chat_msg_t **msgs, int n)
{
    apr_status_t rv = chat_store_save(s, (const chat_msg_t *const *)msgs, n,
                                      apr_time_now() + apr_time_from_sec(30), test_pool);

    ck_assert_msg(rv == APR_SUCCESS, "save: %d %s", rv, chat_store_last_error(s));
}

static chat_msg_t *at(apr_array_header_t *arr, int i)
{
    ck_assert_int_lt(i, arr->nelts);
    return APR_ARRAY_IDX(arr, i, chat_msg_t *);
}

static void assert_same(const chat_msg_t *got, const chat_msg_t *want)
{
    ck_assert_str_eq(got->message_id, want->message_id);
    ck_assert_str_eq(got->room_id, want->room_id);
    ck_assert_int_eq(got->type, want->type);
    ck_assert_str_eq(got->user_id, want->user_id);
    ck_assert_str_eq(got->username, want->username);
    ck_assert_str_eq(got->content, want->content);
    ck_assert_int_eq(got->timestamp, want->timestamp);
    ck_assert_int_eq(got->seq, want->seq);
}

/* Reads a whole room through room_recent pages of size page into ids (newest page first);
 * checks each page's order and has_more. Returns the number read. */
static int read_room(chat_store_t *s, const char *room, int page, const char **ids, int cap)
{
    const char *before = NULL;
    int total = 0;
    int has_more = 1;

    for (int pages = 0; has_more; pages++) {
        apr_array_header_t *arr = NULL;
        apr_status_t rv;

        ck_assert_int_lt(pages, cap + 2);       /* bounded: no endless paging */
        rv = chat_store_room_recent(s, room, before, page, &arr, &has_more, test_pool);
        ck_assert_msg(rv == APR_SUCCESS, "room_recent: %d %s", rv, chat_store_last_error(s));
        ck_assert_int_le(arr->nelts, page);
        if (has_more) {
            ck_assert_int_eq(arr->nelts, page);
        }
        for (int i = arr->nelts - 1; i >= 0; i--) {     /* newest of the page first */
            ck_assert_int_lt(total, cap);
            ids[total++] = at(arr, i)->message_id;
        }
        for (int i = 1; i < arr->nelts; i++) {
            ck_assert_int_lt(strcmp(at(arr, i - 1)->message_id, at(arr, i)->message_id), 0);
        }
        if (arr->nelts > 0) {
            before = at(arr, 0)->message_id;
        }
        else {
            ck_assert_int_eq(has_more, 0);
        }
    }
    return total;
}

/* Each behaviour test is written once, as body(kind), and registered for both backends. */
#define STORE_TEST(name)                                      \
    static void name##_body(chat_storage_e kind);             \
    START_TEST(name##_sqlite) { name##_body(CHAT_STORAGE_SQLITE); } END_TEST \
    START_TEST(name##_dynamodb) { name##_body(CHAT_STORAGE_DYNAMODB); } END_TEST \
    static void name##_body(chat_storage_e kind)

/* ---------------------------------------------------------------- behaviour, both backends */

STORE_TEST(round_trip_keeps_every_field_including_unicode_and_1000_characters)
{
    chat_store_t *s = store_open(config_make(kind));
    chat_msg_t *msgs[3];
    apr_array_header_t *arr = NULL;
    char *long_content = apr_palloc(test_pool, 1000 * 4 + 1);
    int has_more = -1;

    /* 1000 code points mixing 4-byte emoji, 3-byte CJK and ASCII. */
    for (int i = 0; i < 1000; i++) {
        const char *piece = i % 3 == 0 ? "\xF0\x9F\x98\x80" : i % 3 == 1 ? "\xE8\xAA\x9E" : "a";

        strcpy(long_content + (i == 0 ? 0 : strlen(long_content)), piece);
    }
    msgs[0] = msg_make("room.unicode", "user-1", 1, 1, 1);
    msgs[0]->content = "hello \xF0\x9F\x91\x8B \xE4\xBD\xA0\xE5\xA5\xBD \"quoted\" \\ tab\tnl\n";
    msgs[0]->username = "Zo\xC3\xAB \xF0\x9F\x90\xB1";
    msgs[1] = msg_make("room.unicode", "user-2", 2, 2, 2);
    msgs[1]->content = long_content;
    msgs[1]->type = CHAT_MSG_JOIN;
    msgs[2] = msg_make("room.unicode", "user-1", 3, 3, 3);
    msgs[2]->type = CHAT_MSG_SYSTEM;
    save_ok(s, msgs, 3);

    ck_assert_int_eq(chat_store_room_recent(s, "room.unicode", NULL, 10, &arr, &has_more,
                                            test_pool), APR_SUCCESS);
    ck_assert_int_eq(arr->nelts, 3);
    ck_assert_int_eq(has_more, 0);
    for (int i = 0; i < 3; i++) {
        assert_same(at(arr, i), msgs[i]);
    }
    ck_assert_int_eq(strlen(at(arr, 1)->content), 334 * 4 + 333 * 3 + 333);

    ck_assert_int_eq(chat_store_user_recent(s, "user-1", NULL, 10, &arr, &has_more, test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(arr->nelts, 2);
    assert_same(at(arr, 0), msgs[0]);
    assert_same(at(arr, 1), msgs[2]);
    ck_assert_int_eq(chat_store_health(s), APR_SUCCESS);
}
END_TEST

STORE_TEST(room_pages_run_oldest_first_with_no_gap_or_duplicate)
{
    chat_store_t *s = store_open(config_make(kind));
    enum { N = 23 };
    chat_msg_t *msgs[N + 2];
    const char *ids[N + 5];
    int got;

    /* Saved out of order, in two batches, with another room's rows in between. */
    for (int i = 0; i < N; i++) {
        int k = (i * 7) % N;                    /* a permutation of 0..22 */

        msgs[i] = msg_make("room.pages", "u", (apr_uint64_t)k, (unsigned)k, k + 1);
    }
    msgs[N] = msg_make("room.other", "u", 100, 100, 1);
    msgs[N + 1] = msg_make("room.pagesX", "u", 101, 101, 1);
    save_ok(s, msgs, 10);
    save_ok(s, msgs + 10, N + 2 - 10);

    got = read_room(s, "room.pages", 5, ids, N + 5);
    ck_assert_int_eq(got, N);
    for (int i = 0; i < N; i++) {                /* newest first, each once */
        ck_assert_str_eq(ids[i], id_make(BASE_MS + (apr_uint64_t)(N - 1 - i),
                                         (unsigned)(N - 1 - i)));
    }
    /* A page size dividing the count exactly still ends with has_more = 0. */
    ck_assert_int_eq(read_room(s, "room.pages", 23, ids, N + 5), N);
    ck_assert_int_eq(read_room(s, "room.none", 5, ids, N + 5), 0);
}
END_TEST

STORE_TEST(user_history_pages_by_time_across_rooms)
{
    chat_store_t *s = store_open(config_make(kind));
    enum { N = 14 };
    chat_msg_t *msgs[N + 1];
    const char *before = NULL;
    const char *seen[N + 4];
    int total = 0;
    int has_more = 1;

    /* Pairs share a millisecond (ids differ by counter), spread over three rooms. */
    for (int i = 0; i < N; i++) {
        msgs[i] = msg_make(i % 3 == 0 ? "r.a" : i % 3 == 1 ? "r.b" : "r.c", "alice",
                           (apr_uint64_t)(i / 2), (unsigned)i, i + 1);
    }
    msgs[N] = msg_make("r.a", "bob", 3, 99, 99);
    save_ok(s, msgs, N + 1);

    while (has_more) {
        apr_array_header_t *arr = NULL;
        apr_status_t rv = chat_store_user_recent(s, "alice", before, 3, &arr, &has_more,
                                                 test_pool);

        ck_assert_msg(rv == APR_SUCCESS, "user_recent: %d %s", rv, chat_store_last_error(s));
        ck_assert_int_le(arr->nelts, 3);
        for (int i = arr->nelts - 1; i >= 0; i--) {
            ck_assert_int_lt(total, N);
            ck_assert_str_eq(at(arr, i)->user_id, "alice");
            seen[total++] = at(arr, i)->message_id;
        }
        if (arr->nelts == 0) {
            break;
        }
        before = at(arr, 0)->message_id;
    }
    ck_assert_int_eq(total, N);
    for (int i = 0; i < N; i++) {               /* newest first: (ms, counter) descending */
        ck_assert_str_eq(seen[i], msgs[N - 1 - i]->message_id);
    }
}
END_TEST

STORE_TEST(duplicate_writes_and_duplicates_inside_a_batch_are_stored_once)
{
    chat_store_t *s = store_open(config_make(kind));
    enum { UNIQUE = 40 };
    chat_msg_t *msgs[2 * UNIQUE];
    const char *ids[2 * UNIQUE];

    /* 80 entries, each message twice (adjacent and far apart), more than 25 distinct. */
    for (int i = 0; i < UNIQUE; i++) {
        msgs[i] = msg_make("room.dup", "u", (apr_uint64_t)i, (unsigned)i, i + 1);
        msgs[2 * UNIQUE - 1 - i] = msgs[i];
    }
    save_ok(s, msgs, 2 * UNIQUE);
    save_ok(s, msgs, UNIQUE);                   /* the whole batch again */
    ck_assert_int_eq(read_room(s, "room.dup", 1000, ids, 2 * UNIQUE), UNIQUE);
    ck_assert_int_eq(read_room(s, "room.dup", 7, ids, 2 * UNIQUE), UNIQUE);
}
END_TEST

STORE_TEST(room_after_far_behind_still_answers_the_oldest_missed_messages)
{
    chat_store_t *s = store_open(config_make(kind));
    enum { N = 80 };                            /* more than DynamoDB keeps newest-first */
    chat_msg_t *msgs[N];
    apr_array_header_t *arr = NULL;

    for (int i = 0; i < N; i++) {
        msgs[i] = msg_make("room.far", "u", (apr_uint64_t)i, (unsigned)i, i + 1);
    }
    save_ok(s, msgs, N);
    ck_assert_int_eq(chat_store_room_after(s, "room.far", 1, 4, &arr, test_pool), APR_SUCCESS);
    ck_assert_int_eq(arr->nelts, 4);
    for (int i = 0; i < 4; i++) {
        assert_same(at(arr, i), msgs[1 + i]);
    }
    ck_assert_int_eq(chat_store_room_after(s, "room.far", 70, 4, &arr, test_pool), APR_SUCCESS);
    ck_assert_int_eq(arr->nelts, 4);
    ck_assert_int_eq(at(arr, 0)->seq, 71);
    ck_assert_int_eq(at(arr, 3)->seq, 74);
}
END_TEST

STORE_TEST(a_batch_larger_than_one_statement_or_chunk_is_stored_whole)
{
    chat_store_t *s = store_open(config_make(kind));
    enum { N = 260 };                           /* SQLite: 100+100+60 rows; DynamoDB: 11 chunks */
    chat_msg_t *msgs[N];
    const char *ids[N + 2];

    for (int i = 0; i < N; i++) {
        msgs[i] = msg_make("room.big", "u", (apr_uint64_t)i, (unsigned)i, i + 1);
    }
    save_ok(s, msgs, N);
    ck_assert_int_eq(read_room(s, "room.big", 100, ids, N + 2), N);
    for (int i = 0; i < N; i++) {
        ck_assert_str_eq(ids[i], msgs[N - 1 - i]->message_id);
    }
}
END_TEST

STORE_TEST(room_after_and_max_seq_follow_the_sequence)
{
    chat_store_t *s = store_open(config_make(kind));
    chat_msg_t *msgs[12];
    apr_array_header_t *arr = NULL;
    apr_int64_t max = -1;

    for (int i = 0; i < 10; i++) {
        msgs[i] = msg_make("room.seq", "u", (apr_uint64_t)i, (unsigned)i, i + 1);
    }
    msgs[10] = msg_make("room.seq2", "u", 50, 50, 500);
    msgs[11] = msg_make("room.seq", "u", 60, 60, 0);   /* newest row without a seq */
    save_ok(s, msgs, 12);

    ck_assert_int_eq(chat_store_room_after(s, "room.seq", 3, 4, &arr, test_pool), APR_SUCCESS);
    ck_assert_int_eq(arr->nelts, 4);
    for (int i = 0; i < 4; i++) {
        assert_same(at(arr, i), msgs[3 + i]);
    }
    ck_assert_int_eq(chat_store_room_after(s, "room.seq", 8, 100, &arr, test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(arr->nelts, 2);
    ck_assert_int_eq(at(arr, 0)->seq, 9);
    ck_assert_int_eq(at(arr, 1)->seq, 10);
    ck_assert_int_eq(chat_store_room_after(s, "room.seq", 10, 100, &arr, test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(arr->nelts, 0);
    ck_assert_int_eq(chat_store_room_after(s, "room.seq", 0, 3, &arr, test_pool), APR_SUCCESS);
    ck_assert_int_eq(arr->nelts, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(at(arr, i)->seq, i + 1);
    }

    ck_assert_int_eq(chat_store_room_max_seq(s, "room.seq", &max), APR_SUCCESS);
    ck_assert_int_eq(max, 10);
    ck_assert_int_eq(chat_store_room_max_seq(s, "room.seq2", &max), APR_SUCCESS);
    ck_assert_int_eq(max, 500);
    ck_assert_int_eq(chat_store_room_max_seq(s, "room.empty", &max), APR_SUCCESS);
    ck_assert_int_eq(max, 0);
}
END_TEST

static const struct {
    const char *before;
    int limit;
    apr_status_t want;
} bad_query[] = {
    { NULL, 0, APR_EINVAL },
    { NULL, -1, APR_EINVAL },
    { NULL, CHAT_STORE_MAX_LIMIT + 1, APR_EINVAL },
    { "not-an-id", 10, CHAT_EBAD_MESSAGE_ID },
    { "0190A5B2-0000-7000-8000-000000000000", 10, CHAT_EBAD_MESSAGE_ID },  /* uppercase */
    { "0190a5b2-0000-7000-8000-00000000000", 10, CHAT_EBAD_MESSAGE_ID },   /* short */
    { "x' OR '1'='1", 10, CHAT_EBAD_MESSAGE_ID },
};

START_TEST(queries_refuse_each_bad_argument_with_its_own_code)
{
    chat_store_t *s = store_open(config_make(CHAT_STORAGE_SQLITE));
    apr_array_header_t *arr = NULL;
    int has_more = -1;

    ck_assert_int_eq(chat_store_room_recent(s, "r", bad_query[_i].before, bad_query[_i].limit,
                                            &arr, &has_more, test_pool), bad_query[_i].want);
    ck_assert_int_eq(chat_store_user_recent(s, "u", bad_query[_i].before, bad_query[_i].limit,
                                            &arr, &has_more, test_pool), bad_query[_i].want);
    ck_assert_ptr_null(arr);
    ck_assert_int_eq(has_more, -1);
}
END_TEST

START_TEST(room_names_with_quotes_are_data_not_sql)
{
    chat_store_t *s = store_open(config_make(CHAT_STORAGE_SQLITE));
    chat_msg_t *m = msg_make("r'; DROP TABLE messages; --", "u'\"", 1, 1, 1);
    apr_array_header_t *arr = NULL;
    int has_more;

    save_ok(s, &m, 1);
    ck_assert_int_eq(chat_store_room_recent(s, m->room_id, NULL, 5, &arr, &has_more, test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(arr->nelts, 1);
    assert_same(at(arr, 0), m);
    ck_assert_int_eq(chat_store_user_recent(s, m->user_id, NULL, 5, &arr, &has_more, test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(arr->nelts, 1);
}
END_TEST

/* ---------------------------------------------------------------- unavailable and disabled */

/* Runs sql on the test's SQLite file through an apr_dbd connection of its own (the store
 * opened before has set apr_dbd up). */
static void sqlite_exec(const chat_config_t *cfg, const char *sql)
{
    const apr_dbd_driver_t *drv = NULL;
    apr_dbd_t *db = NULL;
    const char *err = NULL;
    int nrows = 0;

    ck_assert_int_eq(apr_dbd_get_driver(test_pool, "sqlite3", &drv), APR_SUCCESS);
    ck_assert_int_eq(apr_dbd_open_ex(drv, test_pool, cfg->sqlite_path, &db, &err), APR_SUCCESS);
    ck_assert_msg(apr_dbd_query(drv, db, &nrows, sql) == 0, "%s", sql);
    apr_dbd_close(drv, db);
}

/* A save of more rows than one statement holds is one transaction: a statement failing in
 * its third hundred (a trigger refusing one row) leaves none of the earlier hundreds behind,
 * and the caller's retry of the whole batch then stores every row exactly once. */
START_TEST(a_failing_sqlite_transaction_leaves_no_row_and_its_retry_stores_each_once)
{
    chat_config_t *cfg = config_make(CHAT_STORAGE_SQLITE);
    chat_store_t *s = NULL;
    enum { N = 250, BAD = 230 };
    chat_msg_t *msgs[N];
    const char *ids[N + 2];
    apr_int64_t max = -1;
    apr_status_t rv;

    for (int i = 0; i < N; i++) {
        msgs[i] = msg_make("room.txn", "u", (apr_uint64_t)i, (unsigned)i, i + 1);
    }
    msgs[BAD]->content = "refused";
    store_open(cfg);                            /* the schema, for the trigger to attach to */
    sqlite_exec(cfg, "CREATE TRIGGER refuse BEFORE INSERT ON messages"
                     " WHEN NEW.content = 'refused' BEGIN SELECT RAISE(ABORT, 'refused'); END");
    s = store_open(cfg);                        /* prepares its statements with the trigger */
    rv = chat_store_save(s, (const chat_msg_t *const *)msgs, N, 0, test_pool);
    ck_assert_int_eq(rv, CHAT_ESTORE_UNAVAILABLE);
    ck_assert_msg(strstr(chat_store_last_error(s), "refused") != NULL, "%s",
                  chat_store_last_error(s));
    ck_assert_int_eq(chat_store_room_max_seq(s, "room.txn", &max), APR_SUCCESS);
    ck_assert_int_eq(max, 0);                   /* rows 1..200 were rolled back too */
    sqlite_exec(cfg, "DROP TRIGGER refuse");
    s = store_open(cfg);                        /* a connection that knows the trigger gone */
    save_ok(s, msgs, N);                        /* the retry, whole */
    save_ok(s, msgs, N);                        /* and a duplicate retry */
    ck_assert_int_eq(read_room(s, "room.txn", 100, ids, N + 2), N);
    for (int i = 0; i < N; i++) {
        ck_assert_str_eq(ids[i], msgs[N - 1 - i]->message_id);
    }
}
END_TEST

START_TEST(sqlite_in_an_impossible_place_opens_but_answers_unavailable)
{
    chat_config_t *cfg = config_make(CHAT_STORAGE_SQLITE);
    const char *file = apr_pstrcat(test_pool, tmp_dir, "/plainfile", NULL);
    chat_store_t *s = NULL;
    chat_msg_t *m = msg_make("r", "u", 1, 1, 1);
    apr_array_header_t *arr = NULL;
    apr_int64_t max = -1;
    int has_more;
    FILE *f = fopen(file, "w");

    ck_assert_ptr_nonnull(f);
    fclose(f);
    /* A regular file where the directory should be: not even root can create it. */
    cfg->sqlite_path = apr_pstrcat(test_pool, file, "/sub/chat.db", NULL);
    ck_assert_int_eq(chat_store_open(&s, cfg, test_pool), APR_SUCCESS);
    ck_assert_str_eq(chat_store_name(s), "sqlite");
    ck_assert_int_eq(chat_store_ensure_schema(s, 0), CHAT_ESTORE_UNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(chat_store_last_error(s), "plainfile"));
    ck_assert_int_eq(chat_store_health(s), CHAT_ESTORE_UNAVAILABLE);
    ck_assert_int_eq(chat_store_save(s, (const chat_msg_t *const *)&m, 1, 0, test_pool),
                     CHAT_ESTORE_UNAVAILABLE);
    ck_assert_int_eq(chat_store_room_recent(s, "r", NULL, 5, &arr, &has_more, test_pool),
                     CHAT_ESTORE_UNAVAILABLE);
    ck_assert_int_eq(chat_store_room_max_seq(s, "r", &max), CHAT_ESTORE_UNAVAILABLE);
    ck_assert_int_eq(max, -1);

    /* The database path is a directory: sqlite cannot open it. */
    cfg->sqlite_path = tmp_dir;
    ck_assert_int_eq(chat_store_open(&s, cfg, test_pool), APR_SUCCESS);
    ck_assert_int_eq(chat_store_health(s), CHAT_ESTORE_UNAVAILABLE);
    ck_assert_str_ne(chat_store_last_error(s), "");
}
END_TEST

START_TEST(sqlite_creates_a_missing_directory_and_comes_back_when_it_can)
{
    chat_config_t *cfg = config_make(CHAT_STORAGE_SQLITE);
    const char *blocker = apr_pstrcat(test_pool, tmp_dir, "/later", NULL);
    chat_store_t *s = NULL;
    FILE *f = fopen(blocker, "w");

    ck_assert_ptr_nonnull(f);
    fclose(f);
    cfg->sqlite_path = apr_pstrcat(test_pool, blocker, "/deep/er/chat.db", NULL);
    ck_assert_int_eq(chat_store_open(&s, cfg, test_pool), APR_SUCCESS);
    ck_assert_int_eq(chat_store_health(s), CHAT_ESTORE_UNAVAILABLE);
    ck_assert_int_eq(remove(blocker), 0);       /* the obstacle goes away */
    ck_assert_int_eq(chat_store_health(s), APR_SUCCESS);
}
END_TEST

START_TEST(dynamodb_on_a_closed_port_answers_unavailable)
{
    chat_config_t *cfg = config_make(CHAT_STORAGE_DYNAMODB);
    chat_store_t *s = NULL;
    chat_msg_t *m = msg_make("r", "u", 1, 1, 1);
    apr_array_header_t *arr = NULL;
    apr_int64_t max = -1;
    int has_more;

    cfg->dynamodb_endpoint = "http://127.0.0.1:1";  /* nothing listens on port 1 */
    ck_assert_int_eq(chat_store_open(&s, cfg, test_pool), APR_SUCCESS);
    ck_assert_str_eq(chat_store_name(s), "dynamodb");
    ck_assert_int_eq(chat_store_health(s), CHAT_ESTORE_UNAVAILABLE);
    ck_assert_str_ne(chat_store_last_error(s), "");
    ck_assert_int_eq(chat_store_ensure_schema(s, apr_time_from_sec(1)), CHAT_ESTORE_UNAVAILABLE);
    ck_assert_int_eq(chat_store_save(s, (const chat_msg_t *const *)&m, 1, 0, test_pool),
                     CHAT_ESTORE_UNAVAILABLE);
    ck_assert_int_eq(chat_store_room_recent(s, "r", NULL, 5, &arr, &has_more, test_pool),
                     CHAT_ESTORE_UNAVAILABLE);
    ck_assert_int_eq(chat_store_user_recent(s, "u", NULL, 5, &arr, &has_more, test_pool),
                     CHAT_ESTORE_UNAVAILABLE);
    ck_assert_int_eq(chat_store_room_after(s, "r", 0, 5, &arr, test_pool),
                     CHAT_ESTORE_UNAVAILABLE);
    ck_assert_int_eq(chat_store_room_max_seq(s, "r", &max), CHAT_ESTORE_UNAVAILABLE);
    ck_assert_int_eq(max, -1);
}
END_TEST

START_TEST(dynamodb_without_its_table_is_unhealthy_until_the_schema_exists)
{
    chat_config_t *cfg = config_make(CHAT_STORAGE_DYNAMODB);
    chat_store_t *s = NULL;

    ck_assert_msg(dyn_endpoint != NULL, "%s", dyn_error);
    ck_assert_int_eq(chat_store_open(&s, cfg, test_pool), APR_SUCCESS);
    ck_assert_int_eq(chat_store_health(s), CHAT_ESTORE_UNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(chat_store_last_error(s), "ResourceNotFoundException"));
    ck_assert_int_eq(chat_store_ensure_schema(s, apr_time_from_sec(10)), APR_SUCCESS);
    ck_assert_int_eq(chat_store_health(s), APR_SUCCESS);
    ck_assert_int_eq(chat_store_ensure_schema(s, apr_time_from_sec(10)), APR_SUCCESS);
}
END_TEST

START_TEST(dynamodb_requests_carry_a_valid_sigv4_signature_and_session_token)
{
    chat_config_t *cfg = config_make(CHAT_STORAGE_DYNAMODB);
    chat_store_t *s;

    cfg->aws_session_token = "FwoGZXIvYXdzEXAMPLETOKEN";
    s = store_open(cfg);                        /* signed requests: DescribeTable, CreateTable */
    ck_assert_int_eq(chat_store_health(s), APR_SUCCESS);

    cfg = config_make(CHAT_STORAGE_DYNAMODB);
    cfg->aws_secret_access_key = "not-the-secret";
    ck_assert_int_eq(chat_store_open(&s, cfg, test_pool), APR_SUCCESS);
    ck_assert_int_eq(chat_store_health(s), CHAT_ESTORE_UNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(chat_store_last_error(s), "InvalidSignatureException"));
}
END_TEST

START_TEST(none_backend_answers_disabled_to_everything)
{
    chat_config_t *cfg = config_make(CHAT_STORAGE_NONE);
    chat_store_t *s = NULL;
    chat_msg_t *m = msg_make("r", "u", 1, 1, 1);
    apr_array_header_t *arr = NULL;
    apr_int64_t max;
    int has_more;

    ck_assert_int_eq(chat_store_open(&s, cfg, test_pool), APR_SUCCESS);
    ck_assert_str_eq(chat_store_name(s), "none");
    ck_assert_int_eq(chat_store_ensure_schema(s, 0), CHAT_ESTORE_DISABLED);
    ck_assert_int_eq(chat_store_health(s), CHAT_ESTORE_DISABLED);
    ck_assert_int_eq(chat_store_save(s, (const chat_msg_t *const *)&m, 1, 0, test_pool),
                     CHAT_ESTORE_DISABLED);
    ck_assert_int_eq(chat_store_room_recent(s, "r", NULL, 5, &arr, &has_more, test_pool),
                     CHAT_ESTORE_DISABLED);
    ck_assert_int_eq(chat_store_user_recent(s, "u", NULL, 5, &arr, &has_more, test_pool),
                     CHAT_ESTORE_DISABLED);
    ck_assert_int_eq(chat_store_room_after(s, "r", 0, 5, &arr, test_pool), CHAT_ESTORE_DISABLED);
    ck_assert_int_eq(chat_store_room_max_seq(s, "r", &max), CHAT_ESTORE_DISABLED);
}
END_TEST

/* ---------------------------------------------------------------- SQLite concurrency */

enum { WRITERS = 4, PER_WRITER = 2500, WRITER_BATCH = 25 };

typedef struct writer_t {
    const chat_config_t *cfg;
    int index;
    apr_status_t rv;
    char err[CHAT_STORE_ERRBUF];
} writer_t;

static void *APR_THREAD_FUNC write_messages(apr_thread_t *thd, void *data)
{
    writer_t *w = data;
    apr_pool_t *pool = NULL;
    apr_pool_t *scratch = NULL;
    chat_store_t *s = NULL;
    chat_msg_t msgs[WRITER_BATCH];
    const chat_msg_t *batch[WRITER_BATCH];
    char ids[WRITER_BATCH][CHAT_MSG_ID_LEN + 1];

    w->rv = apr_pool_create(&pool, NULL);       /* this thread's own pools */
    if (w->rv == APR_SUCCESS) {
        w->rv = apr_pool_create(&scratch, pool);
    }
    if (w->rv == APR_SUCCESS) {
        w->rv = chat_store_open(&s, w->cfg, pool);
    }
    for (int done = 0; w->rv == APR_SUCCESS && done < PER_WRITER; done += WRITER_BATCH) {
        for (int i = 0; i < WRITER_BATCH; i++) {
            unsigned n = (unsigned)(done + i);

            /* writer in the counter's top bits keeps ids distinct across writers */
            snprintf(ids[i], sizeof(ids[i]), "%08x-%04x-7%03x-8000-%012x",
                     (unsigned)((BASE_MS + n) >> 16), (unsigned)((BASE_MS + n) & 0xffff),
                     (unsigned)w->index, n);
            msgs[i] = (chat_msg_t){ ids[i], "room.busy", CHAT_MSG_CHAT, "writer", "W", "text",
                                    apr_time_from_msec((apr_time_t)(BASE_MS + n)),
                                    (apr_int64_t)n + 1, NULL };
            batch[i] = &msgs[i];
        }
        w->rv = chat_store_save(s, batch, WRITER_BATCH, 0, scratch);
        apr_pool_clear(scratch);
    }
    if (w->rv != APR_SUCCESS && s != NULL) {
        snprintf(w->err, sizeof(w->err), "%s", chat_store_last_error(s));
    }
    if (pool != NULL) {
        apr_pool_destroy(pool);                 /* closes the store */
    }
    /* A plain return, not apr_thread_exit: pthread_exit skips this frame's unwinding and
     * ASan then reports its poisoned locals as an overflow when the thread is destroyed. */
    (void)thd;
    return NULL;
}

START_TEST(four_sqlite_writers_with_their_own_handles_store_exactly_ten_thousand_rows)
{
    chat_config_t *cfg = config_make(CHAT_STORAGE_SQLITE);
    chat_store_t *reader = store_open(cfg);     /* creates the schema before the race */
    apr_thread_t *threads[WRITERS];
    writer_t writers[WRITERS];
    const char **ids = apr_pcalloc(test_pool, sizeof(*ids) * (WRITERS * PER_WRITER + 1));
    apr_status_t trv;

    for (int i = 0; i < WRITERS; i++) {
        writers[i] = (writer_t){ cfg, i, APR_SUCCESS, "" };
        ck_assert_int_eq(apr_thread_create(&threads[i], NULL, write_messages, &writers[i],
                                           test_pool), APR_SUCCESS);
    }
    for (int i = 0; i < WRITERS; i++) {
        ck_assert_int_eq(apr_thread_join(&trv, threads[i]), APR_SUCCESS);
        ck_assert_msg(writers[i].rv == APR_SUCCESS, "writer %d: %d %s", i, writers[i].rv,
                      writers[i].err);
    }
    ck_assert_int_eq(read_room(reader, "room.busy", 1000, ids, WRITERS * PER_WRITER + 1),
                     WRITERS * PER_WRITER);
}
END_TEST

enum { OPENERS = 8 };

typedef struct {
    const chat_config_t *cfg;
    pthread_barrier_t *start;
    apr_status_t rv;
} opener_t;

static void *APR_THREAD_FUNC open_store(apr_thread_t *thd, void *data)
{
    opener_t *o = data;
    apr_pool_t *pool = NULL;
    chat_store_t *s = NULL;

    o->rv = apr_pool_create(&pool, NULL);
    pthread_barrier_wait(o->start);             /* every thread opens at the same moment */
    if (o->rv == APR_SUCCESS) {
        o->rv = chat_store_open(&s, o->cfg, pool);
    }
    if (pool != NULL) {
        apr_pool_destroy(pool);
    }
    (void)thd;
    return NULL;
}

/* chat-restapi's threads all open their SQLite store at start-up; the first open in the
 * process sets apr_dbd up, exactly once. Under --enable-tsan this is the regression test for
 * the race TSan reported there (each Check test runs in a fresh fork, so these opens are the
 * process's first; the race needs one thread to lock apr_dbd's mutex while another is still
 * creating it, so it shows on some runs, not all). */
START_TEST(sqlite_stores_opened_by_several_threads_at_once_all_open)
{
    chat_config_t *cfg = config_make(CHAT_STORAGE_SQLITE);
    apr_thread_t *threads[OPENERS];
    opener_t openers[OPENERS];
    pthread_barrier_t start;
    apr_status_t trv;

    ck_assert_int_eq(pthread_barrier_init(&start, NULL, OPENERS), 0);
    for (int i = 0; i < OPENERS; i++) {
        openers[i] = (opener_t){ cfg, &start, APR_EINIT };
        ck_assert_int_eq(apr_thread_create(&threads[i], NULL, open_store, &openers[i],
                                           test_pool), APR_SUCCESS);
    }
    for (int i = 0; i < OPENERS; i++) {
        ck_assert_int_eq(apr_thread_join(&trv, threads[i]), APR_SUCCESS);
        ck_assert_int_eq(openers[i].rv, APR_SUCCESS);
    }
    pthread_barrier_destroy(&start);
}
END_TEST

/* Writes messages first..first+n-1 of room in batches of 20 through s; ms_base keeps the ids
 * of different writers apart (ids are unique across rooms). */
static apr_status_t write_room(chat_store_t *s, const char *room, apr_uint64_t ms_base,
                               int first, int n, apr_pool_t *pool)
{
    chat_msg_t *batch[20];
    apr_status_t rv = APR_SUCCESS;

    for (int done = first; rv == APR_SUCCESS && done < first + n; done += 20) {
        for (int i = 0; i < 20; i++) {
            batch[i] = msg_make(room, "proc", ms_base + (apr_uint64_t)(done + i),
                                (unsigned)(done + i), done + i + 1);
        }
        rv = chat_store_save(s, (const chat_msg_t *const *)batch, 20, 0, pool);
    }
    return rv;
}

/* The child: its own pool and handle, like the relay beside chat-restapi. */
static int child_writes(const chat_config_t *cfg, int n)
{
    apr_pool_t *pool = NULL;
    chat_store_t *s = NULL;
    apr_status_t rv = apr_pool_create(&pool, NULL);

    if (rv == APR_SUCCESS) {
        rv = chat_store_open(&s, cfg, pool);
    }
    if (rv == APR_SUCCESS) {
        rv = write_room(s, "room.child", 0, 0, n, pool);
    }
    if (rv != APR_SUCCESS && s != NULL) {
        fprintf(stderr, "child writer: %s\n", chat_store_last_error(s));
    }
    return rv == APR_SUCCESS ? 0 : 1;
}

START_TEST(another_process_writing_never_makes_reads_or_writes_here_fail)
{
    chat_config_t *cfg = config_make(CHAT_STORAGE_SQLITE);
    chat_store_t *reader = store_open(cfg);
    chat_store_t *writer = store_open(cfg);
    enum { CHILD_ROWS = 2000, MAX_ROUNDS = 100000 };
    apr_int64_t seen = 0;
    apr_int64_t max = 0;
    int status = 0;
    int round = 0;
    pid_t child;

    child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        _exit(child_writes(cfg, CHILD_ROWS));
    }
    /* Both processes write the same file while this one also reads, until the child ends. */
    for (; round < MAX_ROUNDS && waitpid(child, &status, WNOHANG) == 0; round++) {
        apr_array_header_t *arr = NULL;
        int has_more;
        apr_status_t rv = chat_store_room_max_seq(reader, "room.child", &max);

        ck_assert_msg(rv == APR_SUCCESS, "max_seq: %d %s", rv, chat_store_last_error(reader));
        ck_assert_int_ge(max, seen);            /* committed rows never disappear */
        seen = max;
        rv = chat_store_room_recent(reader, "room.child", NULL, 20, &arr, &has_more, test_pool);
        ck_assert_msg(rv == APR_SUCCESS, "recent: %d %s", rv, chat_store_last_error(reader));
        rv = write_room(writer, "room.parent", 1000000, 20 * round, 20, test_pool);
        ck_assert_msg(rv == APR_SUCCESS, "write: %d %s", rv, chat_store_last_error(writer));
    }
    if (round == MAX_ROUNDS) {
        ck_assert_int_eq(waitpid(child, &status, 0), child);
    }
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ck_assert_int_eq(chat_store_room_max_seq(reader, "room.child", &max), APR_SUCCESS);
    ck_assert_int_eq(max, CHILD_ROWS);
    ck_assert_int_eq(chat_store_room_max_seq(reader, "room.parent", &max), APR_SUCCESS);
    ck_assert_int_eq(max, 20 * round);
}
END_TEST

/* ---------------------------------------------------------------- DynamoDB retries */

START_TEST(dynamodb_retries_unprocessed_items_throttling_errors_and_drops)
{
    chat_store_t *s = store_open(config_make(CHAT_STORAGE_DYNAMODB));
    enum { N = 60 };
    chat_msg_t *msgs[N];
    const char *ids[N + 2];
    long writes_before;
    apr_status_t rv;

    for (int i = 0; i < N; i++) {
        msgs[i] = msg_make("room.faults", "u", (apr_uint64_t)i, (unsigned)i, i + 1);
    }
    faults_set(NULL);
    writes_before = proxy_stat("BatchWriteItem");
    faults_set("{\"faults\":["
               "{\"op\":\"BatchWriteItem\",\"kind\":\"unprocessed\"},"
               "{\"op\":\"BatchWriteItem\",\"kind\":\"unprocessed\",\"keep\":0},"
               "{\"op\":\"BatchWriteItem\",\"kind\":\"throttle\"},"
               "{\"op\":\"BatchWriteItem\",\"kind\":\"throttle\",\"type\":\"ThrottlingException\"},"
               "{\"op\":\"BatchWriteItem\",\"kind\":\"500\"},"
               "{\"op\":\"BatchWriteItem\",\"kind\":\"drop\"},"
               "{\"op\":\"BatchWriteItem\",\"kind\":\"garbage\"},"
               "{\"op\":\"BatchWriteItem\",\"kind\":\"unprocessed\",\"keep\":3}]}");
    rv = chat_store_save(s, (const chat_msg_t *const *)msgs, N,
                         apr_time_now() + apr_time_from_sec(60), test_pool);
    ck_assert_msg(rv == APR_SUCCESS, "save: %d %s", rv, chat_store_last_error(s));
    ck_assert_int_eq(proxy_stat("pending"), 0);
    /* 3 chunks, 8 faulted answers, each followed by another attempt */
    ck_assert_int_ge(proxy_stat("BatchWriteItem") - writes_before, 3 + 8);
    ck_assert_int_eq(read_room(s, "room.faults", 25, ids, N + 2), N);
}
END_TEST

START_TEST(dynamodb_without_a_deadline_tries_once_and_reports_throttling)
{
    chat_store_t *s = store_open(config_make(CHAT_STORAGE_DYNAMODB));
    chat_msg_t *msgs[4];
    const char *ids[8];

    for (int i = 0; i < 4; i++) {
        msgs[i] = msg_make("room.once", "u", (apr_uint64_t)i, (unsigned)i, i + 1);
    }
    faults_set(NULL);
    faults_set("{\"faults\":[{\"op\":\"BatchWriteItem\",\"kind\":\"throttle\"}]}");
    ck_assert_int_eq(chat_store_save(s, (const chat_msg_t *const *)msgs, 4, 0, test_pool),
                     CHAT_ESTORE_THROTTLED);
    ck_assert_ptr_nonnull(strstr(chat_store_last_error(s),
                                 "ProvisionedThroughputExceededException"));
    faults_set("{\"faults\":[{\"op\":\"BatchWriteItem\",\"kind\":\"unprocessed\",\"keep\":1}]}");
    ck_assert_int_eq(chat_store_save(s, (const chat_msg_t *const *)msgs, 4, 0, test_pool),
                     CHAT_ESTORE_THROTTLED);
    ck_assert_int_eq(read_room(s, "room.once", 10, ids, 8), 1);     /* one got through */
    save_ok(s, msgs, 4);                        /* the caller's retry of the whole batch */
    ck_assert_int_eq(read_room(s, "room.once", 10, ids, 8), 4);
}
END_TEST

START_TEST(dynamodb_garbage_and_5xx_answers_are_unavailable_and_throttling_is_throttled)
{
    chat_store_t *s = store_open(config_make(CHAT_STORAGE_DYNAMODB));
    apr_array_header_t *arr = NULL;
    int has_more;

    faults_set(NULL);
    /* (No "drop" here: curl itself retries a request whose reused connection died.) */
    faults_set("{\"faults\":[{\"op\":\"Query\",\"kind\":\"garbage\"},"
               "{\"op\":\"Query\",\"kind\":\"500\"},"
               "{\"op\":\"Query\",\"kind\":\"throttle\"}]}");
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(chat_store_room_recent(s, "r", NULL, 5, &arr, &has_more, test_pool),
                         CHAT_ESTORE_UNAVAILABLE);
    }
    ck_assert_int_eq(chat_store_room_recent(s, "r", NULL, 5, &arr, &has_more, test_pool),
                     CHAT_ESTORE_THROTTLED);
    ck_assert_int_eq(chat_store_room_recent(s, "r", NULL, 5, &arr, &has_more, test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(arr->nelts, 0);
}
END_TEST

/* ---------------------------------------------------------------- DynamoDB answer parsing */

#define ITEM(extra) \
    "{\"MessageID\":{\"S\":\"m1\"},\"RoomID\":{\"S\":\"r\"},\"UserID\":{\"S\":\"u\"}," \
    "\"Type\":{\"S\":\"chat\"},\"Timestamp\":{\"S\":\"2026-11-30T03:21:13.123Z\"}" extra "}"

static const struct {
    const char *body;
    apr_status_t want;
    int items;
    int has_key;
} answers[] = {
    { "{}", APR_SUCCESS, 0, 0 },
    { "{\"Items\":[],\"Count\":0}", APR_SUCCESS, 0, 0 },
    { "{\"Items\":[" ITEM("") "]}", APR_SUCCESS, 1, 0 },
    { "{\"Items\":[" ITEM(",\"Seq\":{\"N\":\"42\"},\"Content\":{\"S\":\"hi\"}") "],"
      "\"LastEvaluatedKey\":{\"RoomID\":{\"S\":\"r\"},\"MessageID\":{\"S\":\"m1\"}}}",
      APR_SUCCESS, 1, 1 },
    { "{\"Items\":[" ITEM("") "]} \n", APR_SUCCESS, 1, 0 },
    { "", CHAT_EBAD_JSON, 0, 0 },
    { "not json", CHAT_EBAD_JSON, 0, 0 },
    { "[]", CHAT_EBAD_JSON, 0, 0 },
    { "{\"Items\":[]} trailing", CHAT_EBAD_JSON, 0, 0 },
    { "{\"Items\":[", CHAT_EBAD_JSON, 0, 0 },
    { "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", CHAT_EBAD_JSON, 0, 0 },
    { "{\"Items\":[{\"MessageID\":{\"S\":\"\xff\xfe\"}}]}", CHAT_EBAD_JSON, 0, 0 },
    { "{\"Items\":{}}", CHAT_ECORRUPT, 0, 0 },
    { "{\"Items\":[1]}", CHAT_ECORRUPT, 0, 0 },
    { "{\"Items\":[{}]}", CHAT_ECORRUPT, 0, 0 },
    { "{\"Items\":[" ITEM(",\"Seq\":{\"N\":\"-1\"}") "]}", CHAT_ECORRUPT, 0, 0 },
    { "{\"Items\":[" ITEM(",\"Seq\":{\"N\":\"12x\"}") "]}", CHAT_ECORRUPT, 0, 0 },
    { "{\"Items\":[" ITEM(",\"Seq\":{\"N\":\"99999999999999999999\"}") "]}", CHAT_ECORRUPT, 0, 0 },
    { "{\"Items\":[" ITEM(",\"Seq\":{\"S\":\"1\"}") "]}", CHAT_ECORRUPT, 0, 0 },
    { "{\"Items\":[" ITEM(",\"Content\":{\"N\":\"1\"}") "]}", CHAT_ECORRUPT, 0, 0 },
    { "{\"Items\":[" ITEM(",\"Content\":{\"S\":\"a\\u0000b\"}") "]}", CHAT_ECORRUPT, 0, 0 },
    { "{\"Items\":[" ITEM(",\"Username\":\"plain\"") "]}", CHAT_ECORRUPT, 0, 0 },
    { "{\"Items\":[{\"MessageID\":{\"S\":\"m\"},\"RoomID\":{\"S\":\"r\"},\"UserID\":{\"S\":\"u\"},"
      "\"Type\":{\"S\":\"shout\"},\"Timestamp\":{\"S\":\"2026-11-30T03:21:13.123Z\"}}]}",
      CHAT_ECORRUPT, 0, 0 },
    { "{\"Items\":[{\"MessageID\":{\"S\":\"m\"},\"RoomID\":{\"S\":\"r\"},\"UserID\":{\"S\":\"u\"},"
      "\"Type\":{\"S\":\"chat\"},\"Timestamp\":{\"S\":\"yesterday\"}}]}", CHAT_ECORRUPT, 0, 0 },
    { "{\"Items\":[{\"MessageID\":{\"S\":\"\"},\"RoomID\":{\"S\":\"r\"},\"UserID\":{\"S\":\"u\"},"
      "\"Type\":{\"S\":\"chat\"},\"Timestamp\":{\"S\":\"2026-11-30T03:21:13.123Z\"}}]}",
      CHAT_ECORRUPT, 0, 0 },
    { "{\"Items\":[],\"LastEvaluatedKey\":\"x\"}", CHAT_ECORRUPT, 0, 0 },
    { "{\"Items\":[{\"MessageID\":{\"S\":\"m\"},\"RoomID\":{\"S\":\"r\"},"
      "\"Type\":{\"S\":\"system\"},\"Timestamp\":{\"S\":\"2026-11-30T03:21:13Z\"}}]}",
      APR_SUCCESS, 1, 0 },                      /* a Go-era row: no UserID, no Seq, no ms */
    { "{\"Items\":[{\"RoomID\":{\"S\":\"r\"},\"UserID\":{\"S\":\"u\"},"
      "\"Type\":{\"S\":\"chat\"},\"Timestamp\":{\"S\":\"2026-11-30T03:21:13Z\"}}]}",
      CHAT_ECORRUPT, 0, 0 },                    /* no MessageID */
};

START_TEST(dynamodb_answers_parse_or_fail_with_their_own_code)
{
    apr_array_header_t *items = NULL;
    char *key = (char *)"untouched";
    apr_status_t rv = chat_store_dynamo_parse_items(answers[_i].body, strlen(answers[_i].body),
                                                    &items, &key, test_pool);

    ck_assert_msg(rv == answers[_i].want, "row %d: got %d want %d", _i, rv, answers[_i].want);
    if (rv == APR_SUCCESS) {
        ck_assert_int_eq(items->nelts, answers[_i].items);
        ck_assert_int_eq(key != NULL, answers[_i].has_key);
    }
    else {
        ck_assert_ptr_null(items);
        ck_assert_str_eq(key, "untouched");
    }
}
END_TEST

START_TEST(dynamodb_parsed_item_carries_every_attribute)
{
    const char *body = "{\"Items\":[" ITEM(",\"Seq\":{\"N\":\"42\"},"
                                           "\"Content\":{\"S\":\"hi \\ud83d\\ude00\"},"
                                           "\"Username\":{\"S\":\"Ann\"}") "]}";
    apr_array_header_t *items = NULL;
    char *key = NULL;
    chat_msg_t *m;
    const char *type = NULL;
    const char *message = NULL;

    ck_assert_int_eq(chat_store_dynamo_parse_items(body, strlen(body), &items, &key, test_pool),
                     APR_SUCCESS);
    m = at(items, 0);
    ck_assert_str_eq(m->message_id, "m1");
    ck_assert_str_eq(m->room_id, "r");
    ck_assert_str_eq(m->user_id, "u");
    ck_assert_str_eq(m->username, "Ann");
    ck_assert_str_eq(m->content, "hi \xF0\x9F\x98\x80");
    ck_assert_int_eq(m->type, CHAT_MSG_CHAT);
    ck_assert_int_eq(m->seq, 42);
    ck_assert_int_eq(m->timestamp, APR_INT64_C(1796008873123000));

    body = "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\","
           "\"message\":\"Requested resource not found\"}";
    ck_assert_int_eq(chat_store_dynamo_parse_error(body, strlen(body), &type, &message,
                                                   test_pool), APR_SUCCESS);
    ck_assert_str_eq(type, "ResourceNotFoundException");
    ck_assert_str_eq(message, "Requested resource not found");
    ck_assert_int_eq(chat_store_dynamo_parse_error("<html>", 6, &type, &message, test_pool),
                     CHAT_EBAD_JSON);
}
END_TEST

/* ---------------------------------------------------------------- registration */

static TCase *tcase_make(const char *name)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 240);     /* sanitizer builds; nothing here waits on purpose */
    return tc;
}

static TCase *sqlite_tcase(void)
{
    TCase *tc = tcase_make("sqlite");

    tcase_add_unchecked_fixture(tc, suite_dir_make, suite_dir_remove);
    tcase_add_test(tc, round_trip_keeps_every_field_including_unicode_and_1000_characters_sqlite);
    tcase_add_test(tc, room_pages_run_oldest_first_with_no_gap_or_duplicate_sqlite);
    tcase_add_test(tc, user_history_pages_by_time_across_rooms_sqlite);
    tcase_add_test(tc, duplicate_writes_and_duplicates_inside_a_batch_are_stored_once_sqlite);
    tcase_add_test(tc, a_batch_larger_than_one_statement_or_chunk_is_stored_whole_sqlite);
    tcase_add_test(tc, room_after_and_max_seq_follow_the_sequence_sqlite);
    tcase_add_test(tc, room_after_far_behind_still_answers_the_oldest_missed_messages_sqlite);
    tcase_add_loop_test(tc, queries_refuse_each_bad_argument_with_its_own_code, 0,
                        (int)(sizeof(bad_query) / sizeof(bad_query[0])));
    tcase_add_test(tc, room_names_with_quotes_are_data_not_sql);
    tcase_add_test(tc,
                   a_failing_sqlite_transaction_leaves_no_row_and_its_retry_stores_each_once);
    tcase_add_test(tc, sqlite_in_an_impossible_place_opens_but_answers_unavailable);
    tcase_add_test(tc, sqlite_creates_a_missing_directory_and_comes_back_when_it_can);
    tcase_add_test(tc, none_backend_answers_disabled_to_everything);
    tcase_add_test(tc, sqlite_stores_opened_by_several_threads_at_once_all_open);
    tcase_add_test(tc, four_sqlite_writers_with_their_own_handles_store_exactly_ten_thousand_rows);
    tcase_add_test(tc, another_process_writing_never_makes_reads_or_writes_here_fail);
    return tc;
}

static TCase *dynamo_tcase(void)
{
    TCase *tc = tcase_make("dynamodb");

    tcase_add_unchecked_fixture(tc, dynamo_fixture_start, dynamo_fixture_stop);
    tcase_add_test(tc, round_trip_keeps_every_field_including_unicode_and_1000_characters_dynamodb);
    tcase_add_test(tc, room_pages_run_oldest_first_with_no_gap_or_duplicate_dynamodb);
    tcase_add_test(tc, user_history_pages_by_time_across_rooms_dynamodb);
    tcase_add_test(tc, duplicate_writes_and_duplicates_inside_a_batch_are_stored_once_dynamodb);
    tcase_add_test(tc, a_batch_larger_than_one_statement_or_chunk_is_stored_whole_dynamodb);
    tcase_add_test(tc, room_after_and_max_seq_follow_the_sequence_dynamodb);
    tcase_add_test(tc, room_after_far_behind_still_answers_the_oldest_missed_messages_dynamodb);
    tcase_add_test(tc, dynamodb_on_a_closed_port_answers_unavailable);
    tcase_add_test(tc, dynamodb_without_its_table_is_unhealthy_until_the_schema_exists);
    tcase_add_test(tc, dynamodb_requests_carry_a_valid_sigv4_signature_and_session_token);
    tcase_add_test(tc, dynamodb_retries_unprocessed_items_throttling_errors_and_drops);
    tcase_add_test(tc, dynamodb_without_a_deadline_tries_once_and_reports_throttling);
    tcase_add_test(tc,
                   dynamodb_garbage_and_5xx_answers_are_unavailable_and_throttling_is_throttled);
    return tc;
}

static TCase *parse_tcase(void)
{
    TCase *tc = tcase_make("dynamodb answers");

    tcase_add_unchecked_fixture(tc, suite_dir_make, suite_dir_remove);
    tcase_add_loop_test(tc, dynamodb_answers_parse_or_fail_with_their_own_code, 0,
                        (int)(sizeof(answers) / sizeof(answers[0])));
    tcase_add_test(tc, dynamodb_parsed_item_carries_every_attribute);
    return tc;
}

const chat_tcase_fn chat_tcases[] = { sqlite_tcase, dynamo_tcase, parse_tcase, NULL };
