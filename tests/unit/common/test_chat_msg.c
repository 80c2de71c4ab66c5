/* Tests of common/chat_msg.c: decoding client frames, stored messages, encoding, UTF-8 and
 * time. */
#include "../check_main.h"
#include "chat_msg.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#define POOL test_pool

static const struct {
    const char *frame;
    apr_status_t want;
} bad_frames[] = {
    { "not json", CHAT_EBAD_JSON },
    { "", CHAT_EBAD_JSON },
    { "[1,2]", CHAT_EBAD_JSON },
    { "\"chat\"", CHAT_EBAD_JSON },
    { "{\"type\":\"chat\",\"content\":\"hi\"", CHAT_EBAD_JSON },
    { "{\"type\":\"chat\",\"content\":\"hi\"} x", CHAT_EBAD_JSON },
    { "{\"type\":\"chat\",\"content\":\"hi\",}", CHAT_EBAD_JSON },
    { "{\"a\":[[[[[[1]]]]]],\"type\":\"chat\",\"content\":\"hi\"}", CHAT_ETOO_DEEP },
    { "{\"type\":\"shout\",\"content\":\"hi\"}", CHAT_EBAD_TYPE },
    { "{\"type\":\"system\",\"content\":\"hi\"}", CHAT_EBAD_TYPE },
    { "{\"type\":\"Chat\",\"content\":\"hi\"}", CHAT_EBAD_TYPE },
    { "{\"content\":\"hi\"}", CHAT_EBAD_TYPE },
    { "{\"type\":7,\"content\":\"hi\"}", CHAT_EBAD_FIELD },
    { "{\"type\":\"chat\"}", CHAT_EEMPTY_CONTENT },
    { "{\"type\":\"chat\",\"content\":null}", CHAT_EEMPTY_CONTENT },
    { "{\"type\":\"chat\",\"content\":\"\"}", CHAT_EEMPTY_CONTENT },
    { "{\"type\":\"chat\",\"content\":\" \\n\\t \"}", CHAT_EEMPTY_CONTENT },
    { "{\"type\":\"chat\",\"content\":42}", CHAT_EBAD_FIELD },
    { "{\"type\":\"chat\",\"content\":[\"hi\"]}", CHAT_EBAD_FIELD },
    { "{\"type\":\"chat\",\"content\":\"a\\u0000b\"}", CHAT_ECONTROL_CHAR },
    { "{\"type\":\"chat\",\"content\":\"bell\\u0007\"}", CHAT_ECONTROL_CHAR },
    { "{\"type\":\"chat\",\"content\":\"cr\\r\"}", CHAT_ECONTROL_CHAR },
    { "{\"type\":\"chat\",\"content\":\"del\\u007f\"}", CHAT_ECONTROL_CHAR },
    { "{\"type\":\"chat\",\"content\":\"nel\\u0085\"}", CHAT_ECONTROL_CHAR },
    { "{\"type\":\"chat\",\"content\":\"csi\\u009b2J\"}", CHAT_ECONTROL_CHAR },
    { "{\"type\":\"chat\",\"content\":\"\xc0\xaf\"}", CHAT_EBAD_UTF8 },
    { "{\"type\":\"chat\",\"content\":\"\xed\xa0\x80\"}", CHAT_EBAD_UTF8 },
    { "{\"type\":\"chat\",\"content\":\"\xf4\x90\x80\x80\"}", CHAT_EBAD_UTF8 },
    { "{\"type\":\"chat\",\"content\":\"\xe2\x82\"}", CHAT_EBAD_UTF8 },
    { "{\"type\":\"chat\",\"content\":\"\xff\"}", CHAT_EBAD_UTF8 },
    { "{\"type\":\"chat\",\"content\":\"hi\",\"nonce\":\"\"}", CHAT_EBAD_NONCE },
    { "{\"type\":\"chat\",\"content\":\"hi\",\"nonce\":12}", CHAT_EBAD_NONCE },
    { "{\"type\":\"chat\",\"content\":\"hi\",\"nonce\":\"a\\nb\"}", CHAT_EBAD_NONCE },
    { "{\"type\":\"chat\",\"content\":\"hi\",\"nonce\":"
      "\"0123456789012345678901234567890123456789012345678901234567890123x\"}",
      CHAT_EBAD_NONCE },
};

