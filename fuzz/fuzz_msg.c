/* fuzz_msg.c: libFuzzer harness for the message codec (common/chat_msg.c).
 *
 * The input is one frame as a client (chat_msg_decode) or the journal and stores
 * (chat_msg_decode_full) would hand it over, then the same bytes as a string for the
 * validators, the UTF-8 decoder, the JSON escaper and the time parser. Beyond "no crash, no
 * leak, no UB", it checks the contracts the relay relies on:
 *   - a decoded client frame has type chat and content that passes chat_msg_validate_content;
 *   - a message that decode_full accepts encodes to JSON that decode_full accepts again, and
 *     encoding is then a fixpoint (what the journal writes, replay reads back unchanged);
 *   - chat_msg_utf8_length agrees with stepping chat_msg_utf8_decode over the same bytes;
 *   - chat_msg_json_escape always yields a JSON string, equal to the input when that is
 *     valid UTF-8. */
#include "fuzz_common.h"

#include <json-c/json.h>
#include <string.h>
#include "chat_msg.h"

static void check_client_frame(const char *buf, size_t len, apr_pool_t *pool)
{
    chat_msg_t *msg = NULL;
    const char *nonce = (const char *)"unset";
    apr_status_t rv = chat_msg_decode(&msg, &nonce, buf, len, pool);

    if (rv != APR_SUCCESS) {
        FUZZ_CHECK(msg == NULL);
        return;
    }
    FUZZ_CHECK(msg != NULL && msg->type == CHAT_MSG_CHAT);
    FUZZ_CHECK(chat_msg_validate_content(msg->content, strlen(msg->content)) == APR_SUCCESS);
    FUZZ_CHECK(nonce == msg->nonce || (nonce != NULL && msg->nonce != NULL
                                       && strcmp(nonce, msg->nonce) == 0));
    FUZZ_CHECK(msg->nonce == NULL || (strlen(msg->nonce) >= 1
                                      && strlen(msg->nonce) <= CHAT_MSG_MAX_NONCE));
}

static void check_full_message(const char *buf, size_t len, apr_pool_t *pool)
{
    chat_msg_t *msg = NULL, *again = NULL;
    static char first[CHAT_MSG_MAX_ENCODED], second[CHAT_MSG_MAX_ENCODED];
    apr_size_t n1 = 0, n2 = 0;

    if (chat_msg_decode_full(&msg, buf, len, pool) != APR_SUCCESS) {
        FUZZ_CHECK(msg == NULL);
        return;
    }
    FUZZ_CHECK(chat_msg_encode(msg, first, sizeof(first), &n1) == APR_SUCCESS);
    FUZZ_CHECK(n1 == strlen(first));
    FUZZ_CHECK(chat_msg_decode_full(&again, first, n1, pool) == APR_SUCCESS);
    FUZZ_CHECK(chat_msg_encode(again, second, sizeof(second), &n2) == APR_SUCCESS);
    FUZZ_CHECK(n1 == n2 && memcmp(first, second, n1) == 0);
    FUZZ_CHECK(strcmp(chat_msg_encode_pool(again, pool), first) == 0);
}

static void check_utf8(const char *s, size_t len)
{
    apr_size_t chars = 0, counted = 0, i = 0;
    apr_status_t rv = chat_msg_utf8_length(s, len, &chars);
    int valid = 1;

    while (i < len) {
        apr_uint32_t cp = 0;
        apr_size_t step = chat_msg_utf8_decode((const unsigned char *)s + i, len - i, &cp);

        if (step == 0) {
            valid = 0;
            break;
        }
        FUZZ_CHECK(step <= 4 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF));
        i += step;
        counted++;
    }
    FUZZ_CHECK(valid ? rv == APR_SUCCESS && chars == counted : rv == CHAT_EBAD_UTF8);
}

static void check_escape(const char *s, size_t len, apr_pool_t *pool)
{
    apr_size_t cap = 6 * len + 3, consumed = 0, n, chars;
    char *out = apr_palloc(pool, cap + 1);
    json_object *obj;

    out[0] = '"';
    n = chat_msg_json_escape(out + 1, cap - 2, s, len, &consumed);
    FUZZ_CHECK(consumed == len && n <= cap - 2);
    out[n + 1] = '"';
    out[n + 2] = '\0';
    obj = json_tokener_parse(out);
    FUZZ_CHECK(obj != NULL && json_object_is_type(obj, json_type_string));
    if (chat_msg_utf8_length(s, len, &chars) == APR_SUCCESS) {
        FUZZ_CHECK((size_t)json_object_get_string_len(obj) == len
                   && memcmp(json_object_get_string(obj), s, len) == 0);
    }
    json_object_put(obj);
}

static void check_time(const char *s, apr_pool_t *pool)
{
    apr_time_t t = 0, back = 0;
    char *buf = apr_palloc(pool, CHAT_MSG_TIME_LEN + 1);

    if (chat_msg_time_parse(s, &t) != APR_SUCCESS) {
        return;
    }
    chat_msg_time_format(t, buf);
    FUZZ_CHECK(strlen(buf) == CHAT_MSG_TIME_LEN);
    FUZZ_CHECK(chat_msg_time_parse(buf, &back) == APR_SUCCESS);
    FUZZ_CHECK(back <= t);   /* milliseconds, clamped to year 9999 */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_pool();
    const char *raw = (const char *)data;   /* not NUL-terminated: the codec must use size */
    char *s = fuzz_strdup(data, size);

    check_client_frame(raw, size, pool);
    check_full_message(raw, size, pool);
    check_utf8(raw, size);
    if (size <= 4 * CHAT_MSG_MAX_CONTENT) {
        check_escape(raw, size, pool);
    }
    /* The string validators read up to the first NUL, as they do for decoded fields. */
    (void)chat_msg_validate_username(s);
    (void)chat_msg_validate_room(s);
    (void)chat_msg_validate_userid(s);
    (void)chat_msg_validate_content(raw, size);
    check_time(s, pool);
    free(s);
    fuzz_pool_done(pool);
    return 0;
}
