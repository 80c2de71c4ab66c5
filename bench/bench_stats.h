/* bench_stats.h: the latency histogram and the per-publisher sequence tracker of chat-bench.
 *
 * Both are fixed-size and owned by one generator thread; the main thread merges the
 * histograms after the workers joined. Nothing here allocates.
 *
 * Histogram: log-linear like HdrHistogram. Values below 64 have a bucket each; above, every
 * power of two is split into 32 buckets, so a quantile is exact to about 3 % (1/32), from
 * nanoseconds to centuries, in 1920 counters (15 KiB).
 *
 * Tracker: per subscriber and per publisher, the highest sequence number seen plus a 64-bit
 * window of which of the 64 numbers below it arrived, so duplicates and reordering are told
 * apart in 16 bytes whatever the run length.
 */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <stdint.h>

#define BENCH_HIST_SUB_BITS 5
#define BENCH_HIST_BUCKETS ((64 - BENCH_HIST_SUB_BITS + 1) << BENCH_HIST_SUB_BITS)

typedef struct bench_hist_t {
    uint64_t counts[BENCH_HIST_BUCKETS];
    uint64_t total;
    uint64_t max;
} bench_hist_t;

/* Empties h. */
void bench_hist_init(bench_hist_t *h);

/* Counts one value v. */
void bench_hist_record(bench_hist_t *h, uint64_t v);

/* Adds every count of from to into. */
void bench_hist_merge(bench_hist_t *into, const bench_hist_t *from);

/* The value at quantile q (0 < q <= 1): the upper edge of the bucket holding the ceil(q*total)-th
 * smallest value, never above the exact maximum. 0 when h is empty. */
uint64_t bench_hist_quantile(const bench_hist_t *h, double q);

/* Bucket arithmetic, exposed for the tests: the index of v and a bucket's highest value. */
unsigned bench_hist_index(uint64_t v);
uint64_t bench_hist_upper(unsigned idx);

typedef struct bench_track_t {
    uint64_t next;     /* highest sequence number seen + 1; 0: nothing yet */
    uint64_t window;   /* bit i: (next - 1 - i) was seen */
} bench_track_t;

typedef enum {
    BENCH_TRACK_NEW = 0,    /* above everything seen so far: in order */
    BENCH_TRACK_LATE,       /* fills a gap in the window: delivered, but out of order */
    BENCH_TRACK_DUP,        /* seen before */
    BENCH_TRACK_STALE       /* older than the window: out of order, duplicate undetectable */
} bench_track_e;

/* Records seq in t and classifies it. t starts zeroed. */
bench_track_e bench_track_see(bench_track_t *t, uint64_t seq);

#endif
