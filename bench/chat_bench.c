/* chat_bench.c: chat-bench, the load generator of `make bench` (issue 8).
 *
 * Opens rooms x (subs + pubs) WebSockets to a chat-relay, has every publisher send chat
 * messages at a fixed rate, and measures what arrives at every member of the room: deliveries,
 * loss, duplicates, reordering and end-to-end latency, plus the relay's CPU and RSS read from
 * /proc/<pid> and the generator's own CPU, so a run the generator limits is flagged.
 *
 * Threads: the main thread parses options, starts --threads workers and drives the phases
 * (connect, warm-up, measure, drain, stop) through one atomic; it reads only the workers'
 * atomic progress counters until they are joined, then merges their statistics. Each worker
 * owns an epoll loop, a periodic timerfd and its share of the connections (see thread_of: with
 * two workers or more the publishers get one to themselves); nothing a worker touches is
 * written by another thread.
 *
 * Message content: "~B<run>:<publisher>:<seq>:<ns>" padded to --size, where <run> is a random
 * per-run id (so replayed history of earlier runs is ignored), <publisher> a global publisher
 * number, <seq> its sequence number and <ns> CLOCK_MONOTONIC at send time. Receivers find it
 * with memmem in the raw frame (which may hold several '\n'-separated messages) without parsing
 * JSON; frames without the marker (hello, presence, system notices, replay) are only counted.
 *
 * Measurement: a message counts when its send time falls inside the measured window (after
 * --warmup, for --duration). expected = sum over measured messages of the members its room had
 * when publishing began; delivered counts first arrivals only; loss = expected - delivered.
 *
 * Departure from STYLE.md: this tool stands alone (libc, pthreads, libcrypto) and uses int
 * status codes instead of apr_status_t, so its hot path has no pools and it links nothing the
 * daemons own; it is a client of their protocol, not a part of them.
 */
#include <config.h>

#include "bench_stats.h"
#include "bench_ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define BENCH_VERSION "1.0"
#define BENCH_MAX_CONNS 200000
#define BENCH_MAX_THREADS 64
#define BENCH_MAX_DURATION 600
#define BENCH_MAX_FRAME (16u << 20)        /* biggest server message we assemble */
#define BENCH_OUT_CAP (256u << 10)         /* per-connection pending output */
#define BENCH_READ_BUF (256u << 10)        /* per-thread read buffer */
#define BENCH_MAX_CONTENT 1000             /* the relay's content limit */
#define BENCH_HANDSHAKE_NS (15 * NS_PER_S)
#define BENCH_INFLIGHT_PER_THREAD 512      /* handshakes in progress per worker */
#define BENCH_BURST_PER_TICK 64            /* catch-up sends per publisher and tick */
#define NS_PER_S 1000000000ULL
#define TIMER_KEY UINT64_MAX

static volatile sig_atomic_t stop_requested;

enum phase { PH_CONNECT = 0, PH_RUN, PH_DRAIN, PH_STOP };
enum conn_state { CS_IDLE = 0, CS_CONNECTING, CS_HANDSHAKE, CS_OPEN, CS_CLOSED };
enum close_slot { CL_1000, CL_1001, CL_1008, CL_1009, CL_1011, CL_1013, CL_OTHER, CL_EOF, CL__N };
static const char *const close_names[CL__N] = {
    "1000", "1001", "1008", "1009", "1011", "1013", "other", "eof"
};

typedef struct bench_opts_t {
    char host[64];
    int port;
    char path[128];
    char host_port[96];
    int rooms, subs, pubs, threads, src_addrs, size, tick_us;
    double rate, duration, warmup, drain, connect_rate, connect_timeout;
    int idle, json_only, server_pid;
    char room_prefix[32];
    char origin[128];                   /* empty: no Origin header */
} bench_opts_t;

typedef struct bench_conn_t {
    int fd;
    uint8_t state;
    uint8_t is_pub;
    uint8_t want_out;                   /* EPOLLOUT registered */
    uint8_t msg_op;                     /* opcode of the message being assembled */
    uint32_t room;
    uint32_t index;                     /* global connection number */
    uint32_t pub_id;                    /* global publisher number (publishers) */
    uint64_t started_ns;                /* connect() time */
    uint64_t next_due;                  /* publishers: next send time */
    uint64_t seq;                       /* publishers: next sequence number */
    char *in;                           /* unparsed input (malloc'd only while non-empty) */
    size_t in_len, in_cap;
    unsigned char *out;                 /* pending output (malloc'd on first use) */
    size_t out_off, out_len;
    char *msg;                          /* fragmented message being assembled */
    size_t msg_len, msg_cap;
    bench_track_t *track;               /* one per publisher of the room */
    char key[BENCH_WS_KEY_LEN + 1];
} bench_conn_t;

typedef struct bench_run_t bench_run_t;

typedef struct bench_counts_t {
    uint64_t established, failed, disconnects, http_4xx, http_5xx, http_other;
    uint64_t sent, sent_warmup, send_blocked, schedule_slips;
    uint64_t delivered, expected, duplicates, out_of_order, stale, misrouted, foreign;
    uint64_t frames, other_frames, bytes_in;
    uint64_t closes[CL__N];
} bench_counts_t;

typedef struct bench_thread_t {
    bench_run_t *run;
    int idx;
    int ep, tfd;
    pthread_t thr;
    bench_conn_t **conns;               /* this worker's connections, in connect order */
    size_t n_conns, next_connect, inflight;
    bench_conn_t **pubs;
    size_t n_pubs;
    uint64_t rng;
    uint64_t connect_t0;
    uint64_t last_sweep;
    int pubs_started;
    size_t pub_next;                    /* pubs[] is in due order from here, round the ring */
    bench_counts_t c;
    bench_hist_t hist;
    _Atomic uint64_t live_delivered;    /* written by the worker, read by main */
    _Atomic uint64_t live_expected;
    _Atomic uint64_t live_done;         /* connections established or failed */
    char rbuf[BENCH_READ_BUF];
} bench_thread_t;

struct bench_run_t {
    bench_opts_t o;
    char run_id[9];
    struct sockaddr_in dst;
    uint64_t interval_ns;
    uint64_t tick_ns;
    _Atomic int phase;
    _Atomic uint64_t t_run, t_start, t_end;   /* set by main before phase RUN */
    _Atomic uint32_t *room_open;        /* established members per room (during connect) */
    uint32_t *room_members;             /* snapshot at phase RUN, read-only afterwards */
    bench_thread_t *threads;
    bench_conn_t *conns;
    size_t n_conns;
    int pub_thread;                     /* worker 0 holds only the publishers */
};

/* ------------------------------------------------------------------ small helpers */

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint32_t next_rand(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S) };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !stop_requested) {
    }
}

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* ------------------------------------------------------------------ connection I/O */