START_TEST(decode_rejects_each_bad_frame_with_its_own_code)
{
    chat_msg_t *msg = NULL;
    const char *nonce = "unset";
    apr_status_t rv = chat_msg_decode(&msg, &nonce, bad_frames[_i].frame,
                                      strlen(bad_frames[_i].frame), POOL);

    ck_assert_msg(rv == bad_frames[_i].want, "row %d (%s): got %s, want %s", _i,
                  bad_frames[_i].frame, chat_err_code(rv), chat_err_code(bad_frames[_i].want));
    ck_assert_ptr_null(msg);
}
END_TEST

START_TEST(decode_takes_type_content_and_nonce_and_ignores_server_fields)
{
    const char *frame = "{\"type\":\"chat\",\"content\":\"hello \xc3\xa9\\n\\u263a\","
                        "\"nonce\":\"n-1\",\"userId\":\"mallory\",\"username\":\"System\","
                        "\"messageId\":\"x\",\"roomId\":\"../etc\",\"timestamp\":\"bogus\"}";
    chat_msg_t *msg = NULL;
    const char *nonce = NULL;

    ck_assert_int_eq(chat_msg_decode(&msg, &nonce, frame, strlen(frame), POOL), APR_SUCCESS);
    ck_assert_int_eq(msg->type, CHAT_MSG_CHAT);
    ck_assert_str_eq(msg->content, "hello \xc3\xa9\n\xe2\x98\xba");
    ck_assert_str_eq(msg->nonce, "n-1");
    ck_assert_str_eq(nonce, "n-1");
    ck_assert_ptr_null(msg->user_id);
    ck_assert_ptr_null(msg->username);
    ck_assert_ptr_null(msg->message_id);
    ck_assert_ptr_null(msg->room_id);
    ck_assert_int_eq(msg->timestamp, 0);
}
END_TEST

START_TEST(decode_hands_back_the_nonce_of_a_frame_it_rejects)
{
    const char *frame = "{\"type\":\"chat\",\"content\":\"\",\"nonce\":\"abc\"}";
    chat_msg_t *msg = NULL;
    const char *nonce = NULL;

    ck_assert_int_eq(chat_msg_decode(&msg, &nonce, frame, strlen(frame), POOL),
                     CHAT_EEMPTY_CONTENT);
    ck_assert_str_eq(nonce, "abc");
    ck_assert_ptr_null(msg);
}
END_TEST

START_TEST(decode_counts_characters_not_bytes)
{
    /* 1000 two-byte characters pass; 1001 do not. */
    char frame[CHAT_MSG_MAX_FRAME];
    char *p = frame + sprintf(frame, "{\"type\":\"chat\",\"content\":\"");
    chat_msg_t *msg = NULL;

    for (int i = 0; i < CHAT_MSG_MAX_CONTENT; i++) {
        memcpy(p, "\xc3\xa9", 2);
        p += 2;
    }
    strcpy(p, "\"}");
    ck_assert_int_eq(chat_msg_decode(&msg, NULL, frame, strlen(frame), POOL), APR_SUCCESS);
    memcpy(p, "x\"}", 4);
    msg = NULL;
    ck_assert_int_eq(chat_msg_decode(&msg, NULL, frame, strlen(frame), POOL),
                     CHAT_ECONTENT_TOO_LONG);
    ck_assert_ptr_null(msg);
}
END_TEST

START_TEST(decode_refuses_a_frame_over_the_size_limit_before_parsing)
{
    apr_size_t len = CHAT_MSG_MAX_FRAME + 1;
    char *frame = apr_palloc(POOL, len);
    chat_msg_t *msg = NULL;

    memset(frame, ' ', len);
    ck_assert_int_eq(chat_msg_decode(&msg, NULL, frame, len, POOL), CHAT_EFRAME_TOO_BIG);
}
END_TEST

