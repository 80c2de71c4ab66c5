/* Tests of common/chat_bucket.c, driven by an injected clock. */
#include "../check_main.h"
#include "chat_bucket.h"

#define SEC APR_USEC_PER_SEC
#define T0 (APR_INT64_C(1796008873) * SEC)

START_TEST(a_full_bucket_allows_burst_then_limits)
{
    chat_bucket_t b;

    chat_bucket_init(&b, 5, 10, T0);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(chat_bucket_take(&b, T0), 1);
    }
    ck_assert_int_eq(chat_bucket_take(&b, T0), 0);
    ck_assert_int_eq(chat_bucket_take(&b, T0), 0);
}
END_TEST

START_TEST(tokens_come_back_at_the_configured_rate)
{
    chat_bucket_t b;

    chat_bucket_init(&b, 5, 10, T0);
    for (int i = 0; i < 10; i++) {
        chat_bucket_take(&b, T0);
    }
    /* 5 per second: one every 200 ms. */
    ck_assert_int_eq(chat_bucket_take(&b, T0 + 199999), 0);
    ck_assert_int_eq(chat_bucket_take(&b, T0 + 200000), 1);
    ck_assert_int_eq(chat_bucket_take(&b, T0 + 200000), 0);
    ck_assert_int_eq(chat_bucket_take(&b, T0 + 400000), 1);
}
END_TEST

START_TEST(refill_stops_at_the_burst)
{
    chat_bucket_t b;
    int allowed = 0;

    chat_bucket_init(&b, 5, 10, T0);
    chat_bucket_take(&b, T0);
    for (int i = 0; i < 20; i++) {
        allowed += chat_bucket_take(&b, T0 + 3600 * SEC);
    }
    ck_assert_int_eq(allowed, 10);
}
END_TEST

START_TEST(a_clock_stepping_back_refills_nothing)
{
    chat_bucket_t b;

    chat_bucket_init(&b, 1, 1, T0);
    ck_assert_int_eq(chat_bucket_take(&b, T0), 1);
    ck_assert_int_eq(chat_bucket_take(&b, T0 - 10 * SEC), 0);
    /* Time is measured from the stepped-back reading: a second later, one token. */
    ck_assert_int_eq(chat_bucket_take(&b, T0 - 9 * SEC), 1);
}
END_TEST

START_TEST(zero_or_negative_rate_or_burst_disables_the_limit)
{
    static const double settings[][2] = { { 0, 10 }, { 5, 0 }, { -1, 10 }, { 5, -3 }, { 0, 0 } };

    for (int s = 0; s < 5; s++) {
        chat_bucket_t b;

        chat_bucket_init(&b, settings[s][0], settings[s][1], T0);
        ck_assert_int_eq(chat_bucket_is_enabled(&b), 0);
        for (int i = 0; i < 1000; i++) {
            ck_assert_int_eq(chat_bucket_take(&b, T0), 1);
        }
        ck_assert_int_eq(chat_bucket_retry_after(&b, T0), 0);
    }
}
END_TEST

START_TEST(retry_after_says_how_long_until_the_next_token)
{
    chat_bucket_t b;
    apr_interval_time_t wait;

    chat_bucket_init(&b, 4, 1, T0);
    ck_assert_int_eq(chat_bucket_is_enabled(&b), 1);
    ck_assert_int_eq(chat_bucket_retry_after(&b, T0), 0);
    ck_assert_int_eq(chat_bucket_take(&b, T0), 1);
    wait = chat_bucket_retry_after(&b, T0);
    ck_assert_int_ge(wait, 250000);
    ck_assert_int_le(wait, 250001);
    ck_assert_int_eq(chat_bucket_take(&b, T0 + wait - 2), 0);
    ck_assert_int_eq(chat_bucket_take(&b, T0 + wait), 1);
}
END_TEST

START_TEST(fractional_rates_work)
{
    chat_bucket_t b;

    chat_bucket_init(&b, 0.5, 1, T0);
    ck_assert_int_eq(chat_bucket_take(&b, T0), 1);
    ck_assert_int_eq(chat_bucket_take(&b, T0 + 1 * SEC), 0);
    ck_assert_int_eq(chat_bucket_take(&b, T0 + 2 * SEC), 1);
}
END_TEST

TCase *tcase_chat_bucket(void);

TCase *tcase_chat_bucket(void)
{
    TCase *tc = chat_tcase_create("chat_bucket");

    tcase_add_test(tc, a_full_bucket_allows_burst_then_limits);
    tcase_add_test(tc, tokens_come_back_at_the_configured_rate);
    tcase_add_test(tc, refill_stops_at_the_burst);
    tcase_add_test(tc, a_clock_stepping_back_refills_nothing);
    tcase_add_test(tc, zero_or_negative_rate_or_burst_disables_the_limit);
    tcase_add_test(tc, retry_after_says_how_long_until_the_next_token);
    tcase_add_test(tc, fractional_rates_work);
    return tc;
}
