/* Tests of common/chat_id.c: UUIDv7 message ids and client ids. */
#include "../check_main.h"
#include "chat_id.h"

#include <string.h>

#define POOL test_pool
#define T0 (APR_INT64_C(1796008873123) * 1000)   /* 2026-11-30T03:21:13.123Z */

START_TEST(a_hundred_thousand_ids_strictly_increase_as_strings)
{
    chat_id_gen_t gen;
    char prev[CHAT_MSG_ID_LEN + 1];
    char id[CHAT_MSG_ID_LEN + 1];
    apr_time_t now = T0;

    ck_assert_int_eq(chat_id_gen_init(&gen), APR_SUCCESS);
    chat_id_next_message(&gen, now, prev);
    for (int i = 1; i < 100000; i++) {
        /* The clock mostly stands still, sometimes jumps ahead, sometimes steps back. */
        if (i % 5000 == 0) {
            now += 7 * 1000;
        }
        else if (i % 7777 == 0) {
            now -= 50 * 1000;
        }
        chat_id_next_message(&gen, now, id);
        ck_assert_msg(strcmp(prev, id) < 0, "id %d: %s !> %s", i, id, prev);
        memcpy(prev, id, sizeof(id));
    }
}
END_TEST

START_TEST(message_ids_carry_version_7_and_the_rfc_variant)
{
    chat_id_gen_t gen;
    char id[CHAT_MSG_ID_LEN + 1];

    ck_assert_int_eq(chat_id_gen_init(&gen), APR_SUCCESS);
    for (int i = 0; i < 1000; i++) {
        chat_id_next_message(&gen, T0 + i * 333, id);
        ck_assert_uint_eq(strlen(id), CHAT_MSG_ID_LEN);
        ck_assert_int_eq(chat_id_is_valid(id), 1);
        ck_assert_int_eq(id[14], '7');
        ck_assert_ptr_nonnull(strchr("89ab", id[19]));
    }
}
END_TEST

START_TEST(the_time_of_an_id_round_trips_to_the_millisecond)
{
    chat_id_gen_t gen;
    char id[CHAT_MSG_ID_LEN + 1];
    apr_time_t t = 0;

    ck_assert_int_eq(chat_id_gen_init(&gen), APR_SUCCESS);
    chat_id_next_message(&gen, T0 + 456, id);
    ck_assert_int_eq(chat_id_time(id, &t), APR_SUCCESS);
    ck_assert_int_eq(t, T0);
    ck_assert_int_eq(strncmp(id, "01a22a78-8ca3-7", 15), 0);   /* 0x1a22a788ca3 ms */
}
END_TEST

START_TEST(ids_of_a_later_millisecond_sort_after_earlier_ones_from_another_generator)
{
    chat_id_gen_t a, b;
    char early[CHAT_MSG_ID_LEN + 1];
    char late[CHAT_MSG_ID_LEN + 1];

    ck_assert_int_eq(chat_id_gen_init(&a), APR_SUCCESS);
    ck_assert_int_eq(chat_id_gen_init(&b), APR_SUCCESS);
    for (int i = 0; i < 100; i++) {
        chat_id_next_message(&a, T0 + i * 1000, early);
        chat_id_next_message(&b, T0 + (i + 1) * 1000, late);
        ck_assert_int_lt(strcmp(early, late), 0);
    }
}
END_TEST

START_TEST(counter_overflow_borrows_the_next_millisecond)
{
    chat_id_gen_t gen;
    char id[CHAT_MSG_ID_LEN + 1];
    apr_time_t t;

    ck_assert_int_eq(chat_id_gen_init(&gen), APR_SUCCESS);
    for (int i = 0; i < 4097; i++) {
        chat_id_next_message(&gen, T0, id);
    }
    ck_assert_int_eq(chat_id_time(id, &t), APR_SUCCESS);
    ck_assert_int_eq(t, T0 + 1000);
}
END_TEST

START_TEST(client_ids_are_client_dash_uuid_v4_and_differ)
{
    chat_id_gen_t gen;
    char a[CHAT_ID_CLIENT_LEN + 1];
    char b[CHAT_ID_CLIENT_LEN + 1];
    apr_time_t t;

    ck_assert_int_eq(chat_id_gen_init(&gen), APR_SUCCESS);
    chat_id_next_client(&gen, a);
    chat_id_next_client(&gen, b);
    ck_assert_uint_eq(strlen(a), CHAT_ID_CLIENT_LEN);
    ck_assert_int_eq(strncmp(a, "client-", 7), 0);
    ck_assert_int_eq(chat_id_is_valid(a + 7), 1);
    ck_assert_int_eq(a[7 + 14], '4');
    ck_assert_ptr_nonnull(strchr("89ab", a[7 + 19]));
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(chat_id_time(a + 7, &t), CHAT_EBAD_MESSAGE_ID);
}
END_TEST

static const char *const not_ids[] = {
    "",
    "01890a5d-ac96-774b-bcce-b302099a805",     /* short */
    "01890a5d-ac96-774b-bcce-b302099a80577",   /* long */
    "01890A5D-AC96-774B-BCCE-B302099A8057",    /* uppercase */
    "01890a5d_ac96-774b-bcce-b302099a8057",
    "01890a5dac96-774b-bcce-b302099a8057-",
    "01890a5d-ac96-774b-bcce-b302099a805g",
    "client-01890a5d-ac96-774b-bcce-b302099a",
};

START_TEST(is_valid_rejects_each_malformed_id)
{
    apr_time_t t = 5;

    ck_assert_int_eq(chat_id_is_valid(not_ids[_i]), 0);
    ck_assert_int_eq(chat_id_time(not_ids[_i], &t), CHAT_EBAD_MESSAGE_ID);
    ck_assert_int_eq(t, 5);
}
END_TEST

START_TEST(is_valid_accepts_any_version_and_refuses_null)
{
    ck_assert_int_eq(chat_id_is_valid("01890a5d-ac96-774b-bcce-b302099a8057"), 1);
    ck_assert_int_eq(chat_id_is_valid("9f1c7e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b"), 1);
    ck_assert_int_eq(chat_id_is_valid(NULL), 0);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

TCase *tcase_chat_id(void);

TCase *tcase_chat_id(void)
{
    TCase *tc = chat_tcase_create("chat_id");

    tcase_add_test(tc, a_hundred_thousand_ids_strictly_increase_as_strings);
    tcase_add_test(tc, message_ids_carry_version_7_and_the_rfc_variant);
    tcase_add_test(tc, the_time_of_an_id_round_trips_to_the_millisecond);
    tcase_add_test(tc, ids_of_a_later_millisecond_sort_after_earlier_ones_from_another_generator);
    tcase_add_test(tc, counter_overflow_borrows_the_next_millisecond);
    tcase_add_test(tc, client_ids_are_client_dash_uuid_v4_and_differ);
    tcase_add_loop_test(tc, is_valid_rejects_each_malformed_id, 0, N(not_ids));
    tcase_add_test(tc, is_valid_accepts_any_version_and_refuses_null);
    return tc;
}