static chat_msg_t sample(void)
{
    chat_msg_t m = { 0 };

    m.message_id = "01890a5d-ac96-774b-bcce-b302099a8057";
    m.room_id = "general";
    m.type = CHAT_MSG_CHAT;
    m.user_id = "u-42";
    m.username = "Alice";
    m.content = "say \"hi\" \\ <b>\n\t\x01\xe2\x80\xa8 \xc3\xa9";
    m.timestamp = APR_INT64_C(1796008873123456);   /* 2026-11-30T03:21:13.123456Z */
    m.seq = 7;
    return m;
}

START_TEST(encode_writes_fields_in_wire_order_with_escaping)
{
    chat_msg_t m = sample();
    char buf[CHAT_MSG_MAX_ENCODED];
    apr_size_t len = 0;

    ck_assert_int_eq(chat_msg_encode(&m, buf, sizeof(buf), &len), APR_SUCCESS);
    ck_assert_str_eq(buf,
                     "{\"messageId\":\"01890a5d-ac96-774b-bcce-b302099a8057\","
                     "\"roomId\":\"general\",\"type\":\"chat\",\"userId\":\"u-42\","
                     "\"username\":\"Alice\","
                     "\"content\":\"say \\\"hi\\\" \\\\ <b>\\n\\t\\u0001\\u2028 \xc3\xa9\","
                     "\"timestamp\":\"2026-11-30T03:21:13.123Z\",\"seq\":7}");
    ck_assert_uint_eq(len, strlen(buf));
}
END_TEST

START_TEST(encode_leaves_out_seq_when_it_is_zero)
{
    chat_msg_t m = sample();
    char buf[CHAT_MSG_MAX_ENCODED];
    apr_size_t len;

    m.seq = 0;
    ck_assert_int_eq(chat_msg_encode(&m, buf, sizeof(buf), &len), APR_SUCCESS);
    ck_assert_ptr_null(strstr(buf, "seq"));
    ck_assert_str_eq(buf + len - 39, "\"timestamp\":\"2026-11-30T03:21:13.123Z\"}");
}
END_TEST

START_TEST(encode_reports_enospc_for_every_short_buffer)
{
    chat_msg_t m = sample();
    char full[CHAT_MSG_MAX_ENCODED];
    char small[CHAT_MSG_MAX_ENCODED];
    apr_size_t len, need;

    ck_assert_int_eq(chat_msg_encode(&m, full, sizeof(full), &need), APR_SUCCESS);
    for (apr_size_t cap = 0; cap <= need; cap++) {
        ck_assert_int_eq(chat_msg_encode(&m, small, cap, &len), APR_ENOSPC);
    }
    ck_assert_int_eq(chat_msg_encode(&m, small, need + 1, &len), APR_SUCCESS);
    ck_assert_str_eq(small, full);
}
END_TEST

START_TEST(encoded_output_parses_as_json_and_round_trips_through_decode_full)
{
    chat_msg_t m = sample();
    chat_msg_t *back = NULL;
    char *json;
    json_object *obj;

    m.content = "say \"hi\" \\ <b>\n\t\xe2\x80\xa8 \xc3\xa9 \xf0\x9f\x98\x80";
    json = chat_msg_encode_pool(&m, POOL);
    obj = json_tokener_parse(json);
    ck_assert_ptr_nonnull(obj);
    json_object_put(obj);
    ck_assert_int_eq(chat_msg_decode_full(&back, json, strlen(json), POOL), APR_SUCCESS);
    ck_assert_str_eq(back->message_id, m.message_id);
    ck_assert_str_eq(back->room_id, m.room_id);
    ck_assert_int_eq(back->type, m.type);
    ck_assert_str_eq(back->user_id, m.user_id);
    ck_assert_str_eq(back->username, m.username);
    ck_assert_str_eq(back->content, m.content);
    ck_assert_int_eq(back->timestamp, m.timestamp / 1000 * 1000);
    ck_assert_int_eq(back->seq, 7);
}
END_TEST

