/* test_chat_shm.c: the analytics segment (common/chat_shm.c), issue 4.
 *
 * Writer and reader run in separate processes where it matters (fork, synchronised with
 * pipes and waitpid, never sleeps). Time is injected: every test picks its own `now`. Each
 * test puts its segment under a fresh temporary directory, removed by a pool cleanup. */
#include "../check_main.h"
#include "chat_shm.h"

#include <apr_shm.h>
#include <apr_strings.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0 ((apr_time_t)1700000040 * APR_USEC_PER_SEC)   /* on a minute boundary */
#define MIN(n) ((apr_time_t)(n) * 60 * APR_USEC_PER_SEC)
#define SEC(n) ((apr_time_t)(n) * APR_USEC_PER_SEC)

static const chat_shm_limits_t small = { 64, 16 };
static const chat_shm_limits_t roomy = { 512, 16 };   /* more rows than MODEL_CONNS */

/* ---------------------------------------------------------------- helpers */

struct tmpseg {
    char dir[64];
    const char *path;
};

static apr_status_t on_tmpseg_cleanup(void *data)
{
    struct tmpseg *t = data;

    apr_shm_remove(t->path, test_pool);   /* segments of _exit'ed children; ENOENT is fine */
    unlink(t->path);
    rmdir(t->dir);
    return APR_SUCCESS;
}

