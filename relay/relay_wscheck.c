/* relay_wscheck.c: the relay's recv(), checking client frames before lws parses them (see
 * relay_wscheck.h).
 *
 * The state below is global because recv() has no context argument. Only the service thread
 * that armed the check reads or writes the table; the other threads only read `armed` and
 * `service_thread`, which are set once, before any connection exists. */
#include "relay_wscheck.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "relay_wsscan.h"

/* lws reads a request's headers (at most a few KiB) and whatever frames came with them in its
 * first reads; a handshake not over after this much is not followed. */
#define RECORD_MAX 16384

typedef enum {
    WATCH_OFF = 0,       /* not followed: pass everything through */
    WATCH_RECORD,        /* handshake: keep a copy of the bytes */
    WATCH_FRAMES,        /* upgraded: scan every byte */
    WATCH_BROKEN         /* a rule was broken: drop everything */
} watch_mode_e;

typedef struct watch_t {
    watch_mode_e mode;
    unsigned char *rec;                  /* WATCH_RECORD: the bytes read so far */
    apr_size_t rec_len;
    relay_wsscan_t scan;
    relay_wscheck_fn *fn;
    void *arg;
} watch_t;

static pthread_t service_thread;
static atomic_int armed;
static watch_t **watches;                /* by descriptor */
static int watches_len;

void relay_wscheck_arm(void)
{
    service_thread = pthread_self();
    atomic_store_explicit(&armed, 1, memory_order_release);
}

static void watch_reset(watch_t *w, watch_mode_e mode)
{
    free(w->rec);
    memset(w, 0, sizeof(*w));
    w->mode = mode;
}

void relay_wscheck_accepted(int fd)
{
    if (fd < 0) {
        return;
    }
    if (fd >= watches_len) {
        int n = watches_len > 0 ? watches_len : 1024;
        watch_t **grown;

        while (n <= fd) {
            n *= 2;
        }
        grown = realloc(watches, (size_t)n * sizeof(*grown));
        if (grown == NULL) {
            return;                      /* not followed: lws's own checks still apply */
        }
        memset(grown + watches_len, 0, (size_t)(n - watches_len) * sizeof(*grown));
        watches = grown;
        watches_len = n;
    }
    if (watches[fd] == NULL) {
        watches[fd] = calloc(1, sizeof(watch_t));
        if (watches[fd] == NULL) {
            return;
        }
    }
    watch_reset(watches[fd], WATCH_RECORD);
}

static watch_t *watch_of(int fd)
{
    return fd >= 0 && fd < watches_len ? watches[fd] : NULL;
}

/* The rule is broken: tell the relay once; everything from here on is dropped. */
static void watch_break(watch_t *w)
{
    w->mode = WATCH_BROKEN;
    if (w->fn != NULL) {
        w->fn(w->arg, w->scan.code, w->scan.reason);
    }
}

int relay_wscheck_watch(int fd, relay_wscheck_fn *fn, void *arg)
{
    watch_t *w = watch_of(fd);
    apr_ssize_t start;

    if (w == NULL) {
        return -1;
    }
    if (w->mode != WATCH_RECORD
        || (start = relay_wsscan_frames_start(w->rec, w->rec_len)) < 0) {
        watch_reset(w, WATCH_OFF);
        return -1;
    }
    relay_wsscan_init(&w->scan);
    w->fn = fn;
    w->arg = arg;
    w->mode = WATCH_FRAMES;
    /* Frames that came with the handshake are lws's already; a broken one still closes. */
    if (relay_wsscan_feed(&w->scan, w->rec + start, w->rec_len - (apr_size_t)start)
        < w->rec_len - (apr_size_t)start) {
        watch_break(w);
    }
    free(w->rec);
    w->rec = NULL;
    w->rec_len = 0;
    return 0;
}

void relay_wscheck_forget(int fd)
{
    watch_t *w = watch_of(fd);

    if (w != NULL) {
        free(w->rec);
        free(w);
        watches[fd] = NULL;
    }
}

static ssize_t watched(watch_t *w, unsigned char *buf, ssize_t n)
{
    apr_size_t ok;

    switch (w->mode) {
    case WATCH_RECORD: {
        unsigned char *grown;

        if (w->rec_len + (apr_size_t)n > RECORD_MAX
            || (grown = realloc(w->rec, w->rec_len + (apr_size_t)n)) == NULL) {
            watch_reset(w, WATCH_OFF);
            return n;
        }
        w->rec = grown;
        memcpy(w->rec + w->rec_len, buf, (size_t)n);
        w->rec_len += (apr_size_t)n;
        return n;
    }
    case WATCH_FRAMES:
        ok = relay_wsscan_feed(&w->scan, buf, (apr_size_t)n);
        if (ok == (apr_size_t)n) {
            return n;
        }
        watch_break(w);
        if (ok > 0) {
            return (ssize_t)ok;
        }
        break;
    case WATCH_BROKEN:
        break;
    case WATCH_OFF:
        return n;
    }
    errno = EAGAIN;                      /* dropped: lws sees nothing to read */
    return -1;
}

/* Replaces libc's recv() for the whole process (lws calls it for every plain socket read).
 * recvfrom() with no address is the same call. */
ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    ssize_t n = recvfrom(fd, buf, len, flags, NULL, NULL);
    watch_t *w;

    if (n <= 0 || (flags & MSG_PEEK) != 0
        || !atomic_load_explicit(&armed, memory_order_acquire)
        || !pthread_equal(pthread_self(), service_thread)
        || (w = watch_of(fd)) == NULL) {
        return n;
    }
    return watched(w, buf, n);
}
