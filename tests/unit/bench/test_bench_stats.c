/* Tests of bench/bench_stats.c: the latency histogram and the sequence tracker. */
#include <config.h>

#include "bench_stats.h"

#include "../check_main.h"

#include <stdlib.h>

START_TEST(histogram_buckets_are_exact_below_64_and_within_3_percent_above)
{
    static const uint64_t probes[] = { 0, 1, 63, 64, 65, 127, 128, 1000, 999999, 123456789,
                                       UINT64_MAX / 3, UINT64_MAX };

    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        uint64_t v = probes[i];
        unsigned idx = bench_hist_index(v);
        uint64_t up = bench_hist_upper(idx);

        ck_assert_uint_lt(idx, BENCH_HIST_BUCKETS);
        ck_assert_uint_ge(up, v);
        if (v < 64) {
            ck_assert_uint_eq(up, v);
        }
        else {
            ck_assert_uint_le(up - v, v / 32);
        }
        if (idx > 0) {
            ck_assert_uint_lt(bench_hist_upper(idx - 1), v);   /* v is in no lower bucket */
        }
    }
}
END_TEST

START_TEST(quantiles_of_1_to_1000_are_within_3_percent)
{
    bench_hist_t *h = malloc(sizeof(*h));
    bench_hist_t *g = malloc(sizeof(*g));

    bench_hist_init(h);
    bench_hist_init(g);
    for (uint64_t v = 1; v <= 500; v++) {
        bench_hist_record(h, v * 1000);
    }
    for (uint64_t v = 501; v <= 1000; v++) {
        bench_hist_record(g, v * 1000);
    }
    bench_hist_merge(h, g);
    ck_assert_uint_eq(h->total, 1000);
    ck_assert_uint_eq(h->max, 1000000);
    ck_assert_uint_ge(bench_hist_quantile(h, 0.50), 500000);
    ck_assert_uint_le(bench_hist_quantile(h, 0.50), 500000 + 500000 / 32);
    ck_assert_uint_ge(bench_hist_quantile(h, 0.99), 990000);
    ck_assert_uint_le(bench_hist_quantile(h, 0.99), 990000 + 990000 / 32);
    ck_assert_uint_eq(bench_hist_quantile(h, 1.0), 1000000);   /* capped at the maximum */
    bench_hist_init(g);
    ck_assert_uint_eq(bench_hist_quantile(g, 0.5), 0);
    free(h);
    free(g);
}
END_TEST

/* One arrival order and what the tracker must say about each number. */
static const struct {
    uint64_t seq;
    bench_track_e want;
} arrivals[] = {
    { 0, BENCH_TRACK_NEW },
    { 1, BENCH_TRACK_NEW },
    { 1, BENCH_TRACK_DUP },
    { 5, BENCH_TRACK_NEW },      /* 2..4 missing so far */
    { 3, BENCH_TRACK_LATE },
    { 3, BENCH_TRACK_DUP },
    { 2, BENCH_TRACK_LATE },
    { 200, BENCH_TRACK_NEW },    /* jumps past the window */
    { 4, BENCH_TRACK_STALE },
    { 137, BENCH_TRACK_LATE },   /* 63 below the top: last slot of the window */
    { 136, BENCH_TRACK_STALE },
    { 200, BENCH_TRACK_DUP },
};

START_TEST(tracker_tells_new_late_duplicate_and_stale_apart)
{
    bench_track_t t = { 0, 0 };

    for (size_t i = 0; i < sizeof(arrivals) / sizeof(arrivals[0]); i++) {
        ck_assert_msg(bench_track_see(&t, arrivals[i].seq) == arrivals[i].want,
                      "arrival %zu (seq %llu)", i, (unsigned long long)arrivals[i].seq);
    }
}
END_TEST

TCase *tcase_bench_stats(void);   /* listed in tcases_bench.c */

TCase *tcase_bench_stats(void)
{
    TCase *tc = chat_tcase_create("bench_stats");

    tcase_add_test(tc, histogram_buckets_are_exact_below_64_and_within_3_percent_above);
    tcase_add_test(tc, quantiles_of_1_to_1000_are_within_3_percent);
    tcase_add_test(tc, tracker_tells_new_late_duplicate_and_stale_apart);
    return tc;
}