/* A fresh segment path; registered first, so removed after every writer of the test. */
static const char *seg_path(void)
{
    struct tmpseg *t = apr_pcalloc(test_pool, sizeof(*t));

    strcpy(t->dir, "/tmp/chat-shm-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
    t->path = apr_pstrcat(test_pool, t->dir, "/analytics.shm", NULL);
    apr_pool_cleanup_register(test_pool, t, on_tmpseg_cleanup, apr_pool_cleanup_null);
    return t->path;
}

static chat_shm_t *writer_at(const char *path, const chat_shm_limits_t *lim, apr_time_t now,
                             apr_pool_t *pool)
{
    chat_shm_t *shm = NULL;

    ck_assert_int_eq(chat_shm_create(&shm, path, lim, now, pool), APR_SUCCESS);
    ck_assert_ptr_nonnull(shm);
    return shm;
}

static chat_shm_snapshot_t *snap_at(chat_shm_reader_t *r, apr_time_t now)
{
    chat_shm_snapshot_t *s = apr_pcalloc(test_pool, sizeof(*s));

    ck_assert_int_eq(chat_shm_reader_snapshot(r, now, s, test_pool), APR_SUCCESS);
    return s;
}

static chat_shm_reader_t *reader_at(const char *path)
{
    chat_shm_reader_t *r = NULL;

    ck_assert_int_eq(chat_shm_reader_create(&r, path, test_pool), APR_SUCCESS);
    return r;
}

static const chat_shm_room_t *room_in(const chat_shm_snapshot_t *s, const char *id)
{
    for (int i = 0; i < s->n_rooms; i++) {
        if (strcmp(s->rooms[i].room_id, id) == 0) {
            return &s->rooms[i];
        }
    }
    return NULL;
}

static uint64_t rng_next(uint64_t *x)   /* xorshift64* */
{
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * UINT64_C(2685821657736338717);
}

static double rng_unit(uint64_t *x)     /* (0, 1] */
{
    return ((double)(rng_next(x) >> 11) + 1.0) / 9007199254740992.0;
}

/* Parent/child plumbing: the child never returns into Check; it _exits with 0 or 2. */
struct kid {
    pid_t pid;
    int up[2];      /* child -> parent */
    int down[2];    /* parent -> child */
};

static void kid_fork(struct kid *k)
{
    ck_assert_int_eq(pipe(k->up), 0);
    ck_assert_int_eq(pipe(k->down), 0);
    k->pid = fork();
    ck_assert_int_ge(k->pid, 0);
    if (k->pid == 0) {
        close(k->up[0]);
        close(k->down[1]);
    }
    else {
        close(k->up[1]);
        close(k->down[0]);
    }
}

static void kid_say(int fd)
{
    char c = 'x';

    if (write(fd, &c, 1) != 1) {
        _exit(2);
    }
}

static int kid_hear(int fd)
{
    char c;
    ssize_t n;

    do {
        n = read(fd, &c, 1);
    } while (n < 0 && errno == EINTR);
    return n == 1;
}

static int kid_has_said(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    return poll(&p, 1, 0) == 1;
}

static int kid_wait(struct kid *k)
{
    int status = -1;

    close(k->down[1]);                  /* a child still waiting reads EOF and leaves */
    ck_assert_int_eq(waitpid(k->pid, &status, 0), k->pid);
    close(k->up[0]);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---------------------------------------------------------------- two processes agree */

/* An independent model of what the writer should report after a run of operations. */
#define MODEL_CONNS 256
struct model {
    int n_open;
    struct { char client[16], user[16], room[16]; int slot; } open[MODEL_CONNS];
    uint64_t ctr[CHAT_CTR__COUNT];
    uint64_t lat_count, lat_sum;
    uint64_t room_msgs[3];
};

static uint64_t model_distinct(const struct model *m, const char *room)
{
    uint64_t n = 0;

    for (int i = 0; i < m->n_open; i++) {
        int seen = 0;

        if (room != NULL && strcmp(m->open[i].room, room) != 0) {
            continue;
        }
        for (int j = 0; j < i && !seen; j++) {
            seen = strcmp(m->open[j].user, m->open[i].user) == 0
                   && (room == NULL || strcmp(m->open[j].room, room) == 0);
        }
        n += !seen;
    }
    return n;
}

/* Applies n pseudo-random operations to the model and, when shm is set, to the writer. */
static void run_ops(chat_shm_t *shm, struct model *m, int n, apr_time_t now)
{
    uint64_t x = 0x9e3779b97f4a7c15u;

    memset(m, 0, sizeof(*m));
    for (int i = 0; i < n; i++) {
        uint64_t r = rng_next(&x);
        int op = (int)(r % 20);

        if (op < 8 && m->n_open < MODEL_CONNS) {
            int k = m->n_open++;

            snprintf(m->open[k].client, sizeof(m->open[k].client), "c%d", i);
            snprintf(m->open[k].user, sizeof(m->open[k].user), "u%d", (int)((r >> 8) % 7));
            snprintf(m->open[k].room, sizeof(m->open[k].room), "room%d", (int)((r >> 16) % 3));
            chat_shm_conn_open(shm, m->open[k].client, m->open[k].user, "name",
                               m->open[k].room, now, &m->open[k].slot);
            m->ctr[CHAT_CTR_CONNS_ACTIVE]++;
            m->ctr[CHAT_CTR_CONNS_TOTAL]++;
            if (m->ctr[CHAT_CTR_CONNS_ACTIVE] > m->ctr[CHAT_CTR_CONNS_PEAK]) {
                m->ctr[CHAT_CTR_CONNS_PEAK] = m->ctr[CHAT_CTR_CONNS_ACTIVE];
            }
        }
        else if (op < 13 && m->n_open > 0) {
            int k = (int)((r >> 8) % (uint64_t)m->n_open);

            chat_shm_conn_close(shm, m->open[k].slot, m->open[k].client, m->open[k].user,
                                m->open[k].room);
            m->open[k] = m->open[--m->n_open];
            m->ctr[CHAT_CTR_CONNS_ACTIVE]--;
        }
        else if (op < 18 && m->n_open > 0) {   /* senders are connected */
            int k = (int)((r >> 8) % (uint64_t)m->n_open);
            int room = m->open[k].room[4] - '0';

            chat_shm_message(shm, m->open[k].room, now);
            m->ctr[CHAT_CTR_MSGS_TOTAL]++;
            m->room_msgs[room]++;
        }
        else {
            uint64_t lat = 1 + (r >> 8) % 5000000;

            chat_shm_latency(shm, (apr_interval_time_t)lat);
            chat_shm_add(shm, CHAT_CTR_REJ_RATE, 1);
            chat_shm_add(shm, CHAT_CTR_PERSIST_QUEUED, 2);
            chat_shm_set(shm, CHAT_CTR_PERSIST_DEPTH, r % 50);
            m->lat_count++;
            m->lat_sum += lat;
            m->ctr[CHAT_CTR_REJ_RATE]++;
            m->ctr[CHAT_CTR_PERSIST_QUEUED] += 2;
            m->ctr[CHAT_CTR_PERSIST_DEPTH] = r % 50;
        }
    }
    m->ctr[CHAT_CTR_USERS_ACTIVE] = model_distinct(m, NULL);
}

START_TEST(writer_and_reader_in_two_processes_agree_on_every_counter)
{
    const char *path = seg_path();
    struct model *m = apr_pcalloc(test_pool, sizeof(*m));
    chat_shm_snapshot_t *s;
    struct kid k;

    kid_fork(&k);
    if (k.pid == 0) {
        chat_shm_t *shm = NULL;
        apr_pool_t *cp = NULL;

        if (apr_pool_create(&cp, NULL) != APR_SUCCESS
            || chat_shm_create(&shm, path, &roomy, T0, cp) != APR_SUCCESS) {
            _exit(2);
        }
        run_ops(shm, apr_palloc(cp, sizeof(struct model)), 5000, T0 + SEC(30));
        chat_shm_tick(shm, T0 + SEC(31));
        kid_say(k.up[1]);
        kid_hear(k.down[0]);            /* keep the segment until the parent has read... */
        apr_pool_destroy(cp);           /* ...or has failed (EOF), then remove it */
        _exit(0);
    }
    run_ops(NULL, m, 5000, T0 + SEC(30));
    ck_assert(kid_hear(k.up[0]));
    s = snap_at(reader_at(path), T0 + SEC(32));
    ck_assert_int_eq(s->relay_up, 1);
    ck_assert_int_eq(s->relay_pid, k.pid);
    ck_assert_int_eq(s->start_time, T0);
    for (int i = 0; i < CHAT_CTR__COUNT; i++) {
        ck_assert_msg(s->counters[i] == m->ctr[i], "%s: reader %llu, model %llu",
                      chat_shm_counter_key(i), (unsigned long long)s->counters[i],
                      (unsigned long long)m->ctr[i]);
    }
    ck_assert_uint_eq(s->per_minute[CHAT_SHM_WINDOW_MINUTES - 1], m->ctr[CHAT_CTR_MSGS_TOTAL]);
    ck_assert_msg(s->hist_count == m->lat_count && s->hist_sum_us == (double)m->lat_sum,
                  "latency: %llu samples summing to %.0f us, model %llu summing to %llu",
                  (unsigned long long)s->hist_count, s->hist_sum_us,
                  (unsigned long long)m->lat_count, (unsigned long long)m->lat_sum);
    ck_assert_int_eq(s->n_users, m->n_open);
    ck_assert_uint_eq(s->users_overflow, 0);
    for (int i = 0; i < m->n_open; i++) {
        int found = 0;

        for (int j = 0; j < s->n_users && !found; j++) {
            found = strcmp(s->users[j].client_id, m->open[i].client) == 0
                    && strcmp(s->users[j].user_id, m->open[i].user) == 0
                    && strcmp(s->users[j].room_id, m->open[i].room) == 0
                    && strcmp(s->users[j].username, "name") == 0
                    && s->users[j].joined_at == T0 + SEC(30);
        }
        ck_assert_msg(found, "row of %s", m->open[i].client);
    }
    for (int room = 0; room < 3; room++) {
        char id[16];
        const chat_shm_room_t *rm;
        uint64_t conns = 0;

        snprintf(id, sizeof(id), "room%d", room);
        for (int i = 0; i < m->n_open; i++) {
            conns += strcmp(m->open[i].room, id) == 0;
        }
        rm = room_in(s, id);
        ck_assert_ptr_nonnull(rm);
        ck_assert_uint_eq(rm->connections, conns);
        ck_assert_uint_eq(rm->users, model_distinct(m, id));
        ck_assert_uint_eq(rm->messages_total, m->room_msgs[room]);
        ck_assert_uint_eq(rm->messages_last_minute, m->room_msgs[room]);
    }
    kid_say(k.down[1]);
    ck_assert_int_eq(kid_wait(&k), 0);
}
END_TEST

/* ---------------------------------------------------------------- torn rows */

#define TORN_OPS 200000
#define TORN_OPEN 12

/* Every field of connection i derives from i, so a row mixing two writes is detectable. */
static void torn_fields(unsigned i, char *client, char *user, char *name, char *room)
{
    int len = 1 + (int)(i % 190);

    sprintf(client, "c%u", i);
    sprintf(user, "user-%u-%0*u", i, (int)(i % 90) + 1, i);
    memset(name, 'a' + (int)(i % 26), (size_t)len);
    sprintf(name + len, "%u", i);
    sprintf(room, "room%u", i % 8);
}

static int is_row_whole(const chat_shm_user_t *u)
{
    char client[48], user[256], name[256], room[32];
    unsigned i;

    if (sscanf(u->client_id, "c%u", &i) != 1) {
        return 0;
    }
    torn_fields(i, client, user, name, room);
    return strcmp(client, u->client_id) == 0 && strcmp(user, u->user_id) == 0
           && strcmp(name, u->username) == 0 && strcmp(room, u->room_id) == 0
           && u->joined_at == T0 + (apr_time_t)i;
}

START_TEST(concurrent_reader_never_sees_a_torn_user_row)
{
    const char *path = seg_path();
    chat_shm_reader_t *r;
    uint64_t rows = 0, torn = 0, snaps = 0;
    apr_pool_t *sp = NULL;
    struct kid k;

    kid_fork(&k);
    if (k.pid == 0) {
        chat_shm_t *shm = NULL;
        int slots[TORN_OPEN];
        char client[48], user[256], name[256], room[32];
        apr_pool_t *cp = NULL;

        if (apr_pool_create(&cp, NULL) != APR_SUCCESS
            || chat_shm_create(&shm, path, &small, T0, cp) != APR_SUCCESS) {
            _exit(2);
        }
        kid_say(k.up[1]);
        for (unsigned i = 0; i < TORN_OPS; i++) {
            if (i >= TORN_OPEN) {       /* close the oldest of the open window */
                unsigned o = i - TORN_OPEN;

                torn_fields(o, client, user, name, room);
                chat_shm_conn_close(shm, slots[o % TORN_OPEN], client, user, room);
            }
            torn_fields(i, client, user, name, room);
            chat_shm_conn_open(shm, client, user, name, room, T0 + (apr_time_t)i,
                               &slots[i % TORN_OPEN]);
            chat_shm_message(shm, room, T0 + SEC(1));
        }
        kid_say(k.up[1]);
        kid_hear(k.down[0]);
        apr_pool_destroy(cp);
        _exit(0);
    }
    ck_assert(kid_hear(k.up[0]));
    r = reader_at(path);
    ck_assert_int_eq(apr_pool_create(&sp, test_pool), APR_SUCCESS);
    /* bounded: the writer finishes long before; stop once it says so */
    for (int done = 0; snaps < 200000 && !done; snaps++) {
        chat_shm_snapshot_t s;

        done = kid_has_said(k.up[0]);
        ck_assert_int_eq(chat_shm_reader_snapshot(r, T0 + SEC(1), &s, sp), APR_SUCCESS);
        ck_assert_int_eq(s.relay_up, 1);
        for (int i = 0; i < s.n_users; i++) {
            rows++;
            torn += !is_row_whole(&s.users[i]);
        }
        for (int i = 0; i < s.n_rooms; i++) {
            unsigned n;

            ck_assert_int_eq(sscanf(s.rooms[i].room_id, "room%u", &n), 1);
            ck_assert_uint_le(s.rooms[i].users, s.rooms[i].connections);
        }
        apr_pool_clear(sp);
    }
    kid_say(k.down[1]);
    ck_assert_int_eq(kid_wait(&k), 0);
    ck_assert_uint_gt(rows, 0);
    ck_assert_msg(torn == 0, "%llu torn rows out of %llu", (unsigned long long)torn,
                  (unsigned long long)rows);
}
END_TEST

/* ---------------------------------------------------------------- minute window */

START_TEST(minute_window_rotates_on_minute_boundaries)
{
    const char *path = seg_path();
    chat_shm_t *shm = writer_at(path, &small, T0, test_pool);
    chat_shm_reader_t *r = reader_at(path);
    chat_shm_snapshot_t *s;
    int slot;
    apr_time_t now;

    chat_shm_conn_open(shm, "c1", "u1", "ann", "lobby", T0, &slot);
    for (int i = 0; i < 3; i++) {
        chat_shm_message(shm, "lobby", T0 + SEC(10));
    }
    for (int i = 0; i < 2; i++) {
        chat_shm_message(shm, "lobby", T0 + MIN(1) + SEC(59));
    }
    for (int i = 0; i < 5; i++) {
        chat_shm_message(shm, "lobby", T0 + MIN(5));
    }
    now = T0 + MIN(5) + SEC(1);
    chat_shm_tick(shm, now);
    s = snap_at(r, now);
    for (int i = 0; i < CHAT_SHM_WINDOW_MINUTES; i++) {
        uint64_t want = i == 14 ? 5 : i == 10 ? 2 : i == 9 ? 3 : 0;

        ck_assert_msg(s->per_minute[i] == want, "slot %d: %llu, want %llu", i,
                      (unsigned long long)s->per_minute[i], (unsigned long long)want);
    }
    ck_assert_uint_eq(room_in(s, "lobby")->messages_last_minute, 5);
    ck_assert_uint_eq(room_in(s, "lobby")->messages_total, 10);

    /* the first minute is oldest at 14 minutes on, gone at 15 */
    now = T0 + MIN(14) + SEC(59);
    chat_shm_tick(shm, now);
    s = snap_at(r, now);
    ck_assert_uint_eq(s->per_minute[0], 3);
    ck_assert_uint_eq(s->per_minute[1], 2);
    ck_assert_uint_eq(room_in(s, "lobby")->messages_last_minute, 0);
    now = T0 + MIN(15);
    chat_shm_tick(shm, now);
    s = snap_at(r, now);
    ck_assert_uint_eq(s->per_minute[0], 2);
    ck_assert_uint_eq(s->per_minute[4], 5);
    ck_assert_uint_eq(s->per_minute[14], 0);

    /* a new message in the reused slot of minute 0 starts from zero */
    chat_shm_message(shm, "lobby", T0 + MIN(15) + SEC(3));
    s = snap_at(r, T0 + MIN(15) + SEC(3));
    ck_assert_uint_eq(s->per_minute[14], 1);
    ck_assert_uint_eq(s->counters[CHAT_CTR_MSGS_TOTAL], 11);
}
END_TEST

START_TEST(minute_window_reads_zero_after_a_gap_of_more_than_15_minutes)
{
    const char *path = seg_path();
    chat_shm_t *shm = writer_at(path, &small, T0, test_pool);
    chat_shm_reader_t *r = reader_at(path);
    chat_shm_snapshot_t *s;
    int slot;

    chat_shm_conn_open(shm, "c1", "u1", "ann", "lobby", T0, &slot);
    for (int m = 0; m < CHAT_SHM_WINDOW_MINUTES; m++) {
        for (int i = 0; i <= m; i++) {
            chat_shm_message(shm, "lobby", T0 + MIN(m) + SEC(i));
        }
    }
    chat_shm_tick(shm, T0 + MIN(14) + SEC(30));
    s = snap_at(r, T0 + MIN(14) + SEC(30));
    for (int i = 0; i < CHAT_SHM_WINDOW_MINUTES; i++) {
        ck_assert_uint_eq(s->per_minute[i], (uint64_t)i + 1);   /* oldest first */
    }
    chat_shm_tick(shm, T0 + MIN(31));
    s = snap_at(r, T0 + MIN(31));
    for (int i = 0; i < CHAT_SHM_WINDOW_MINUTES; i++) {
        ck_assert_uint_eq(s->per_minute[i], 0);
    }
    chat_shm_message(shm, "lobby", T0 + MIN(31) + SEC(1));
    s = snap_at(r, T0 + MIN(31) + SEC(1));
    for (int i = 0; i < CHAT_SHM_WINDOW_MINUTES - 1; i++) {
        ck_assert_uint_eq(s->per_minute[i], 0);
    }
    ck_assert_uint_eq(s->per_minute[CHAT_SHM_WINDOW_MINUTES - 1], 1);
    ck_assert_uint_eq(room_in(s, "lobby")->messages_last_minute, 1);
    ck_assert_uint_eq(room_in(s, "lobby")->messages_total, 121);
}
END_TEST

/* ---------------------------------------------------------------- histogram */

START_TEST(histogram_buckets_tile_the_range_with_at_most_1_64_error)
{
    uint64_t v = 0;

    ck_assert_uint_eq(chat_shm_hist_bound(CHAT_SHM_HIST_BUCKETS - 1), (UINT64_C(1) << 36) - 1);
    ck_assert_int_lt(chat_shm_hist_index(60 * UINT64_C(1000000)), CHAT_SHM_HIST_BUCKETS - 1);
    ck_assert_int_eq(chat_shm_hist_index(UINT64_MAX), CHAT_SHM_HIST_BUCKETS - 1);
    for (int i = 0; i < CHAT_SHM_HIST_BUCKETS - 1; i++) {
        ck_assert_int_eq(chat_shm_hist_index(chat_shm_hist_bound(i)), i);
        ck_assert_int_eq(chat_shm_hist_index(chat_shm_hist_bound(i) + 1), i + 1);
    }
    for (int step = 0; step < 200000 && v < (UINT64_C(1) << 36); step++) {
        int i = chat_shm_hist_index(v);
        uint64_t lo = i > 0 ? chat_shm_hist_bound(i - 1) + 1 : 0, hi = chat_shm_hist_bound(i);
        double mid = ((double)lo + (double)hi) / 2;

        ck_assert(lo <= v && v <= hi);
        if (v > 0) {
            ck_assert_msg(fabs(mid - (double)v) / (double)v <= 1.0 / 64, "v=%llu",
                          (unsigned long long)v);
        }
        v += 1 + v / 1000;
    }
}
END_TEST

static uint64_t sample_uniform(uint64_t *x)
{
    return 1 + rng_next(x) % 60000000;
}

static uint64_t sample_bimodal(uint64_t *x)
{
    double u = rng_unit(x);

    if (rng_next(x) % 10 < 9) {
        return (uint64_t)(1500 + 1000 * u);       /* fast path: 1.5-2.5 ms */
    }
    return (uint64_t)(700000 + 200000 * u);       /* stragglers: 0.7-0.9 s */
}

static uint64_t sample_pareto(uint64_t *x)
{
    double v = 100.0 / pow(rng_unit(x), 1.0 / 1.2); /* x_m = 100 us, alpha = 1.2 */

    return v > 60e6 ? 60000000 : (uint64_t)v;
}

static const struct {
    const char *name;
    uint64_t (*sample)(uint64_t *x);
} dists[] = {
    { "uniform", sample_uniform },
    { "bimodal", sample_bimodal },
    { "pareto", sample_pareto },
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

#define PCT_SAMPLES 100000

START_TEST(percentiles_are_within_2_percent_of_the_exact_ones)
{
    static const unsigned permille[] = { 10, 250, 500, 900, 950, 990, 999, 1000 };
    uint64_t *data = apr_palloc(test_pool, PCT_SAMPLES * sizeof(uint64_t));
    uint64_t *hist = apr_pcalloc(test_pool, CHAT_SHM_HIST_BUCKETS * sizeof(uint64_t));
    uint64_t x = 0x2545f4914f6cdd1du + (uint64_t)_i;

    for (int i = 0; i < PCT_SAMPLES; i++) {
        data[i] = dists[_i].sample(&x);
        hist[chat_shm_hist_index(data[i])]++;
    }
    qsort(data, PCT_SAMPLES, sizeof(uint64_t), cmp_u64);
    for (size_t k = 0; k < sizeof(permille) / sizeof(permille[0]); k++) {
        uint64_t rank = ((uint64_t)permille[k] * PCT_SAMPLES + 999) / 1000;
        double exact = (double)data[rank - 1] / 1000.0;
        double got = chat_shm_hist_percentile(hist, PCT_SAMPLES, permille[k] / 1000.0);

        ck_assert_msg(fabs(got - exact) <= 0.02 * exact, "%s p%.1f: %.4f ms, exact %.4f ms",
                      dists[_i].name, permille[k] / 10.0, got, exact);
    }
    /* percentages are accepted too */
    ck_assert_double_eq(chat_shm_hist_percentile(hist, PCT_SAMPLES, 99),
                        chat_shm_hist_percentile(hist, PCT_SAMPLES, 0.99));
    ck_assert_double_eq(chat_shm_hist_percentile(hist, 0, 0.5), 0.0);
}
END_TEST

START_TEST(snapshot_latency_covers_all_time_and_the_last_minute)
{
    const char *path = seg_path();
    chat_shm_t *shm = writer_at(path, &small, T0, test_pool);
    chat_shm_reader_t *r = reader_at(path);
    chat_shm_snapshot_t *s;

    for (int i = 0; i < 100; i++) {
        chat_shm_latency(shm, 500000);            /* minute 0: 500 ms */
    }
    chat_shm_tick(shm, T0 + MIN(1));
    for (int i = 0; i < 300; i++) {
        chat_shm_latency(shm, 1000);              /* minute 1: 1 ms */
    }
    s = snap_at(r, T0 + MIN(1) + SEC(5));
    ck_assert_uint_eq(s->hist_count, 400);
    ck_assert_double_eq(s->hist_sum_us, 100 * 500000.0 + 300 * 1000.0);
    ck_assert(fabs(s->p50_ms - 1.0) <= 0.02);
    ck_assert(fabs(s->p99_ms - 500.0) <= 10.0);
    ck_assert(fabs(s->p50_ms_1m - 1.0) <= 0.02);  /* previous + current minute */
    ck_assert(fabs(s->p99_ms_1m - 500.0) <= 10.0);

    chat_shm_tick(shm, T0 + MIN(2));              /* minute 0 leaves the last minute */
    s = snap_at(r, T0 + MIN(2));
    ck_assert(fabs(s->p99_ms_1m - 1.0) <= 0.02);
    ck_assert(fabs(s->p99_ms - 500.0) <= 10.0);   /* all-time keeps it */

    chat_shm_tick(shm, T0 + MIN(3));
    s = snap_at(r, T0 + MIN(3));
    ck_assert_double_eq(s->p50_ms_1m, 0.0);
    ck_assert_uint_eq(s->hist_count, 400);
}
END_TEST

/* ---------------------------------------------------------------- users and rooms */

START_TEST(a_user_with_three_tabs_counts_once)
{
    const char *path = seg_path();
    chat_shm_t *shm = writer_at(path, &small, T0, test_pool);
    chat_shm_reader_t *r = reader_at(path);
    chat_shm_snapshot_t *s;
    int tab[3], bob;

    chat_shm_conn_open(shm, "t1", "alice", "Alice", "lobby", T0, &tab[0]);
    chat_shm_conn_open(shm, "t2", "alice", "Alice", "lobby", T0, &tab[1]);
    chat_shm_conn_open(shm, "t3", "alice", "Alice", "games", T0, &tab[2]);
    chat_shm_conn_open(shm, "b1", "bob", "Bob", "lobby", T0, &bob);
    s = snap_at(r, T0);
    ck_assert_uint_eq(s->counters[CHAT_CTR_CONNS_ACTIVE], 4);
    ck_assert_uint_eq(s->counters[CHAT_CTR_USERS_ACTIVE], 2);
    ck_assert_uint_eq(s->counters[CHAT_CTR_CONNS_PEAK], 4);
    ck_assert_int_eq(s->n_users, 4);
    ck_assert_uint_eq(room_in(s, "lobby")->connections, 3);
    ck_assert_uint_eq(room_in(s, "lobby")->users, 2);
    ck_assert_uint_eq(room_in(s, "games")->users, 1);

    chat_shm_conn_close(shm, bob, "b1", "bob", "lobby");
    chat_shm_conn_close(shm, tab[0], "t1", "alice", "lobby");
    chat_shm_conn_close(shm, tab[1], "t2", "alice", "lobby");
    s = snap_at(r, T0);
    ck_assert_uint_eq(s->counters[CHAT_CTR_USERS_ACTIVE], 1);
    ck_assert_uint_eq(s->counters[CHAT_CTR_CONNS_ACTIVE], 1);
    ck_assert_int_eq(s->n_users, 1);
    ck_assert_str_eq(s->users[0].client_id, "t3");
    ck_assert_uint_eq(room_in(s, "lobby")->connections, 0);   /* idle rows stay listed */
    ck_assert_uint_eq(room_in(s, "lobby")->users, 0);

    chat_shm_conn_close(shm, tab[2], "t3", "alice", "games");
    s = snap_at(r, T0);
    ck_assert_uint_eq(s->counters[CHAT_CTR_USERS_ACTIVE], 0);
    ck_assert_uint_eq(s->counters[CHAT_CTR_CONNS_ACTIVE], 0);
    ck_assert_uint_eq(s->counters[CHAT_CTR_CONNS_PEAK], 4);
    ck_assert_uint_eq(s->counters[CHAT_CTR_CONNS_TOTAL], 4);
    ck_assert_int_eq(s->n_users, 0);
}
END_TEST

START_TEST(a_full_user_table_reports_how_many_it_could_not_list)
{
    static const chat_shm_limits_t tiny = { 4, 2 };
    const char *path = seg_path();
    chat_shm_t *shm = writer_at(path, &tiny, T0, test_pool);
    chat_shm_reader_t *r = reader_at(path);
    chat_shm_snapshot_t *s;
    int slot[7];
    char id[8];

    for (int i = 0; i < 7; i++) {
        snprintf(id, sizeof(id), "c%d", i);
        chat_shm_conn_open(shm, id, id, "n", "lobby", T0, &slot[i]);
    }
    ck_assert_int_eq(slot[3], 3);
    ck_assert_int_eq(slot[4], -1);
    s = snap_at(r, T0);
    ck_assert_int_eq(s->n_users, 4);
    ck_assert_uint_eq(s->users_overflow, 3);
    ck_assert_uint_eq(s->counters[CHAT_CTR_CONNS_ACTIVE], 7);  /* counters stay exact */
    ck_assert_uint_eq(s->counters[CHAT_CTR_USERS_ACTIVE], 7);
    ck_assert_uint_eq(room_in(s, "lobby")->connections, 7);

    chat_shm_conn_close(shm, slot[5], "c5", "c5", "lobby");   /* an unlisted one */
    chat_shm_conn_close(shm, slot[1], "c1", "c1", "lobby");   /* a listed one frees a row */
    s = snap_at(r, T0);
    ck_assert_int_eq(s->n_users, 3);
    ck_assert_uint_eq(s->users_overflow, 2);
    chat_shm_conn_open(shm, "c7", "c7", "n", "lobby", T0, &slot[5]);
    ck_assert_int_eq(slot[5], 1);
    s = snap_at(r, T0);
    ck_assert_int_eq(s->n_users, 4);
    ck_assert_uint_eq(s->counters[CHAT_CTR_CONNS_ACTIVE], 6);
}
END_TEST

/* A snapshot of some parts copies only those tables; identity, counters and the overflow
 * gauges come with every one (/health asks for no table at all). */
START_TEST(a_snapshot_of_some_parts_copies_only_those_tables)
{
    static const chat_shm_limits_t tiny = { 2, 4 };
    const char *path = seg_path();
    chat_shm_t *shm = writer_at(path, &tiny, T0, test_pool);
    chat_shm_reader_t *r = reader_at(path);
    chat_shm_snapshot_t *s = apr_pcalloc(test_pool, sizeof(*s));
    int slot[3];

    chat_shm_conn_open(shm, "c1", "u1", "n", "lobby", T0, &slot[0]);
    chat_shm_conn_open(shm, "c2", "u2", "n", "games", T0, &slot[1]);
    chat_shm_conn_open(shm, "c3", "u3", "n", "games", T0, &slot[2]);  /* beyond 2 user rows */
    chat_shm_message(shm, "lobby", T0);
    ck_assert_int_eq(chat_shm_reader_snapshot_parts(r, T0, 0, s, test_pool), APR_SUCCESS);
    ck_assert_int_eq(s->relay_up, 1);
    ck_assert_uint_eq(s->counters[CHAT_CTR_CONNS_ACTIVE], 3);
    ck_assert_uint_eq(s->users_overflow, 1);
    ck_assert_int_eq(s->n_users, 0);
    ck_assert_ptr_null(s->users);
    ck_assert_int_eq(s->n_rooms, 0);
    ck_assert_ptr_null(s->rooms);
    ck_assert_uint_eq(s->per_minute[CHAT_SHM_WINDOW_MINUTES - 1], 0);
    ck_assert_int_eq(chat_shm_reader_snapshot_parts(r, T0, CHAT_SHM_PART_ROOMS, s, test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(s->n_rooms, 2);
    ck_assert_int_eq(s->n_users, 0);
    ck_assert_int_eq(chat_shm_reader_snapshot_parts(r, T0, CHAT_SHM_PART_USERS
                                                    | CHAT_SHM_PART_WINDOW, s, test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(s->n_users, 2);
    ck_assert_int_eq(s->n_rooms, 0);
    ck_assert_uint_eq(s->per_minute[CHAT_SHM_WINDOW_MINUTES - 1], 1);
    s = snap_at(r, T0);                         /* the whole snapshot, as before */
    ck_assert_int_eq(s->n_users, 2);
    ck_assert_int_eq(s->n_rooms, 2);
    ck_assert_uint_eq(s->users_overflow, 1);
}
END_TEST

START_TEST(a_full_room_table_reports_overflow_and_reuses_idle_rows)
{
    static const chat_shm_limits_t tiny = { 16, 2 };
    const char *path = seg_path();
    chat_shm_t *shm = writer_at(path, &tiny, T0, test_pool);
    chat_shm_reader_t *r = reader_at(path);
    chat_shm_snapshot_t *s;
    int a, b, c, d;

    chat_shm_conn_open(shm, "ca", "u", "n", "A", T0, &a);
    chat_shm_conn_open(shm, "cb", "u", "n", "B", T0, &b);
    chat_shm_conn_open(shm, "cc", "u", "n", "C", T0, &c);
    chat_shm_message(shm, "A", T0);
    chat_shm_message(shm, "C", T0);               /* unlisted: counted globally only */
    s = snap_at(r, T0);
    ck_assert_int_eq(s->n_rooms, 2);
    ck_assert_uint_eq(s->rooms_overflow, 1);
    ck_assert_ptr_null(room_in(s, "C"));
    ck_assert_uint_eq(s->counters[CHAT_CTR_MSGS_TOTAL], 2);

    chat_shm_conn_close(shm, c, "cc", "u", "C");
    chat_shm_conn_close(shm, a, "ca", "u", "A");  /* A idles, keeping its totals */
    s = snap_at(r, T0);
    ck_assert_uint_eq(s->rooms_overflow, 0);
    ck_assert_uint_eq(room_in(s, "A")->connections, 0);
    ck_assert_uint_eq(room_in(s, "A")->messages_total, 1);

    chat_shm_conn_open(shm, "cd", "u", "n", "D", T0, &d);   /* takes A's idle row */
    s = snap_at(r, T0);
    ck_assert_int_eq(s->n_rooms, 2);
    ck_assert_ptr_null(room_in(s, "A"));
    ck_assert_uint_eq(room_in(s, "D")->connections, 1);
    ck_assert_uint_eq(room_in(s, "D")->messages_total, 0);
    ck_assert_uint_eq(room_in(s, "B")->connections, 1);
}
END_TEST

/* ---------------------------------------------------------------- life cycle */

START_TEST(reader_without_a_segment_reports_the_relay_down)
{
    chat_shm_reader_t *r = reader_at(seg_path());
    chat_shm_snapshot_t *s = snap_at(r, T0);

    ck_assert_int_eq(s->relay_up, 0);
    ck_assert_uint_eq(s->generation, 0);
    ck_assert_uint_eq(s->counters[CHAT_CTR_MSGS_TOTAL], 0);
    ck_assert_int_eq(s->n_users, 0);
    ck_assert_int_eq(s->n_rooms, 0);
}
END_TEST

START_TEST(relay_restart_gives_an_attached_reader_the_new_generation)
{
    const char *path = seg_path();
    chat_shm_reader_t *r = reader_at(path);
    apr_pool_t *p1 = NULL, *p2 = NULL;
    chat_shm_snapshot_t *s;
    chat_shm_t *shm;
    uint64_t gen1;
    int slot;

    ck_assert_int_eq(apr_pool_create(&p1, test_pool), APR_SUCCESS);
    shm = writer_at(path, &small, T0, p1);
    chat_shm_conn_open(shm, "c1", "u1", "n", "lobby", T0, &slot);
    chat_shm_message(shm, "lobby", T0);
    s = snap_at(r, T0 + SEC(1));
    ck_assert_int_eq(s->relay_up, 1);
    ck_assert_uint_eq(s->counters[CHAT_CTR_MSGS_TOTAL], 1);
    gen1 = s->generation;
    ck_assert_uint_ne(gen1, 0);

    apr_pool_destroy(p1);                         /* relay stops... */
    ck_assert_int_eq(apr_pool_create(&p2, test_pool), APR_SUCCESS);
    writer_at(path, &small, T0 + SEC(2), p2);     /* ...and starts again */
    s = snap_at(r, T0 + SEC(3));
    ck_assert_int_eq(s->relay_up, 1);
    ck_assert_uint_ne(s->generation, gen1);
    ck_assert_int_eq(s->start_time, T0 + SEC(2));
    ck_assert_uint_eq(s->counters[CHAT_CTR_MSGS_TOTAL], 0);
    ck_assert_uint_eq(s->counters[CHAT_CTR_CONNS_ACTIVE], 0);
    ck_assert_int_eq(s->n_users, 0);
    ck_assert_int_eq(s->n_rooms, 0);
}
END_TEST

START_TEST(stale_segment_of_a_dead_relay_is_replaced)
{
    const char *path = seg_path();
    chat_shm_reader_t *r = reader_at(path);
    chat_shm_snapshot_t *s;
    uint64_t gen1;
    struct kid k;

    kid_fork(&k);
    if (k.pid == 0) {                   /* a relay that crashes: no cleanup runs */
        chat_shm_t *shm = NULL;

        if (chat_shm_create(&shm, path, &small, T0, test_pool) != APR_SUCCESS) {
            _exit(2);
        }
        chat_shm_message(shm, "lobby", T0);
        _exit(0);
    }
    ck_assert_int_eq(kid_wait(&k), 0);
    s = snap_at(r, T0 + SEC(1));         /* its heartbeat is still fresh */
    ck_assert_int_eq(s->relay_up, 1);
    ck_assert_int_eq(s->relay_pid, k.pid);
    ck_assert_uint_eq(s->counters[CHAT_CTR_MSGS_TOTAL], 1);
    gen1 = s->generation;

    writer_at(path, &small, T0 + SEC(2), test_pool);   /* pid gone: replaced */
    s = snap_at(r, T0 + SEC(2));
    ck_assert_int_eq(s->relay_pid, getpid());
    ck_assert_uint_ne(s->generation, gen1);
    ck_assert_uint_eq(s->counters[CHAT_CTR_MSGS_TOTAL], 0);
}
END_TEST

START_TEST(segment_of_another_layout_is_reported_then_replaced)
{
    const char *path = seg_path();
    chat_shm_reader_t *r = reader_at(path);
    chat_shm_snapshot_t s;
    struct kid k;

    kid_fork(&k);
    if (k.pid == 0) {                   /* not ours: another program's bytes */
        apr_shm_t *raw = NULL;

        if (apr_shm_create(&raw, 4096, path, test_pool) != APR_SUCCESS) {
            _exit(2);
        }
        memcpy(apr_shm_baseaddr_get(raw), "NOTCHAT!garbage", 16);
        _exit(0);
    }
    ck_assert_int_eq(kid_wait(&k), 0);
    ck_assert_int_eq(chat_shm_reader_snapshot(r, T0, &s, test_pool), CHAT_ESHM_LAYOUT);
    writer_at(path, &small, T0, test_pool);
    ck_assert_int_eq(snap_at(r, T0)->relay_up, 1);
}
END_TEST

START_TEST(second_relay_fails_while_the_first_is_alive)
{
    const char *path = seg_path();
    chat_shm_t *first = writer_at(path, &small, T0, test_pool), *second = NULL;
    chat_shm_reader_t *r = reader_at(path);

    chat_shm_message(first, "lobby", T0);
    ck_assert_int_eq(chat_shm_create(&second, path, &small, T0 + SEC(1), test_pool), APR_EEXIST);
    ck_assert_ptr_null(second);
    ck_assert_uint_eq(snap_at(r, T0 + SEC(1))->counters[CHAT_CTR_MSGS_TOTAL], 1);
}
END_TEST

START_TEST(heartbeat_older_than_5_seconds_reports_the_relay_down)
{
    const char *path = seg_path();
    chat_shm_t *shm = writer_at(path, &small, T0, test_pool);
    chat_shm_reader_t *r = reader_at(path);
    chat_shm_snapshot_t *s;

    chat_shm_message(shm, "lobby", T0);
    chat_shm_tick(shm, T0 + SEC(10));
    ck_assert_int_eq(snap_at(r, T0 + SEC(15))->relay_up, 1);
    s = snap_at(r, T0 + SEC(15) + 1);
    ck_assert_int_eq(s->relay_up, 0);
    ck_assert_uint_eq(s->counters[CHAT_CTR_MSGS_TOTAL], 0);
    ck_assert_int_eq(s->relay_pid, getpid());     /* but who went silent is known */
    ck_assert_int_eq(s->heartbeat, T0 + SEC(10));
    chat_shm_tick(shm, T0 + SEC(16));
    s = snap_at(r, T0 + SEC(16));
    ck_assert_int_eq(s->relay_up, 1);
    ck_assert_uint_eq(s->counters[CHAT_CTR_MSGS_TOTAL], 1);
}
END_TEST

START_TEST(segment_is_readable_by_owner_and_group_only)
{
    chat_shm_t *shm = writer_at(seg_path(), &small, T0, test_pool);
    struct stat st;

    ck_assert_ptr_nonnull(chat_shm_file_get(shm));
    ck_assert_int_eq(stat(chat_shm_file_get(shm), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, CHAT_SHM_MODE);
}
END_TEST

static const chat_shm_limits_t bad_limits[] = {
    { 0, 16 }, { 16, 0 }, { -1, 16 }, { 16, -5 },
    { CHAT_SHM_MAX_ROWS + 1, 16 }, { 16, CHAT_SHM_MAX_ROWS + 1 },
};

START_TEST(create_rejects_each_bad_limit_with_einval)
{
    chat_shm_t *shm = NULL;

    ck_assert_int_eq(chat_shm_create(&shm, seg_path(), &bad_limits[_i], T0, test_pool),
                     APR_EINVAL);
    ck_assert_ptr_null(shm);
}
END_TEST

START_TEST(writer_calls_on_a_null_handle_do_nothing)
{
    int slot = 7;

    chat_shm_tick(NULL, T0);
    chat_shm_add(NULL, CHAT_CTR_MSGS_TOTAL, 1);
    chat_shm_sub(NULL, CHAT_CTR_MSGS_TOTAL, 1);
    chat_shm_set(NULL, CHAT_CTR_MSGS_TOTAL, 1);
    chat_shm_conn_open(NULL, "c", "u", "n", "r", T0, &slot);
    ck_assert_int_eq(slot, -1);
    chat_shm_conn_close(NULL, slot, "c", "u", "r");
    chat_shm_message(NULL, "r", T0);
    chat_shm_latency(NULL, 5);
    ck_assert_ptr_null(chat_shm_file_get(NULL));
}
END_TEST

START_TEST(gauges_saturate_at_zero_and_counters_carry_their_metadata)
{
    const char *path = seg_path();
    chat_shm_t *shm = writer_at(path, &small, T0, test_pool);
    chat_shm_reader_t *r = reader_at(path);

    chat_shm_add(shm, CHAT_CTR_PERSIST_DEPTH, 3);
    chat_shm_sub(shm, CHAT_CTR_PERSIST_DEPTH, 5);
    ck_assert_uint_eq(snap_at(r, T0)->counters[CHAT_CTR_PERSIST_DEPTH], 0);
    ck_assert_str_eq(chat_shm_counter_key(CHAT_CTR_MSGS_TOTAL), "totalMessages");
    ck_assert_str_eq(chat_shm_counter_prom(CHAT_CTR_MSGS_TOTAL), "chat_messages_total");
    ck_assert_int_eq(chat_shm_counter_is_gauge(CHAT_CTR_MSGS_TOTAL), 0);
    ck_assert_int_eq(chat_shm_counter_is_gauge(CHAT_CTR_CONNS_ACTIVE), 1);
    ck_assert_str_eq(chat_shm_counter_key(CHAT_CTR__COUNT), "");
    for (int i = 0; i < CHAT_CTR__COUNT; i++) {
        ck_assert_int_gt(strlen(chat_shm_counter_help(i)), 0);
        for (int j = 0; j < i; j++) {
            ck_assert_str_ne(chat_shm_counter_key(i), chat_shm_counter_key(j));
        }
    }
}
END_TEST

static TCase *tcase_chat_shm(void)
{
    TCase *tc = chat_tcase_create("shm");

    tcase_add_test(tc, writer_and_reader_in_two_processes_agree_on_every_counter);
    tcase_add_test(tc, concurrent_reader_never_sees_a_torn_user_row);
    tcase_add_test(tc, minute_window_rotates_on_minute_boundaries);
    tcase_add_test(tc, minute_window_reads_zero_after_a_gap_of_more_than_15_minutes);
    tcase_add_test(tc, histogram_buckets_tile_the_range_with_at_most_1_64_error);
    tcase_add_loop_test(tc, percentiles_are_within_2_percent_of_the_exact_ones, 0,
                        (int)(sizeof(dists) / sizeof(dists[0])));
    tcase_add_test(tc, snapshot_latency_covers_all_time_and_the_last_minute);
    tcase_add_test(tc, a_user_with_three_tabs_counts_once);
    tcase_add_test(tc, a_full_user_table_reports_how_many_it_could_not_list);
    tcase_add_test(tc, a_snapshot_of_some_parts_copies_only_those_tables);
    tcase_add_test(tc, a_full_room_table_reports_overflow_and_reuses_idle_rows);
    tcase_add_test(tc, reader_without_a_segment_reports_the_relay_down);
    tcase_add_test(tc, relay_restart_gives_an_attached_reader_the_new_generation);
    tcase_add_test(tc, stale_segment_of_a_dead_relay_is_replaced);
    tcase_add_test(tc, segment_of_another_layout_is_reported_then_replaced);
    tcase_add_test(tc, second_relay_fails_while_the_first_is_alive);
    tcase_add_test(tc, heartbeat_older_than_5_seconds_reports_the_relay_down);
    tcase_add_test(tc, segment_is_readable_by_owner_and_group_only);
    tcase_add_loop_test(tc, create_rejects_each_bad_limit_with_einval, 0,
                        (int)(sizeof(bad_limits) / sizeof(bad_limits[0])));
    tcase_add_test(tc, writer_calls_on_a_null_handle_do_nothing);
    tcase_add_test(tc, gauges_saturate_at_zero_and_counters_carry_their_metadata);
    return tc;
}

const char *const chat_suite_name = "shm";
const chat_tcase_fn chat_tcases[] = { tcase_chat_shm, NULL };
