/* Tests of bench/bench_ws.c: the client handshake and frame codec of chat-bench. */
#include <config.h>

#include "bench_ws.h"

#include "../check_main.h"

#include <string.h>

/* RFC 6455 section 1.3's example key and accept value. */
#define RFC_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

START_TEST(accept_value_matches_the_rfc_example)
{
    char acc[29];

    bench_ws_accept_compute(acc, RFC_KEY);
    ck_assert_str_eq(acc, RFC_ACCEPT);
}
END_TEST

START_TEST(keys_are_24_base64_characters_and_differ)
{
    uint64_t rng = 42;
    char a[BENCH_WS_KEY_LEN + 1];
    char b[BENCH_WS_KEY_LEN + 1];

    bench_ws_key_make(a, &rng);
    bench_ws_key_make(b, &rng);
    ck_assert_uint_eq(strlen(a), BENCH_WS_KEY_LEN);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(a[22], '=');
}
END_TEST

START_TEST(request_carries_target_host_and_key)
{
    char buf[512];
    int n = bench_ws_request_encode(buf, sizeof(buf), "127.0.0.1:8081", "/ws?room=r1", RFC_KEY,
                                    NULL);

    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(buf, "GET /ws?room=r1 HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strstr(buf, "Host: 127.0.0.1:8081\r\n"));
    ck_assert_ptr_nonnull(strstr(buf, "Sec-WebSocket-Key: " RFC_KEY "\r\n"));
    ck_assert_ptr_null(strstr(buf, "Origin:"));
    ck_assert_int_eq(bench_ws_request_encode(buf, 40, "h:1", "/ws", RFC_KEY, NULL), -1);
    n = bench_ws_request_encode(buf, sizeof(buf), "h:1", "/ws", RFC_KEY, "http://h:1");
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(buf, "\r\nOrigin: http://h:1\r\n\r\n"));
}
END_TEST

