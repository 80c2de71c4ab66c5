/* Tests of common/chat_err.c. */
#include "../check_main.h"
#include "chat_err.h"

#include <string.h>

START_TEST(every_code_of_ours_has_a_distinct_wire_code_and_a_message)
{
    for (apr_status_t a = CHAT_E__FIRST + 1; a < CHAT_E__END; a++) {
        char buf[64];

        ck_assert_int_eq(chat_err_is_ours(a), 1);
        ck_assert_str_ne(chat_err_code(a), "internal");
        ck_assert_uint_gt(strlen(chat_err_str(a, buf, sizeof(buf))), 0);
        for (apr_status_t b = a + 1; b < CHAT_E__END; b++) {
            ck_assert_str_ne(chat_err_code(a), chat_err_code(b));
        }
    }
}
END_TEST

START_TEST(codes_and_texts_come_from_the_def_file)
{
    char buf[64];

    ck_assert_str_eq(chat_err_code(CHAT_ECONTENT_TOO_LONG), "content_too_long");
    ck_assert_str_eq(chat_err_str(CHAT_ECONTENT_TOO_LONG, buf, sizeof(buf)),
                     "content exceeds 1000 characters");
    ck_assert_str_eq(chat_err_code(CHAT_EBAD_JSON), "invalid_json");
    ck_assert_str_eq(chat_err_code(CHAT_EBAD_REQUEST), "bad_request");
}
END_TEST

START_TEST(other_statuses_are_internal_and_described_by_apr)
{
    char buf[128];
    const char *text;

    ck_assert_int_eq(chat_err_is_ours(APR_SUCCESS), 0);
    ck_assert_int_eq(chat_err_is_ours(CHAT_E__FIRST), 0);
    ck_assert_int_eq(chat_err_is_ours(CHAT_E__END), 0);
    ck_assert_str_eq(chat_err_code(APR_ENOMEM), "internal");
    ck_assert_str_eq(chat_err_code(APR_SUCCESS), "internal");
    text = chat_err_str(APR_ENOENT, buf, sizeof(buf));
    ck_assert_ptr_eq(text, buf);
    ck_assert_str_eq(text, "No such file or directory");
}
END_TEST

TCase *tcase_chat_err(void);

TCase *tcase_chat_err(void)
{
    TCase *tc = chat_tcase_create("chat_err");

    tcase_add_test(tc, every_code_of_ours_has_a_distinct_wire_code_and_a_message);
    tcase_add_test(tc, codes_and_texts_come_from_the_def_file);
    tcase_add_test(tc, other_statuses_are_internal_and_described_by_apr);
    return tc;
}