START_TEST(decode_full_accepts_a_system_message_from_system)
{
    const char *line = "{\"messageId\":\"01890a5d-ac96-774b-bcce-b302099a8057\","
                       "\"roomId\":\"r\",\"type\":\"system\",\"userId\":\"\","
                       "\"username\":\"System\",\"content\":\"welcome\","
                       "\"timestamp\":\"2026-11-30T03:21:13.123Z\"}";
    chat_msg_t *m = NULL;

    ck_assert_int_eq(chat_msg_decode_full(&m, line, strlen(line), POOL), APR_SUCCESS);
    ck_assert_int_eq(m->type, CHAT_MSG_SYSTEM);
    ck_assert_int_eq(m->seq, 0);
}
END_TEST

#define FULL_OK_HEAD "{\"messageId\":\"01890a5d-ac96-774b-bcce-b302099a8057\",\"roomId\":\"r\","
static const struct {
    const char *line;
    apr_status_t want;
} bad_full[] = {
    { "{}", CHAT_EBAD_FIELD },
    { "nope", CHAT_EBAD_JSON },
    { "{\"messageId\":\"nope\",\"roomId\":\"r\",\"type\":\"chat\",\"userId\":\"u\","
      "\"username\":\"a\",\"content\":\"c\",\"timestamp\":\"2026-11-30T03:21:13.123Z\"}",
      CHAT_EBAD_MESSAGE_ID },
    { FULL_OK_HEAD "\"type\":\"chat\",\"userId\":\"u\",\"username\":\"a\",\"content\":\"c\","
      "\"timestamp\":\"yesterday\"}", CHAT_EBAD_FIELD },
    { FULL_OK_HEAD "\"type\":\"shout\",\"userId\":\"u\",\"username\":\"a\",\"content\":\"c\","
      "\"timestamp\":\"2026-11-30T03:21:13.123Z\"}", CHAT_EBAD_TYPE },
    { FULL_OK_HEAD "\"type\":\"chat\",\"userId\":\"u\",\"username\":\"a\",\"content\":\"c\","
      "\"timestamp\":\"2026-11-30T03:21:13.123Z\",\"seq\":-1}", CHAT_EBAD_FIELD },
    { FULL_OK_HEAD "\"type\":\"chat\",\"userId\":\"u\",\"username\":\"a\",\"content\":\"c\","
      "\"timestamp\":\"2026-11-30T03:21:13.123Z\",\"seq\":\"1\"}", CHAT_EBAD_FIELD },
    { FULL_OK_HEAD "\"type\":\"chat\",\"userId\":\"a|b\",\"username\":\"a\",\"content\":\"c\","
      "\"timestamp\":\"2026-11-30T03:21:13.123Z\"}", CHAT_EBAD_USERID },
    { FULL_OK_HEAD "\"type\":\"chat\",\"userId\":\"u\",\"username\":\"system\",\"content\":\"c\","
      "\"timestamp\":\"2026-11-30T03:21:13.123Z\"}", CHAT_ERESERVED_NAME },
    { FULL_OK_HEAD "\"type\":\"chat\",\"userId\":\"u\",\"username\":\"a\",\"content\":\"\","
      "\"timestamp\":\"2026-11-30T03:21:13.123Z\"}", CHAT_EEMPTY_CONTENT },
    { "{\"messageId\":\"01890a5d-ac96-774b-bcce-b302099a8057\",\"roomId\":\"a b\","
      "\"type\":\"chat\",\"userId\":\"u\",\"username\":\"a\",\"content\":\"c\","
      "\"timestamp\":\"2026-11-30T03:21:13.123Z\"}", CHAT_EBAD_ROOM },
};