START_TEST(response_101_with_right_accept_is_accepted_and_frames_follow)
{
    static const char resp[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                               "connection: Upgrade\r\nsec-websocket-accept:  " RFC_ACCEPT "\r\n"
                               "\r\n\x81\x02hi";
    size_t hdr = 0;
    int status = 0;

    ck_assert_int_eq(bench_ws_response_check(resp, sizeof(resp) - 1, RFC_KEY, &hdr, &status),
                     BENCH_WS_OK);
    ck_assert_int_eq(status, 101);
    ck_assert_uint_eq(hdr, sizeof(resp) - 1 - 4);
}
END_TEST

static const struct {
    const char *resp;
    int want;
    int status;
} bad_responses[] = {
    { "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n", BENCH_WS_AGAIN, -1 },
    { "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", BENCH_WS_EPROTO, 400 },
    { "HTTP/1.1 429 Too Many Requests\r\n\r\n", BENCH_WS_EPROTO, 429 },
    { "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
      BENCH_WS_EPROTO, 101 },
    { "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", BENCH_WS_EPROTO, 101 },
    { "garbage\r\n\r\n", BENCH_WS_EPROTO, 0 },
};

START_TEST(each_bad_response_gets_its_code)
{
    size_t hdr = 7;
    int status = -1;
    int rv = bench_ws_response_check(bad_responses[_i].resp, strlen(bad_responses[_i].resp),
                                     RFC_KEY, &hdr, &status);

    ck_assert_int_eq(rv, bad_responses[_i].want);
    ck_assert_int_eq(status, bad_responses[_i].status);
    ck_assert_uint_eq(hdr, 7);                  /* untouched unless accepted */
}
END_TEST

START_TEST(encoded_frame_is_masked_and_unmasks_to_the_payload)
{
    unsigned char out[300];
    char payload[200];
    size_t n;

    memset(payload, 'a', sizeof(payload));
    n = bench_ws_frame_encode(out, sizeof(out), BENCH_WS_OP_TEXT, payload, sizeof(payload),
                              0x11223344u);
    ck_assert_uint_eq(n, 4 + 4 + sizeof(payload));     /* 16-bit length form */
    ck_assert_uint_eq(out[0], 0x81);
    ck_assert_uint_eq(out[1], 0x80 | 126);
    ck_assert_uint_eq(((unsigned)out[2] << 8) | out[3], sizeof(payload));
    for (size_t i = 0; i < sizeof(payload); i++) {
        ck_assert_uint_eq(out[8 + i] ^ out[4 + (i & 3)], 'a');
    }
    ck_assert_uint_eq(bench_ws_frame_encode(out, 15, BENCH_WS_OP_TEXT, payload, 10, 1), 0);
    ck_assert_uint_eq(bench_ws_frame_encode(out, 16, BENCH_WS_OP_TEXT, payload, 10, 1), 16);
}
END_TEST

START_TEST(server_frames_decode_in_all_three_length_forms)
{
    static const unsigned char small[] = { 0x81, 0x03, 'a', 'b', 'c' };
    static const unsigned char mid[] = { 0x01, 126, 0x01, 0x00 };
    static const unsigned char big[] = { 0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0 };
    bench_ws_frame_t f;

    ck_assert_int_eq(bench_ws_frame_decode(&f, small, sizeof(small), 1000), BENCH_WS_OK);
    ck_assert_uint_eq(f.fin, 1);
    ck_assert_uint_eq(f.opcode, BENCH_WS_OP_TEXT);
    ck_assert_uint_eq(f.payload_len, 3);
    ck_assert_uint_eq(f.hdr_len, 2);
    ck_assert_int_eq(bench_ws_frame_decode(&f, mid, sizeof(mid), 1000), BENCH_WS_OK);
    ck_assert_uint_eq(f.fin, 0);
    ck_assert_uint_eq(f.payload_len, 256);
    ck_assert_uint_eq(f.hdr_len, 4);
    ck_assert_int_eq(bench_ws_frame_decode(&f, big, sizeof(big), 1u << 20), BENCH_WS_OK);
    ck_assert_uint_eq(f.payload_len, 65536);
    ck_assert_uint_eq(f.hdr_len, 10);
    ck_assert_int_eq(bench_ws_frame_decode(&f, big, sizeof(big), 1000), BENCH_WS_ETOOBIG);
}
END_TEST

static const struct {
    unsigned char bytes[4];
    size_t len;
    int want;
} bad_frames[] = {
    { { 0x81 }, 1, BENCH_WS_AGAIN },
    { { 0x81, 126, 0x01 }, 3, BENCH_WS_AGAIN },
    { { 0x81, 0x83 }, 2, BENCH_WS_EPROTO },          /* masked server frame */
    { { 0xC1, 0x01 }, 2, BENCH_WS_EPROTO },          /* RSV1 without extension */
    { { 0x83, 0x01 }, 2, BENCH_WS_EPROTO },          /* reserved opcode */
    { { 0x09, 0x00 }, 2, BENCH_WS_EPROTO },          /* fragmented ping */
    { { 0x89, 126, 0x00, 0x80 }, 4, BENCH_WS_EPROTO },   /* ping over 125 bytes */
};

START_TEST(each_bad_frame_header_gets_its_code)
{
    bench_ws_frame_t f;

    ck_assert_int_eq(bench_ws_frame_decode(&f, bad_frames[_i].bytes, bad_frames[_i].len, 1000),
                     bad_frames[_i].want);
}
END_TEST

TCase *tcase_bench_ws(void);   /* listed in tcases_bench.c */

TCase *tcase_bench_ws(void)
{
    TCase *tc = chat_tcase_create("bench_ws");

    tcase_add_test(tc, accept_value_matches_the_rfc_example);
    tcase_add_test(tc, keys_are_24_base64_characters_and_differ);
    tcase_add_test(tc, request_carries_target_host_and_key);
    tcase_add_test(tc, response_101_with_right_accept_is_accepted_and_frames_follow);
    tcase_add_loop_test(tc, each_bad_response_gets_its_code, 0,
                        (int)(sizeof(bad_responses) / sizeof(bad_responses[0])));
    tcase_add_test(tc, encoded_frame_is_masked_and_unmasks_to_the_payload);
    tcase_add_test(tc, server_frames_decode_in_all_three_length_forms);
    tcase_add_loop_test(tc, each_bad_frame_header_gets_its_code, 0,
                        (int)(sizeof(bad_frames) / sizeof(bad_frames[0])));
    return tc;
}