static void conn_close(bench_thread_t *th, bench_conn_t *c, int slot)
{
    int ph = atomic_load_explicit(&th->run->phase, memory_order_acquire);

    if (c->state == CS_CONNECTING || c->state == CS_HANDSHAKE) {
        th->c.failed++;
        th->inflight--;
        atomic_store_explicit(&th->live_done, th->c.established + th->c.failed,
                              memory_order_relaxed);
    }
    else if (c->state == CS_OPEN && ph < PH_STOP) {
        th->c.disconnects++;
        if (slot >= 0) {
            th->c.closes[slot]++;
        }
    }
    if (c->fd >= 0) {
        close(c->fd);                   /* also leaves the epoll set */
        c->fd = -1;
    }
    c->state = CS_CLOSED;
    free(c->in);
    free(c->out);
    free(c->msg);
    c->in = NULL;
    c->out = NULL;
    c->msg = NULL;
    c->in_len = c->in_cap = c->out_len = c->out_off = c->msg_len = c->msg_cap = 0;
}

static void set_want_out(bench_thread_t *th, bench_conn_t *c, int want)
{
    struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0u),
                              .data.u64 = c->index };

    if (c->want_out != want) {
        epoll_ctl(th->ep, EPOLL_CTL_MOD, c->fd, &ev);
        c->want_out = (uint8_t)want;
    }
}

/* Writes what is pending; returns -1 when the connection broke (and was closed). */
static int conn_flush(bench_thread_t *th, bench_conn_t *c)
{
    while (c->out_len > 0) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                set_want_out(th, c, 1);
                return 0;
            }
            if (errno == EINTR) {
                continue;
            }
            conn_close(th, c, CL_EOF);
            return -1;
        }
        c->out_off += (size_t)n;
        c->out_len -= (size_t)n;
    }
    c->out_off = 0;
    set_want_out(th, c, 0);
    return 0;
}

/* Room for need more bytes at the end of c->out, or NULL when the cap is reached. */
static unsigned char *out_reserve(bench_conn_t *c, size_t need)
{
    if (c->out == NULL) {
        c->out = malloc(BENCH_OUT_CAP);
        if (c->out == NULL) {
            return NULL;
        }
    }
    if (c->out_off > 0 && c->out_off + c->out_len + need > BENCH_OUT_CAP) {
        memmove(c->out, c->out + c->out_off, c->out_len);
        c->out_off = 0;
    }
    if (c->out_off + c->out_len + need > BENCH_OUT_CAP) {
        return NULL;
    }
    return c->out + c->out_off + c->out_len;
}

static int queue_frame(bench_thread_t *th, bench_conn_t *c, unsigned op, const void *p,
                       size_t len)
{
    unsigned char *dst = out_reserve(c, len + BENCH_WS_MAX_FRAME_HDR);
    size_t n;

    if (dst == NULL) {
        return -1;
    }
    n = bench_ws_frame_encode(dst, len + BENCH_WS_MAX_FRAME_HDR, op, p, len, next_rand(&th->rng));
    c->out_len += n;
    return 0;
}

/* ------------------------------------------------------------------ receiving */

static uint64_t parse_u64(const char **pp, const char *end, int *ok)
{
    const char *p = *pp;
    uint64_t v = 0;
    int digits = 0;

    while (p < end && *p >= '0' && *p <= '9' && digits < 20) {
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
        digits++;
    }
    *ok = digits > 0;
    *pp = p;
    return v;
}

static void count_delivery(bench_thread_t *th, bench_conn_t *c, uint64_t pub, uint64_t seq,
                           uint64_t sent_ns, uint64_t now)
{
    bench_run_t *r = th->run;
    uint64_t t_start = atomic_load_explicit(&r->t_start, memory_order_relaxed);
    uint64_t t_end = atomic_load_explicit(&r->t_end, memory_order_relaxed);
    int measured = sent_ns >= t_start && sent_ns < t_end;
    bench_track_e kind;

    if (pub / (uint64_t)r->o.pubs != c->room) {
        th->c.misrouted++;              /* another room's message reached this member */
        return;
    }
    kind = bench_track_see(&c->track[pub % (uint64_t)r->o.pubs], seq);
    if (!measured) {
        return;
    }
    if (kind == BENCH_TRACK_DUP) {
        th->c.duplicates++;
        return;
    }
    if (kind == BENCH_TRACK_LATE) {
        th->c.out_of_order++;
    }
    else if (kind == BENCH_TRACK_STALE) {
        th->c.out_of_order++;
        th->c.stale++;
    }
    th->c.delivered++;
    bench_hist_record(&th->hist, now > sent_ns ? now - sent_ns : 0);
}

/* The first "~B<run>:" in [p, end): memchr for the rare '~' is several times faster than
 * memmem here, and the scan is the generator's hottest loop. */
static const char *find_marker(const char *p, const char *end, const char marker[11])
{
    while (end - p >= 11) {
        const char *t = memchr(p, '~', (size_t)(end - p - 10));

        if (t == NULL) {
            return NULL;
        }
        if (memcmp(t, marker, 11) == 0) {
            return t;
        }
        p = t + 1;
    }
    return NULL;
}

/* Finds every bench marker of this run in one text message (several JSON objects possibly). */
static void scan_message(bench_thread_t *th, bench_conn_t *c, const char *start, size_t len,
                         uint64_t now)
{
    const char *p = start;
    const char *end = start + len;
    char marker[11];
    int found = 0;

    th->c.frames++;
    marker[0] = '~';
    marker[1] = 'B';
    memcpy(marker + 2, th->run->run_id, 8);
    marker[10] = ':';
    while (p < end) {
        const char *m = find_marker(p, end, marker);
        uint64_t pub, seq, ts;
        int ok1, ok2, ok3;

        if (m == NULL) {
            break;
        }
        p = m + sizeof(marker);
        pub = parse_u64(&p, end, &ok1);
        p += (p < end && *p == ':');
        seq = parse_u64(&p, end, &ok2);
        p += (p < end && *p == ':');
        ts = parse_u64(&p, end, &ok3);
        if (ok1 && ok2 && ok3 && c->track != NULL) {
            count_delivery(th, c, pub, seq, ts, now);
            found++;
        }
    }
    if (found == 0) {
        /* Protocol chatter (hello, presence, system notices) or an earlier run's replay. */
        th->c.other_frames++;
        if (memmem(start, len, "~B", 2) != NULL) {
            th->c.foreign++;
        }
    }
}

/* Makes room for need bytes in a growable buffer capped at BENCH_MAX_FRAME + 16. */
static int buf_grow(char **buf, size_t *cap, size_t need)
{
    size_t n = *cap ? *cap : 4096;
    char *p;

    if (need <= *cap) {
        return 0;
    }
    if (need > BENCH_MAX_FRAME + 16) {
        return -1;
    }
    while (n < need) {
        n *= 2;
    }
    p = realloc(*buf, n);
    if (p == NULL) {
        return -1;
    }
    *buf = p;
    *cap = n;
    return 0;
}

static int close_slot_of(const unsigned char *p, uint64_t len)
{
    unsigned code;

    if (len < 2) {
        return CL_OTHER;
    }
    code = ((unsigned)p[0] << 8) | p[1];
    switch (code) {
    case 1000: return CL_1000;
    case 1001: return CL_1001;
    case 1008: return CL_1008;
    case 1009: return CL_1009;
    case 1011: return CL_1011;
    case 1013: return CL_1013;
    default: return CL_OTHER;
    }
}