START_TEST(decode_full_rejects_each_bad_line_with_its_own_code)
{
    chat_msg_t *m = NULL;
    apr_status_t rv = chat_msg_decode_full(&m, bad_full[_i].line, strlen(bad_full[_i].line),
                                           POOL);

    ck_assert_msg(rv == bad_full[_i].want, "row %d: got %s, want %s", _i, chat_err_code(rv),
                  chat_err_code(bad_full[_i].want));
    ck_assert_ptr_null(m);
}
END_TEST

static const struct {
    const char *name;
    apr_status_t want;
} usernames[] = {
    { "alice", APR_SUCCESS },
    { "Zoë the 🦊", APR_SUCCESS },
    { "", CHAT_EEMPTY_USERNAME },
    { "   ", CHAT_EEMPTY_USERNAME },
    { "System", CHAT_ERESERVED_NAME },
    { "SYSTEM", CHAT_ERESERVED_NAME },
    { "sYsTeM", CHAT_ERESERVED_NAME },
    { "Systems", APR_SUCCESS },
    { "tab\tname", CHAT_ECONTROL_CHAR },
    { "csi\xc2\x9bname", CHAT_ECONTROL_CHAR },
    { "bad\xc3", CHAT_EBAD_UTF8 },
    { "01234567890123456789012345678901234567890123456789", APR_SUCCESS },
    { "01234567890123456789012345678901234567890123456789x", CHAT_EUSERNAME_TOO_LONG },
    { "éééééééééééééééééééééééééééééééééééééééééééééééééé", APR_SUCCESS },
    { "éééééééééééééééééééééééééééééééééééééééééééééééééé!", CHAT_EUSERNAME_TOO_LONG },
};

START_TEST(validate_username_gives_each_name_its_code)
{
    apr_status_t rv = chat_msg_validate_username(usernames[_i].name);

    ck_assert_msg(rv == usernames[_i].want, "row %d (%s): got %s", _i, usernames[_i].name,
                  chat_err_code(rv));
}
END_TEST

START_TEST(validate_username_refuses_null)
{
    ck_assert_int_eq(chat_msg_validate_username(NULL), CHAT_EEMPTY_USERNAME);
}
END_TEST

START_TEST(validate_room_and_userid_accept_good_and_refuse_bad)
{
    char long_room[CHAT_MSG_MAX_ROOM + 2];
    char long_user[CHAT_MSG_MAX_USERID + 2];

    memset(long_room, 'r', sizeof(long_room) - 1);
    long_room[sizeof(long_room) - 1] = '\0';
    memset(long_user, 'u', sizeof(long_user) - 1);
    long_user[sizeof(long_user) - 1] = '\0';
    ck_assert_int_eq(chat_msg_validate_room("general"), APR_SUCCESS);
    ck_assert_int_eq(chat_msg_validate_room("team.a:b_c-1"), APR_SUCCESS);
    ck_assert_int_eq(chat_msg_validate_room(""), CHAT_EBAD_ROOM);
    ck_assert_int_eq(chat_msg_validate_room(NULL), CHAT_EBAD_ROOM);
    ck_assert_int_eq(chat_msg_validate_room("a/b"), CHAT_EBAD_ROOM);
    ck_assert_int_eq(chat_msg_validate_room("a b"), CHAT_EBAD_ROOM);
    ck_assert_int_eq(chat_msg_validate_room("caf\xc3\xa9"), CHAT_EBAD_ROOM);
    ck_assert_int_eq(chat_msg_validate_room(long_room), CHAT_EBAD_ROOM);
    long_room[CHAT_MSG_MAX_ROOM] = '\0';
    ck_assert_int_eq(chat_msg_validate_room(long_room), APR_SUCCESS);

    ck_assert_int_eq(chat_msg_validate_userid("alice"), APR_SUCCESS);
    ck_assert_int_eq(chat_msg_validate_userid("Zo\xc3\xab 1"), APR_SUCCESS);
    ck_assert_int_eq(chat_msg_validate_userid(""), CHAT_EBAD_USERID);
    ck_assert_int_eq(chat_msg_validate_userid("a|b"), CHAT_EBAD_USERID);
    ck_assert_int_eq(chat_msg_validate_userid("a/b"), CHAT_EBAD_USERID);
    ck_assert_int_eq(chat_msg_validate_userid("a\nb"), CHAT_EBAD_USERID);
    ck_assert_int_eq(chat_msg_validate_userid("\xc3"), CHAT_EBAD_USERID);
    ck_assert_int_eq(chat_msg_validate_userid(long_user), CHAT_EBAD_USERID);
}
END_TEST

