/* relay_persist.c: the relay's lossless persistence pipeline (see relay_persist.h).
 *
 * Owns the journal, the bounded job queue, the read queue and mailbox, and these threads:
 *   - PERSIST_WORKERS writers: each opens its own store handle (SQLite: they share one,
 *     wstore), takes batches of up to PERSIST_BATCH_SIZE jobs (or what arrived within
 *     PERSIST_FLUSH_MS of the first), saves them retrying with capped exponential backoff and
 *     full jitter for as long as the relay runs, confirms them to the journal, and between
 *     batches re-reads journal segments whose records exist only on disk (the queue was full,
 *     or a previous run left them). With
 *     SQLite the writers take turns (turn_begin): the writer whose turn it is takes its batch,
 *     writes it together with the batches already waiting behind it in one transaction (up
 *     to BACKLOG_BATCH jobs), re-reads the journal, and hands the turn to the next writer.
 *     SQLite has one database lock, so writes take turns anyway, and its cost per row falls
 *     several times from 25 rows per commit to thousands (chat_store_sqlite.c), so a backlog
 *     is worked off in ever larger and cheaper transactions instead of growing; and only one
 *     writer is runnable at a time, so on a shared core the writers together take no more
 *     of the service thread's share than one would;
 *   - one reader: store reads for the service thread, so that a write backlog or a store
 *     outage never holds a room's warm-up behind thousands of writes; results go to a
 *     mutex-guarded mailbox and wake(arg) tells the service thread;
 *   - one syncer: fsyncs the journal in groups every SPOOL_FSYNC_MS and refreshes the gauges.
 *
 * The service thread only encodes, write(2)s the record, and trypushes a malloc'd copy; when
 * the queue is full the copy is freed and the segment is told that one of its records lives
 * only on disk now. The queue is our own ring instead of apr_queue because the flush window
 * and the idle journal check need a pop with a timeout, which apr_queue lacks; like
 * apr_queue it is a mutex and a condition variable, and it keeps room for the end markers so
 * shutdown can always queue them behind the real work.
 *
 * Threads: see each function; counters are C11 atomics; {lock} names guard fields. */
#include "relay_persist.h"

#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "chat_store.h"
#include "relay_journal.h"

#define READ_QUEUE_SIZE 256
#define BACKOFF_BASE (50 * 1000)                  /* microseconds */
#define BACKOFF_CAP (5 * APR_USEC_PER_SEC)
#define SAVE_WINDOW (5 * APR_USEC_PER_SEC)        /* deadline handed to chat_store_save */
#define SCHEMA_TIMEOUT (10 * APR_USEC_PER_SEC)
#define RECOVER_CALL (2 * APR_USEC_PER_SEC)       /* bound of each store call of recover */
#define IDLE_MIN (50 * 1000)                      /* an idle writer's wait for work */
#define IDLE_MAX APR_USEC_PER_SEC
#define WATCH_TICK (100 * 1000)                   /* the syncer's stall check, at the least */
/* SQLite: the most rows one write (one transaction) holds when batches are waiting, from the
 * queue or a journal segment. 16384 rows of ~300 bytes keep a write in a few MiB and its
 * transaction near 0.2 s at the store's backlog rate. */
#define BACKLOG_BATCH 16384

/* ---------------------------------------------------------------- bounded ring queue */

typedef struct ring_t {
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *nonempty;
    void **items;            /* {lock} size slots */
    int cap;                 /* trypush stops here; the slots above are for end markers */
    int size;
    int fill;                /* depth at which a waiting batch is full (see ring_push) */
    int head;                /* {lock} */
    int count;               /* {lock} */
    int markers;             /* {lock} end markers queued (ring_take counts them off; ring_pop,
                              * for reads and the final discard, need not) */
} ring_t;