/* Handles one complete frame; returns -1 when the connection is to be dropped. */
static int on_frame(bench_thread_t *th, bench_conn_t *c, const bench_ws_frame_t *f,
                    const unsigned char *payload, uint64_t now)
{
    size_t len = (size_t)f->payload_len;

    switch (f->opcode) {
    case BENCH_WS_OP_TEXT:
    case BENCH_WS_OP_BINARY:
        if (c->msg != NULL) {
            return -1;                  /* new message inside a fragmented one */
        }
        if (f->fin) {
            scan_message(th, c, (const char *)payload, len, now);
            return 0;
        }
        if (buf_grow(&c->msg, &c->msg_cap, len) != 0) {
            return -1;
        }
        memcpy(c->msg, payload, len);
        c->msg_len = len;
        c->msg_op = (uint8_t)f->opcode;
        return 0;
    case BENCH_WS_OP_CONT:
        if (c->msg == NULL || buf_grow(&c->msg, &c->msg_cap, c->msg_len + len) != 0) {
            return -1;
        }
        memcpy(c->msg + c->msg_len, payload, len);
        c->msg_len += len;
        if (f->fin) {
            scan_message(th, c, c->msg, c->msg_len, now);
            free(c->msg);
            c->msg = NULL;
            c->msg_len = c->msg_cap = 0;
        }
        return 0;
    case BENCH_WS_OP_PING:
        return queue_frame(th, c, BENCH_WS_OP_PONG, payload, len);
    case BENCH_WS_OP_PONG:
        return 0;
    case BENCH_WS_OP_CLOSE:
        queue_frame(th, c, BENCH_WS_OP_CLOSE, payload, len < 2 ? len : 2);
        conn_flush(th, c);
        if (c->state != CS_CLOSED) {
            conn_close(th, c, close_slot_of(payload, len));
        }
        return 1;                       /* closed: stop parsing */
    default:
        return -1;
    }
}

static void on_open(bench_thread_t *th, bench_conn_t *c)
{
    c->state = CS_OPEN;
    th->inflight--;
    th->c.established++;
    atomic_fetch_add_explicit(&th->run->room_open[c->room], 1, memory_order_relaxed);
    atomic_store_explicit(&th->live_done, th->c.established + th->c.failed, memory_order_relaxed);
}

/* Parses buf[0..len): handshake response, then frames. Returns the bytes consumed, or -1 when
 * the connection was closed. */
static ssize_t parse_input(bench_thread_t *th, bench_conn_t *c, const char *buf, size_t len,
                           uint64_t now)
{
    size_t off = 0;

    if (c->state == CS_HANDSHAKE) {
        size_t hdr = 0;
        int status = 0;
        int rv = bench_ws_response_check(buf, len, c->key, &hdr, &status);

        if (rv == BENCH_WS_AGAIN) {
            return 0;
        }
        if (rv != BENCH_WS_OK) {
            if (status >= 400 && status < 500) {
                th->c.http_4xx++;
            }
            else if (status >= 500) {
                th->c.http_5xx++;
            }
            else {
                th->c.http_other++;
            }
            conn_close(th, c, -1);
            return -1;
        }
        on_open(th, c);
        off = hdr;
    }
    while (off < len) {
        bench_ws_frame_t f;
        int rv = bench_ws_frame_decode(&f, (const unsigned char *)buf + off, len - off,
                                       BENCH_MAX_FRAME);

        if (rv == BENCH_WS_AGAIN || (rv == BENCH_WS_OK && f.hdr_len + f.payload_len > len - off)) {
            break;
        }
        if (rv != BENCH_WS_OK) {
            conn_close(th, c, CL_OTHER);
            return -1;
        }
        rv = on_frame(th, c, &f, (const unsigned char *)buf + off + f.hdr_len, now);
        if (rv != 0) {
            if (c->state != CS_CLOSED) {
                conn_close(th, c, CL_OTHER);
            }
            return -1;
        }
        off += f.hdr_len + (size_t)f.payload_len;
    }
    return (ssize_t)off;
}

/* Reads once. Without a partial frame pending the bytes land in the worker's buffer and only an
 * incomplete tail is copied out; with one pending they are read straight behind it, so no byte
 * is copied twice. */
static void on_readable(bench_thread_t *th, bench_conn_t *c)
{
    int pending = c->in_len > 0;
    char *dst = th->rbuf;
    size_t room = sizeof(th->rbuf);
    uint64_t now;
    ssize_t n, used;

    if (pending) {
        if (buf_grow(&c->in, &c->in_cap, c->in_len + BENCH_READ_BUF / 8) != 0
            && c->in_cap == c->in_len) {
            conn_close(th, c, CL_OTHER);        /* a frame over BENCH_MAX_FRAME */
            return;
        }
        dst = c->in + c->in_len;
        room = c->in_cap - c->in_len;
    }
    n = recv(c->fd, dst, room, 0);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            return;
        }
        conn_close(th, c, CL_EOF);
        return;
    }
    now = mono_ns();
    th->c.bytes_in += (uint64_t)n;
    if (!pending) {
        used = parse_input(th, c, th->rbuf, (size_t)n, now);
        if (used < 0) {
            return;
        }
        if (used < n) {
            if (buf_grow(&c->in, &c->in_cap, (size_t)(n - used)) != 0) {
                conn_close(th, c, CL_OTHER);
                return;
            }
            c->in_len = (size_t)(n - used);
            memcpy(c->in, th->rbuf + used, c->in_len);
        }
    }
    else {
        c->in_len += (size_t)n;
        used = parse_input(th, c, c->in, c->in_len, now);
        if (used < 0) {
            return;
        }
        c->in_len -= (size_t)used;
        if (c->in_len == 0) {
            free(c->in);                /* idle connections keep no buffer */
            c->in = NULL;
            c->in_cap = 0;
        }
        else if (used > 0) {
            memmove(c->in, c->in + used, c->in_len);   /* only the incomplete frame */
        }
    }
    if (c->state != CS_CLOSED && c->out_len > 0) {
        conn_flush(th, c);
    }
}

static void on_writable(bench_thread_t *th, bench_conn_t *c)
{
    if (c->state == CS_CONNECTING) {
        int err = 0;
        socklen_t elen = sizeof(err);
        char target[256];
        char req[512];
        int n;

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
            conn_close(th, c, -1);
            return;
        }
        snprintf(target, sizeof(target), "%s?userId=b%u&username=b%u&room=%s-%u",
                 th->run->o.path, c->index, c->index, th->run->o.room_prefix, c->room);
        bench_ws_key_make(c->key, &th->rng);
        n = bench_ws_request_encode(req, sizeof(req), th->run->o.host_port, target, c->key,
                                    th->run->o.origin[0] ? th->run->o.origin : NULL);
        if (n < 0 || out_reserve(c, (size_t)n) == NULL) {
            conn_close(th, c, -1);
            return;
        }
        memcpy(c->out + c->out_off + c->out_len, req, (size_t)n);
        c->out_len += (size_t)n;
        c->state = CS_HANDSHAKE;
    }
    conn_flush(th, c);
}

