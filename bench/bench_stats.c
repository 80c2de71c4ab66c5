/* bench_stats.c: latency histogram and sequence tracker (see bench_stats.h).
 *
 * Thread: the owner of each structure; nothing is shared.
 */
#include <config.h>

#include "bench_stats.h"

#include <string.h>

#define SUB_COUNT (1u << BENCH_HIST_SUB_BITS)

void bench_hist_init(bench_hist_t *h)
{
    memset(h, 0, sizeof(*h));
}

unsigned bench_hist_index(uint64_t v)
{
    unsigned msb;

    if (v < 2 * SUB_COUNT) {
        return (unsigned)v;                 /* exact below 64 */
    }
    msb = 63u - (unsigned)__builtin_clzll(v);
    return ((msb - BENCH_HIST_SUB_BITS + 1) << BENCH_HIST_SUB_BITS)
           | (unsigned)((v >> (msb - BENCH_HIST_SUB_BITS)) & (SUB_COUNT - 1));
}

uint64_t bench_hist_upper(unsigned idx)
{
    unsigned group = idx >> BENCH_HIST_SUB_BITS;
    unsigned sub = idx & (SUB_COUNT - 1);
    unsigned shift;

    if (idx < 2 * SUB_COUNT) {
        return idx;
    }
    shift = group - 1;                      /* msb - SUB_BITS */
    return (((uint64_t)(SUB_COUNT + sub) << shift) - 1) + ((uint64_t)1 << shift);
}

void bench_hist_record(bench_hist_t *h, uint64_t v)
{
    h->counts[bench_hist_index(v)]++;
    h->total++;
    if (v > h->max) {
        h->max = v;
    }
}

void bench_hist_merge(bench_hist_t *into, const bench_hist_t *from)
{
    for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
        into->counts[i] += from->counts[i];
    }
    into->total += from->total;
    if (from->max > into->max) {
        into->max = from->max;
    }
}

uint64_t bench_hist_quantile(const bench_hist_t *h, double q)
{
    uint64_t rank;
    uint64_t seen = 0;

    if (h->total == 0) {
        return 0;
    }
    rank = (uint64_t)(q * (double)h->total + 0.999999);
    if (rank < 1) {
        rank = 1;
    }
    for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t up = bench_hist_upper(i);

            return up < h->max ? up : h->max;
        }
    }
    return h->max;
}

bench_track_e bench_track_see(bench_track_t *t, uint64_t seq)
{
    uint64_t d;

    if (seq >= t->next) {
        uint64_t shift = seq + 1 - t->next;

        t->window = shift >= 64 ? 1 : (t->window << shift) | 1;
        t->next = seq + 1;
        return BENCH_TRACK_NEW;
    }
    d = t->next - 1 - seq;
    if (d >= 64) {
        return BENCH_TRACK_STALE;
    }
    if (t->window & ((uint64_t)1 << d)) {
        return BENCH_TRACK_DUP;
    }
    t->window |= (uint64_t)1 << d;
    return BENCH_TRACK_LATE;
}
