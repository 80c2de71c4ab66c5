/* chat_shm.c: the live analytics segment (issue 4): layout, writer (relay), reader (REST app).
 *
 * The relay maps a named APR segment and is its only writer; readers map the same segment
 * and copy what they need. Nothing in the segment is a pointer: both sides derive the region
 * addresses from the offsets in the header (chat_shm.h draws the layout).
 *
 * - Counters and histogram buckets are lock-free 64-bit atomics, bumped with relaxed RMWs.
 * - Compound data (user rows, room rows, the per-minute histograms while they are cleared)
 *   is written under a per-row seqlock: the writer makes seq odd, fences, stores the row as
 *   relaxed atomic words and stores seq even with release; a reader loads seq (acquire),
 *   copies the words with relaxed loads, fences (acquire) and re-reads seq, retrying a
 *   bounded number of times (Boehm's seqlock, which keeps the race well defined in C11).
 * - Window slots pack (minute, count) into one atomic word, so they need no lock at all.
 * - Unique users: the writer keeps private (process-local) ref counts of userId and of
 *   (roomId, userId) in apr_hash tables of malloc'd entries, so a user with three tabs counts
 *   once and churn does not grow the pool.
 * - Room rows: taken on a room's first connection; when its last connection leaves the row
 *   stays listed (0 connections, its totals) on an idle list, and the oldest idle row is
 *   reused when a new room needs a row and none is free.
 *
 * Thread: the writer belongs to the relay's service thread, except chat_shm_add/sub/set
 * (atomics only, any thread). A reader belongs to one thread. Nothing here blocks. */
#include "chat_shm.h"

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_hash.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHM_MAGIC UINT64_C(0x314d485354414843)     /* "CHATSHM1" read little-endian */
#define ALIGN64(n) (((n) + 63) & ~(apr_size_t)63)

#define HIST_SUB_BITS 5
#define HIST_SUB (1 << HIST_SUB_BITS)               /* buckets per power of two */
#define HIST_LINEAR (2 * HIST_SUB)                  /* 0..63 us get one bucket each */

#define WIN_COUNT_BITS 38                           /* slot = minute << 38 | count */
#define WIN_COUNT_MASK ((UINT64_C(1) << WIN_COUNT_BITS) - 1)
#define WIN_MINUTE_MASK ((UINT64_C(1) << (64 - WIN_COUNT_BITS)) - 1)
#define ROOM_SECONDS 60                             /* slot = second << 32 | count */

#define SEQ_RETRIES 10000      /* a row changes a few times per connection: plenty */
#define MAPS_MAX_LINES 100000  /* bound on /proc/self/maps lines scanned */
#define USEC_PER_MIN (60 * APR_USEC_PER_SEC)

/* ---------------------------------------------------------------- layout (in the segment) */

struct shm_header {
    _Atomic uint64_t magic;            /* SHM_MAGIC once ready; 0 while starting or closed */
    uint32_t layout_version;
    uint32_t header_size;
    uint64_t total_size;
    int64_t relay_pid;
    int64_t start_time;
    uint64_t generation;
    _Atomic uint64_t heartbeat;        /* apr_time_t of the last chat_shm_tick */
    uint32_t max_users, max_rooms;
    uint32_t n_counters, hist_buckets;
    uint32_t window_minutes, user_row_size;
    uint32_t room_row_size, room_seconds;
    uint64_t off_counters, off_window, off_hist_all, off_hist_min, off_users, off_rooms;
    _Atomic uint64_t users_overflow;   /* open connections without a row */
    _Atomic uint64_t rooms_overflow;   /* rooms with connections but without a row */
};

struct hist_all {
    _Atomic uint64_t sum_us;
    _Atomic uint64_t b[CHAT_SHM_HIST_BUCKETS];
};

struct hist_min {                      /* [minute & 1]: cleared under seq at rotation */
    _Atomic uint64_t seq;
    _Atomic uint64_t minute;
    _Atomic uint64_t sum_us;
    _Atomic uint64_t b[CHAT_SHM_HIST_BUCKETS];
};

struct user_body {                     /* what a user row holds, stored as 64-bit words */
    chat_shm_user_t u;
    uint64_t in_use;
};
#define USER_WORDS (sizeof(struct user_body) / 8)
#define USER_IN_USE_WORD (offsetof(struct user_body, in_use) / 8)
_Static_assert(sizeof(struct user_body) % 8 == 0, "user rows are whole words");

struct user_row {
    _Atomic uint64_t seq;
    _Atomic uint64_t w[USER_WORDS];
};

#define ROOM_ID_WORDS ((CHAT_MSG_MAX_ROOM + 1 + 7) / 8)

struct room_row {
    _Atomic uint64_t seq;
    _Atomic uint64_t id[ROOM_ID_WORDS];       /* under seq: identity and membership */
    _Atomic uint64_t in_use;
    _Atomic uint64_t connections;
    _Atomic uint64_t users;
    _Atomic uint64_t total;                   /* outside seq: bumped per message */
    _Atomic uint64_t per_sec[ROOM_SECONDS];
};

struct layout {
    apr_size_t counters, window, hist_all, hist_min, users, rooms, total;
};

/* Region pointers into one mapping; each process computes its own. */
struct view {
    struct shm_header *hdr;
    _Atomic uint64_t *ctr;
    _Atomic uint64_t *window;
    struct hist_all *hall;
    struct hist_min *hmin;             /* two of them */
    struct user_row *users;
    struct room_row *rooms;
    int max_users, max_rooms;
};

static void layout_compute(struct layout *l, apr_size_t max_users, apr_size_t max_rooms)
{
    apr_size_t off = ALIGN64(sizeof(struct shm_header));

    l->counters = off;
    off = ALIGN64(off + CHAT_CTR__COUNT * sizeof(uint64_t));
    l->window = off;
    off = ALIGN64(off + CHAT_SHM_WINDOW_MINUTES * sizeof(uint64_t));
    l->hist_all = off;
    off = ALIGN64(off + sizeof(struct hist_all));
    l->hist_min = off;
    off = ALIGN64(off + 2 * sizeof(struct hist_min));
    l->users = off;
    off = ALIGN64(off + max_users * sizeof(struct user_row));
    l->rooms = off;
    off = ALIGN64(off + max_rooms * sizeof(struct room_row));
    l->total = off;
}