static const struct {
    const char *bytes;
    apr_size_t len;
    apr_status_t want;
    apr_size_t chars;
} utf8_rows[] = {
    { "", 0, APR_SUCCESS, 0 },
    { "abc", 3, APR_SUCCESS, 3 },
    { "\xc3\xa9", 2, APR_SUCCESS, 1 },
    { "\xe2\x82\xac", 3, APR_SUCCESS, 1 },
    { "\xf0\x9f\x98\x80", 4, APR_SUCCESS, 1 },
    { "\xf4\x8f\xbf\xbf", 4, APR_SUCCESS, 1 },        /* U+10FFFF */
    { "\xee\x80\x80", 3, APR_SUCCESS, 1 },            /* U+E000, just past the surrogates */
    { "\xc0\x80", 2, CHAT_EBAD_UTF8, 0 },             /* overlong NUL */
    { "\xc1\xbf", 2, CHAT_EBAD_UTF8, 0 },             /* overlong */
    { "\xe0\x80\xaf", 3, CHAT_EBAD_UTF8, 0 },         /* overlong '/' */
    { "\xf0\x80\x80\xaf", 4, CHAT_EBAD_UTF8, 0 },     /* overlong '/' */
    { "\xed\xa0\x80", 3, CHAT_EBAD_UTF8, 0 },         /* U+D800 */
    { "\xed\xbf\xbf", 3, CHAT_EBAD_UTF8, 0 },         /* U+DFFF */
    { "\xf4\x90\x80\x80", 4, CHAT_EBAD_UTF8, 0 },     /* U+110000 */
    { "\xf5\x80\x80\x80", 4, CHAT_EBAD_UTF8, 0 },
    { "\xe2\x82", 2, CHAT_EBAD_UTF8, 0 },             /* truncated */
    { "\xf0\x9f\x98", 3, CHAT_EBAD_UTF8, 0 },         /* truncated */
    { "\x80", 1, CHAT_EBAD_UTF8, 0 },                 /* stray continuation */
    { "a\xc3(", 3, CHAT_EBAD_UTF8, 0 },               /* bad continuation */
    { "\xfe", 1, CHAT_EBAD_UTF8, 0 },
};

START_TEST(utf8_length_counts_good_text_and_rejects_each_bad_sequence)
{
    apr_size_t chars = 99;
    apr_status_t rv = chat_msg_utf8_length(utf8_rows[_i].bytes, utf8_rows[_i].len, &chars);

    ck_assert_msg(rv == utf8_rows[_i].want, "row %d: got %s", _i, chat_err_code(rv));
    if (rv == APR_SUCCESS) {
        ck_assert_uint_eq(chars, utf8_rows[_i].chars);
    }
}
END_TEST

START_TEST(json_escape_stops_before_a_character_that_does_not_fit)
{
    char out[16];
    apr_size_t used;
    apr_size_t n;

    n = chat_msg_json_escape(out, 4, "ab\"c", 4, &used);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(used, 3);
    ck_assert_int_eq(memcmp(out, "ab\\\"", 4), 0);
    n = chat_msg_json_escape(out, 3, "ab\"c", 4, &used);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(used, 2);
    n = chat_msg_json_escape(out, 3, "\xe2\x82\xac!", 4, &used);   /* whole euro sign */
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(used, 3);
    n = chat_msg_json_escape(out, sizeof(out), "\xff", 1, &used);
    ck_assert_uint_eq(n, 6);
    ck_assert_int_eq(memcmp(out, "\\ufffd", 6), 0);
}
END_TEST

