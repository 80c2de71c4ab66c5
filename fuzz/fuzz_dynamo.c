/* fuzz_dynamo.c: libFuzzer harness for DynamoDB answers (common/chat_store_dynamo.c).
 *
 * The input is an HTTP response body from the DynamoDB endpoint, which the stores treat as
 * untrusted network input. It goes to chat_store_dynamo_parse_items (a Query page) and
 * chat_store_dynamo_parse_error (an error body) exactly as libFuzzer allocated it.
 * Properties: outputs stay untouched on failure; every row of an accepted page has every
 * field and encodes (chat_msg_encode_pool) to a JSON object, and a LastEvaluatedKey,
 * when present, is itself a JSON object; an accepted error body gives non-NULL strings. */
#include "fuzz_common.h"

#include <apr_tables.h>
#include <json-c/json.h>
#include <string.h>
#include "chat_msg.h"
#include "chat_store_private.h"

static void check_items(const char *body, size_t len, apr_pool_t *pool)
{
    apr_array_header_t *items = NULL;
    char *last_key = (char *)"untouched";
    const char *json;
    json_object *obj;

    if (chat_store_dynamo_parse_items(body, len, &items, &last_key, pool) != APR_SUCCESS) {
        FUZZ_CHECK(items == NULL && strcmp(last_key, "untouched") == 0);
        return;
    }
    FUZZ_CHECK(items != NULL);
    for (int i = 0; i < items->nelts; i++) {
        const chat_msg_t *m = APR_ARRAY_IDX(items, i, const chat_msg_t *);

        FUZZ_CHECK(m != NULL && m->message_id != NULL && m->room_id != NULL);
        FUZZ_CHECK(m->user_id != NULL && m->username != NULL && m->content != NULL);
        FUZZ_CHECK(m->type >= CHAT_MSG_CHAT && m->type <= CHAT_MSG_LEAVE);
        json = chat_msg_encode_pool(m, pool);   /* rows are not length-checked: any size */
        obj = json_tokener_parse(json);
        FUZZ_CHECK(obj != NULL && json_object_is_type(obj, json_type_object));
        json_object_put(obj);
    }
    if (last_key != NULL) {
        json_object *key = json_tokener_parse(last_key);

        FUZZ_CHECK(key != NULL && json_object_is_type(key, json_type_object));
        json_object_put(key);
    }
}

static void check_error(const char *body, size_t len, apr_pool_t *pool)
{
    const char *type = "untouched", *message = "untouched";

    if (chat_store_dynamo_parse_error(body, len, &type, &message, pool) != APR_SUCCESS) {
        FUZZ_CHECK(strcmp(type, "untouched") == 0 && strcmp(message, "untouched") == 0);
        return;
    }
    FUZZ_CHECK(type != NULL && message != NULL && strchr(type, '#') == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_pool();

    check_items((const char *)data, size, pool);
    check_error((const char *)data, size, pool);
    fuzz_pool_done(pool);
    return 0;
}