/* ------------------------------------------------------------------ connecting */

static void conn_start(bench_thread_t *th, bench_conn_t *c)
{
    bench_run_t *r = th->run;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u64 = c->index };
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    c->started_ns = mono_ns();
    th->inflight++;
    c->state = CS_CONNECTING;
    c->fd = fd;
    if (fd < 0) {
        conn_close(th, c, -1);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (r->o.src_addrs > 0) {
        struct sockaddr_in src = { .sin_family = AF_INET };

        /* Spread over 127.0.0.1..N: each source address has its own ephemeral port range. */
        src.sin_addr.s_addr = htonl(0x7F000001u + c->index % (uint32_t)r->o.src_addrs);
#ifdef IP_BIND_ADDRESS_NO_PORT
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
#endif
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
            conn_close(th, c, -1);
            return;
        }
    }
    if (connect(fd, (struct sockaddr *)&r->dst, sizeof(r->dst)) != 0 && errno != EINPROGRESS) {
        conn_close(th, c, -1);
        return;
    }
    c->want_out = 1;
    if (epoll_ctl(th->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        conn_close(th, c, -1);
    }
}

/* Starts as many connections as --connect-rate allows by now, within the in-flight cap. */
static void connect_more(bench_thread_t *th, uint64_t now)
{
    double per_thread = th->run->o.connect_rate / th->run->o.threads;
    uint64_t allowed;

    if (th->connect_t0 == 0) {
        th->connect_t0 = now;
    }
    allowed = 1 + (uint64_t)(per_thread * (double)(now - th->connect_t0) / (double)NS_PER_S);
    while (th->next_connect < th->n_conns && th->next_connect < allowed
           && th->inflight < BENCH_INFLIGHT_PER_THREAD) {
        conn_start(th, th->conns[th->next_connect++]);
    }
}

/* Fails handshakes that take too long (once a second). */
static void sweep_stuck(bench_thread_t *th, uint64_t now)
{
    if (now - th->last_sweep < NS_PER_S || th->inflight == 0) {
        return;
    }
    th->last_sweep = now;
    for (size_t i = 0; i < th->next_connect; i++) {
        bench_conn_t *c = th->conns[i];

        if ((c->state == CS_CONNECTING || c->state == CS_HANDSHAKE)
            && now > c->started_ns + BENCH_HANDSHAKE_NS) {
            conn_close(th, c, -1);
        }
    }
}

/* ------------------------------------------------------------------ publishing */

static void publish_one(bench_thread_t *th, bench_conn_t *c, uint64_t t_start, uint64_t t_end)
{
    bench_run_t *r = th->run;
    char body[BENCH_MAX_CONTENT + 64];
    uint64_t now = mono_ns();
    int n = snprintf(body, sizeof(body), "{\"type\":\"chat\",\"content\":\"~B%s:%u:%" PRIu64
                     ":%" PRIu64 ":", r->run_id, c->pub_id, c->seq, now);
    int content = n - (int)(sizeof("{\"type\":\"chat\",\"content\":\"") - 1);

    while (content < r->o.size && n < (int)sizeof(body) - 3) {
        body[n++] = 'x';
        content++;
    }
    body[n++] = '"';
    body[n++] = '}';
    if (queue_frame(th, c, BENCH_WS_OP_TEXT, body, (size_t)n) != 0) {
        th->c.send_blocked++;           /* our own buffer is full: not sent, not expected */
        return;
    }
    c->seq++;
    if (now >= t_start && now < t_end) {
        th->c.sent++;
        th->c.expected += r->room_members[c->room];
    }
    else {
        th->c.sent_warmup++;
    }
}

static int by_due(const void *a, const void *b)
{
    uint64_t x = (*(bench_conn_t *const *)a)->next_due;
    uint64_t y = (*(bench_conn_t *const *)b)->next_due;

    return x < y ? -1 : x > y;
}

/* Sends what is due by now. Every publisher has the same interval, so once pubs[] is sorted by
 * due time it stays sorted as a ring: each send moves the first one a whole interval on, behind
 * the others. A tick then costs the sends it makes, not a pass over every publisher, and a
 * short tick (--tick-us) stays cheap with thousands of publishers. */
static void publish_due(bench_thread_t *th, uint64_t now)
{
    bench_run_t *r = th->run;
    uint64_t t_run = atomic_load_explicit(&r->t_run, memory_order_relaxed);
    uint64_t t_start = atomic_load_explicit(&r->t_start, memory_order_relaxed);
    uint64_t t_end = atomic_load_explicit(&r->t_end, memory_order_relaxed);
    size_t budget = th->n_pubs * BENCH_BURST_PER_TICK;

    if (th->n_pubs == 0) {
        return;
    }
    if (!th->pubs_started) {
        /* Stagger publishers over one interval so a room does not get them all at once. */
        for (size_t i = 0; i < th->n_pubs; i++) {
            th->pubs[i]->next_due = t_run + (uint64_t)next_rand(&th->rng) % r->interval_ns;
        }
        qsort(th->pubs, th->n_pubs, sizeof(*th->pubs), by_due);
        th->pub_next = 0;
        th->pubs_started = 1;
    }
    while (budget-- > 0) {
        bench_conn_t *c = th->pubs[th->pub_next];

        if (c->next_due > now || c->next_due >= t_end) {
            break;
        }
        if (c->next_due + NS_PER_S / 10 < now) {
            /* More than 100 ms behind: the generator is saturated. Everyone skips what they
             * missed, by the same whole number of intervals, which keeps the ring in order. */
            uint64_t skip = (now - c->next_due) / r->interval_ns * r->interval_ns;

            th->c.schedule_slips++;
            if (skip > 0) {
                for (size_t i = 0; i < th->n_pubs; i++) {
                    th->pubs[i]->next_due += skip;
                }
                continue;
            }
        }
        if (c->state == CS_OPEN) {
            publish_one(th, c, t_start, t_end);
            if (c->out_len > 0) {
                conn_flush(th, c);
            }
        }
        c->next_due += r->interval_ns;
        th->pub_next = (th->pub_next + 1) % th->n_pubs;
    }
    atomic_store_explicit(&th->live_expected, th->c.expected, memory_order_relaxed);
}

/* ------------------------------------------------------------------ the worker loop */

static void on_tick(bench_thread_t *th)
{
    uint64_t expirations;
    uint64_t now = mono_ns();
    int ph = atomic_load_explicit(&th->run->phase, memory_order_acquire);

    if (read(th->tfd, &expirations, sizeof(expirations)) < 0) {
        expirations = 0;                /* spurious wake-up: harmless */
    }
    if (ph == PH_CONNECT) {
        connect_more(th, now);
    }
    sweep_stuck(th, now);
    if (ph == PH_RUN && th->run->o.pubs > 0 && !th->run->o.idle) {
        publish_due(th, now);
    }
}

