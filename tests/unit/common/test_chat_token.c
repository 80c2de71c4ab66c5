/* Tests of common/chat_token.c: the Go-compatible test vector, round trips, and one
 * distinct error per kind of bad token. */
#include "../check_main.h"
#include "chat_token.h"

#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define POOL test_pool

/* The vector. The signature half is, byte for byte:
 *   printf 'alice|4102444800' | openssl dgst -sha256 -hmac s3cret -binary \
 *     | base64 -w0 | tr '+/' '-_' | tr -d '='
 * and the payload half: printf 'alice|4102444800' | base64 | tr '+/' '-_' | tr -d '=' */
#define VECTOR_TOKEN "YWxpY2V8NDEwMjQ0NDgwMA.Tt9fY2mhJ5qLfwDljf12IUL7lVNtHO_BzAZCDW_mKOs"
#define VECTOR_EXPIRY APR_INT64_C(4102444800)          /* 2100-01-01T00:00:00Z */
#define NOW (APR_INT64_C(1796008873) * APR_USEC_PER_SEC) /* 2026-11-30 */

START_TEST(sign_matches_the_openssl_test_vector)
{
    char *token = NULL;

    ck_assert_int_eq(chat_token_sign("s3cret", "alice", VECTOR_EXPIRY, NULL, &token, POOL),
                     APR_SUCCESS);
    ck_assert_str_eq(token, VECTOR_TOKEN);
}
END_TEST

START_TEST(verify_accepts_the_test_vector_and_returns_its_claims)
{
    chat_token_claims_t claims = { 0 };

    ck_assert_int_eq(chat_token_verify("s3cret", VECTOR_TOKEN, NOW, &claims, POOL),
                     APR_SUCCESS);
    ck_assert_str_eq(claims.user_id, "alice");
    ck_assert_int_eq(claims.expiry, VECTOR_EXPIRY);
    ck_assert_ptr_null(claims.name);
}
END_TEST

START_TEST(a_display_name_travels_in_the_third_field)
{
    chat_token_claims_t claims = { 0 };
    char *token = NULL;
    unsigned char *payload;
    apr_size_t len;

    ck_assert_int_eq(chat_token_sign("k", "u-1", VECTOR_EXPIRY, "Zo\xc3\xab | B", &token, POOL),
                     APR_SUCCESS);
    ck_assert_int_eq(chat_token_b64url_decode(token, (apr_size_t)(strchr(token, '.') - token),
                                              &payload, &len, POOL), APR_SUCCESS);
    ck_assert_int_eq(memcmp(payload, "u-1|4102444800|Zo\xc3\xab | B", len), 0);
    ck_assert_int_eq(chat_token_verify("k", token, NOW, &claims, POOL), APR_SUCCESS);
    ck_assert_str_eq(claims.user_id, "u-1");
    ck_assert_str_eq(claims.name, "Zo\xc3\xab | B");
}
END_TEST

START_TEST(expiry_is_exclusive_of_the_current_second)
{
    chat_token_claims_t claims;
    char *token = NULL;
    apr_time_t at = APR_INT64_C(1000) * APR_USEC_PER_SEC;

    ck_assert_int_eq(chat_token_sign("k", "bob", 1001, NULL, &token, POOL), APR_SUCCESS);
    ck_assert_int_eq(chat_token_verify("k", token, at, &claims, POOL), APR_SUCCESS);
    ck_assert_int_eq(chat_token_verify("k", token, at + 999999, &claims, POOL), APR_SUCCESS);
    ck_assert_int_eq(chat_token_verify("k", token, at + APR_USEC_PER_SEC, &claims, POOL),
                     CHAT_ETOKEN_EXPIRED);
}
END_TEST

START_TEST(each_kind_of_bad_token_gets_its_own_code)
{
    chat_token_claims_t claims;
    char *good = NULL;
    const char *dot;
    char *tampered;

    ck_assert_int_eq(chat_token_sign("s3cret", "alice", VECTOR_EXPIRY, NULL, &good, POOL),
                     APR_SUCCESS);
    dot = strchr(good, '.');
    ck_assert_int_eq(chat_token_verify("s3cret", NULL, NOW, &claims, POOL), CHAT_ETOKEN_MISSING);
    ck_assert_int_eq(chat_token_verify("s3cret", "", NOW, &claims, POOL), CHAT_ETOKEN_MISSING);
    /* wrong secret, no secret, another payload under this MAC, a flipped MAC character */
    ck_assert_int_eq(chat_token_verify("S3cret", good, NOW, &claims, POOL),
                     CHAT_ETOKEN_SIGNATURE);
    ck_assert_int_eq(chat_token_verify("", good, NOW, &claims, POOL), CHAT_ETOKEN_SIGNATURE);
    tampered = apr_pstrcat(POOL, chat_token_b64url_encode(
                                     (const unsigned char *)"mallory|4102444800", 18, POOL),
                           dot, NULL);
    ck_assert_int_eq(chat_token_verify("s3cret", tampered, NOW, &claims, POOL),
                     CHAT_ETOKEN_SIGNATURE);
    tampered = apr_pstrdup(POOL, good);
    tampered[strlen(tampered) - 2] = tampered[strlen(tampered) - 2] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(chat_token_verify("s3cret", tampered, NOW, &claims, POOL),
                     CHAT_ETOKEN_SIGNATURE);
    ck_assert_int_eq(chat_token_verify("s3cret", good, (VECTOR_EXPIRY + 1) * APR_USEC_PER_SEC,
                                       &claims, POOL), CHAT_ETOKEN_EXPIRED);
}
END_TEST