static void view_init(struct view *v, void *base, const struct layout *l, int max_users,
                      int max_rooms)
{
    char *b = base;

    v->hdr = base;
    v->ctr = (_Atomic uint64_t *)(b + l->counters);
    v->window = (_Atomic uint64_t *)(b + l->window);
    v->hall = (struct hist_all *)(b + l->hist_all);
    v->hmin = (struct hist_min *)(b + l->hist_min);
    v->users = (struct user_row *)(b + l->users);
    v->rooms = (struct room_row *)(b + l->rooms);
    v->max_users = max_users;
    v->max_rooms = max_rooms;
}

static int atomics_are_lock_free(void)
{
    _Atomic uint64_t probe = 0;

    return atomic_is_lock_free(&probe) && ATOMIC_LLONG_LOCK_FREE == 2;
}

static uint64_t minute_of(apr_time_t t)
{
    return t > 0 ? (uint64_t)t / USEC_PER_MIN : 0;
}

static uint64_t second_of(apr_time_t t)
{
    return t > 0 ? (uint64_t)t / APR_USEC_PER_SEC : 0;
}

/* ---------------------------------------------------------------- seqlock and word copies */

static uint64_t seq_write_begin(_Atomic uint64_t *seq)
{
    uint64_t s = atomic_load_explicit(seq, memory_order_relaxed) + 1;   /* odd: busy */

    atomic_store_explicit(seq, s, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);  /* odd seq is visible before any new word */
    return s;
}

static void seq_write_end(_Atomic uint64_t *seq, uint64_t s)
{
    atomic_store_explicit(seq, s + 1, memory_order_release);
}

static int seq_read_begin(_Atomic uint64_t *seq, uint64_t *s)
{
    *s = atomic_load_explicit(seq, memory_order_acquire);
    return (*s & 1) == 0;
}

static int seq_read_ok(_Atomic uint64_t *seq, uint64_t s)
{
    atomic_thread_fence(memory_order_acquire);  /* the copies happen before the re-read */
    return atomic_load_explicit(seq, memory_order_relaxed) == s;
}

static void words_store(_Atomic uint64_t *dst, const void *src, apr_size_t n)
{
    uint64_t w;

    for (apr_size_t i = 0; i < n; i++) {
        memcpy(&w, (const char *)src + 8 * i, 8);
        atomic_store_explicit(&dst[i], w, memory_order_relaxed);
    }
}

static void words_load(void *dst, _Atomic uint64_t *src, apr_size_t n)
{
    uint64_t w;

    for (apr_size_t i = 0; i < n; i++) {
        w = atomic_load_explicit(&src[i], memory_order_relaxed);
        memcpy((char *)dst + 8 * i, &w, 8);
    }
}

static uint64_t ld(_Atomic uint64_t *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

static void st(_Atomic uint64_t *a, uint64_t v)
{
    atomic_store_explicit(a, v, memory_order_relaxed);
}

static void add(_Atomic uint64_t *a, uint64_t n)
{
    atomic_fetch_add_explicit(a, n, memory_order_relaxed);
}

/* Gauges must not wrap below zero when callers disagree about a close. */
static void sub_saturating(_Atomic uint64_t *a, uint64_t n)
{
    uint64_t cur = ld(a);

    while (!atomic_compare_exchange_weak_explicit(a, &cur, cur > n ? cur - n : 0,
                                                  memory_order_relaxed,
                                                  memory_order_relaxed)) {
    }
}

static void max_store(_Atomic uint64_t *a, uint64_t v)
{
    uint64_t cur = ld(a);

    while (cur < v && !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_relaxed,
                                                             memory_order_relaxed)) {
    }
}

/* ---------------------------------------------------------------- histogram */