static apr_status_t ring_init(ring_t *q, int cap, int reserve, int fill, apr_pool_t *pool)
{
    apr_status_t rv;

    q->cap = cap;
    q->size = cap + reserve;
    q->fill = fill;
    q->items = apr_pcalloc(pool, sizeof(void *) * (apr_size_t)q->size);
    rv = apr_thread_mutex_create(&q->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    if (rv == APR_SUCCESS) {
        rv = apr_thread_cond_create(&q->nonempty, pool);
    }
    return rv;
}

/* Never blocks. reserved: an end marker, which may use the marker slots. APR_SUCCESS or
 * APR_EAGAIN. Wakes consumers only when one can act: at the first item (an idle consumer
 * starts its flush window), when a batch's worth is queued, and for an end marker. A
 * consumer inside its window waits for the batch to fill (ring_take's min), so the pushes
 * in between cost no futex wake and no switch to a worker on the service thread's core. */
static apr_status_t ring_push(ring_t *q, void *item, int reserved, int *depth)
{
    apr_status_t rv = APR_EAGAIN;

    apr_thread_mutex_lock(q->lock);
    if (q->count < (reserved ? q->size : q->cap)) {
        q->items[(q->head + q->count) % q->size] = item;
        q->count++;
        rv = APR_SUCCESS;
        if (reserved) {
            q->markers++;
            apr_thread_cond_broadcast(q->nonempty);
        }
        else if (q->count == q->fill) {
            apr_thread_cond_broadcast(q->nonempty);
        }
        else if (q->count == 1) {
            apr_thread_cond_signal(q->nonempty);
        }
    }
    if (depth != NULL) {
        *depth = q->count;
    }
    apr_thread_mutex_unlock(q->lock);
    return rv;
}

/* Waits until deadline (0: forever) for an item. APR_SUCCESS or APR_TIMEUP. */
static apr_status_t ring_pop(ring_t *q, apr_time_t deadline, void **item, int *depth)
{
    apr_status_t rv = APR_SUCCESS;

    apr_thread_mutex_lock(q->lock);
    while (q->count == 0) {
        apr_time_t now = apr_time_now();

        if (deadline == 0) {
            apr_thread_cond_wait(q->nonempty, q->lock);
        }
        else if (now >= deadline) {
            rv = APR_TIMEUP;
            break;
        }
        else {
            apr_thread_cond_timedwait(q->nonempty, q->lock, deadline - now);
        }
    }
    if (rv == APR_SUCCESS) {
        *item = q->items[q->head];
        q->head = (q->head + 1) % q->size;
        q->count--;
    }
    if (depth != NULL) {
        *depth = q->count;
    }
    apr_thread_mutex_unlock(q->lock);
    return rv;
}

/* Waits until min items are queued, an end marker is, or deadline passes; then takes up to
 * max of them (max 0: takes none and returns how many are queued). Stops after an item equal
 * to stop (an end marker), which is returned last, so each worker takes exactly one. Returns
 * the count taken (with max 0: queued). */
static int ring_take(ring_t *q, apr_time_t deadline, int min, void **items, int max, void *stop,
                     int *depth)
{
    int n = 0;

    apr_thread_mutex_lock(q->lock);
    while (q->count < min && q->markers == 0) {
        apr_time_t now = apr_time_now();

        if (now >= deadline) {
            break;
        }
        apr_thread_cond_timedwait(q->nonempty, q->lock, deadline - now);
    }
    if (max == 0) {
        n = q->count;
    }
    while (n < max && q->count > 0) {
        void *item = q->items[q->head];

        q->head = (q->head + 1) % q->size;
        q->count--;
        items[n++] = item;
        if (item == stop) {
            q->markers--;
            break;
        }
    }
    *depth = q->count;
    apr_thread_mutex_unlock(q->lock);
    return n;
}

/* ---------------------------------------------------------------- jobs and state */

/* A write job: one malloc holding the message and its strings. Owned by whoever holds it. */
typedef struct job_t {
    apr_uint64_t seg;        /* journal segment holding the record */
    chat_msg_t msg;
    char data[];
} job_t;

/* A read job: lives in its own unmanaged pool, which moves service -> reader -> mailbox ->
 * service thread, and is destroyed after on_result. */
typedef struct read_job_t {
    struct read_job_t *next; /* {mbox_lock} */
    apr_pool_t *pool;
    apr_int64_t after_seq;
    int limit;
    relay_read_result_t res;
} read_job_t;

typedef struct worker_t {
    relay_persist_t *p;
    apr_thread_t *thd;
    int index;
    apr_pool_t *pool;        /* unmanaged, the thread's own */
    apr_pool_t *scratch;     /* cleared after every batch */
    chat_store_t *store;
    chat_store_t *live;      /* {stop_lock} store, while shutdown may still bound its calls */
    _Atomic apr_time_t busy_since; /* a watched store call began then; 0: none in flight */
    int watched;             /* writers: their calls count for the stall watchdog */
    apr_interval_time_t call_bound; /* recover: each store call ends this long after it starts */
    int schema_ok;
    int once;                /* recover: one attempt, no retry */
    apr_uint64_t rng;
    _Atomic apr_uint64_t wrote; /* successful store writes of this worker */
    int batch_max;           /* jobs one write may hold: PERSIST_BATCH_SIZE, or BACKLOG_BATCH
                              * when waiting batches join it (SQLite) */
    void **batch;            /* job_t *, as ring_take hands them over */
    const chat_msg_t **msgs;
} worker_t;

struct relay_persist_t {
    apr_pool_t *pool;
    const chat_config_t *cfg;
    chat_shm_t *shm;
    chat_log_t *log;
    int disabled;            /* STORAGE=none */
    int n_writers;           /* PERSIST_WORKERS */
    /* SQLite: the writers' turn, passed round in index order (turn_begin, turn_pass). 0:
     * writers work side by side, a batch at a time (DynamoDB). */
    int turns;
    apr_thread_mutex_t *turn_lock;
    apr_thread_cond_t *turn_cond;
    int turn_next;           /* {turn_lock} the index of the writer whose turn it is */
    char *turn_gone;         /* {turn_lock} per writer: exited, or never started */
    /* SQLite: the writers' one store handle, used only in the turn: one connection keeps its
     * page cache from one transaction to the next, where each write from another connection
     * would drop it (writers on handles of their own stored 5-10 % fewer rows in S5). */
    apr_pool_t *wpool;       /* {turn_lock} unmanaged; destroyed by shutdown */
    chat_store_t *wstore;    /* {turn_lock} */
    apr_status_t wstore_rv;  /* {turn_lock} how opening it went */
    relay_journal_t *journal;
    ring_t jobs;
    ring_t reads;
    int end_marker;          /* its address marks the end of a queue */
    /* service thread only */
    int started;
    int closed;              /* shutdown ran */
    apr_uint64_t next_ticket;
    char *enc;               /* CHAT_MSG_MAX_ENCODED + 1 bytes */
    worker_t *workers;
    worker_t reader;
    apr_thread_t *syncer;
    void (*wake)(void *arg);
    void *wake_arg;
    /* shutdown signalling: the backoff sleeps and the syncer wait on stop_cond */
    apr_thread_mutex_t *stop_lock;
    apr_thread_cond_t *stop_cond;
    int stopping;            /* {stop_lock} */
    int sync_stop;           /* {stop_lock} */
    apr_time_t deadline;     /* {stop_lock} */
    /* mailbox of finished reads */
    apr_thread_mutex_t *mbox_lock;
    read_job_t *mbox_head;   /* {mbox_lock} */
    read_job_t *mbox_tail;   /* {mbox_lock} */
    /* store state: store_ok is the last operation's outcome; store_up what is reported, which
     * is also 0 while a writer's call hangs past PERSIST_STALL_MS (see is_stalled) */
    atomic_int store_ok;
    atomic_int store_up;
    _Atomic apr_uint64_t n_queued, n_spilled, n_written, n_failed, n_retried, n_batch_us;
    _Atomic apr_uint64_t n_batches, n_taken, n_largest;
    atomic_int depth;
};

static void count(relay_persist_t *p, _Atomic apr_uint64_t *ctr, enum chat_ctr id,
                  apr_uint64_t n)
{
    atomic_fetch_add(ctr, n);
    if (p->shm != NULL) {
        chat_shm_add(p->shm, id, n);
    }
}

static void gauge(relay_persist_t *p, enum chat_ctr id, apr_uint64_t v)
{
    if (p->shm != NULL) {
        chat_shm_set(p->shm, id, v);
    }
}

static void set_depth(relay_persist_t *p, int depth)
{
    atomic_store(&p->depth, depth);
    gauge(p, CHAT_CTR_PERSIST_DEPTH, (apr_uint64_t)depth);
}

/* The stall watchdog: 1 when a writer's store call has been in flight for longer than
 * PERSIST_STALL_MS. A store that hangs instead of failing (a locked SQLite database waiting
 * in its busy handler, an endpoint that accepts and never answers) would otherwise look up
 * for as long as the call lasts. Any thread: reads the writers' atomics only. */
static int is_stalled(const relay_persist_t *p, apr_time_t now)
{
    apr_interval_time_t limit = apr_time_from_msec(p->cfg->persist_stall_ms);

    for (int i = 0; p->workers != NULL && i < p->n_writers; i++) {
        apr_time_t since = atomic_load(&p->workers[i].busy_since);

        if (since != 0 && now - since > limit) {
            return 1;
        }
    }
    return 0;
}

/* The store state as reported: the last operation succeeded and no writer's call hangs. */
static int is_up(const relay_persist_t *p, int *stalled)
{
    int ok = atomic_load(&((relay_persist_t *)p)->store_ok);

    *stalled = ok && is_stalled(p, apr_time_now());
    return ok && !*stalled;
}

/* Recomputes the reported state from the last outcome and the watchdog, updates the gauge and
 * logs a change. store: the caller's handle for the error detail (NULL: none). */
static void publish_store_state(relay_persist_t *p, apr_status_t why, chat_store_t *store)
{
    int stalled;
    int up = is_up(p, &stalled);
    int was = atomic_exchange(&p->store_up, up);
    char err[120], ms[16];

    /* Refreshed on every store operation and every syncer round, so when two threads race
     * here a stale gauge lasts only until the next one. */
    gauge(p, CHAT_CTR_STORE_UP, (apr_uint64_t)atomic_load(&p->store_up));
    if (was == up) {
        return;
    }
    if (up) {
        CHAT_LOG(p->log, CHAT_LOG_INFO, "store reachable", "storage",
                 chat_config_storage_name(p->cfg->storage));
    }
    else if (stalled) {
        apr_snprintf(ms, sizeof(ms), "%d", p->cfg->persist_stall_ms);
        CHAT_LOG(p->log, CHAT_LOG_WARN, "store not answering, messages stay journaled",
                 "storage", chat_config_storage_name(p->cfg->storage), "stall_ms", ms);
    }
    else {
        CHAT_LOG(p->log, CHAT_LOG_WARN, "store unreachable, messages stay journaled", "storage",
                 chat_config_storage_name(p->cfg->storage), "err",
                 chat_err_str(why, err, sizeof(err)), "detail",
                 store != NULL ? chat_store_last_error(store) : NULL);
    }
}

static void set_store_up(relay_persist_t *p, int ok, apr_status_t why, chat_store_t *store)
{
    atomic_store(&p->store_ok, ok);
    publish_store_state(p, why, store);
}

/* Around each store call: starts the call's bound (recover) and the watchdog's clock. */
static void call_begin(worker_t *w)
{
    if (w->call_bound > 0) {
        chat_store_deadline_set(w->store, apr_time_now() + w->call_bound);
    }
    if (w->watched) {
        atomic_store(&w->busy_since, apr_time_now());
    }
}

static void call_end(worker_t *w)
{
    atomic_store(&w->busy_since, 0);
}

static void update_journal_gauges(relay_persist_t *p)
{
    relay_journal_stats_t js;

    relay_journal_stats(p->journal, &js);
    gauge(p, CHAT_CTR_PERSIST_PENDING, js.pending);
    gauge(p, CHAT_CTR_PERSIST_JBYTES, js.bytes);
}

/* ---------------------------------------------------------------- stop signalling */

/* 1 when shutdown has begun and its deadline has passed. */
static int is_past_deadline(relay_persist_t *p)
{
    int past;

    apr_thread_mutex_lock(p->stop_lock);
    past = p->stopping && apr_time_now() >= p->deadline;
    apr_thread_mutex_unlock(p->stop_lock);
    return past;
}

/* The deadline handed to chat_store_save: SAVE_WINDOW from now, or the shutdown deadline when
 * that comes first, so a slow store cannot hold shutdown past SHUTDOWN_DRAIN_S. */
static apr_time_t save_deadline(relay_persist_t *p)
{
    apr_time_t until = apr_time_now() + SAVE_WINDOW;

    apr_thread_mutex_lock(p->stop_lock);
    if (p->stopping && p->deadline < until) {
        until = p->deadline > 0 ? p->deadline : 1;
    }
    apr_thread_mutex_unlock(p->stop_lock);
    return until;
}

/* Sleeps for usec unless shutdown or the deadline comes first. */
static void nap(relay_persist_t *p, apr_interval_time_t usec)
{
    apr_time_t until = apr_time_now() + usec;

    apr_thread_mutex_lock(p->stop_lock);
    if (p->stopping && p->deadline < until) {
        until = p->deadline;
    }
    if (until > apr_time_now()) {
        apr_thread_cond_timedwait(p->stop_cond, p->stop_lock, until - apr_time_now());
    }
    apr_thread_mutex_unlock(p->stop_lock);
}

/* Full jitter: a uniform delay in [0, min(cap, base * 2^attempt)). */
static apr_interval_time_t backoff(worker_t *w, int attempt)
{
    apr_interval_time_t ceiling = BACKOFF_BASE;

    for (int i = 0; i < attempt && ceiling < BACKOFF_CAP; i++) {
        ceiling *= 2;
    }
    if (ceiling > BACKOFF_CAP) {
        ceiling = BACKOFF_CAP;
    }
    w->rng ^= w->rng << 13;      /* xorshift64 */
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return (apr_interval_time_t)(w->rng % (apr_uint64_t)ceiling);
}

/* ---------------------------------------------------------------- writing */

/* With stop_lock held: bounds w's open store's calls, the one in flight too, by the shutdown
 * deadline (0, "now", still has to bound them: chat_store_deadline_set takes 0 as none). */
static void cut_at_deadline_locked(worker_t *w, apr_time_t deadline)
{
    if (w->live != NULL) {
        chat_store_deadline_set(w->live, deadline > 0 ? deadline : 1);
    }
}

/* The SQLite writers' shared store handle, opened by the first writer that asks. */
static apr_status_t shared_store_open(relay_persist_t *p, chat_store_t **out)
{
    apr_status_t rv;

    apr_thread_mutex_lock(p->turn_lock);
    if (p->wstore == NULL && p->wstore_rv == APR_SUCCESS) {
        rv = apr_pool_create_unmanaged_ex(&p->wpool, NULL, NULL);
        if (rv == APR_SUCCESS) {
            rv = chat_store_open(&p->wstore, p->cfg, p->wpool);
        }
        p->wstore_rv = rv;
        if (rv != APR_SUCCESS) {
            p->wstore = NULL;
        }
    }
    *out = p->wstore;
    rv = p->wstore_rv;
    apr_thread_mutex_unlock(p->turn_lock);
    return rv;
}

/* What a worker is for; worker_open sets it up accordingly. */
typedef enum {
    WORKER_WRITER,           /* batch arrays; with SQLite the writers' shared store handle */
    WORKER_READER,           /* its own handle, no batch arrays */
    WORKER_RECOVER           /* start-up replay: batch arrays, its own handle */
} worker_role_e;

/* Runs on the thread that will use the worker: the store handle belongs to it, except that
 * SQLite's writers share one (shared_store_open) which only the turn's holder uses. A store
 * that cannot be opened is logged and then behaves as one that is down, so the jobs this
 * worker takes still go back to the journal. Fails only without memory. */
static apr_status_t worker_open(worker_t *w, relay_persist_t *p, worker_role_e role)
{
    apr_size_t nb;
    apr_status_t rv;
    char err[120];

    w->p = p;
    w->rng = (apr_uint64_t)apr_time_now() ^ ((apr_uint64_t)(w->index + 1) * 0x9E3779B97F4A7C15u);
    if (w->rng == 0) {
        w->rng = 1;
    }
    rv = apr_pool_create_unmanaged_ex(&w->pool, NULL, NULL);
    if (rv == APR_SUCCESS) {
        rv = apr_pool_create(&w->scratch, w->pool);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    w->batch_max = p->cfg->persist_batch_size;
    if (p->turns && w->batch_max < BACKLOG_BATCH) {
        w->batch_max = BACKLOG_BATCH;
    }
    nb = (apr_size_t)w->batch_max;
    if (role != WORKER_READER) {
        w->batch = apr_pcalloc(w->pool, sizeof(void *) * nb);
        w->msgs = apr_pcalloc(w->pool, sizeof(chat_msg_t *) * nb);
    }
    if (p->turns && role == WORKER_WRITER) {
        rv = shared_store_open(p, &w->store);
    }
    else {
        rv = chat_store_open(&w->store, p->cfg, w->pool);
    }
    if (rv != APR_SUCCESS) {
        w->store = NULL;
        CHAT_LOG(p->log, CHAT_LOG_ERROR, "cannot open the store", "storage",
                 chat_config_storage_name(p->cfg->storage), "err",
                 chat_err_str(rv, err, sizeof(err)));
        return APR_SUCCESS;
    }
    /* From here shutdown can cut this handle's calls at its deadline (from its thread). */
    apr_thread_mutex_lock(p->stop_lock);
    w->live = w->store;
    if (p->stopping) {
        cut_at_deadline_locked(w, p->deadline);
    }
    apr_thread_mutex_unlock(p->stop_lock);
    return APR_SUCCESS;
}

static void worker_close(worker_t *w)
{
    if (w->pool != NULL) {
        apr_thread_mutex_lock(w->p->stop_lock);
        w->live = NULL;
        apr_thread_mutex_unlock(w->p->stop_lock);
        apr_pool_destroy(w->pool);   /* closes the store */
        w->pool = NULL;
    }
}

/* Saves msgs, retrying for as long as the relay runs (w->once: one attempt). Returns
 * APR_SUCCESS, or the last error once the shutdown deadline has passed. */
static apr_status_t save_retrying(worker_t *w, int n)
{
    relay_persist_t *p = w->p;
    apr_pool_t *sub = NULL;
    apr_status_t rv = APR_SUCCESS;

    for (int attempt = 0;; attempt++) {
        apr_time_t t0 = apr_time_now();

        if (is_past_deadline(p)) {
            rv = rv == APR_SUCCESS ? APR_TIMEUP : rv;
            break;
        }
        if (attempt > 0) {
            if (w->once) {
                break;
            }
            nap(p, backoff(w, attempt));
            if (is_past_deadline(p)) {
                break;
            }
            count(p, &p->n_retried, CHAT_CTR_PERSIST_RETRIED, 1);
            t0 = apr_time_now();
        }
        if (sub == NULL && apr_pool_create(&sub, w->scratch) != APR_SUCCESS) {
            return APR_ENOMEM;
        }
        if (w->store == NULL) {
            rv = CHAT_ESTORE_UNAVAILABLE;    /* worker_open failed and said so */
        }
        else {
            call_begin(w);
            if (!w->schema_ok) {
                rv = chat_store_ensure_schema(w->store, SCHEMA_TIMEOUT);
                w->schema_ok = rv == APR_SUCCESS;
            }
            if (w->schema_ok) {
                rv = chat_store_save(w->store, w->msgs, n, save_deadline(p), sub);
            }
            call_end(w);
        }
        apr_pool_clear(sub);
        if (rv == APR_SUCCESS) {
            apr_uint64_t us = (apr_uint64_t)(apr_time_now() - t0);

            atomic_fetch_add(&w->wrote, 1);
            atomic_store(&p->n_batch_us, us);
            atomic_fetch_add(&p->n_batches, 1);
            gauge(p, CHAT_CTR_PERSIST_BATCH_US, us);
            set_store_up(p, 1, rv, w->store);
            return APR_SUCCESS;
        }
        count(p, &p->n_failed, CHAT_CTR_PERSIST_FAILED, 1);
        set_store_up(p, 0, rv, w->store);
    }
    return rv;
}

/* Counts a batch of n jobs w took from the queue. */
static void note_taken(worker_t *w, int n)
{
    relay_persist_t *p = w->p;
    apr_uint64_t largest = atomic_load(&p->n_largest);

    atomic_fetch_add(&p->n_taken, 1);
    while ((apr_uint64_t)n > largest
           && !atomic_compare_exchange_weak(&p->n_largest, &largest, (apr_uint64_t)n)) {
    }
}

/* SQLite: waits for w's turn. With DynamoDB writers do not take turns. */
static void turn_begin(worker_t *w)
{
    relay_persist_t *p = w->p;

    if (!p->turns) {
        return;
    }
    apr_thread_mutex_lock(p->turn_lock);
    while (p->turn_next != w->index) {
        apr_thread_cond_wait(p->turn_cond, p->turn_lock);
    }
    apr_thread_mutex_unlock(p->turn_lock);
}

/* SQLite: hands w's turn, if it has it, to the next writer still running; gone: w exits. */
static void turn_pass(worker_t *w, int gone)
{
    relay_persist_t *p = w->p;

    if (!p->turns) {
        return;
    }
    apr_thread_mutex_lock(p->turn_lock);
    if (gone) {
        p->turn_gone[w->index] = 1;
    }
    if (p->turn_next == w->index) {
        int i = w->index;

        do {
            i = (i + 1) % p->n_writers;
        } while (p->turn_gone[i] && i != w->index);
        p->turn_next = p->turn_gone[i] ? -1 : i;
        apr_thread_cond_broadcast(p->turn_cond);
    }
    apr_thread_mutex_unlock(p->turn_lock);
}

/* SQLite: the writers from index from on did not start; the turn goes round the others. */
static void turn_skip_unstarted(relay_persist_t *p, int from)
{
    if (!p->turns) {
        return;
    }
    apr_thread_mutex_lock(p->turn_lock);
    for (int i = from; i < p->n_writers; i++) {
        p->turn_gone[i] = 1;
    }
    if (p->turn_next >= 0 && p->turn_gone[p->turn_next]) {
        int i = 0;

        while (i < p->n_writers && p->turn_gone[i]) {
            i++;
        }
        p->turn_next = i < p->n_writers ? i : -1;   /* the first one still running */
        apr_thread_cond_broadcast(p->turn_cond);
    }
    apr_thread_mutex_unlock(p->turn_lock);
}

/* In w's turn: appends the batches already waiting in the queue (counted in
 * PERSIST_BATCH_SIZE) to the n jobs in w->batch, up to w->batch_max jobs or an end marker
 * (*end). One ring_take for all of them: taking them a batch at a time costs a queue lock
 * per batch against the service thread on the same core, about 10 % of the rows SQLite
 * stores while sending (S5, A/B). Returns how many jobs the write holds. */
static int join_waiting(worker_t *w, int n, int *end)
{
    relay_persist_t *p = w->p;
    int size = p->cfg->persist_batch_size;
    int depth;

    if (!*end && n < w->batch_max) {
        int k = ring_take(&p->jobs, 0, 0, w->batch + n, w->batch_max - n, &p->end_marker,
                          &depth);

        set_depth(p, depth);
        if (k > 0 && w->batch[n + k - 1] == &p->end_marker) {
            *end = 1;
            k--;
        }
        for (int i = 0; i < k; i += size) {
            note_taken(w, k - i < size ? k - i : size);
        }
        n += k;
    }
    return n;
}

/* Writes a batch of jobs, with SQLite together with the batches waiting behind it (*end: an
 * end marker came among them), and confirms them segment by segment; frees the jobs. What
 * could not be written (shutdown deadline) is handed back to the journal as re-readable. */
static void write_jobs(worker_t *w, int n, int *end)
{
    relay_persist_t *p = w->p;
    apr_status_t rv;
    int i = 0;

    if (p->turns) {
        n = join_waiting(w, n, end);
    }
    for (int k = 0; k < n; k++) {
        job_t *job = w->batch[k];

        w->msgs[k] = &job->msg;
    }
    rv = save_retrying(w, n);
    while (i < n) {
        apr_uint64_t seg = ((job_t *)w->batch[i])->seg;
        int run = 0;

        for (; i < n && ((job_t *)w->batch[i])->seg == seg; i++, run++) {
            free(w->batch[i]);
        }
        if (rv == APR_SUCCESS) {
            relay_journal_confirm(p->journal, seg, (apr_size_t)run);
        }
        else {
            relay_journal_spill(p->journal, seg, (apr_size_t)run);
        }
    }
    if (rv == APR_SUCCESS) {
        count(p, &p->n_written, CHAT_CTR_PERSIST_WRITTEN, (apr_uint64_t)n);
    }
}

/* Writes every record r yields, in batches. APR_EOF once all present are in the store (*to:
 * the file offset after them); otherwise the error that stopped it. */
static apr_status_t write_records(worker_t *w, relay_journal_reader_t *r, apr_off_t *to,
                                  apr_size_t *skipped, apr_size_t *bad)
{
    apr_status_t rv = APR_SUCCESS;
    int k = 0;

    while (rv == APR_SUCCESS) {
        const unsigned char *pl;
        apr_size_t plen;
        apr_off_t off;
        chat_msg_t *m = NULL;

        rv = relay_journal_reader_next(r, &pl, &plen, &off, skipped);
        if (rv == APR_SUCCESS) {
            if (chat_msg_decode_full(&m, (const char *)pl, plen, w->scratch) == APR_SUCCESS) {
                w->msgs[k++] = m;
            }
            else {
                (*bad)++;                  /* CRC-valid but not a message: nothing to store */
            }
        }
        if (k > 0 && (k == w->batch_max || rv == APR_EOF)) {
            apr_status_t wr = save_retrying(w, k);

            apr_pool_clear(w->scratch);    /* the decoded batch */
            k = 0;
            if (wr != APR_SUCCESS) {
                return wr;
            }
        }
        if (rv == APR_SUCCESS || rv == APR_EOF) {
            *to = off;                     /* everything before off is in the store */
        }
    }
    return rv;
}

/* Re-reads one claimed journal segment from where the last re-read stopped and writes its
 * records. APR_EOF: nothing to claim; APR_SUCCESS: one segment done; else it failed and the
 * claim went back. */
static apr_status_t reread_segment(worker_t *w)
{
    relay_persist_t *p = w->p;
    relay_journal_reader_t *r = NULL;
    apr_pool_t *rp = NULL;
    apr_size_t claimed, skipped = 0, bad = 0;
    apr_off_t from, to;
    apr_uint64_t seg;
    int sealed, lost = 0;
    apr_status_t rv;
    char err[120];

    rv = relay_journal_claim(p->journal, &seg, &from, &claimed, &sealed);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    to = from;
    rv = apr_pool_create(&rp, w->pool);
    if (rv == APR_SUCCESS) {
        rv = relay_journal_reader_open(&r, relay_journal_path(p->journal, seg, rp), from,
                                       sealed, rp);
        lost = APR_STATUS_IS_ENOENT(rv);   /* removed behind our back: retrying cannot help */
        rv = rv == APR_SUCCESS ? write_records(w, r, &to, &skipped, &bad) : lost ? APR_EOF : rv;
    }
    if (rv == APR_EOF) {
        relay_journal_release(p->journal, seg, claimed, to, 1);
        if (!lost) {
            count(p, &p->n_written, CHAT_CTR_PERSIST_WRITTEN, claimed);
        }
        rv = APR_SUCCESS;
    }
    else {
        relay_journal_release(p->journal, seg, claimed, 0, 0);
        CHAT_LOG(p->log, CHAT_LOG_DEBUG, "journal re-read interrupted", "err",
                 chat_err_str(rv, err, sizeof(err)));
    }
    if (lost) {
        CHAT_LOG(p->log, CHAT_LOG_ERROR, "journal segment vanished; its messages are lost",
                 "segment", apr_psprintf(rp, "%" APR_UINT64_T_FMT, seg), "messages",
                 apr_psprintf(rp, "%" APR_SIZE_T_FMT, claimed));
    }
    if (skipped > 0 || bad > 0) {
        CHAT_LOG(p->log, CHAT_LOG_WARN, "journal damage skipped", "segment",
                 apr_psprintf(rp, "%" APR_UINT64_T_FMT, seg), "bytes",
                 apr_psprintf(rp, "%" APR_SIZE_T_FMT, skipped), "records",
                 apr_psprintf(rp, "%" APR_SIZE_T_FMT, bad));
    }
    apr_pool_clear(w->scratch);
    if (rp != NULL) {
        apr_pool_destroy(rp);
    }
    return rv;
}

/* Takes a batch: waits a while for the first job (the flush window, kept between IDLE_MIN and
 * IDLE_MAX so an idle worker neither spins nor forgets the journal), then up to
 * PERSIST_FLUSH_MS more for PERSIST_BATCH_SIZE to be queued, and takes what is there, up to
 * PERSIST_BATCH_SIZE. */
static int collect(worker_t *w, int *end)
{
    relay_persist_t *p = w->p;
    apr_interval_time_t window = apr_time_from_msec(p->cfg->persist_flush_ms);
    apr_interval_time_t idle = window < IDLE_MIN ? IDLE_MIN : window > IDLE_MAX ? IDLE_MAX : window;
    int depth;
    int n;

    n = ring_take(&p->jobs, apr_time_now() + idle, 1, NULL, 0, &p->end_marker, &depth);
    if (n == 0) {
        return 0;
    }
    n = ring_take(&p->jobs, apr_time_now() + window, p->cfg->persist_batch_size, w->batch,
                  p->cfg->persist_batch_size, &p->end_marker, &depth);
    set_depth(p, depth);
    if (n > 0 && w->batch[n - 1] == &p->end_marker) {
        *end = 1;
        n--;
    }
    if (n > 0) {
        note_taken(w, n);
    }
    return n;
}

/* A writer. With SQLite each round (take, write, journal) is the writer's turn, and the turn
 * goes round; with DynamoDB the writers run side by side. */
static void *APR_THREAD_FUNC writer_main(apr_thread_t *thd, void *data)
{
    worker_t *w = data;
    relay_persist_t *p = w->p;
    int end = 0;

    (void)thd;
    if (worker_open(w, p, WORKER_WRITER) != APR_SUCCESS) {
        CHAT_LOG(p->log, CHAT_LOG_ERROR, "persistence worker out of memory");
        turn_pass(w, 1);
        return NULL;
    }
    while (!end) {
        int n;

        turn_begin(w);
        n = collect(w, &end);
        if (n > 0) {
            write_jobs(w, n, &end);
            apr_pool_clear(w->scratch);
        }
        else if ((p->turns || w->index == 0) && !end && w->store != NULL
                 && !atomic_load(&p->store_ok)) {
            /* Idle while the store is down: probe it so /health recovers without traffic. */
            apr_status_t hrv;

            call_begin(w);
            hrv = chat_store_health(w->store);
            call_end(w);
            if (hrv == APR_SUCCESS) {
                set_store_up(p, 1, hrv, w->store);
            }
        }
        /* The journal's turn: while running one segment between batches; at the end every
         * segment left, until the shutdown deadline. */
        while (reread_segment(w) == APR_SUCCESS && end && !is_past_deadline(p)) {
        }
        turn_pass(w, end);
    }
    worker_close(w);
    return NULL;
}

/* ---------------------------------------------------------------- reading */

static void run_read(worker_t *w, read_job_t *job)
{
    relay_read_result_t *res = &job->res;
    int has_more = 0;
    apr_status_t rv;

    switch (res->kind) {
    case RELAY_READ_RECENT:
        rv = chat_store_room_recent(w->store, res->room, NULL, job->limit, &res->msgs, &has_more,
                                    job->pool);
        if (rv == APR_SUCCESS) {
            rv = chat_store_room_max_seq(w->store, res->room, &res->max_seq);
        }
        break;
    case RELAY_READ_AFTER:
        rv = chat_store_room_after(w->store, res->room, job->after_seq, job->limit, &res->msgs,
                                   job->pool);
        break;
    default:
        rv = chat_store_room_max_seq(w->store, res->room, &res->max_seq);
        break;
    }
    if (rv != APR_SUCCESS && rv != CHAT_ESTORE_DISABLED) {
        set_store_up(w->p, 0, rv, w->store);
        rv = CHAT_ESTORE_UNAVAILABLE;
        res->msgs = NULL;
    }
    else if (rv == APR_SUCCESS) {
        set_store_up(w->p, 1, rv, w->store);
    }
    res->status = rv;
}

static void *APR_THREAD_FUNC reader_main(apr_thread_t *thd, void *data)
{
    worker_t *w = data;
    relay_persist_t *p = w->p;
    void *item;

    (void)thd;
    if (worker_open(w, p, WORKER_READER) != APR_SUCCESS) {
        CHAT_LOG(p->log, CHAT_LOG_ERROR, "persistence reader out of memory");
        return NULL;
    }
    while (ring_pop(&p->reads, 0, &item, NULL) == APR_SUCCESS && item != &p->end_marker) {
        read_job_t *job = item;

        run_read(w, job);
        apr_thread_mutex_lock(p->mbox_lock);
        if (p->mbox_tail != NULL) {
            p->mbox_tail->next = job;
        }
        else {
            p->mbox_head = job;
        }
        p->mbox_tail = job;
        apr_thread_mutex_unlock(p->mbox_lock);
        if (p->wake != NULL) {
            p->wake(p->wake_arg);
        }
    }
    worker_close(w);
    return NULL;
}

/* fsyncs the journal every SPOOL_FSYNC_MS and, at least every WATCH_TICK, refreshes the
 * gauges and runs the stall watchdog (publish_store_state), so the analytics segment shows a
 * hanging store without waiting for the hung call to end. */
static void *APR_THREAD_FUNC syncer_main(apr_thread_t *thd, void *data)
{
    relay_persist_t *p = data;
    apr_interval_time_t every = apr_time_from_msec(p->cfg->spool_fsync_ms);
    apr_interval_time_t tick = every < WATCH_TICK ? every : WATCH_TICK;
    apr_time_t next_sync = apr_time_now() + every;
    int stop = 0;

    (void)thd;
    while (!stop) {
        apr_status_t rv;

        apr_thread_mutex_lock(p->stop_lock);
        if (!p->sync_stop) {
            apr_thread_cond_timedwait(p->stop_cond, p->stop_lock, tick > 0 ? tick : 1000);
        }
        stop = p->sync_stop;
        apr_thread_mutex_unlock(p->stop_lock);
        publish_store_state(p, APR_SUCCESS, NULL);
        if (!stop && apr_time_now() < next_sync) {
            continue;
        }
        next_sync = apr_time_now() + every;
        rv = relay_journal_sync(p->journal);
        if (rv != APR_SUCCESS) {
            char err[120];

            CHAT_LOG(p->log, CHAT_LOG_ERROR, "journal fsync failed", "err",
                     chat_err_str(rv, err, sizeof(err)));
        }
        update_journal_gauges(p);
    }
    return NULL;
}

/* ---------------------------------------------------------------- public */

static apr_status_t cleanup_persist(void *data)
{
    relay_persist_t *p = data;

    if (p->started && !p->closed) {
        relay_persist_shutdown(p, apr_time_now());
    }
    return APR_SUCCESS;
}

/* Opens (and closes) a store once so a bad storage configuration stops the relay at start
 * instead of leaving every worker without a store. */
static apr_status_t check_store_config(relay_persist_t *p)
{
    apr_pool_t *tmp = NULL;
    chat_store_t *store = NULL;
    apr_status_t rv;
    char err[120];

    rv = apr_pool_create(&tmp, p->pool);
    if (rv == APR_SUCCESS) {
        rv = chat_store_open(&store, p->cfg, tmp);
        if (rv != APR_SUCCESS) {
            CHAT_LOG(p->log, CHAT_LOG_ERROR, "cannot open the store", "storage",
                     chat_config_storage_name(p->cfg->storage), "err",
                     chat_err_str(rv, err, sizeof(err)));
        }
        apr_pool_destroy(tmp);
    }
    return rv;
}

apr_status_t relay_persist_create(relay_persist_t **out, const chat_config_t *cfg,
                                  chat_shm_t *shm, chat_log_t *log, apr_pool_t *pool)
{
    relay_persist_t *p = apr_pcalloc(pool, sizeof(*p));
    apr_status_t rv;
    char err[120];

    p->pool = pool;
    p->cfg = cfg;
    p->shm = shm;
    p->log = log;
    p->disabled = cfg->storage == CHAT_STORAGE_NONE;
    p->n_writers = cfg->persist_workers;
    atomic_init(&p->store_ok, p->disabled ? 0 : 1);
    atomic_init(&p->store_up, p->disabled ? 0 : 1);
    /* The gauge says 0 only while writes fail or hang, so with STORAGE=none (nothing to fail)
     * it is 1: chat-restapi's /health takes a 0 from a live relay as the store being down,
     * and an alert on it never fires for a relay that stores nothing. Until recover has
     * looked, the store counts as up: a relay that has written nothing is not down. */
    gauge(p, CHAT_CTR_STORE_UP, 1);
    if (p->disabled) {
        *out = p;
        return APR_SUCCESS;
    }
    p->enc = apr_palloc(pool, CHAT_MSG_MAX_ENCODED + 1);
    rv = ring_init(&p->jobs, cfg->persist_queue_size, p->n_writers, cfg->persist_batch_size,
                   pool);
    if (rv == APR_SUCCESS) {
        rv = ring_init(&p->reads, READ_QUEUE_SIZE, 1, 1, pool);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_thread_mutex_create(&p->stop_lock, APR_THREAD_MUTEX_DEFAULT, pool);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_thread_cond_create(&p->stop_cond, pool);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_thread_mutex_create(&p->mbox_lock, APR_THREAD_MUTEX_DEFAULT, pool);
    }
    if (rv == APR_SUCCESS && cfg->storage == CHAT_STORAGE_SQLITE) {
        p->turns = 1;
        p->turn_gone = apr_pcalloc(pool, (apr_size_t)p->n_writers);
        rv = apr_thread_mutex_create(&p->turn_lock, APR_THREAD_MUTEX_DEFAULT, pool);
        if (rv == APR_SUCCESS) {
            rv = apr_thread_cond_create(&p->turn_cond, pool);
        }
    }
    if (rv == APR_SUCCESS) {
        rv = check_store_config(p);
    }
    if (rv == APR_SUCCESS) {
        rv = relay_journal_open(&p->journal, cfg->journal_dir,
                                (apr_size_t)cfg->journal_segment_bytes, pool);
        if (rv != APR_SUCCESS) {
            CHAT_LOG(log, CHAT_LOG_ERROR, "cannot open the journal", "dir", cfg->journal_dir,
                     "err", chat_err_str(rv, err, sizeof(err)));
        }
    }
    if (rv == APR_SUCCESS) {
        /* A pre-cleanup: runs before the threads' pools (children of pool) and the rings and
         * the journal go, so the threads are joined while all of it still exists. */
        apr_pool_pre_cleanup_register(pool, p, cleanup_persist);
        update_journal_gauges(p);
        *out = p;
    }
    return rv;
}

apr_status_t relay_persist_recover(relay_persist_t *p, apr_size_t *recovered)
{
    relay_journal_stats_t before, after;
    worker_t w;
    apr_status_t rv;
    char err[120];

    *recovered = 0;
    if (p->disabled) {
        return APR_SUCCESS;
    }
    relay_journal_stats(p->journal, &before);
    memset(&w, 0, sizeof(w));
    w.once = 1;
    /* The relay serves only after this returns: a store that does not answer must not hold
     * it for its own timeouts, so each call gets RECOVER_CALL and what fails is left in the
     * journal for the writers. */
    w.call_bound = RECOVER_CALL;
    rv = worker_open(&w, p, WORKER_RECOVER);
    if (rv == APR_SUCCESS && w.store == NULL) {
        rv = CHAT_ESTORE_UNAVAILABLE;
    }
    else if (rv == APR_SUCCESS) {
        /* Creates the schema before anyone reads, and tells /health the truth from the start. */
        call_begin(&w);
        rv = chat_store_ensure_schema(w.store, SCHEMA_TIMEOUT);
        call_end(&w);
    }
    w.schema_ok = rv == APR_SUCCESS;
    set_store_up(p, w.schema_ok, rv, w.store);
    while (rv == APR_SUCCESS) {
        rv = reread_segment(&w);
    }
    worker_close(&w);
    relay_journal_stats(p->journal, &after);
    *recovered = (apr_size_t)(before.pending - after.pending);
    update_journal_gauges(p);
    if (rv == APR_EOF) {
        if (*recovered > 0) {
            CHAT_LOG(p->log, CHAT_LOG_INFO, "journal replayed into the store", "messages",
                     apr_psprintf(p->pool, "%" APR_SIZE_T_FMT, *recovered));
        }
    }
    else if (after.pending > 0) {
        CHAT_LOG(p->log, CHAT_LOG_WARN, "journal kept for later: store unreachable", "messages",
                 apr_psprintf(p->pool, "%" APR_UINT64_T_FMT, after.pending), "err",
                 chat_err_str(rv, err, sizeof(err)));
    }
    return rv == CHAT_ECONFIG ? rv : APR_SUCCESS;
}

apr_status_t relay_persist_start(relay_persist_t *p, void (*wake)(void *arg), void *arg)
{
    apr_status_t rv = APR_SUCCESS;
    int i;

    if (p->disabled || p->started) {
        return APR_SUCCESS;
    }
    p->wake = wake;
    p->wake_arg = arg;
    p->workers = apr_pcalloc(p->pool, sizeof(worker_t) * (apr_size_t)p->n_writers);
    for (i = 0; i < p->n_writers; i++) {
        p->workers[i].index = i;
        p->workers[i].p = p;
        p->workers[i].watched = 1;
    }
    p->reader.index = i;
    p->reader.p = p;
    p->started = 1;
    for (i = 0; rv == APR_SUCCESS && i < p->n_writers; i++) {
        rv = apr_thread_create(&p->workers[i].thd, NULL, writer_main, &p->workers[i], p->pool);
        if (rv != APR_SUCCESS) {
            turn_skip_unstarted(p, i);
        }
    }
    if (rv == APR_SUCCESS) {
        rv = apr_thread_create(&p->reader.thd, NULL, reader_main, &p->reader, p->pool);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_thread_create(&p->syncer, NULL, syncer_main, p, p->pool);
    }
    if (rv != APR_SUCCESS) {
        char err[120];

        CHAT_LOG(p->log, CHAT_LOG_ERROR, "cannot start the persistence threads", "err",
                 chat_err_str(rv, err, sizeof(err)));
        relay_persist_shutdown(p, apr_time_now());
    }
    return rv;
}

/* A copy of msg in one malloc (the nonce is never stored). NULL when out of memory. */
static job_t *job_create(const chat_msg_t *msg, apr_uint64_t seg)
{
    const char *src[5] = { msg->message_id, msg->room_id, msg->user_id, msg->username,
                           msg->content };
    apr_size_t len[5], total = 0;
    const char **dst[5];
    job_t *job;
    char *at;

    for (int i = 0; i < 5; i++) {
        len[i] = src[i] != NULL ? strlen(src[i]) + 1 : 0;
        total += len[i];
    }
    job = malloc(sizeof(*job) + total);
    if (job == NULL) {
        return NULL;
    }
    job->seg = seg;
    job->msg = *msg;
    job->msg.nonce = NULL;
    dst[0] = &job->msg.message_id;
    dst[1] = &job->msg.room_id;
    dst[2] = &job->msg.user_id;
    dst[3] = &job->msg.username;
    dst[4] = &job->msg.content;
    at = job->data;
    for (int i = 0; i < 5; i++) {
        *dst[i] = src[i] != NULL ? memcpy(at, src[i], len[i]) : NULL;
        at += len[i];
    }
    return job;
}

apr_status_t relay_persist_push(relay_persist_t *p, const chat_msg_t *msg)
{
    apr_uint64_t seg = 0;                /* 0: in no segment (the journal write failed) */
    apr_size_t len;
    job_t *job;
    int depth;
    apr_status_t rv, jrv;

    if (p->disabled) {
        return APR_SUCCESS;
    }
    if (p->closed) {
        return APR_EOF;
    }
    rv = chat_msg_encode(msg, p->enc, CHAT_MSG_MAX_ENCODED + 1, &len);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* A failed journal write (disk full) still hands the copy to the queue: the message then
     * reaches the store unless the relay dies first or the queue is full too. */
    jrv = relay_journal_append(p->journal, p->enc, len, &seg);
    job = job_create(msg, seg);
    if (job != NULL && ring_push(&p->jobs, job, 0, &depth) == APR_SUCCESS) {
        set_depth(p, depth);
        count(p, &p->n_queued, CHAT_CTR_PERSIST_QUEUED, 1);
        return jrv;
    }
    free(job);
    if (jrv != APR_SUCCESS) {
        return jrv;                      /* neither journal nor queue: the caller logs it */
    }
    relay_journal_spill(p->journal, seg, 1);   /* the journal holds the message */
    count(p, &p->n_spilled, CHAT_CTR_PERSIST_SPILLED, 1);
    return APR_SUCCESS;
}

apr_status_t relay_persist_read(relay_persist_t *p, relay_read_kind_e kind, const char *room,
                                apr_int64_t after_seq, int limit, apr_uint64_t *ticket)
{
    apr_pool_t *jp = NULL;
    read_job_t *job;
    apr_status_t rv;

    if (p->disabled) {
        return CHAT_ESTORE_DISABLED;
    }
    if (p->closed) {
        return CHAT_ESTORE_UNAVAILABLE;
    }
    rv = apr_pool_create_unmanaged_ex(&jp, NULL, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    job = apr_pcalloc(jp, sizeof(*job));
    job->pool = jp;
    job->after_seq = after_seq;
    job->limit = limit < 1 ? 1 : limit > CHAT_STORE_MAX_LIMIT ? CHAT_STORE_MAX_LIMIT : limit;
    job->res.kind = kind;
    job->res.ticket = ++p->next_ticket;
    job->res.room = apr_pstrdup(jp, room);
    rv = ring_push(&p->reads, job, 0, NULL);
    if (rv != APR_SUCCESS) {
        apr_pool_destroy(jp);
        return rv;
    }
    *ticket = job->res.ticket;
    return APR_SUCCESS;
}

void relay_persist_drain(relay_persist_t *p,
                         void (*on_result)(void *arg, const relay_read_result_t *r), void *arg)
{
    read_job_t *job, *next;

    if (p->disabled) {
        return;
    }
    apr_thread_mutex_lock(p->mbox_lock);
    job = p->mbox_head;
    p->mbox_head = p->mbox_tail = NULL;
    apr_thread_mutex_unlock(p->mbox_lock);
    for (; job != NULL; job = next) {
        next = job->next;
        if (on_result != NULL) {
            on_result(arg, &job->res);
        }
        apr_pool_destroy(job->pool);
    }
}

int relay_persist_is_store_up(const relay_persist_t *p)
{
    int stalled;

    /* Computed, not read from store_up, so /health sees a stall the moment it passes
     * PERSIST_STALL_MS rather than at the syncer's next round. */
    return is_up(p, &stalled);
}

void relay_persist_stats(relay_persist_t *p, relay_persist_stats_t *out)
{
    relay_journal_stats_t js;

    memset(out, 0, sizeof(*out));
    if (p->disabled) {
        return;
    }
    relay_journal_stats(p->journal, &js);
    out->queued = atomic_load(&p->n_queued);
    out->spilled = atomic_load(&p->n_spilled);
    out->written = atomic_load(&p->n_written);
    out->failed = atomic_load(&p->n_failed);
    out->retried = atomic_load(&p->n_retried);
    out->last_batch_us = atomic_load(&p->n_batch_us);
    out->batches = atomic_load(&p->n_batches);
    out->taken = atomic_load(&p->n_taken);
    out->largest_batch = atomic_load(&p->n_largest);
    out->writers = p->disabled ? 0 : (apr_uint64_t)p->n_writers;
    out->writers_wrote = 0;
    for (int i = 0; p->workers != NULL && i < p->n_writers; i++) {
        out->writers_wrote += atomic_load(&p->workers[i].wrote) > 0;
    }
    out->depth = (apr_uint64_t)atomic_load(&p->depth);
    out->pending = js.pending;
    out->journal_bytes = js.bytes;
    out->journal_segments = js.segments;
}

/* Frees jobs still queued (threads never started or already gone): they stay journaled. */
static void discard_queued(relay_persist_t *p)
{
    void *item;

    while (ring_pop(&p->jobs, 1, &item, NULL) == APR_SUCCESS) {
        if (item != &p->end_marker) {
            job_t *job = item;

            relay_journal_spill(p->journal, job->seg, 1);
            free(job);
        }
    }
    while (ring_pop(&p->reads, 1, &item, NULL) == APR_SUCCESS) {
        if (item != &p->end_marker) {
            apr_pool_destroy(((read_job_t *)item)->pool);
        }
    }
}

apr_status_t relay_persist_shutdown(relay_persist_t *p, apr_time_t deadline)
{
    relay_journal_stats_t js;
    apr_status_t trv;
    int i;

    if (p->disabled || p->closed) {
        return APR_SUCCESS;
    }
    p->closed = 1;                          /* no more pushes or reads */
    apr_thread_mutex_lock(p->stop_lock);
    p->stopping = 1;
    p->deadline = deadline;
    /* A call already waiting on the store (an endpoint that never answers) ends at the
     * deadline too, instead of at its own timeout. */
    for (i = 0; p->workers != NULL && i < p->n_writers; i++) {
        cut_at_deadline_locked(&p->workers[i], deadline);
    }
    cut_at_deadline_locked(&p->reader, deadline);
    apr_thread_cond_broadcast(p->stop_cond);
    apr_thread_mutex_unlock(p->stop_lock);
    if (p->started) {
        /* One end marker per worker, behind the real work (FIFO), in the reserved slots. */
        for (i = 0; i < p->n_writers; i++) {
            if (p->workers[i].thd != NULL) {
                ring_push(&p->jobs, &p->end_marker, 1, NULL);
            }
        }
        if (p->reader.thd != NULL) {
            ring_push(&p->reads, &p->end_marker, 1, NULL);
        }
        for (i = 0; i < p->n_writers; i++) {
            if (p->workers[i].thd != NULL) {
                apr_thread_join(&trv, p->workers[i].thd);
            }
        }
        if (p->reader.thd != NULL) {
            apr_thread_join(&trv, p->reader.thd);
        }
    }
    if (p->wpool != NULL) {
        apr_pool_destroy(p->wpool);         /* the writers' shared store, now that they left */
        p->wpool = NULL;
        p->wstore = NULL;
    }
    discard_queued(p);
    relay_persist_drain(p, NULL, NULL);
    relay_journal_seal(p->journal);         /* an empty last segment goes now */
    if (p->syncer != NULL) {
        apr_thread_mutex_lock(p->stop_lock);
        p->sync_stop = 1;
        apr_thread_cond_broadcast(p->stop_cond);
        apr_thread_mutex_unlock(p->stop_lock);
        apr_thread_join(&trv, p->syncer);   /* its last round syncs what is left */
    }
    else {
        relay_journal_sync(p->journal);
    }
    update_journal_gauges(p);
    relay_journal_stats(p->journal, &js);
    if (js.pending > 0) {
        CHAT_LOG(p->log, CHAT_LOG_WARN, "messages left in the journal for the next start",
                 "messages", apr_psprintf(p->pool, "%" APR_UINT64_T_FMT, js.pending),
                 "segments", apr_psprintf(p->pool, "%" APR_UINT64_T_FMT, js.segments));
        return APR_TIMEUP;
    }
    CHAT_LOG(p->log, CHAT_LOG_INFO, "persistence drained", "written",
             apr_psprintf(p->pool, "%" APR_UINT64_T_FMT, atomic_load(&p->n_written)));
    return APR_SUCCESS;
}