static void *worker_main(void *arg)
{
    bench_thread_t *th = arg;
    struct epoll_event evs[256];

    while (atomic_load_explicit(&th->run->phase, memory_order_acquire) != PH_STOP) {
        int n = epoll_wait(th->ep, evs, 256, 50);

        for (int i = 0; i < n; i++) {
            bench_conn_t *c;

            if (evs[i].data.u64 == TIMER_KEY) {
                on_tick(th);
                continue;
            }
            c = &th->run->conns[evs[i].data.u64];
            if (c->state == CS_CLOSED) {
                continue;
            }
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                if (c->state == CS_CONNECTING) {
                    on_writable(th, c);     /* reports the connect error */
                }
                else {
                    on_readable(th, c);
                }
            }
            if (c->state != CS_CLOSED && (evs[i].events & EPOLLOUT)) {
                on_writable(th, c);
            }
        }
        atomic_store_explicit(&th->live_delivered, th->c.delivered, memory_order_relaxed);
    }
    for (size_t i = 0; i < th->n_conns; i++) {
        if (th->conns[i]->state != CS_CLOSED && th->conns[i]->state != CS_IDLE) {
            conn_close(th, th->conns[i], -1);
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ the server's /proc */

typedef struct proc_sample_t {
    int ok;
    double cpu_s;                       /* utime + stime */
    double sys_s;                       /* stime: the kernel's share (syscalls, TCP) */
    long rss_kb;
} proc_sample_t;

static proc_sample_t proc_read(int pid)
{
    proc_sample_t s = { 0, 0.0, 0.0, 0 };
    char path[64];
    char buf[4096];
    FILE *f;
    size_t n;
    char *p;

    if (pid <= 0) {
        return s;
    }
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return s;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');              /* comm may hold spaces; fields follow the last ')' */
    if (p != NULL) {
        unsigned long ut = 0, st = 0;

        /* after ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt
         * cmajflt utime(14) stime(15) */
        if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2) {
            s.cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
            s.sys_s = (double)st / (double)sysconf(_SC_CLK_TCK);
            s.ok = 1;
        }
    }
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    f = fopen(path, "r");
    if (f != NULL) {
        while (fgets(buf, sizeof(buf), f) != NULL) {
            if (strncmp(buf, "VmRSS:", 6) == 0) {
                s.rss_kb = strtol(buf + 6, NULL, 10);
            }
        }
        fclose(f);
    }
    return s;
}

static double self_cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6
           + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ------------------------------------------------------------------ options */

static void usage(FILE *out)
{
    fprintf(out,
        "usage: chat-bench [options]\n"
        "  --url HOST:PORT[/PATH]  relay address (default 127.0.0.1:8081/ws; ws:// accepted)\n"
        "  --rooms K               rooms (default 1)\n"
        "  --subs N                subscribers per room (default 10)\n"
        "  --pubs P                publishers per room, also members (default 1)\n"
        "  --rate R                messages/s per publisher (default 10)\n"
        "  --size B                content bytes per message (default 64, at most 1000)\n"
        "  --duration S            measured seconds (default 10, at most 600)\n"
        "  --warmup S              publishing before the measurement (default 2)\n"
        "  --drain S               wait for stragglers after it (default 3)\n"
        "  --threads T             generator threads (default 1)\n"
        "  --tick-us U             publishing timer period in microseconds, 50..1000 (default\n"
        "                          1000): publishers due within one period send together\n"
        "  --connect-rate N        new connections per second (default 5000)\n"
        "  --connect-timeout S     give up connecting after S seconds (default 120)\n"
        "  --src-addrs N           spread sources over 127.0.0.1..N (default: total/90, max 250)\n"
        "  --idle                  only connect and hold for --duration (capacity runs)\n"
        "  --server-pid PID        read the relay's CPU and RSS from /proc/PID\n"
        "  --room-prefix STR       room names are STR-<k> (default bench)\n"
        "  --origin URL            send this Origin header (when ALLOWED_ORIGINS is a list)\n"
        "  --json                  print only the final JSON line\n"
        "Connections: rooms x (subs + pubs), at most %d.\n", BENCH_MAX_CONNS);
}

static int parse_url(bench_opts_t *o, const char *url)
{
    const char *p = url;
    const char *colon, *slash;

    if (strncmp(p, "ws://", 5) == 0) {
        p += 5;
    }
    slash = strchr(p, '/');
    colon = memchr(p, ':', slash ? (size_t)(slash - p) : strlen(p));
    if (colon == NULL || (size_t)(colon - p) >= sizeof(o->host)) {
        return -1;
    }
    memcpy(o->host, p, (size_t)(colon - p));
    o->host[colon - p] = '\0';
    o->port = atoi(colon + 1);
    if (o->port <= 0 || o->port > 65535) {
        return -1;
    }
    snprintf(o->path, sizeof(o->path), "%s", slash ? slash : "/ws");
    snprintf(o->host_port, sizeof(o->host_port), "%s:%d", o->host, o->port);
    return 0;
}