static const struct {
    const char *text;
    apr_time_t want;   /* -1: rejected */
} times[] = {
    { "2026-11-30T03:21:13.123Z", APR_INT64_C(1796008873123000) },
    { "2026-11-30T03:21:13Z", APR_INT64_C(1796008873000000) },
    { "2026-11-30t03:21:13.123456789z", APR_INT64_C(1796008873123456) },
    { "2026-11-30T04:21:13.5+01:00", APR_INT64_C(1796008873500000) },
    { "2026-11-29T22:21:13-05:00", APR_INT64_C(1796008873000000) },
    { "1970-01-01T00:00:00.000Z", 0 },
    { "2024-02-29T00:00:00Z", APR_INT64_C(1709164800000000) },
    { "2023-02-29T00:00:00Z", -1 },
    { "2026-13-01T00:00:00Z", -1 },
    { "2026-11-30T24:00:00Z", -1 },
    { "2026-11-30T03:21:13", -1 },
    { "2026-11-30T03:21:13.Z", -1 },
    { "2026-11-30T03:21:13.1234567890Z", -1 },
    { "2026-11-30 03:21:13Z", -1 },
    { "2026-11-30T03:21:13Zjunk", -1 },
    { "", -1 },
};

START_TEST(time_parse_reads_rfc3339_and_rejects_bad_times)
{
    apr_time_t t = 12345;
    apr_status_t rv = chat_msg_time_parse(times[_i].text, &t);

    if (times[_i].want < 0) {
        ck_assert_msg(rv == CHAT_EBAD_FIELD, "row %d accepted", _i);
        ck_assert_int_eq(t, 12345);
    }
    else {
        ck_assert_msg(rv == APR_SUCCESS, "row %d rejected", _i);
        ck_assert_int_eq(t, times[_i].want);
    }
}
END_TEST

START_TEST(time_format_writes_milliseconds_in_utc)
{
    char buf[CHAT_MSG_TIME_LEN + 1];

    chat_msg_time_format(APR_INT64_C(1796008873123999), buf);
    ck_assert_str_eq(buf, "2026-11-30T03:21:13.123Z");
    chat_msg_time_format(0, buf);
    ck_assert_str_eq(buf, "1970-01-01T00:00:00.000Z");
    chat_msg_time_format(APR_INT64_C(1709251199999000), buf);
    ck_assert_str_eq(buf, "2024-02-29T23:59:59.999Z");
}
END_TEST

START_TEST(type_names_round_trip)
{
    chat_msg_type_e t;

    for (int i = CHAT_MSG_CHAT; i <= CHAT_MSG_LEAVE; i++) {
        ck_assert_int_eq(chat_msg_type_parse(chat_msg_type_name((chat_msg_type_e)i), &t),
                         APR_SUCCESS);
        ck_assert_int_eq(t, i);
    }
    ck_assert_int_eq(chat_msg_type_parse("whisper", &t), CHAT_EBAD_TYPE);
    ck_assert_int_eq(chat_msg_type_parse(NULL, &t), CHAT_EBAD_TYPE);
}
END_TEST

