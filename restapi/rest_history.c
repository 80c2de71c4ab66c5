/* rest_history.c: room and user history pages (see rest_history.h).
 *
 * Ids are validated before they reach the store, so nothing that looks like SQL or a DynamoDB
 * expression gets further than a 400 (the stores bind parameters anyway).
 *
 * Thread: any REST thread, on its own request. */
#include "rest_history.h"

#include <apr_lib.h>
#include "chat_id.h"

apr_status_t rest_history_parse_limit(const char *s, int *out)
{
    long v = 0;
    const char *p;

    if (s == NULL) {
        *out = REST_HISTORY_DEFAULT_LIMIT;
        return APR_SUCCESS;
    }
    if (*s == '\0') {
        return CHAT_EBAD_REQUEST;
    }
    for (p = s; *p != '\0'; p++) {
        if (!apr_isdigit(*p)) {
            return CHAT_EBAD_REQUEST;
        }
        if (v <= REST_HISTORY_MAX_LIMIT) {     /* stop growing: larger is clamped anyway */
            v = v * 10 + (*p - '0');
        }
    }
    if (v < 1) {
        return CHAT_EBAD_REQUEST;
    }
    *out = v > REST_HISTORY_MAX_LIMIT ? REST_HISTORY_MAX_LIMIT : (int)v;
    return APR_SUCCESS;
}

/* Reads limit and before; on a bad value answers 400 and returns 0. */
static int take_params(rest_req_t *r, int *limit, const char **before)
{
    if (rest_history_parse_limit(apr_table_get(r->query, "limit"), limit) != APR_SUCCESS) {
        rest_reply_error(r, 400, "limit must be a whole number of at least 1");
        return 0;
    }
    *before = apr_table_get(r->query, "before");
    if (*before != NULL && !chat_id_is_valid(*before)) {
        rest_reply_error(r, 400, "before must be a message id");
        return 0;
    }
    return 1;
}

static void reply_store_error(rest_req_t *r, apr_status_t rv)
{
    char buf[128];

    if (rv == CHAT_EBAD_MESSAGE_ID) {
        /* a well-formed id the backend cannot page from (DynamoDB needs a UUIDv7) */
        rest_reply_error(r, 400, "before must be a message id of this store");
        return;
    }
    if (rv == CHAT_ESTORE_DISABLED) {
        rest_reply_error(r, 503, "storage is disabled");
        return;
    }
    CHAT_LOG(r->ctx->log, CHAT_LOG_WARN, "history query failed",
             "err", chat_err_str(rv, buf, sizeof(buf)));
    rest_reply_error(r, 503, "storage is unavailable");
}

static void reply_page(rest_req_t *r, const char *key, const char *id,
                       const apr_array_header_t *msgs, int has_more)
{
    rest_buf_t *b = &r->body;
    int i;

    rest_reply_start(r, 200, REST_JSON);
    rest_buf_printf(b, "{\"%s\":", key);
    rest_buf_json_str(b, id);
    rest_buf_printf(b, ",\"count\":%d,\"messages\":[", msgs->nelts);
    for (i = 0; i < msgs->nelts; i++) {
        const chat_msg_t *m = APR_ARRAY_IDX(msgs, i, const chat_msg_t *);

        if (i) {
            rest_buf_puts(b, ",");
        }
        rest_buf_puts(b, chat_msg_encode_pool(m, r->pool));
    }
    rest_buf_printf(b, "],\"hasMore\":%s,\"nextBefore\":", has_more ? "true" : "false");
    if (has_more && msgs->nelts > 0) {
        rest_buf_json_str(b, APR_ARRAY_IDX(msgs, 0, const chat_msg_t *)->message_id);
    }
    else {
        rest_buf_puts(b, "null");
    }
    rest_buf_puts(b, "}\n");
}

/* What differs between the two history resources. */
typedef struct history_kind_t {
    const char *key;                          /* "roomId" or "userId" */
    apr_status_t (*validate)(const char *id);
    const char *invalid;                      /* the 400 message for a bad id */
    apr_status_t (*query)(chat_store_t *s, const char *id, const char *before, int limit,
                          apr_array_header_t **out, int *has_more, apr_pool_t *pool);
} history_kind_t;

static const history_kind_t room_history = {
    "roomId", chat_msg_validate_room,
    "invalid room id: 1-64 characters of letters, digits, '-', '_', '.', ':'",
    chat_store_room_recent
};

static const history_kind_t user_history = {
    "userId", chat_msg_validate_userid,
    "invalid user id: 1-128 printable characters without '|' or '/'",
    chat_store_user_recent
};

static void serve_history(rest_req_t *r, const history_kind_t *kind, const char *id)
{
    apr_array_header_t *msgs = NULL;
    const char *before = NULL;
    int limit = 0, has_more = 0;
    apr_status_t rv;

    if (kind->validate(id) != APR_SUCCESS) {
        rest_reply_error(r, 400, kind->invalid);
        return;
    }
    if (!take_params(r, &limit, &before)) {
        return;
    }
    if (r->store == NULL) {
        reply_store_error(r, CHAT_ESTORE_UNAVAILABLE);
        return;
    }
    rv = kind->query(r->store, id, before, limit, &msgs, &has_more, r->pool);
    if (rv != APR_SUCCESS) {
        reply_store_error(r, rv);
        return;
    }
    reply_page(r, kind->key, id, msgs, has_more);
}

void rest_history_room(rest_req_t *r, const char *room)
{
    serve_history(r, &room_history, room);
}

void rest_history_user(rest_req_t *r, const char *user_id)
{
    serve_history(r, &user_history, user_id);
}