/* payload "." MAC, for payloads chat_token_sign would refuse to write. */
static const char *sign_raw(const char *secret, const char *payload)
{
    unsigned char mac[32];
    unsigned int maclen = sizeof(mac);

    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)payload,
         strlen(payload), mac, &maclen);
    return apr_pstrcat(POOL,
                       chat_token_b64url_encode((const unsigned char *)payload, strlen(payload),
                                                POOL),
                       ".", chat_token_b64url_encode(mac, maclen, POOL), NULL);
}

START_TEST(sign_raw_agrees_with_sign)
{
    ck_assert_str_eq(sign_raw("s3cret", "alice|4102444800"), VECTOR_TOKEN);
}
END_TEST

/* Correctly signed, wrong inside: the payload decides the code. */
static const struct {
    const char *payload;
    apr_status_t want;
} signed_rows[] = {
    { "|4102444800", CHAT_ETOKEN_EMPTY_USER },
    { "|4102444800|Name", CHAT_ETOKEN_EMPTY_USER },
    { "alice|1", CHAT_ETOKEN_EXPIRED },
    { "alice|1796008873", CHAT_ETOKEN_EXPIRED },          /* expiry == now */
    { "alice", CHAT_ETOKEN_MALFORMED },
    { "alice|", CHAT_ETOKEN_MALFORMED },
    { "alice|-5", CHAT_ETOKEN_MALFORMED },
    { "alice|+5", CHAT_ETOKEN_MALFORMED },
    { "alice|12x", CHAT_ETOKEN_MALFORMED },
    { "alice| 4102444800", CHAT_ETOKEN_MALFORMED },
    { "alice|99999999999999999999", CHAT_ETOKEN_MALFORMED },
    { "al\nice|4102444800", CHAT_ETOKEN_MALFORMED },
    { "a/b|4102444800", CHAT_ETOKEN_MALFORMED },
    { "al\xc3|4102444800", CHAT_ETOKEN_MALFORMED },
    { "alice|4102444800|System", CHAT_ETOKEN_MALFORMED },
    { "alice|4102444800|bad\tname", CHAT_ETOKEN_MALFORMED },
    { "alice|4102444800", APR_SUCCESS },
    { "alice|4102444800|", APR_SUCCESS },                 /* empty name = none */
};

START_TEST(verify_gives_each_signed_but_bad_payload_its_code)
{
    chat_token_claims_t claims = { 0 };
    apr_status_t rv = chat_token_verify("k", sign_raw("k", signed_rows[_i].payload), NOW,
                                        &claims, POOL);

    ck_assert_msg(rv == signed_rows[_i].want, "row %d: got %s, want %s", _i, chat_err_code(rv),
                  chat_err_code(signed_rows[_i].want));
    if (rv == APR_SUCCESS) {
        ck_assert_str_eq(claims.user_id, "alice");
        ck_assert_ptr_null(claims.name);
    }
}
END_TEST