static int parse_opts(bench_opts_t *o, int argc, char **argv)
{
    static const struct option longs[] = {
        { "url", 1, NULL, 'u' }, { "rooms", 1, NULL, 'k' }, { "subs", 1, NULL, 'n' },
        { "pubs", 1, NULL, 'p' }, { "rate", 1, NULL, 'r' }, { "size", 1, NULL, 'z' },
        { "duration", 1, NULL, 'd' }, { "warmup", 1, NULL, 'w' }, { "drain", 1, NULL, 'D' },
        { "threads", 1, NULL, 't' }, { "connect-rate", 1, NULL, 'c' },
        { "connect-timeout", 1, NULL, 'C' }, { "src-addrs", 1, NULL, 's' },
        { "idle", 0, NULL, 'i' }, { "server-pid", 1, NULL, 'P' },
        { "room-prefix", 1, NULL, 'x' }, { "json", 0, NULL, 'j' }, { "help", 0, NULL, 'h' },
        { "origin", 1, NULL, 'o' }, { "tick-us", 1, NULL, 'T' },
        { "version", 0, NULL, 'V' }, { NULL, 0, NULL, 0 }
    };
    int ch;

    memset(o, 0, sizeof(*o));
    parse_url(o, "127.0.0.1:8081/ws");
    o->rooms = 1;
    o->subs = 10;
    o->pubs = 1;
    o->rate = 10;
    o->size = 64;
    o->duration = 10;
    o->warmup = 2;
    o->drain = 3;
    o->threads = 1;
    o->tick_us = 1000;
    o->connect_rate = 5000;
    o->connect_timeout = 120;
    o->src_addrs = -1;
    snprintf(o->room_prefix, sizeof(o->room_prefix), "bench");
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'u':
            if (parse_url(o, optarg) != 0) {
                fprintf(stderr, "chat-bench: --url wants HOST:PORT[/PATH], got \"%s\"\n", optarg);
                return -1;
            }
            break;
        case 'k': o->rooms = atoi(optarg); break;
        case 'n': o->subs = atoi(optarg); break;
        case 'p': o->pubs = atoi(optarg); break;
        case 'r': o->rate = atof(optarg); break;
        case 'z': o->size = atoi(optarg); break;
        case 'd': o->duration = atof(optarg); break;
        case 'w': o->warmup = atof(optarg); break;
        case 'D': o->drain = atof(optarg); break;
        case 't': o->threads = atoi(optarg); break;
        case 'T': o->tick_us = atoi(optarg); break;
        case 'c': o->connect_rate = atof(optarg); break;
        case 'C': o->connect_timeout = atof(optarg); break;
        case 's': o->src_addrs = atoi(optarg); break;
        case 'i': o->idle = 1; break;
        case 'P': o->server_pid = atoi(optarg); break;
        case 'x': snprintf(o->room_prefix, sizeof(o->room_prefix), "%s", optarg); break;
        case 'j': o->json_only = 1; break;
        case 'o': snprintf(o->origin, sizeof(o->origin), "%s", optarg); break;
        case 'h': usage(stdout); exit(0);
        case 'V': printf("chat-bench %s\n", BENCH_VERSION); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "chat-bench: unexpected argument \"%s\"\n", argv[optind]);
        return -1;
    }
    if (o->idle) {
        o->pubs = 0;
    }
    if (o->rooms < 1 || o->subs < 0 || o->pubs < 0 || o->subs + o->pubs < 1
        || (double)o->rooms * (o->subs + o->pubs) > BENCH_MAX_CONNS) {
        fprintf(stderr, "chat-bench: need 1 <= rooms x (subs + pubs) <= %d\n", BENCH_MAX_CONNS);
        return -1;
    }
    if (!(o->rate > 0 && o->rate <= 100000) && o->pubs > 0) {
        fprintf(stderr, "chat-bench: --rate must be in (0, 100000]\n");
        return -1;
    }
    if (!(o->duration > 0 && o->duration <= BENCH_MAX_DURATION) || o->warmup < 0
        || o->warmup > 60 || o->drain < 0 || o->drain > 60 || o->connect_timeout <= 0
        || o->connect_timeout > 600) {
        fprintf(stderr, "chat-bench: durations out of range (duration <= %d s, warmup and drain "
                "<= 60 s, connect-timeout <= 600 s)\n", BENCH_MAX_DURATION);
        return -1;
    }
    if (o->threads < 1 || o->threads > BENCH_MAX_THREADS || !(o->connect_rate >= 1)
        || o->size < 0 || o->size > BENCH_MAX_CONTENT || o->src_addrs > 250
        || o->tick_us < 50 || o->tick_us > 1000) {
        fprintf(stderr, "chat-bench: --threads 1..%d, --connect-rate >= 1, --size 0..%d, "
                "--src-addrs <= 250, --tick-us 50..1000\n", BENCH_MAX_THREADS, BENCH_MAX_CONTENT);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ set-up */

static int raise_fd_limit(size_t need)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return -1;
    }
    if (rl.rlim_cur >= need) {
        return 0;
    }
    if (rl.rlim_max < need) {
        rl.rlim_max = need;             /* works as root (up to fs.nr_open) */
    }
    rl.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        return rl.rlim_cur >= need ? 0 : -1;
    }
    return 0;
}

/* The worker owning connection i. With two threads or more and subscribers to feed, the
 * publishers get worker 0 to themselves, so reading a burst of deliveries never delays a send
 * (the kernel wakes the publisher's timer even when all workers share one core). */
static int thread_of(const bench_run_t *r, size_t i)
{
    size_t per_room = (size_t)(r->o.subs + r->o.pubs);

    if (!r->pub_thread) {
        return (int)(i % (size_t)r->o.threads);
    }
    if (i % per_room >= (size_t)r->o.subs) {
        return 0;
    }
    return 1 + (int)(i % (size_t)(r->o.threads - 1));
}

static int run_setup(bench_run_t *r)
{
    bench_opts_t *o = &r->o;
    size_t per_room = (size_t)(o->subs + o->pubs);
    uint64_t seed = mono_ns() ^ ((uint64_t)getpid() << 32);
    struct itimerspec its;

    snprintf(r->run_id, sizeof(r->run_id), "%08x", next_rand(&seed));
    r->dst.sin_family = AF_INET;
    r->dst.sin_port = htons((uint16_t)o->port);
    if (inet_pton(AF_INET, o->host, &r->dst.sin_addr) != 1) {
        fprintf(stderr, "chat-bench: host must be an IPv4 address, got \"%s\"\n", o->host);
        return -1;
    }
    if (o->src_addrs < 0) {
        int loopback = (ntohl(r->dst.sin_addr.s_addr) >> 24) == 127;
        size_t n = ((size_t)o->rooms * per_room + 89) / 90;

        o->src_addrs = loopback ? (int)(n > 250 ? 250 : n) : 0;
    }
    r->n_conns = (size_t)o->rooms * per_room;
    if (raise_fd_limit(r->n_conns + 64 + 3 * (size_t)o->threads) != 0) {
        fprintf(stderr, "chat-bench: cannot raise RLIMIT_NOFILE to %zu (ulimit -n)\n",
                r->n_conns + 64);
        return -1;
    }
    r->interval_ns = o->pubs > 0 ? (uint64_t)((double)NS_PER_S / o->rate) : NS_PER_S;
    if (r->interval_ns == 0) {
        r->interval_ns = 1;
    }
    r->tick_ns = (uint64_t)o->tick_us * 1000;
    if (r->interval_ns < r->tick_ns) {
        r->tick_ns = r->interval_ns < 100000 ? 100000 : r->interval_ns;
    }
    r->conns = calloc(r->n_conns, sizeof(*r->conns));
    r->room_open = calloc((size_t)o->rooms, sizeof(*r->room_open));
    r->room_members = calloc((size_t)o->rooms, sizeof(*r->room_members));
    r->threads = calloc((size_t)o->threads, sizeof(*r->threads));
    if (!r->conns || !r->room_open || !r->room_members || !r->threads) {
        return -1;
    }
    r->pub_thread = o->threads >= 2 && o->subs > 0 && o->pubs > 0;
    for (size_t i = 0; i < r->n_conns; i++) {
        r->threads[thread_of(r, i)].n_conns++;      /* sizes first: publishers may cluster */
    }
    for (int t = 0; t < o->threads; t++) {
        bench_thread_t *th = &r->threads[t];
        size_t mine = th->n_conns;

        th->n_conns = 0;
        th->run = r;
        th->idx = t;
        th->rng = seed + 0x9E3779B97F4A7C15ULL * (uint64_t)(t + 1);
        th->conns = calloc(mine + 1, sizeof(*th->conns));
        th->pubs = calloc(mine + 1, sizeof(*th->pubs));
        th->ep = epoll_create1(EPOLL_CLOEXEC);
        th->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (!th->conns || !th->pubs || th->ep < 0 || th->tfd < 0) {
            return -1;
        }
        its.it_interval.tv_sec = 0;
        its.it_interval.tv_nsec = (long)r->tick_ns;
        its.it_value = its.it_interval;
        timerfd_settime(th->tfd, 0, &its, NULL);
        {
            struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TIMER_KEY };

            if (epoll_ctl(th->ep, EPOLL_CTL_ADD, th->tfd, &ev) != 0) {
                return -1;
            }
        }
        bench_hist_init(&th->hist);
    }
    for (size_t i = 0; i < r->n_conns; i++) {
        bench_conn_t *c = &r->conns[i];
        bench_thread_t *th = &r->threads[thread_of(r, i)];
        size_t j = i % per_room;

        c->fd = -1;
        c->index = (uint32_t)i;
        c->room = (uint32_t)(i / per_room);
        c->is_pub = j >= (size_t)o->subs;
        if (o->pubs > 0) {
            c->track = calloc((size_t)o->pubs, sizeof(*c->track));
            if (c->track == NULL) {
                return -1;
            }
        }
        if (c->is_pub) {
            c->pub_id = c->room * (uint32_t)o->pubs + (uint32_t)(j - (size_t)o->subs);
            th->pubs[th->n_pubs++] = c;
        }
        th->conns[th->n_conns++] = c;
    }
    return 0;
}