/* A fixed xorshift stream, so a failure reproduces. */
static apr_uint64_t next_rand(apr_uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

START_TEST(mutated_frames_decode_or_fail_with_one_of_our_codes)
{
    const char *seed = "{\"type\":\"chat\",\"content\":\"h\xc3\xa9llo \\u263a\\n\",\"nonce\":\"n1\"}";
    apr_size_t len = strlen(seed);
    apr_uint64_t r = 0x9E3779B97F4A7C15u;
    char frame[128];

    for (int i = 0; i < 20000; i++) {
        chat_msg_t *msg = NULL;
        apr_status_t rv;
        int flips = 1 + (int)(next_rand(&r) % 3);

        memcpy(frame, seed, len);
        for (int f = 0; f < flips; f++) {
            frame[next_rand(&r) % len] = (char)(next_rand(&r) & 0xFF);
        }
        rv = chat_msg_decode(&msg, NULL, frame, len, POOL);
        ck_assert_msg(rv == APR_SUCCESS || chat_err_is_ours(rv), "mutation %d: %d", i, rv);
        if (rv == APR_SUCCESS) {
            ck_assert_int_eq(chat_msg_validate_content(msg->content, strlen(msg->content)),
                             APR_SUCCESS);
        }
    }
}
END_TEST

START_TEST(any_valid_content_encodes_to_json_that_parses_back_to_the_same_text)
{
    static const char *const pieces[] = {
        "a", " ", "\"", "\\", "\n", "\t", "/", "<", "\xc3\xa9", "\xe2\x80\xa8", "\xe2\x80\xa9",
        "\xf0\x9f\x98\x80", "\xef\xbf\xbf", "\xc2\xa0", "}", "'",
    };
    apr_uint64_t r = 12345;
    char content[256];
    char buf[CHAT_MSG_MAX_ENCODED];
    chat_msg_t m = sample();

    for (int i = 0; i < 2000; i++) {
        apr_size_t n = 0;
        int count = 1 + (int)(next_rand(&r) % 40);
        apr_size_t len;
        chat_msg_t *back = NULL;

        content[n++] = 'x';   /* never blank */
        for (int k = 0; k < count; k++) {
            const char *piece = pieces[next_rand(&r) % (sizeof(pieces) / sizeof(pieces[0]))];

            memcpy(content + n, piece, strlen(piece));
            n += strlen(piece);
        }
        content[n] = '\0';
        m.content = content;
        ck_assert_int_eq(chat_msg_encode(&m, buf, sizeof(buf), &len), APR_SUCCESS);
        ck_assert_int_eq(chat_msg_decode_full(&back, buf, len, POOL), APR_SUCCESS);
        ck_assert_str_eq(back->content, content);
    }
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

TCase *tcase_chat_msg(void);

TCase *tcase_chat_msg(void)
{
    TCase *tc = chat_tcase_create("chat_msg");

    tcase_add_loop_test(tc, decode_rejects_each_bad_frame_with_its_own_code, 0, N(bad_frames));
    tcase_add_test(tc, decode_takes_type_content_and_nonce_and_ignores_server_fields);
    tcase_add_test(tc, decode_hands_back_the_nonce_of_a_frame_it_rejects);
    tcase_add_test(tc, decode_counts_characters_not_bytes);
    tcase_add_test(tc, decode_refuses_a_frame_over_the_size_limit_before_parsing);
    tcase_add_test(tc, encode_writes_fields_in_wire_order_with_escaping);
    tcase_add_test(tc, encode_leaves_out_seq_when_it_is_zero);
    tcase_add_test(tc, encode_reports_enospc_for_every_short_buffer);
    tcase_add_test(tc, encoded_output_parses_as_json_and_round_trips_through_decode_full);
    tcase_add_test(tc, decode_full_accepts_a_system_message_from_system);
    tcase_add_loop_test(tc, decode_full_rejects_each_bad_line_with_its_own_code, 0,
                        N(bad_full));
    tcase_add_loop_test(tc, validate_username_gives_each_name_its_code, 0, N(usernames));
    tcase_add_test(tc, validate_username_refuses_null);
    tcase_add_test(tc, validate_room_and_userid_accept_good_and_refuse_bad);
    tcase_add_loop_test(tc, utf8_length_counts_good_text_and_rejects_each_bad_sequence, 0,
                        N(utf8_rows));
    tcase_add_test(tc, json_escape_stops_before_a_character_that_does_not_fit);
    tcase_add_loop_test(tc, time_parse_reads_rfc3339_and_rejects_bad_times, 0, N(times));
    tcase_add_test(tc, time_format_writes_milliseconds_in_utc);
    tcase_add_test(tc, type_names_round_trip);
    tcase_add_test(tc, mutated_frames_decode_or_fail_with_one_of_our_codes);
    tcase_add_test(tc, any_valid_content_encodes_to_json_that_parses_back_to_the_same_text);
    return tc;
}