/* Bad shapes never get as far as the MAC. */
static const char *const malformed[] = {
    "abc",
    "a.b.c",
    ".Tt9fY2mhJ5qLfwDljf12IUL7lVNtHO_BzAZCDW_mKOs",
    "YWxpY2V8NDEwMjQ0NDgwMA.",
    "YWxpY2V8NDEwMjQ0NDgwMA.Tt9f",                                      /* short MAC */
    "YWxpY2V8NDEwMjQ0NDgwMA.Tt9fY2mhJ5qLfwDljf12IUL7lVNtHO_BzAZCDW_mKOs=", /* padding */
    "YWxpY2V8NDEwMjQ0NDgwMA==.Tt9fY2mhJ5qLfwDljf12IUL7lVNtHO_BzAZCDW_mKOs",
    "YWxpY2V8NDEwMjQ0NDgwMA.Tt9fY2mhJ5qLfwDljf12IUL7lVNtHO/BzAZCDW+mKOs", /* std alphabet */
    "YWxpY2V8NDEwMjQ0NDgwMA.Tt9fY2mhJ5qLfwDljf12IUL7lVNtHO_BzAZCDW_mKOt", /* stray low bits */
    "YWxpY2V8NDEwMjQ0NDgwMB.Tt9fY2mhJ5qLfwDljf12IUL7lVNtHO_BzAZCDW_mKOs", /* stray low bits */
    "YWxpY2V8NDEwMjQ0NDgwM.Tt9fY2mhJ5qLfwDljf12IUL7lVNtHO_BzAZCDW_mKOs",  /* impossible length */
    "YWxp Y2V8NDEwMjQ0NDgwMA.Tt9fY2mhJ5qLfwDljf12IUL7lVNtHO_BzAZCDW_mKOs",
    "Bearer YWxpY2V8NDEwMjQ0NDgwMA.Tt9fY2mhJ5qLfwDljf12IUL7lVNtHO_BzAZCDW_mKOs",
};

START_TEST(verify_calls_each_bad_shape_malformed)
{
    chat_token_claims_t claims;
    apr_status_t rv = chat_token_verify("s3cret", malformed[_i], NOW, &claims, POOL);

    ck_assert_msg(rv == CHAT_ETOKEN_MALFORMED, "row %d: got %s", _i, chat_err_code(rv));
}
END_TEST

START_TEST(sign_refuses_what_it_cannot_mint)
{
    char *token = NULL;

    ck_assert_int_eq(chat_token_sign("", "alice", 1, NULL, &token, POOL), CHAT_ETOKEN_MISSING);
    ck_assert_int_eq(chat_token_sign(NULL, "alice", 1, NULL, &token, POOL),
                     CHAT_ETOKEN_MISSING);
    ck_assert_int_eq(chat_token_sign("k", "a|b", 1, NULL, &token, POOL), CHAT_EBAD_USERID);
    ck_assert_int_eq(chat_token_sign("k", "", 1, NULL, &token, POOL), CHAT_EBAD_USERID);
    ck_assert_int_eq(chat_token_sign("k", NULL, 1, NULL, &token, POOL), CHAT_EBAD_USERID);
    ck_assert_int_eq(chat_token_sign("k", "alice", 1, "system", &token, POOL),
                     CHAT_ERESERVED_NAME);
    ck_assert_int_eq(chat_token_sign("k", "alice", 1, "", &token, POOL), CHAT_EEMPTY_USERNAME);
    ck_assert_int_eq(chat_token_sign("k", "alice", -1, NULL, &token, POOL), APR_EINVAL);
    ck_assert_ptr_null(token);
}
END_TEST

START_TEST(b64url_round_trips_every_length_without_padding)
{
    unsigned char data[40];

    for (int i = 0; i < (int)sizeof(data); i++) {
        data[i] = (unsigned char)(i * 37 + 250);
    }
    for (apr_size_t len = 0; len <= sizeof(data); len++) {
        char *text = chat_token_b64url_encode(data, len, POOL);
        unsigned char *back = NULL;
        apr_size_t back_len = 99;

        ck_assert_uint_eq(strlen(text), (len * 4 + 2) / 3);
        ck_assert_ptr_null(strpbrk(text, "=+/"));
        ck_assert_int_eq(chat_token_b64url_decode(text, strlen(text), &back, &back_len, POOL),
                         APR_SUCCESS);
        ck_assert_uint_eq(back_len, len);
        ck_assert_int_eq(memcmp(back, data, len), 0);
    }
    ck_assert_str_eq(chat_token_b64url_encode((const unsigned char *)"\xfb\xff", 2, POOL), "-_8");
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

TCase *tcase_chat_token(void);

TCase *tcase_chat_token(void)
{
    TCase *tc = chat_tcase_create("chat_token");

    tcase_add_test(tc, sign_matches_the_openssl_test_vector);
    tcase_add_test(tc, verify_accepts_the_test_vector_and_returns_its_claims);
    tcase_add_test(tc, a_display_name_travels_in_the_third_field);
    tcase_add_test(tc, expiry_is_exclusive_of_the_current_second);
    tcase_add_test(tc, each_kind_of_bad_token_gets_its_own_code);
    tcase_add_test(tc, sign_raw_agrees_with_sign);
    tcase_add_loop_test(tc, verify_gives_each_signed_but_bad_payload_its_code, 0,
                        N(signed_rows));
    tcase_add_loop_test(tc, verify_calls_each_bad_shape_malformed, 0, N(malformed));
    tcase_add_test(tc, sign_refuses_what_it_cannot_mint);
    tcase_add_test(tc, b64url_round_trips_every_length_without_padding);
    return tc;
}