static void run_free(bench_run_t *r)
{
    if (r->threads != NULL) {
        for (int t = 0; t < r->o.threads; t++) {
            bench_thread_t *th = &r->threads[t];

            free(th->conns);
            free(th->pubs);
            if (th->ep > 0) {
                close(th->ep);
            }
            if (th->tfd > 0) {
                close(th->tfd);
            }
        }
    }
    for (size_t i = 0; r->conns != NULL && i < r->n_conns; i++) {
        free(r->conns[i].track);
    }
    free(r->threads);
    free(r->conns);
    free((void *)r->room_open);
    free(r->room_members);
}

/* ------------------------------------------------------------------ the phases */

static uint64_t sum_live(bench_run_t *r, size_t field_offset)
{
    uint64_t s = 0;

    for (int t = 0; t < r->o.threads; t++) {
        _Atomic uint64_t *v = (_Atomic uint64_t *)((char *)&r->threads[t] + field_offset);

        s += atomic_load_explicit(v, memory_order_relaxed);
    }
    return s;
}

#define LIVE(r, field) sum_live((r), offsetof(bench_thread_t, field))

/* Sleeps until deadline in short steps; returns early when asked to stop. */
static void wait_until(uint64_t deadline)
{
    uint64_t now;

    while (!stop_requested && (now = mono_ns()) < deadline) {
        uint64_t left = deadline - now;

        sleep_ns(left < NS_PER_S / 20 ? left : NS_PER_S / 20);
    }
}

typedef struct bench_result_t {
    bench_counts_t c;
    bench_hist_t hist;
    double connect_s, window_s;
    proc_sample_t srv0, srv_a, srv_b;
    double self_a, self_b;
    int capacity;
} bench_result_t;

static void drive(bench_run_t *r, bench_result_t *res)
{
    bench_opts_t *o = &r->o;
    uint64_t t0 = mono_ns();
    uint64_t give_up = t0 + (uint64_t)(o->connect_timeout * (double)NS_PER_S);
    uint64_t t_run, t_start, t_end;

    while (!stop_requested && LIVE(r, live_done) < r->n_conns && mono_ns() < give_up) {
        sleep_ns(NS_PER_S / 50);
    }
    res->connect_s = (double)(mono_ns() - t0) / (double)NS_PER_S;
    for (int k = 0; k < o->rooms; k++) {
        r->room_members[k] = atomic_load_explicit(&r->room_open[k], memory_order_relaxed);
    }
    t_run = mono_ns();
    t_start = t_run + (uint64_t)(o->warmup * (double)NS_PER_S);
    t_end = t_start + (uint64_t)(o->duration * (double)NS_PER_S);
    if (o->idle) {
        t_start = t_run;                /* nothing to warm up: hold and measure */
        t_end = t_run + (uint64_t)(o->duration * (double)NS_PER_S);
    }
    atomic_store_explicit(&r->t_run, t_run, memory_order_relaxed);
    atomic_store_explicit(&r->t_start, t_start, memory_order_relaxed);
    atomic_store_explicit(&r->t_end, t_end, memory_order_relaxed);
    atomic_store_explicit(&r->phase, PH_RUN, memory_order_release);   /* publishes the above */
    wait_until(t_start);
    res->srv_a = proc_read(o->server_pid);
    res->self_a = self_cpu_s();
    wait_until(t_end);
    res->srv_b = proc_read(o->server_pid);
    res->self_b = self_cpu_s();
    res->window_s = (double)(mono_ns() - t_start) / (double)NS_PER_S;
    atomic_store_explicit(&r->phase, PH_DRAIN, memory_order_release);
    if (!o->idle) {
        uint64_t drain_end = mono_ns() + (uint64_t)(o->drain * (double)NS_PER_S);

        while (!stop_requested && mono_ns() < drain_end
               && LIVE(r, live_delivered) < LIVE(r, live_expected)) {
            sleep_ns(NS_PER_S / 50);
        }
    }
    atomic_store_explicit(&r->phase, PH_STOP, memory_order_release);
}

static void merge(bench_run_t *r, bench_result_t *res)
{
    bench_hist_init(&res->hist);
    for (int t = 0; t < r->o.threads; t++) {
        bench_counts_t *a = &res->c;
        const bench_counts_t *b = &r->threads[t].c;
        const uint64_t *src = (const uint64_t *)b;
        uint64_t *dst = (uint64_t *)a;

        /* bench_counts_t is all uint64_t: add member by member. */
        for (size_t i = 0; i < sizeof(*a) / sizeof(uint64_t); i++) {
            dst[i] += src[i];
        }
        bench_hist_merge(&res->hist, &r->threads[t].hist);
    }
}

/* ------------------------------------------------------------------ report */

static int cpu_capacity(int threads)
{
    cpu_set_t set;
    int n = threads;

    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) < n) {
        n = CPU_COUNT(&set);
    }
    return n;
}