int chat_shm_hist_index(uint64_t usec)
{
    int e, idx;

    if (usec < HIST_LINEAR) {
        return (int)usec;
    }
    e = 63 - __builtin_clzll(usec);              /* usec in [2^e, 2^(e+1)) */
    idx = HIST_LINEAR + (e - HIST_SUB_BITS - 1) * HIST_SUB
          + (int)((usec >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
    return idx < CHAT_SHM_HIST_BUCKETS ? idx : CHAT_SHM_HIST_BUCKETS - 1;
}

static uint64_t hist_lower(int index)
{
    int k = index - HIST_LINEAR;

    if (index < HIST_LINEAR) {
        return index < 0 ? 0 : (uint64_t)index;
    }
    return (uint64_t)(HIST_SUB + k % HIST_SUB) << (k / HIST_SUB + 1);
}

static uint64_t hist_width(int index)
{
    return index < HIST_LINEAR ? 1 : UINT64_C(1) << ((index - HIST_LINEAR) / HIST_SUB + 1);
}

uint64_t chat_shm_hist_bound(int index)
{
    if (index < 0) {
        index = 0;
    }
    if (index >= CHAT_SHM_HIST_BUCKETS) {
        index = CHAT_SHM_HIST_BUCKETS - 1;
    }
    return hist_lower(index) + hist_width(index) - 1;
}

double chat_shm_hist_percentile(const uint64_t *hist, uint64_t count, double q)
{
    uint64_t rank, cum = 0;
    int i;

    if (hist == NULL || count == 0) {
        return 0.0;
    }
    if (q > 1.0) {
        q /= 100.0;
    }
    /* nearest rank; the epsilon keeps 0.95 * 100 from becoming rank 96 */
    rank = q > 0.0 ? (uint64_t)ceil(q * (double)count - 1e-9) : 1;
    rank = rank < 1 ? 1 : rank > count ? count : rank;
    for (i = 0; i < CHAT_SHM_HIST_BUCKETS - 1; i++) {
        cum += hist[i];
        if (cum >= rank) {
            break;
        }
    }
    return ((double)hist_lower(i) + (double)chat_shm_hist_bound(i)) / 2.0 / 1000.0;
}

/* ---------------------------------------------------------------- counter metadata */

#define CHAT_KIND_COUNTER 0
#define CHAT_KIND_GAUGE 1

static const char *const ctr_keys[] = {
#define CHAT_CTR(id, key, kind, prom, help) key,
#include "chat_shm_counters.def"
#undef CHAT_CTR
};

static const char *const ctr_proms[] = {
#define CHAT_CTR(id, key, kind, prom, help) prom,
#include "chat_shm_counters.def"
#undef CHAT_CTR
};

static const char *const ctr_helps[] = {
#define CHAT_CTR(id, key, kind, prom, help) help,
#include "chat_shm_counters.def"
#undef CHAT_CTR
};

static const unsigned char ctr_gauges[] = {
#define CHAT_CTR(id, key, kind, prom, help) CHAT_KIND_##kind,
#include "chat_shm_counters.def"
#undef CHAT_CTR
};

static int is_counter(enum chat_ctr ctr)
{
    return (unsigned)ctr < CHAT_CTR__COUNT;
}

const char *chat_shm_counter_key(enum chat_ctr ctr)
{
    return is_counter(ctr) ? ctr_keys[ctr] : "";
}

const char *chat_shm_counter_prom(enum chat_ctr ctr)
{
    return is_counter(ctr) ? ctr_proms[ctr] : "";
}

const char *chat_shm_counter_help(enum chat_ctr ctr)
{
    return is_counter(ctr) ? ctr_helps[ctr] : "";
}

int chat_shm_counter_is_gauge(enum chat_ctr ctr)
{
    return is_counter(ctr) && ctr_gauges[ctr] == CHAT_KIND_GAUGE;
}

/* ---------------------------------------------------------------- writer: private state */

struct ref {                           /* malloc'd: userId or roomId\0userId -> count */
    int count;
    apr_size_t klen;
    char key[];
};

struct room_state {                    /* malloc'd: one per room with a row or connections */
    int slot;                          /* room row, -1 when not listed */
    uint64_t conns, users;
    struct room_state *idle_prev, *idle_next;   /* on the idle list when conns == 0 */
    apr_size_t klen;
    char key[];
};

struct chat_shm_t {
    apr_pool_t *pool;
    apr_shm_t *seg;
    struct view v;
    const char *file;                  /* backing file, NULL when unknown */
    int *free_users;                   /* stack of free user rows */
    int n_free_users;
    unsigned char *user_used;
    apr_hash_t *user_refs;             /* userId -> struct ref */
    apr_hash_t *room_user_refs;        /* roomId\0userId -> struct ref */
    apr_hash_t *rooms;                 /* roomId -> struct room_state */
    struct room_state **room_by_slot;
    int rooms_used;                    /* rows 0..rooms_used-1 have been handed out */
    struct room_state *idle_head, *idle_tail;   /* oldest idle first */
    uint64_t cur_minute;
};

static int ref_add(apr_hash_t *h, const char *key, apr_size_t klen)
{
    struct ref *rf = apr_hash_get(h, key, (apr_ssize_t)klen);

    if (rf == NULL) {
        rf = malloc(sizeof(*rf) + klen + 1);
        if (rf == NULL) {
            return -1;
        }
        rf->count = 0;
        rf->klen = klen;
        memcpy(rf->key, key, klen);
        rf->key[klen] = '\0';
        apr_hash_set(h, rf->key, (apr_ssize_t)klen, rf);
    }
    return ++rf->count;
}

/* Returns the remaining count, or -1 when key was not counted. */
static int ref_drop(apr_hash_t *h, const char *key, apr_size_t klen)
{
    struct ref *rf = apr_hash_get(h, key, (apr_ssize_t)klen);

    if (rf == NULL) {
        return -1;
    }
    if (--rf->count > 0) {
        return rf->count;
    }
    apr_hash_set(h, rf->key, (apr_ssize_t)klen, NULL);
    free(rf);
    return 0;
}

/* roomId NUL userId, each cut to its protocol limit (the relay validated both already). */
static apr_size_t room_user_key(char *buf, const char *room_id, const char *user_id)
{
    apr_size_t r = strnlen(room_id, CHAT_MSG_MAX_ROOM);
    apr_size_t u = strnlen(user_id, CHAT_MSG_MAX_USERID);

    memcpy(buf, room_id, r);
    buf[r] = '\0';
    memcpy(buf + r + 1, user_id, u);
    return r + 1 + u;
}

static void free_all(apr_hash_t *h)
{
    for (apr_hash_index_t *hi = apr_hash_first(NULL, h); hi != NULL; hi = apr_hash_next(hi)) {
        free(apr_hash_this_val(hi));
    }
}

/* Runs before APR's own cleanup (registered later), which unmaps and unlinks: readers that
 * still map the old segment see magic 0 and re-attach. The hashes die with the pool, so
 * their dangling keys are never looked at again. */
static apr_status_t on_writer_cleanup(void *data)
{
    chat_shm_t *shm = data;

    atomic_store_explicit(&shm->v.hdr->magic, 0, memory_order_release);
    free_all(shm->user_refs);
    free_all(shm->room_user_refs);
    free_all(shm->rooms);
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- writer: creation */

static int is_pid_alive(int64_t pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* The segment at base belongs to a live relay when its pid exists and its heartbeat is
 * fresh: a crashed relay's pid may have been reused (same pid in a restarted container),
 * but its heartbeat stops. */
static int is_live_owner(const void *base, apr_size_t size, apr_time_t now)
{
    struct shm_header *h = (struct shm_header *)base;
    uint64_t magic;
    apr_time_t hb;

    if ((uintptr_t)base < 4096 || size < sizeof(*h)) {
        return 0;                      /* unreadable or truncated: garbage */
    }
    magic = atomic_load_explicit(&h->magic, memory_order_acquire);
    if (magic != SHM_MAGIC && magic != 0) {
        return 0;
    }
    hb = (apr_time_t)ld(&h->heartbeat);
    return is_pid_alive(h->relay_pid) && now - hb <= CHAT_SHM_HEARTBEAT_STALE;
}

/* A segment already exists at path: APR_EEXIST if a live relay owns it, otherwise mark it
 * closed (so its readers re-attach) and remove it. */
static apr_status_t remove_stale(const char *path, apr_time_t now, apr_pool_t *pool)
{
    apr_pool_t *tmp = NULL;
    apr_shm_t *old = NULL;
    apr_status_t rv;

    rv = apr_pool_create(&tmp, pool);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (apr_shm_attach(&old, path, tmp) == APR_SUCCESS) {
        void *base = apr_shm_baseaddr_get(old);
        apr_size_t size = apr_shm_size_get(old);

        if (is_live_owner(base, size, now)) {
            rv = APR_EEXIST;
        }
        else if ((uintptr_t)base >= 4096 && size >= sizeof(struct shm_header)) {
            atomic_store_explicit(&((struct shm_header *)base)->magic, 0,
                                  memory_order_release);
        }
    }
    apr_pool_destroy(tmp);             /* detaches */
    if (rv == APR_SUCCESS) {
        rv = apr_shm_remove(path, pool);
    }
    return rv;
}

/* The file behind the mapping at addr, from /proc/self/maps: APR names POSIX shm objects
 * after a hash of path, so this is the reliable way to find the one to chmod. */
static const char *find_backing_file(const void *addr, apr_pool_t *pool)
{
    apr_file_t *f = NULL;
    const char *found = NULL;
    char line[1024];
    uintptr_t a = (uintptr_t)addr;

    if (apr_file_open(&f, "/proc/self/maps", APR_FOPEN_READ | APR_FOPEN_BUFFERED,
                      APR_OS_DEFAULT, pool) != APR_SUCCESS) {
        return NULL;
    }
    for (int n = 0; n < MAPS_MAX_LINES && apr_file_gets(line, sizeof(line), f) == APR_SUCCESS;
         n++) {
        char *end, *name;
        unsigned long long lo = strtoull(line, &end, 16), hi;

        if (*end != '-') {
            continue;
        }
        hi = strtoull(end + 1, &end, 16);
        if (a < lo || a >= hi) {
            continue;
        }
        name = strchr(end, '/');       /* the fields before the path hold no '/' */
        if (name != NULL) {
            name[strcspn(name, "\n")] = '\0';
            if (strstr(name, " (deleted)") == NULL) {
                found = apr_pstrdup(pool, name);
            }
        }
        break;
    }
    apr_file_close(f);
    return found;
}

/* CHAT_SHM_MODE on the object: SysV segments through apr_shm_perms_set, file-backed ones
 * (POSIX shm on Debian, mmap'd files elsewhere) through their file. */
static apr_status_t set_mode(chat_shm_t *shm, const char *path)
{
    const apr_fileperms_t perms = APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_GREAD;
    apr_finfo_t fi;
    apr_status_t rv;

    rv = apr_shm_perms_set(shm->seg, perms, getuid(), getgid());
    if (rv != APR_ENOTIMPL) {
        return rv;
    }
    shm->file = find_backing_file(shm->v.hdr, shm->pool);
    if (shm->file == NULL && apr_stat(&fi, path, APR_FINFO_TYPE, shm->pool) == APR_SUCCESS
        && fi.filetype == APR_REG) {
        shm->file = apr_pstrdup(shm->pool, path);
    }
    if (shm->file == NULL) {
        return APR_SUCCESS;            /* left at APR's mode, which is stricter (0600) */
    }
    return apr_file_perms_set(shm->file, perms);   /* CHAT_SHM_MODE in APR's bits */
}

static uint64_t new_generation(apr_time_t now)
{
    uint64_t g = 0;

    if (apr_generate_random_bytes((unsigned char *)&g, sizeof(g)) != APR_SUCCESS) {
        g = 0;
    }
    g ^= (uint64_t)now ^ ((uint64_t)getpid() << 40);
    return g != 0 ? g : 1;
}

static void header_fill(chat_shm_t *shm, const struct layout *l, apr_time_t now)
{
    struct shm_header *h = shm->v.hdr;

    h->layout_version = CHAT_SHM_LAYOUT_VERSION;
    h->header_size = sizeof(*h);
    h->total_size = l->total;
    h->relay_pid = getpid();
    h->start_time = now;
    h->generation = new_generation(now);
    st(&h->heartbeat, (uint64_t)now);
    h->max_users = (uint32_t)shm->v.max_users;
    h->max_rooms = (uint32_t)shm->v.max_rooms;
    h->n_counters = CHAT_CTR__COUNT;
    h->hist_buckets = CHAT_SHM_HIST_BUCKETS;
    h->window_minutes = CHAT_SHM_WINDOW_MINUTES;
    h->user_row_size = sizeof(struct user_row);
    h->room_row_size = sizeof(struct room_row);
    h->room_seconds = ROOM_SECONDS;
    h->off_counters = l->counters;
    h->off_window = l->window;
    h->off_hist_all = l->hist_all;
    h->off_hist_min = l->hist_min;
    h->off_users = l->users;
    h->off_rooms = l->rooms;
}

static void writer_init(chat_shm_t *shm, apr_time_t now)
{
    int n = shm->v.max_users;

    shm->free_users = apr_palloc(shm->pool, (apr_size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) {
        shm->free_users[i] = n - 1 - i;            /* row 0 is taken first */
    }
    shm->n_free_users = n;
    shm->user_used = apr_pcalloc(shm->pool, (apr_size_t)n);
    shm->room_by_slot = apr_pcalloc(shm->pool,
                                    (apr_size_t)shm->v.max_rooms * sizeof(struct room_state *));
    shm->user_refs = apr_hash_make(shm->pool);
    shm->room_user_refs = apr_hash_make(shm->pool);
    shm->rooms = apr_hash_make(shm->pool);
    shm->cur_minute = minute_of(now);
    st(&shm->v.hmin[shm->cur_minute & 1].minute, shm->cur_minute);
}

static int is_limit_ok(int n)
{
    return n >= 1 && n <= CHAT_SHM_MAX_ROWS;
}

apr_status_t chat_shm_create(chat_shm_t **out, const char *path, const chat_shm_limits_t *lim,
                             apr_time_t now, apr_pool_t *pool)
{
    chat_shm_t *shm;
    struct layout l;
    apr_status_t rv;

    if (out == NULL || path == NULL || lim == NULL || !is_limit_ok(lim->max_users)
        || !is_limit_ok(lim->max_rooms)) {
        return APR_EINVAL;
    }
    if (!atomics_are_lock_free()) {
        return APR_ENOTIMPL;           /* APR's fallback would be a process-local mutex */
    }
    layout_compute(&l, (apr_size_t)lim->max_users, (apr_size_t)lim->max_rooms);
    shm = apr_pcalloc(pool, sizeof(*shm));
    shm->pool = pool;
    rv = apr_shm_create(&shm->seg, l.total, path, pool);
    if (APR_STATUS_IS_EEXIST(rv)) {
        rv = remove_stale(path, now, pool);
        if (rv == APR_SUCCESS) {
            rv = apr_shm_create(&shm->seg, l.total, path, pool);
        }
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    view_init(&shm->v, apr_shm_baseaddr_get(shm->seg), &l, lim->max_users, lim->max_rooms);
    rv = set_mode(shm, path);
    if (rv != APR_SUCCESS) {
        apr_shm_destroy(shm->seg);
        return rv;
    }
    writer_init(shm, now);
    header_fill(shm, &l, now);
    apr_pool_cleanup_register(pool, shm, on_writer_cleanup, apr_pool_cleanup_null);
    /* publish last: a reader that sees the magic sees every field above */
    atomic_store_explicit(&shm->v.hdr->magic, SHM_MAGIC, memory_order_release);
    *out = shm;
    return APR_SUCCESS;
}

const char *chat_shm_file_get(const chat_shm_t *shm)
{
    return shm != NULL ? shm->file : NULL;
}

/* ---------------------------------------------------------------- writer: counters, time */

void chat_shm_add(chat_shm_t *shm, enum chat_ctr ctr, uint64_t n)
{
    if (shm != NULL && is_counter(ctr)) {
        add(&shm->v.ctr[ctr], n);
    }
}

void chat_shm_sub(chat_shm_t *shm, enum chat_ctr ctr, uint64_t n)
{
    if (shm != NULL && is_counter(ctr)) {
        sub_saturating(&shm->v.ctr[ctr], n);
    }
}

void chat_shm_set(chat_shm_t *shm, enum chat_ctr ctr, uint64_t v)
{
    if (shm != NULL && is_counter(ctr)) {
        st(&shm->v.ctr[ctr], v);
    }
}

/* A new minute: the histogram of minute & 1 (which held minute - 2) starts empty. Cleared
 * under its seqlock so a reader never merges half a clear. */
static void advance_minute(chat_shm_t *shm, apr_time_t now)
{
    uint64_t m = minute_of(now);
    struct hist_min *h = &shm->v.hmin[m & 1];
    uint64_t s;

    if (m == shm->cur_minute) {
        return;
    }
    shm->cur_minute = m;
    if (ld(&h->minute) == m) {
        return;                        /* the clock stepped back and forth */
    }
    s = seq_write_begin(&h->seq);
    st(&h->minute, m);
    st(&h->sum_us, 0);
    for (int i = 0; i < CHAT_SHM_HIST_BUCKETS; i++) {
        st(&h->b[i], 0);
    }
    seq_write_end(&h->seq, s);
}

void chat_shm_tick(chat_shm_t *shm, apr_time_t now)
{
    if (shm == NULL) {
        return;
    }
    st(&shm->v.hdr->heartbeat, (uint64_t)now);
    advance_minute(shm, now);
}

void chat_shm_latency(chat_shm_t *shm, apr_interval_time_t usec)
{
    uint64_t v = usec > 0 ? (uint64_t)usec : 0;
    int i = chat_shm_hist_index(v);
    struct hist_min *h;

    if (shm == NULL) {
        return;
    }
    h = &shm->v.hmin[shm->cur_minute & 1];
    add(&shm->v.hall->b[i], 1);
    add(&shm->v.hall->sum_us, v);
    add(&h->b[i], 1);
    add(&h->sum_us, v);
}

/* One packed word per slot; only this thread writes, so load + store is enough. */
static void window_bump(_Atomic uint64_t *slot, uint64_t tag, int count_bits)
{
    uint64_t w = ld(slot);

    if (w >> count_bits != tag) {
        st(slot, tag << count_bits | 1);
    }
    else {
        st(slot, w + 1);
    }
}

void chat_shm_message(chat_shm_t *shm, const char *room_id, apr_time_t now)
{
    uint64_t m = minute_of(now), s = second_of(now);
    struct room_state *rs;

    if (shm == NULL) {
        return;
    }
    add(&shm->v.ctr[CHAT_CTR_MSGS_TOTAL], 1);
    advance_minute(shm, now);
    window_bump(&shm->v.window[m % CHAT_SHM_WINDOW_MINUTES], m & WIN_MINUTE_MASK,
                WIN_COUNT_BITS);
    rs = room_id != NULL ? apr_hash_get(shm->rooms, room_id, APR_HASH_KEY_STRING) : NULL;
    if (rs != NULL && rs->slot >= 0) {
        struct room_row *row = &shm->v.rooms[rs->slot];

        add(&row->total, 1);
        window_bump(&row->per_sec[s % ROOM_SECONDS], s & 0xffffffffu, 32);
    }
}

/* ---------------------------------------------------------------- writer: users and rooms */

static void user_row_write(chat_shm_t *shm, int slot, const struct user_body *b)
{
    struct user_row *row = &shm->v.users[slot];
    uint64_t s = seq_write_begin(&row->seq);

    words_store(row->w, b, USER_WORDS);
    seq_write_end(&row->seq, s);
}

static void room_row_members(chat_shm_t *shm, const struct room_state *rs)
{
    struct room_row *row = &shm->v.rooms[rs->slot];
    uint64_t s = seq_write_begin(&row->seq);

    st(&row->connections, rs->conns);
    st(&row->users, rs->users);
    seq_write_end(&row->seq, s);
}

/* A row for a new room: its identity changes, so everything is rewritten under seq. */
static void room_row_reset(chat_shm_t *shm, const struct room_state *rs)
{
    struct room_row *row = &shm->v.rooms[rs->slot];
    char id[ROOM_ID_WORDS * 8] = { 0 };
    uint64_t s;

    memcpy(id, rs->key, rs->klen < sizeof(id) - 1 ? rs->klen : sizeof(id) - 1);
    s = seq_write_begin(&row->seq);
    words_store(row->id, id, ROOM_ID_WORDS);
    st(&row->in_use, 1);
    st(&row->connections, 0);
    st(&row->users, 0);
    st(&row->total, 0);
    for (int i = 0; i < ROOM_SECONDS; i++) {
        st(&row->per_sec[i], 0);
    }
    seq_write_end(&row->seq, s);
}

static void idle_unlink(chat_shm_t *shm, struct room_state *rs)
{
    if (rs->idle_prev != NULL) {
        rs->idle_prev->idle_next = rs->idle_next;
    }
    else if (shm->idle_head == rs) {
        shm->idle_head = rs->idle_next;
    }
    if (rs->idle_next != NULL) {
        rs->idle_next->idle_prev = rs->idle_prev;
    }
    else if (shm->idle_tail == rs) {
        shm->idle_tail = rs->idle_prev;
    }
    rs->idle_prev = rs->idle_next = NULL;
}

static void idle_append(chat_shm_t *shm, struct room_state *rs)
{
    rs->idle_prev = shm->idle_tail;
    rs->idle_next = NULL;
    if (shm->idle_tail != NULL) {
        shm->idle_tail->idle_next = rs;
    }
    else {
        shm->idle_head = rs;
    }
    shm->idle_tail = rs;
}

/* A never-used row, else the row of the room that has been idle longest, else -1. */
static int room_slot_take(chat_shm_t *shm)
{
    struct room_state *old = shm->idle_head;
    int slot;

    if (shm->rooms_used < shm->v.max_rooms) {
        return shm->rooms_used++;
    }
    if (old == NULL) {
        return -1;
    }
    idle_unlink(shm, old);
    slot = old->slot;
    apr_hash_set(shm->rooms, old->key, (apr_ssize_t)old->klen, NULL);
    free(old);
    return slot;
}

static struct room_state *room_state_new(chat_shm_t *shm, const char *room_id)
{
    apr_size_t klen = strlen(room_id);
    struct room_state *rs = calloc(1, sizeof(*rs) + klen + 1);

    if (rs == NULL) {
        return NULL;
    }
    rs->klen = klen;
    memcpy(rs->key, room_id, klen);
    rs->slot = room_slot_take(shm);
    if (rs->slot >= 0) {
        shm->room_by_slot[rs->slot] = rs;
        room_row_reset(shm, rs);
    }
    else {
        add(&shm->v.hdr->rooms_overflow, 1);
    }
    apr_hash_set(shm->rooms, rs->key, (apr_ssize_t)klen, rs);
    return rs;
}

static void room_join(chat_shm_t *shm, const char *room_id, const char *user_id)
{
    struct room_state *rs = apr_hash_get(shm->rooms, room_id, APR_HASH_KEY_STRING);
    char key[CHAT_MSG_MAX_ROOM + CHAT_MSG_MAX_USERID + 2];

    if (rs == NULL) {
        rs = room_state_new(shm, room_id);
        if (rs == NULL) {
            return;
        }
    }
    else if (rs->conns == 0) {
        idle_unlink(shm, rs);
    }
    rs->conns++;
    if (ref_add(shm->room_user_refs, key, room_user_key(key, room_id, user_id)) == 1) {
        rs->users++;
    }
    if (rs->slot >= 0) {
        room_row_members(shm, rs);
    }
}

static void room_leave(chat_shm_t *shm, const char *room_id, const char *user_id)
{
    struct room_state *rs = apr_hash_get(shm->rooms, room_id, APR_HASH_KEY_STRING);
    char key[CHAT_MSG_MAX_ROOM + CHAT_MSG_MAX_USERID + 2];

    if (rs == NULL || rs->conns == 0) {
        return;
    }
    rs->conns--;
    if (ref_drop(shm->room_user_refs, key, room_user_key(key, room_id, user_id)) == 0
        && rs->users > 0) {
        rs->users--;
    }
    if (rs->slot >= 0) {
        room_row_members(shm, rs);
        if (rs->conns == 0) {
            idle_append(shm, rs);      /* stays listed until its row is needed */
        }
    }
    else if (rs->conns == 0) {
        apr_hash_set(shm->rooms, rs->key, (apr_ssize_t)rs->klen, NULL);
        free(rs);
        sub_saturating(&shm->v.hdr->rooms_overflow, 1);
    }
}

static void users_active_update(chat_shm_t *shm)
{
    st(&shm->v.ctr[CHAT_CTR_USERS_ACTIVE], apr_hash_count(shm->user_refs));
}

void chat_shm_conn_open(chat_shm_t *shm, const char *client_id, const char *user_id,
                        const char *username, const char *room_id, apr_time_t joined,
                        int *slot)
{
    struct user_body b;
    int s = -1;
    uint64_t active;

    if (slot != NULL) {
        *slot = -1;
    }
    if (shm == NULL) {
        return;
    }
    user_id = user_id != NULL ? user_id : "";
    room_id = room_id != NULL ? room_id : "";
    if (shm->n_free_users > 0) {
        s = shm->free_users[--shm->n_free_users];
        shm->user_used[s] = 1;
        memset(&b, 0, sizeof(b));      /* padding too: the words are copied whole */
        apr_cpystrn(b.u.client_id, client_id != NULL ? client_id : "", sizeof(b.u.client_id));
        apr_cpystrn(b.u.user_id, user_id, sizeof(b.u.user_id));
        apr_cpystrn(b.u.username, username != NULL ? username : "", sizeof(b.u.username));
        apr_cpystrn(b.u.room_id, room_id, sizeof(b.u.room_id));
        b.u.joined_at = joined;
        b.in_use = 1;
        user_row_write(shm, s, &b);
    }
    else {
        add(&shm->v.hdr->users_overflow, 1);
    }
    ref_add(shm->user_refs, user_id, strlen(user_id));
    users_active_update(shm);
    room_join(shm, room_id, user_id);
    active = atomic_fetch_add_explicit(&shm->v.ctr[CHAT_CTR_CONNS_ACTIVE], 1,
                                       memory_order_relaxed) + 1;
    add(&shm->v.ctr[CHAT_CTR_CONNS_TOTAL], 1);
    max_store(&shm->v.ctr[CHAT_CTR_CONNS_PEAK], active);
    if (slot != NULL) {
        *slot = s;
    }
}

void chat_shm_conn_close(chat_shm_t *shm, int slot, const char *client_id, const char *user_id,
                         const char *room_id)
{
    struct user_body b;

    (void)client_id;                   /* the slot names the row */
    if (shm == NULL) {
        return;
    }
    user_id = user_id != NULL ? user_id : "";
    room_id = room_id != NULL ? room_id : "";
    if (slot >= 0 && slot < shm->v.max_users && shm->user_used[slot]) {
        memset(&b, 0, sizeof(b));      /* in_use 0, and no name left behind */
        user_row_write(shm, slot, &b);
        shm->user_used[slot] = 0;
        shm->free_users[shm->n_free_users++] = slot;
    }
    else if (slot < 0) {
        sub_saturating(&shm->v.hdr->users_overflow, 1);
    }
    ref_drop(shm->user_refs, user_id, strlen(user_id));
    users_active_update(shm);
    room_leave(shm, room_id, user_id);
    sub_saturating(&shm->v.ctr[CHAT_CTR_CONNS_ACTIVE], 1);
}

/* ---------------------------------------------------------------- reader */

struct chat_shm_reader_t {
    apr_pool_t *seg_pool;              /* holds the attachment; cleared to detach */
    const char *path;
    apr_shm_t *seg;                    /* NULL while detached */
    struct view v;
};

apr_status_t chat_shm_reader_create(chat_shm_reader_t **out, const char *path,
                                    apr_pool_t *pool)
{
    chat_shm_reader_t *r;
    apr_status_t rv;

    if (out == NULL || path == NULL) {
        return APR_EINVAL;
    }
    if (!atomics_are_lock_free()) {
        return APR_ENOTIMPL;
    }
    r = apr_pcalloc(pool, sizeof(*r));
    r->path = apr_pstrdup(pool, path);
    rv = apr_pool_create(&r->seg_pool, pool);
    if (rv == APR_SUCCESS) {
        *out = r;
    }
    return rv;
}

static void reader_detach(chat_shm_reader_t *r)
{
    r->seg = NULL;
    apr_pool_clear(r->seg_pool);       /* runs APR's detach */
}

/* Checks the header against this build's layout. CHAT_ESHM_NO_RELAY while the relay is
 * starting or after it closed (magic 0), CHAT_ESHM_LAYOUT for anything else unexpected. */
static apr_status_t view_check(struct view *v, void *base, apr_size_t size)
{
    struct shm_header *h = base;
    struct layout l, max;

    layout_compute(&max, CHAT_SHM_MAX_ROWS, CHAT_SHM_MAX_ROWS);
    if ((uintptr_t)base < 4096 || size < sizeof(*h) || size > max.total) {
        return CHAT_ESHM_NO_RELAY;     /* caught mid-creation (APR stores the size last) */
    }
    switch (atomic_load_explicit(&h->magic, memory_order_acquire)) {
    case SHM_MAGIC:
        break;
    case 0:
        return CHAT_ESHM_NO_RELAY;
    default:
        return CHAT_ESHM_LAYOUT;
    }
    if (h->layout_version != CHAT_SHM_LAYOUT_VERSION || h->header_size != sizeof(*h)
        || h->n_counters != CHAT_CTR__COUNT || h->hist_buckets != CHAT_SHM_HIST_BUCKETS
        || h->window_minutes != CHAT_SHM_WINDOW_MINUTES
        || h->user_row_size != sizeof(struct user_row)
        || h->room_row_size != sizeof(struct room_row) || h->room_seconds != ROOM_SECONDS
        || !is_limit_ok((int)h->max_users) || !is_limit_ok((int)h->max_rooms)) {
        return CHAT_ESHM_LAYOUT;
    }
    layout_compute(&l, h->max_users, h->max_rooms);
    if (h->total_size != l.total || size < l.total || h->off_counters != l.counters
        || h->off_window != l.window || h->off_hist_all != l.hist_all
        || h->off_hist_min != l.hist_min || h->off_users != l.users
        || h->off_rooms != l.rooms) {
        return CHAT_ESHM_LAYOUT;
    }
    view_init(v, base, &l, (int)h->max_users, (int)h->max_rooms);
    return APR_SUCCESS;
}

static apr_status_t reader_attach(chat_shm_reader_t *r)
{
    apr_shm_t *seg = NULL;
    apr_status_t rv;

    rv = apr_shm_attach(&seg, r->path, r->seg_pool);
    if (rv == APR_SUCCESS) {
        rv = view_check(&r->v, apr_shm_baseaddr_get(seg), apr_shm_size_get(seg));
    }
    if (rv != APR_SUCCESS) {
        reader_detach(r);
        return rv;
    }
    r->seg = seg;
    return APR_SUCCESS;
}

static int is_heartbeat_fresh(const struct view *v, apr_time_t now)
{
    return now - (apr_time_t)ld(&v->hdr->heartbeat) <= CHAT_SHM_HEARTBEAT_STALE;
}

/* Still the segment to read? A closed one (magic 0) was replaced or is going; a silent one
 * may have been replaced under the same name, so look again. */
static int is_current(const chat_shm_reader_t *r, apr_time_t now)
{
    return atomic_load_explicit(&r->v.hdr->magic, memory_order_acquire) == SHM_MAGIC
           && is_heartbeat_fresh(&r->v, now);
}

static void copy_window(const struct view *v, apr_time_t now, chat_shm_snapshot_t *snap)
{
    uint64_t cur = minute_of(now);

    for (int i = 0; i < CHAT_SHM_WINDOW_MINUTES; i++) {
        uint64_t back = (uint64_t)(CHAT_SHM_WINDOW_MINUTES - 1 - i), m, w;

        if (back > cur) {
            continue;
        }
        m = cur - back;
        w = ld(&v->window[m % CHAT_SHM_WINDOW_MINUTES]);
        if (w >> WIN_COUNT_BITS == (m & WIN_MINUTE_MASK)) {
            snap->per_minute[i] = w & WIN_COUNT_MASK;
        }
    }
}

/* Adds the minute histogram to acc when it belongs to now's minute or the one before. */
static void merge_minute_hist(struct hist_min *h, uint64_t cur, uint64_t *acc, uint64_t *tmp)
{
    for (int tries = 0; tries < SEQ_RETRIES; tries++) {
        uint64_t s, m;

        if (!seq_read_begin(&h->seq, &s)) {
            continue;
        }
        m = ld(&h->minute);
        for (int i = 0; i < CHAT_SHM_HIST_BUCKETS; i++) {
            tmp[i] = ld(&h->b[i]);
        }
        if (!seq_read_ok(&h->seq, s)) {
            continue;
        }
        if (m == cur || m + 1 == cur) {
            for (int i = 0; i < CHAT_SHM_HIST_BUCKETS; i++) {
                acc[i] += tmp[i];
            }
        }
        return;
    }
}

static uint64_t hist_total(const uint64_t *hist)
{
    uint64_t n = 0;

    for (int i = 0; i < CHAT_SHM_HIST_BUCKETS; i++) {
        n += hist[i];
    }
    return n;
}

static void copy_latency(const struct view *v, apr_time_t now, chat_shm_snapshot_t *snap,
                         apr_pool_t *pool)
{
    uint64_t *minute = apr_pcalloc(pool, 2 * CHAT_SHM_HIST_BUCKETS * sizeof(uint64_t));
    uint64_t *tmp = minute + CHAT_SHM_HIST_BUCKETS, n;

    for (int i = 0; i < CHAT_SHM_HIST_BUCKETS; i++) {
        snap->hist[i] = ld(&v->hall->b[i]);
    }
    /* count from the copied buckets, so /metrics' +Inf bucket and _count agree */
    snap->hist_count = hist_total(snap->hist);
    snap->hist_sum_us = (double)ld(&v->hall->sum_us);
    snap->p50_ms = chat_shm_hist_percentile(snap->hist, snap->hist_count, 0.50);
    snap->p95_ms = chat_shm_hist_percentile(snap->hist, snap->hist_count, 0.95);
    snap->p99_ms = chat_shm_hist_percentile(snap->hist, snap->hist_count, 0.99);
    merge_minute_hist(&v->hmin[0], minute_of(now), minute, tmp);
    merge_minute_hist(&v->hmin[1], minute_of(now), minute, tmp);
    n = hist_total(minute);
    snap->p50_ms_1m = chat_shm_hist_percentile(minute, n, 0.50);
    snap->p95_ms_1m = chat_shm_hist_percentile(minute, n, 0.95);
    snap->p99_ms_1m = chat_shm_hist_percentile(minute, n, 0.99);
}

static int read_user_row(struct user_row *row, struct user_body *b)
{
    for (int tries = 0; tries < SEQ_RETRIES; tries++) {
        uint64_t s;

        if (!seq_read_begin(&row->seq, &s)) {
            continue;
        }
        words_load(b, row->w, USER_WORDS);
        if (seq_read_ok(&row->seq, s)) {
            return b->in_use != 0;
        }
    }
    return 0;                          /* still changing: left out of this snapshot */
}

static void copy_users(const struct view *v, chat_shm_snapshot_t *snap, apr_pool_t *pool)
{
    int cap = 0, n = 0;
    struct user_body b;

    for (int i = 0; i < v->max_users; i++) {
        cap += ld(&v->users[i].w[USER_IN_USE_WORD]) != 0;
    }
    snap->users = apr_pcalloc(pool, (apr_size_t)(cap > 0 ? cap : 1) * sizeof(*snap->users));
    for (int i = 0; i < v->max_users && n < cap; i++) {
        if (ld(&v->users[i].w[USER_IN_USE_WORD]) != 0 && read_user_row(&v->users[i], &b)) {
            b.u.client_id[sizeof(b.u.client_id) - 1] = '\0';
            b.u.user_id[sizeof(b.u.user_id) - 1] = '\0';
            b.u.username[sizeof(b.u.username) - 1] = '\0';
            b.u.room_id[sizeof(b.u.room_id) - 1] = '\0';
            snap->users[n++] = b.u;
        }
    }
    snap->n_users = n;
}

static uint64_t room_last_minute(struct room_row *row, uint64_t now_s)
{
    uint64_t n = 0;

    for (int i = 0; i < ROOM_SECONDS; i++) {
        uint64_t w = ld(&row->per_sec[i]);
        uint32_t age = (uint32_t)now_s - (uint32_t)(w >> 32);   /* wraps safely */

        if (age < ROOM_SECONDS) {
            n += w & 0xffffffffu;
        }
    }
    return n;
}

static int read_room_row(struct room_row *row, uint64_t now_s, chat_shm_room_t *out)
{
    char id[ROOM_ID_WORDS * 8];

    for (int tries = 0; tries < SEQ_RETRIES; tries++) {
        uint64_t s, in_use;

        if (!seq_read_begin(&row->seq, &s)) {
            continue;
        }
        words_load(id, row->id, ROOM_ID_WORDS);
        in_use = ld(&row->in_use);
        out->connections = ld(&row->connections);
        out->users = ld(&row->users);
        out->messages_total = ld(&row->total);
        out->messages_last_minute = room_last_minute(row, now_s);
        if (seq_read_ok(&row->seq, s)) {
            apr_cpystrn(out->room_id, id, sizeof(out->room_id));
            return in_use != 0;
        }
    }
    return 0;
}

static void copy_rooms(const struct view *v, apr_time_t now, chat_shm_snapshot_t *snap,
                       apr_pool_t *pool)
{
    int cap = 0, n = 0;

    for (int i = 0; i < v->max_rooms; i++) {
        cap += ld(&v->rooms[i].in_use) != 0;
    }
    snap->rooms = apr_pcalloc(pool, (apr_size_t)(cap > 0 ? cap : 1) * sizeof(*snap->rooms));
    for (int i = 0; i < v->max_rooms && n < cap; i++) {
        if (ld(&v->rooms[i].in_use) != 0
            && read_room_row(&v->rooms[i], second_of(now), &snap->rooms[n])) {
            n++;
        }
    }
    snap->n_rooms = n;
}

apr_status_t chat_shm_reader_snapshot(chat_shm_reader_t *r, apr_time_t now,
                                      chat_shm_snapshot_t *snap, apr_pool_t *pool)
{
    return chat_shm_reader_snapshot_parts(r, now, CHAT_SHM_PART_ALL, snap, pool);
}

apr_status_t chat_shm_reader_snapshot_parts(chat_shm_reader_t *r, apr_time_t now, int parts,
                                            chat_shm_snapshot_t *snap, apr_pool_t *pool)
{
    struct view *v;
    apr_status_t rv;

    if (r == NULL || snap == NULL || pool == NULL) {
        return APR_EINVAL;
    }
    memset(snap, 0, sizeof(*snap));
    if (r->seg != NULL && !is_current(r, now)) {
        reader_detach(r);
    }
    if (r->seg == NULL) {
        rv = reader_attach(r);
        if (rv == CHAT_ESHM_LAYOUT || APR_STATUS_IS_EACCES(rv)) {
            return rv;                 /* misconfiguration: worth a log line upstream */
        }
        if (rv != APR_SUCCESS) {
            return APR_SUCCESS;        /* no relay: relay_up = 0 */
        }
    }
    v = &r->v;
    snap->relay_pid = v->hdr->relay_pid;
    snap->start_time = v->hdr->start_time;
    snap->heartbeat = (apr_time_t)ld(&v->hdr->heartbeat);
    snap->generation = v->hdr->generation;
    if (!is_heartbeat_fresh(v, now)) {
        return APR_SUCCESS;            /* silent relay: identity only */
    }
    snap->relay_up = 1;
    for (int i = 0; i < CHAT_CTR__COUNT; i++) {
        snap->counters[i] = ld(&v->ctr[i]);
    }
    snap->users_overflow = ld(&v->hdr->users_overflow);
    snap->rooms_overflow = ld(&v->hdr->rooms_overflow);
    if (parts & CHAT_SHM_PART_WINDOW) {
        copy_window(v, now, snap);
        copy_latency(v, now, snap, pool);
    }
    if (parts & CHAT_SHM_PART_USERS) {
        copy_users(v, snap, pool);
    }
    if (parts & CHAT_SHM_PART_ROOMS) {
        copy_rooms(v, now, snap, pool);
    }
    return APR_SUCCESS;
}