static void report(const bench_run_t *r, const bench_result_t *res)
{
    const bench_opts_t *o = &r->o;
    const bench_counts_t *c = &res->c;
    double win = res->window_s > 0 ? res->window_s : 1;
    double dps = (double)c->delivered / win;
    uint64_t loss = c->expected > c->delivered ? c->expected - c->delivered : 0;
    double ms[5];
    double srv_cpu = res->srv_a.ok && res->srv_b.ok ? res->srv_b.cpu_s - res->srv_a.cpu_s : -1;
    double srv_sys = res->srv_a.ok && res->srv_b.ok ? res->srv_b.sys_s - res->srv_a.sys_s : -1;
    double self_cpu = res->self_b - res->self_a;
    double self_util = self_cpu / (win * res->capacity);
    int limited = self_util > 0.9 || c->schedule_slips > 0;
    long rss = res->srv_b.rss_kb;
    double rss_per_conn = (res->srv0.ok && rss > 0 && c->established > 0)
        ? (double)(rss - res->srv0.rss_kb) * 1024.0 / (double)c->established : -1;
    static const double qs[4] = { 0.50, 0.90, 0.99, 0.999 };
    char closes[256];
    size_t cl = 0;

    for (int i = 0; i < 4; i++) {
        ms[i] = (double)bench_hist_quantile(&res->hist, qs[i]) / 1e6;
    }
    ms[4] = (double)res->hist.max / 1e6;
    closes[0] = '\0';
    for (int i = 0; i < CL__N; i++) {
        cl += (size_t)snprintf(closes + cl, sizeof(closes) - cl, "%s\"%s\":%" PRIu64,
                               i ? "," : "", close_names[i], c->closes[i]);
    }
    if (!o->json_only) {
        printf("chat-bench %s run %s: %s%s  rooms=%d subs=%d pubs=%d rate=%g/s size=%d "
               "threads=%d%s\n",
               BENCH_VERSION, r->run_id, o->host_port, o->path, o->rooms, o->subs, o->pubs,
               o->rate, o->size, o->threads, o->idle ? " idle" : "");
        printf("  connections  %" PRIu64 "/%zu established in %.1f s, %" PRIu64 " failed "
               "(4xx %" PRIu64 ", 5xx %" PRIu64 "), %" PRIu64 " dropped during the run\n",
               c->established, r->n_conns, res->connect_s, c->failed, c->http_4xx, c->http_5xx,
               c->disconnects);
        if (!o->idle) {
            printf("  messages     sent %" PRIu64 " (+%" PRIu64 " warm-up, %" PRIu64
                   " blocked), expected %" PRIu64 " deliveries, delivered %" PRIu64 "\n",
                   c->sent, c->sent_warmup, c->send_blocked, c->expected, c->delivered);
            printf("  loss %" PRIu64 " (%.4f %%), duplicates %" PRIu64 ", out of order %" PRIu64
                   ", misrouted %" PRIu64 "\n", loss,
                   c->expected ? 100.0 * (double)loss / (double)c->expected : 0.0,
                   c->duplicates, c->out_of_order, c->misrouted);
            printf("  rate         %.0f deliveries/s over %.1f s\n", dps, win);
            printf("  latency ms   p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
                   ms[0], ms[1], ms[2], ms[3], ms[4]);
        }
        if (srv_cpu >= 0) {
            printf("  server       pid %d: %.1f %% of a core (%.0f %% in the kernel), %.3f us CPU "
                   "per delivery, RSS %ld kB (%+.0f B per connection)\n", o->server_pid,
                   100.0 * srv_cpu / win, srv_cpu > 0 ? 100.0 * srv_sys / srv_cpu : 0.0,
                   c->delivered ? srv_cpu * 1e6 / (double)c->delivered : 0.0, rss, rss_per_conn);
        }
        printf("  generator    %.1f %% of %d core(s)%s\n", 100.0 * self_util, res->capacity,
               limited ? "  GENERATOR-LIMITED: figures are a lower bound" : "");
    }
    printf("{\"tool\":\"chat-bench\",\"version\":\"%s\",\"run\":\"%s\",\"url\":\"%s%s\","
           "\"rooms\":%d,\"subs\":%d,\"pubs\":%d,\"rate\":%g,\"size\":%d,\"duration\":%g,"
           "\"warmup\":%g,\"threads\":%d,\"idle\":%s,"
           "\"connections\":{\"target\":%zu,\"established\":%" PRIu64 ",\"failed\":%" PRIu64
           ",\"http4xx\":%" PRIu64 ",\"http5xx\":%" PRIu64 ",\"dropped\":%" PRIu64
           ",\"connect_s\":%.3f,\"closes\":{%s}},"
           "\"sent\":%" PRIu64 ",\"sent_warmup\":%" PRIu64 ",\"send_blocked\":%" PRIu64
           ",\"schedule_slips\":%" PRIu64 ",\"expected\":%" PRIu64 ",\"delivered\":%" PRIu64
           ",\"loss\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"out_of_order\":%" PRIu64
           ",\"misrouted\":%" PRIu64 ",\"other_frames\":%" PRIu64 ",\"frames\":%" PRIu64
           ",\"bytes_in\":%" PRIu64 ",\"window_s\":%.3f,\"deliveries_per_s\":%.1f,"
           "\"latency_ms\":{\"p50\":%.4f,\"p90\":%.4f,\"p99\":%.4f,\"p999\":%.4f,\"max\":%.4f,"
           "\"count\":%" PRIu64 "},"
           "\"server\":{\"pid\":%d,\"cpu_s\":%.3f,\"sys_s\":%.3f,\"cpu_pct\":%.2f,"
           "\"us_per_delivery\":%.4f,"
           "\"rss_kb\":%ld,\"rss_start_kb\":%ld,\"rss_per_conn_bytes\":%.0f},"
           "\"generator\":{\"cpu_s\":%.3f,\"cpu_pct\":%.2f,\"capacity\":%d,\"limited\":%s}}\n",
           BENCH_VERSION, r->run_id, o->host_port, o->path, o->rooms, o->subs, o->pubs, o->rate,
           o->size, o->duration, o->warmup, o->threads, o->idle ? "true" : "false",
           r->n_conns, c->established, c->failed, c->http_4xx, c->http_5xx, c->disconnects,
           res->connect_s, closes,
           c->sent, c->sent_warmup, c->send_blocked, c->schedule_slips, c->expected,
           c->delivered, loss, c->duplicates, c->out_of_order, c->misrouted, c->other_frames,
           c->frames, c->bytes_in, win, dps,
           ms[0], ms[1], ms[2], ms[3], ms[4], res->hist.total,
           o->server_pid, srv_cpu, srv_sys, srv_cpu >= 0 ? 100.0 * srv_cpu / win : -1.0,
           srv_cpu >= 0 && c->delivered ? srv_cpu * 1e6 / (double)c->delivered : -1.0,
           rss, res->srv0.rss_kb, rss_per_conn,
           self_cpu, 100.0 * self_util, res->capacity, limited ? "true" : "false");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    bench_run_t *r = calloc(1, sizeof(*r));
    bench_result_t *res = calloc(1, sizeof(*res));
    struct sigaction sa;
    int started = 0;
    int rc = 2;

    if (r == NULL || res == NULL) {
        goto done;
    }
    if (parse_opts(&r->o, argc, argv) != 0) {
        goto done;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Partial-frame buffers come and go per read: keep them off mmap, whose page faults showed
     * up at 5 % of the generator's profile. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    if (run_setup(r) != 0) {
        fprintf(stderr, "chat-bench: set-up failed: %s\n", strerror(errno));
        goto done;
    }
    res->srv0 = proc_read(r->o.server_pid);
    if (r->o.server_pid > 0 && !res->srv0.ok) {
        fprintf(stderr, "chat-bench: cannot read /proc/%d/stat\n", r->o.server_pid);
    }
    res->capacity = cpu_capacity(r->o.threads);
    atomic_store(&r->phase, PH_CONNECT);
    for (; started < r->o.threads; started++) {
        if (pthread_create(&r->threads[started].thr, NULL, worker_main, &r->threads[started])
            != 0) {
            fprintf(stderr, "chat-bench: cannot start thread %d\n", started);
            atomic_store(&r->phase, PH_STOP);
            break;
        }
    }
    if (started == r->o.threads) {
        drive(r, res);
    }
    for (int t = 0; t < started; t++) {
        pthread_join(r->threads[t].thr, NULL);
    }
    if (started == r->o.threads) {
        merge(r, res);
        report(r, res);
        rc = res->c.established > 0 ? 0 : 1;
    }
done:
    if (r != NULL) {
        run_free(r);
    }
    free(r);
    free(res);
    return rc;
}
