/* chat_store_dynamo.c: the DynamoDB backend, over libcurl (CURLOPT_AWS_SIGV4) and json-c.
 *
 * Owns one CURL easy handle per chat_store_t, reused for every request so the connection stays
 * alive. Every call is one or more POSTs of a JSON body to the endpoint with X-Amz-Target
 * DynamoDB_20120810.<Op>; nothing from a message is ever spliced into an expression: keys and
 * cursors travel as ExpressionAttributeValues or ExclusiveStartKey.
 *
 * Table (the Go system's, so old data stays readable): partition key RoomID (S), sort key
 * MessageID (S); attributes Type, UserID, Username, Content, Timestamp (S, RFC 3339 ms), Seq (N);
 * GSIs UserID-Timestamp-index and RoomID-Timestamp-index. docs/STORAGE.md has the details.
 *
 *  - save: BatchWriteItem in chunks of at most 25 distinct messageIds (DynamoDB rejects a batch
 *    naming one key twice). PutRequest of the same key overwrites with the same value, so writes
 *    are idempotent. UnprocessedItems, throttling, 5xx and connection errors are retried with
 *    exponential backoff and full jitter until the caller's deadline.
 *  - room_recent: Query RoomID = :r [AND MessageID < :before], newest first, Limit limit+1.
 *  - user_recent: Query on UserID-Timestamp-index, newest first. The cursor's time is the
 *    millisecond in its UUIDv7 (the row's RoomID, needed for a GetItem, is unknown), so the query
 *    asks for Timestamp <= that millisecond and drops rows not older than (ms, before); rows of
 *    one millisecond come back in no defined order, so a page is cut only at a millisecond
 *    boundary and then ordered by (Timestamp, MessageID).
 *  - room_after: Query RoomID = :r oldest first, FilterExpression Seq > :s, paging until limit
 *    rows matched (Seq is not a key, so the room is read from its start; fine for resume).
 *  - room_max_seq: the newest rows of the room until one carries a Seq.
 *
 * Every request's timeout is DY_TIMEOUT_MS or less: a write's follows its caller's deadline, and
 * every call follows the handle's deadline (chat_store_deadline_set), which the progress
 * callback also checks during a transfer, so a request to an endpoint that accepts and never
 * answers still ends when the relay's shutdown says so.
 *
 * Thread: a handle belongs to the thread that opened it (only its deadline may be set from
 * another); it sleeps (backoff) and blocks on the network, so only workers and REST threads
 * use it. Nothing here logs. */
#include "chat_store_private.h"

#include <apr_general.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "chat_id.h"

#define DY_CHUNK             25            /* BatchWriteItem's limit */
#define DY_MAX_BODY          (16 << 20)    /* bytes of one response we accept */
#define DY_MAX_DEPTH         16            /* JSON nesting of a response */
#define DY_CONNECT_MS        2000
#define DY_TIMEOUT_MS        10000
#define DY_BACKOFF_BASE      apr_time_from_msec(25)
#define DY_BACKOFF_MAX       apr_time_from_sec(2)
#define DY_MAX_PAGES         1000          /* Query pages one call follows at most */
#define DY_AFTER_PAGE        100           /* room_after's newest-first page size */
#define DY_TARGET_PREFIX     "DynamoDB_20120810."
#define DY_USER_INDEX        "UserID-Timestamp-index"
#define DY_ROOM_INDEX        "RoomID-Timestamp-index"

typedef struct dy_t {
    CURL *curl;
    const char *url;
    const char *table;
    const char *token_header;     /* "X-Amz-Security-Token: ..." or NULL */
    apr_uint64_t rng;             /* xorshift64 state for backoff jitter */
    int retryable;                /* the last failed call may succeed when repeated */
    long timeout_ms;              /* of the next request only; then DY_TIMEOUT_MS again */
    char curl_err[CURL_ERROR_SIZE];
} dy_t;

typedef struct dy_body_t {
    char *buf;                    /* malloc'd, NUL-terminated */
    size_t len;
    size_t cap;
} dy_body_t;

/* ---------------------------------------------------------------- JSON helpers */

static apr_status_t parse_json(const char *buf, apr_size_t len, json_object **out)
{
    json_tokener *tok = NULL;
    json_object *root = NULL;
    apr_size_t end;
    apr_status_t rv = CHAT_EBAD_JSON;

    if (buf == NULL || len == 0 || len > DY_MAX_BODY) {
        return CHAT_EBAD_JSON;
    }
    tok = json_tokener_new_ex(DY_MAX_DEPTH);
    if (tok == NULL) {
        return APR_ENOMEM;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, buf, (int)len);
    end = json_tokener_get_parse_end(tok);
    while (root != NULL && end < len && (buf[end] == ' ' || buf[end] == '\n'
                                         || buf[end] == '\r' || buf[end] == '\t')) {
        end++;
    }
    if (root != NULL && end == len && json_object_is_type(root, json_type_object)) {
        *out = root;
        root = NULL;
        rv = APR_SUCCESS;
    }
    json_object_put(root);
    json_tokener_free(tok);
    return rv;
}

/* {"S": v} */
static json_object *attr_s(const char *v)
{
    json_object *a = json_object_new_object();

    json_object_object_add(a, "S", json_object_new_string(v));
    return a;
}

/* {"N": "v"} */
static json_object *attr_n(apr_int64_t v)
{
    char buf[32];
    json_object *a = json_object_new_object();

    apr_snprintf(buf, sizeof(buf), "%" APR_INT64_T_FMT, v);
    json_object_object_add(a, "N", json_object_new_string(buf));
    return a;
}

static json_object *item_new(const chat_msg_t *m)
{
    char ts[CHAT_MSG_TIME_LEN + 1];
    json_object *item = json_object_new_object();

    chat_msg_time_format(m->timestamp, ts);
    json_object_object_add(item, "MessageID", attr_s(m->message_id));
    json_object_object_add(item, "RoomID", attr_s(m->room_id));
    json_object_object_add(item, "Type", attr_s(chat_msg_type_name(m->type)));
    json_object_object_add(item, "UserID", attr_s(m->user_id));
    json_object_object_add(item, "Username", attr_s(m->username != NULL ? m->username : ""));
    json_object_object_add(item, "Content", attr_s(m->content != NULL ? m->content : ""));
    json_object_object_add(item, "Timestamp", attr_s(ts));
    json_object_object_add(item, "Seq", attr_n(m->seq));
    return item;
}

/* ---------------------------------------------------------------- response parsing */

/* The string of attribute name ({"S": "..."}), copied to pool. A missing optional attribute
 * gives "". Embedded NULs are refused: every consumer treats these as C strings. */
static apr_status_t take_s(json_object *item, const char *name, int required, const char **out,
                           apr_pool_t *pool)
{
    json_object *attr;
    json_object *v;
    const char *s;
    int len;

    if (!json_object_object_get_ex(item, name, &attr)) {
        *out = "";
        return required ? CHAT_ECORRUPT : APR_SUCCESS;
    }
    if (!json_object_is_type(attr, json_type_object) || !json_object_object_get_ex(attr, "S", &v)
        || !json_object_is_type(v, json_type_string)) {
        return CHAT_ECORRUPT;
    }
    s = json_object_get_string(v);
    len = json_object_get_string_len(v);
    if (len < 0 || memchr(s, '\0', (size_t)len) != NULL || (required && len == 0)) {
        return CHAT_ECORRUPT;
    }
    *out = apr_pstrmemdup(pool, s, (apr_size_t)len);
    return APR_SUCCESS;
}

/* Seq ({"N": "123"}); missing (rows the Go system wrote) gives 0. */
static apr_status_t take_seq(json_object *item, apr_int64_t *out)
{
    json_object *attr;
    json_object *v;
    const char *s;
    char *end = NULL;
    apr_int64_t n;

    *out = 0;
    if (!json_object_object_get_ex(item, "Seq", &attr)) {
        return APR_SUCCESS;
    }
    if (!json_object_is_type(attr, json_type_object) || !json_object_object_get_ex(attr, "N", &v)
        || !json_object_is_type(v, json_type_string)) {
        return CHAT_ECORRUPT;
    }
    s = json_object_get_string(v);
    if (s[0] < '0' || s[0] > '9') {
        return CHAT_ECORRUPT;                   /* no sign, no space, no empty */
    }
    errno = 0;
    n = apr_strtoi64(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || n < 0) {
        return CHAT_ECORRUPT;
    }
    *out = n;
    return APR_SUCCESS;
}

static apr_status_t take_item(json_object *item, chat_msg_t **out, apr_pool_t *pool)
{
    chat_msg_t *m = apr_pcalloc(pool, sizeof(*m));
    const char *type = NULL;
    const char *ts = NULL;
    apr_status_t rv;

    if (!json_object_is_type(item, json_type_object)) {
        return CHAT_ECORRUPT;
    }
    rv = take_s(item, "MessageID", 1, &m->message_id, pool);
    if (rv == APR_SUCCESS) {
        rv = take_s(item, "RoomID", 1, &m->room_id, pool);
    }
    if (rv == APR_SUCCESS) {
        /* optional: a row without one is merely absent from the user index */
        rv = take_s(item, "UserID", 0, &m->user_id, pool);
    }
    if (rv == APR_SUCCESS) {
        rv = take_s(item, "Username", 0, &m->username, pool);
    }
    if (rv == APR_SUCCESS) {
        rv = take_s(item, "Content", 0, &m->content, pool);
    }
    if (rv == APR_SUCCESS) {
        rv = take_s(item, "Type", 1, &type, pool);
    }
    if (rv == APR_SUCCESS) {
        rv = take_s(item, "Timestamp", 1, &ts, pool);
    }
    if (rv == APR_SUCCESS) {
        rv = take_seq(item, &m->seq);
    }
    if (rv == APR_SUCCESS && (chat_msg_type_parse(type, &m->type) != APR_SUCCESS
                              || chat_msg_time_parse(ts, &m->timestamp) != APR_SUCCESS)) {
        rv = CHAT_ECORRUPT;
    }
    if (rv == APR_SUCCESS) {
        *out = m;
    }
    return rv;
}

apr_status_t chat_store_dynamo_parse_items(const char *body, apr_size_t len,
                                           apr_array_header_t **items, char **last_key,
                                           apr_pool_t *pool)
{
    json_object *root = NULL;
    json_object *arr;
    json_object *key;
    apr_array_header_t *out;
    char *lek = NULL;
    chat_msg_t *m;
    apr_status_t rv;
    size_t n;

    rv = parse_json(body, len, &root);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    n = 0;
    if (json_object_object_get_ex(root, "Items", &arr)) {
        if (!json_object_is_type(arr, json_type_array)) {
            rv = CHAT_ECORRUPT;
            goto done;
        }
        n = json_object_array_length(arr);
    }
    out = apr_array_make(pool, n > 0 && n < INT_MAX ? (int)n : 1, sizeof(chat_msg_t *));
    for (size_t i = 0; i < n; i++) {
        rv = take_item(json_object_array_get_idx(arr, i), &m, pool);
        if (rv != APR_SUCCESS) {
            goto done;
        }
        APR_ARRAY_PUSH(out, chat_msg_t *) = m;
    }
    if (json_object_object_get_ex(root, "LastEvaluatedKey", &key)
        && !json_object_is_type(key, json_type_null)) {
        if (!json_object_is_type(key, json_type_object)) {
            rv = CHAT_ECORRUPT;
            goto done;
        }
        lek = apr_pstrdup(pool, json_object_to_json_string_ext(key, JSON_C_TO_STRING_PLAIN));
    }
    *items = out;
    *last_key = lek;
done:
    json_object_put(root);
    return rv;
}

apr_status_t chat_store_dynamo_parse_error(const char *body, apr_size_t len, const char **type,
                                           const char **message, apr_pool_t *pool)
{
    json_object *root = NULL;
    json_object *v;
    const char *t = "";
    const char *hash;
    apr_status_t rv;

    rv = parse_json(body, len, &root);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (json_object_object_get_ex(root, "__type", &v) && json_object_is_type(v, json_type_string)) {
        t = json_object_get_string(v);
        hash = strrchr(t, '#');
        t = hash != NULL ? hash + 1 : t;
    }
    *type = apr_pstrdup(pool, t);
    *message = "";
    if ((json_object_object_get_ex(root, "message", &v)
         || json_object_object_get_ex(root, "Message", &v))
        && json_object_is_type(v, json_type_string)) {
        *message = apr_pstrdup(pool, json_object_get_string(v));
    }
    json_object_put(root);
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- HTTP */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    dy_body_t *b = userdata;
    size_t n = size * nmemb;
    size_t cap;
    char *p;

    if (n > DY_MAX_BODY - b->len) {
        return 0;                               /* curl fails the transfer: CURLE_WRITE_ERROR */
    }
    if (b->len + n + 1 > b->cap) {
        cap = b->cap < 4096 ? 4096 : b->cap;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        p = realloc(b->buf, cap);
        if (p == NULL) {
            return 0;
        }
        b->buf = p;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return n;
}

static int is_throttle_type(const char *type)
{
    return strcmp(type, "ProvisionedThroughputExceededException") == 0
           || strcmp(type, "ThrottlingException") == 0
           || strcmp(type, "RequestLimitExceeded") == 0;
}

/* Turns a non-200 answer into a status; sets dy->retryable. */
static apr_status_t classify(chat_store_t *s, dy_t *dy, const char *op, long status,
                             const dy_body_t *b, apr_pool_t *pool)
{
    const char *type = "";
    const char *message = "";

    if (b->len > 0) {
        chat_store_dynamo_parse_error(b->buf, b->len, &type, &message, pool);
    }
    chat_store_error_set(s, "dynamodb %s: HTTP %ld %s: %s", op, status, type, message);
    if (is_throttle_type(type)) {
        dy->retryable = 1;
        return CHAT_ESTORE_THROTTLED;
    }
    if (strcmp(type, "ResourceNotFoundException") == 0) {
        return CHAT_ENOT_FOUND;
    }
    dy->retryable = status >= 500 || status == 429 || status == 408;
    return CHAT_ESTORE_UNAVAILABLE;
}

/* The timeout of the next request in milliseconds: dy->timeout_ms (DY_TIMEOUT_MS when unset),
 * shortened to what is left before the handle's deadline; 0 when that has passed. */
static long call_timeout(const chat_store_t *s, const dy_t *dy)
{
    long ms = dy->timeout_ms > 0 ? dy->timeout_ms : (long)DY_TIMEOUT_MS;
    apr_time_t deadline = chat_store_deadline_get(s);
    apr_interval_time_t left;

    if (deadline == 0) {
        return ms;
    }
    left = deadline - apr_time_now();
    if (left <= 0) {
        return 0;
    }
    if (apr_time_as_msec(left) < ms) {
        ms = apr_time_as_msec(left) > 0 ? (long)apr_time_as_msec(left) : 1L;
    }
    return ms;
}

/* libcurl's progress callback, here only to cut a request at the handle's deadline, which
 * another thread may bring forward while the request waits (the relay's shutdown). */
static int on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    apr_time_t deadline = chat_store_deadline_get(clientp);

    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return deadline != 0 && apr_time_now() >= deadline;   /* non-zero aborts */
}

/* POSTs req as operation op. On 200, *out and *out_len (if out is not NULL) receive the body
 * (from pool). Otherwise a CHAT_E* code, the text in chat_store_last_error and dy->retryable. */
static apr_status_t dy_call(chat_store_t *s, dy_t *dy, const char *op, json_object *req,
                            char **out, apr_size_t *out_len, apr_pool_t *pool)
{
    struct curl_slist *hdrs = NULL;
    struct curl_slist *h;
    dy_body_t body = { NULL, 0, 0 };
    const char *json;
    size_t json_len = 0;
    long status = 0;
    long timeout_ms = call_timeout(s, dy);
    CURLcode cc;
    apr_status_t rv;

    dy->retryable = 0;
    dy->curl_err[0] = '\0';
    dy->timeout_ms = 0;
    if (timeout_ms == 0) {
        chat_store_error_set(s, "dynamodb %s: deadline passed", op);
        dy->retryable = 1;                      /* a later call with a later deadline may */
        return CHAT_ESTORE_UNAVAILABLE;
    }
    json = json_object_to_json_string_length(req, JSON_C_TO_STRING_PLAIN, &json_len);
    h = curl_slist_append(NULL, apr_pstrcat(pool, "X-Amz-Target: " DY_TARGET_PREFIX, op, NULL));
    hdrs = h;
    /* No "Expect:" override: curl 7.88 signs a removed header as if sent (AWS would answer
     * SignatureDoesNotMatch), and it asks for 100-continue only above 1 MiB, which a chunk of
     * 25 messages never reaches. */
    h = h != NULL ? curl_slist_append(hdrs, "Content-Type: application/x-amz-json-1.0") : NULL;
    if (h != NULL && dy->token_header != NULL) {
        h = curl_slist_append(hdrs, dy->token_header);
    }
    if (json == NULL || h == NULL) {
        rv = APR_ENOMEM;
        goto done;
    }
    curl_easy_setopt(dy->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(dy->curl, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(dy->curl, CURLOPT_POSTFIELDSIZE, (long)json_len);
    curl_easy_setopt(dy->curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(dy->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(dy->curl, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout_ms < DY_CONNECT_MS ? timeout_ms : (long)DY_CONNECT_MS);
    cc = curl_easy_perform(dy->curl);
    curl_easy_setopt(dy->curl, CURLOPT_HTTPHEADER, NULL);   /* hdrs is freed below */
    curl_easy_setopt(dy->curl, CURLOPT_POSTFIELDS, NULL);
    if (cc != CURLE_OK) {
        chat_store_error_set(s, "dynamodb %s: %s", op,
                             cc == CURLE_ABORTED_BY_CALLBACK ? "cut short at the deadline"
                             : dy->curl_err[0] != '\0' ? dy->curl_err : curl_easy_strerror(cc));
        dy->retryable = 1;
        rv = CHAT_ESTORE_UNAVAILABLE;
        goto done;
    }
    curl_easy_getinfo(dy->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        rv = classify(s, dy, op, status, &body, pool);
        goto done;
    }
    if (out != NULL) {
        *out = apr_pstrmemdup(pool, body.buf != NULL ? body.buf : "", body.len);
        *out_len = body.len;
    }
    rv = APR_SUCCESS;
done:
    curl_slist_free_all(hdrs);
    free(body.buf);
    return rv;
}

/* dy_call, then the body as a JSON object (*resp, owned by the caller). */
static apr_status_t dy_call_json(chat_store_t *s, dy_t *dy, const char *op, json_object *req,
                                 json_object **resp, apr_pool_t *pool)
{
    char *body = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    rv = dy_call(s, dy, op, req, &body, &len, pool);
    if (rv == APR_SUCCESS && parse_json(body, len, resp) != APR_SUCCESS) {
        chat_store_error_set(s, "dynamodb %s: the answer is not a JSON object", op);
        dy->retryable = 1;
        rv = CHAT_ESTORE_UNAVAILABLE;
    }
    return rv;
}

static apr_uint64_t next_random(dy_t *dy)
{
    apr_uint64_t x = dy->rng;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    dy->rng = x;
    return x;
}

/* Sleeps a full-jitter backoff for attempt (0, 1, ...) unless that would pass deadline or the
 * handle's (deadline 0: no retry at all). Returns 1 when it slept and the caller should try
 * again. */
static int backoff(const chat_store_t *s, dy_t *dy, int attempt, apr_time_t deadline)
{
    apr_interval_time_t cap = DY_BACKOFF_BASE << (attempt < 10 ? attempt : 10);
    apr_interval_time_t wait;

    if (deadline == 0) {
        return 0;
    }
    deadline = chat_store_deadline_min(s, deadline);
    if (cap > DY_BACKOFF_MAX) {
        cap = DY_BACKOFF_MAX;
    }
    wait = (apr_interval_time_t)(next_random(dy) % (apr_uint64_t)(cap + 1));
    if (apr_time_now() + wait >= deadline) {
        return 0;
    }
    apr_sleep(wait);
    return 1;
}

/* A write's request timeout: DY_TIMEOUT_MS, shortened to what is left before deadline but
 * never below one second (a request cut off mid-way is wasted work on both sides). */
static long request_timeout(apr_time_t deadline)
{
    apr_interval_time_t left = deadline - apr_time_now();

    if (deadline == 0 || left >= apr_time_from_msec(DY_TIMEOUT_MS)) {
        return DY_TIMEOUT_MS;
    }
    return left > apr_time_from_sec(1) ? (long)apr_time_as_msec(left) : 1000L;
}

/* ---------------------------------------------------------------- open, schema, health */

static apr_status_t close_curl(void *data)
{
    dy_t *dy = data;

    curl_easy_cleanup(dy->curl);
    curl_global_cleanup();
    return APR_SUCCESS;
}

static apr_status_t dy_open(chat_store_t *s)
{
    const chat_config_t *cfg = s->cfg;
    dy_t *dy = apr_pcalloc(s->pool, sizeof(*dy));
    const char *region = cfg->dynamodb_region != NULL && cfg->dynamodb_region[0] != '\0'
                         ? cfg->dynamodb_region : "us-east-1";
    const char *key = cfg->aws_access_key_id != NULL ? cfg->aws_access_key_id : "";
    const char *secret = cfg->aws_secret_access_key != NULL ? cfg->aws_secret_access_key : "";

    /* Reference-counted, and thread-safe in libcurl >= 7.84 built with CURL_VERSION_THREADSAFE
     * (Debian 12: 7.88.1, yes), so each worker may call it for its own handle. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return APR_ENOMEM;
    }
    dy->curl = curl_easy_init();
    if (dy->curl == NULL) {
        curl_global_cleanup();
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(s->pool, dy, close_curl, apr_pool_cleanup_null);
    dy->url = cfg->dynamodb_endpoint != NULL && cfg->dynamodb_endpoint[0] != '\0'
              ? cfg->dynamodb_endpoint
              : apr_psprintf(s->pool, "https://dynamodb.%s.amazonaws.com/", region);
    dy->table = cfg->dynamodb_table != NULL && cfg->dynamodb_table[0] != '\0'
                ? cfg->dynamodb_table : "chat-messages";
    if (cfg->aws_session_token != NULL && cfg->aws_session_token[0] != '\0') {
        dy->token_header = apr_pstrcat(s->pool, "X-Amz-Security-Token: ", cfg->aws_session_token,
                                       NULL);
    }
    if (apr_generate_random_bytes((unsigned char *)&dy->rng, sizeof(dy->rng)) != APR_SUCCESS
        || dy->rng == 0) {
        dy->rng = (apr_uint64_t)apr_time_now() | 1;
    }
    curl_easy_setopt(dy->curl, CURLOPT_URL, dy->url);
    curl_easy_setopt(dy->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(dy->curl, CURLOPT_AWS_SIGV4,
                     apr_pstrcat(s->pool, "aws:amz:", region, ":dynamodb", NULL));
    curl_easy_setopt(dy->curl, CURLOPT_USERPWD, apr_pstrcat(s->pool, key, ":", secret, NULL));
    curl_easy_setopt(dy->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(dy->curl, CURLOPT_ERRORBUFFER, dy->curl_err);
    curl_easy_setopt(dy->curl, CURLOPT_NOSIGNAL, 1L);      /* threads: no SIGALRM for DNS */
    curl_easy_setopt(dy->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(dy->curl, CURLOPT_XFERINFODATA, s);
    curl_easy_setopt(dy->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(dy->curl, CURLOPT_TCP_KEEPALIVE, 1L);
    s->impl = dy;
    return APR_SUCCESS;
}

static json_object *table_req(dy_t *dy)
{
    json_object *req = json_object_new_object();

    json_object_object_add(req, "TableName", json_object_new_string(dy->table));
    return req;
}

static json_object *key_schema(const char *hash, const char *range)
{
    json_object *ks = json_object_new_array();
    json_object *h = json_object_new_object();
    json_object *r = json_object_new_object();

    json_object_object_add(h, "AttributeName", json_object_new_string(hash));
    json_object_object_add(h, "KeyType", json_object_new_string("HASH"));
    json_object_object_add(r, "AttributeName", json_object_new_string(range));
    json_object_object_add(r, "KeyType", json_object_new_string("RANGE"));
    json_object_array_add(ks, h);
    json_object_array_add(ks, r);
    return ks;
}

static json_object *gsi(const char *name, const char *hash, const char *range)
{
    json_object *g = json_object_new_object();
    json_object *proj = json_object_new_object();

    json_object_object_add(proj, "ProjectionType", json_object_new_string("ALL"));
    json_object_object_add(g, "IndexName", json_object_new_string(name));
    json_object_object_add(g, "KeySchema", key_schema(hash, range));
    json_object_object_add(g, "Projection", proj);
    return g;
}

static json_object *create_table_req(dy_t *dy)
{
    static const char *const names[] = { "RoomID", "MessageID", "UserID", "Timestamp" };
    json_object *req = table_req(dy);
    json_object *defs = json_object_new_array();
    json_object *gsis = json_object_new_array();

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        json_object *d = json_object_new_object();

        json_object_object_add(d, "AttributeName", json_object_new_string(names[i]));
        json_object_object_add(d, "AttributeType", json_object_new_string("S"));
        json_object_array_add(defs, d);
    }
    json_object_array_add(gsis, gsi(DY_USER_INDEX, "UserID", "Timestamp"));
    json_object_array_add(gsis, gsi(DY_ROOM_INDEX, "RoomID", "Timestamp"));
    json_object_object_add(req, "AttributeDefinitions", defs);
    json_object_object_add(req, "KeySchema", key_schema("RoomID", "MessageID"));
    json_object_object_add(req, "GlobalSecondaryIndexes", gsis);
    json_object_object_add(req, "BillingMode", json_object_new_string("PAY_PER_REQUEST"));
    return req;
}

/* 1 when a DescribeTable answer says the table and all its indexes are ACTIVE. */
static int is_active(json_object *resp)
{
    json_object *table;
    json_object *v;
    json_object *idx;

    if (!json_object_object_get_ex(resp, "Table", &table)
        || !json_object_object_get_ex(table, "TableStatus", &v)
        || !json_object_is_type(v, json_type_string)
        || strcmp(json_object_get_string(v), "ACTIVE") != 0) {
        return 0;
    }
    if (json_object_object_get_ex(table, "GlobalSecondaryIndexes", &idx)
        && json_object_is_type(idx, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(idx); i++) {
            json_object *g = json_object_array_get_idx(idx, i);

            if (json_object_object_get_ex(g, "IndexStatus", &v)
                && json_object_is_type(v, json_type_string)
                && strcmp(json_object_get_string(v), "ACTIVE") != 0) {
                return 0;
            }
        }
    }
    return 1;
}

/* DescribeTable: APR_SUCCESS with *active, CHAT_ENOT_FOUND, or a failure. */
static apr_status_t describe(chat_store_t *s, dy_t *dy, int *active, apr_pool_t *pool)
{
    json_object *req = table_req(dy);
    json_object *resp = NULL;
    apr_status_t rv;

    rv = dy_call_json(s, dy, "DescribeTable", req, &resp, pool);
    if (rv == APR_SUCCESS) {
        *active = is_active(resp);
    }
    json_object_put(resp);
    json_object_put(req);
    return rv;
}

static apr_status_t dy_ensure_schema(chat_store_t *s, apr_interval_time_t timeout)
{
    dy_t *dy = s->impl;
    apr_time_t deadline = chat_store_deadline_min(s, apr_time_now() + (timeout > 0 ? timeout
                                                                                   : 0));
    apr_interval_time_t wait = apr_time_from_msec(50);
    apr_pool_t *tmp = NULL;
    json_object *req;
    int active = 0;
    apr_status_t rv;

    rv = apr_pool_create(&tmp, s->pool);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = describe(s, dy, &active, tmp);
    if (rv == CHAT_ENOT_FOUND) {
        req = create_table_req(dy);
        rv = dy_call(s, dy, "CreateTable", req, NULL, NULL, tmp);
        json_object_put(req);
        if (rv == CHAT_ESTORE_UNAVAILABLE && strstr(s->errbuf, "ResourceInUseException") != NULL) {
            rv = APR_SUCCESS;                   /* another process is creating it */
        }
    }
    while (rv == APR_SUCCESS && !active) {
        if (apr_time_now() + wait > deadline) {
            chat_store_error_set(s, "dynamodb: table %s not ACTIVE in time", dy->table);
            rv = CHAT_ESTORE_UNAVAILABLE;
            break;
        }
        apr_sleep(wait);
        wait = wait * 2 > apr_time_from_sec(1) ? apr_time_from_sec(1) : wait * 2;
        apr_pool_clear(tmp);
        rv = describe(s, dy, &active, tmp);
    }
    if (rv == CHAT_ENOT_FOUND) {
        rv = CHAT_ESTORE_UNAVAILABLE;
    }
    apr_pool_destroy(tmp);
    return rv;
}

static apr_status_t dy_health(chat_store_t *s)
{
    apr_pool_t *tmp = NULL;
    int active = 0;
    apr_status_t rv;

    rv = apr_pool_create(&tmp, s->pool);
    if (rv == APR_SUCCESS) {
        rv = describe(s, s->impl, &active, tmp);
        apr_pool_destroy(tmp);
    }
    return rv == CHAT_ENOT_FOUND ? CHAT_ESTORE_UNAVAILABLE : rv;
}

/* ---------------------------------------------------------------- save */

/* The UnprocessedItems of our table from a BatchWriteItem answer: *rest is a new reference to
 * the request array, or NULL when everything was written. */
static apr_status_t take_unprocessed(dy_t *dy, const char *body, apr_size_t len,
                                     json_object **rest)
{
    json_object *root = NULL;
    json_object *un;
    json_object *arr;
    apr_status_t rv;

    *rest = NULL;
    rv = parse_json(body, len, &root);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (json_object_object_get_ex(root, "UnprocessedItems", &un)
        && json_object_is_type(un, json_type_object)
        && json_object_object_get_ex(un, dy->table, &arr)
        && json_object_is_type(arr, json_type_array) && json_object_array_length(arr) > 0) {
        *rest = json_object_get(arr);
    }
    json_object_put(root);
    return APR_SUCCESS;
}

static apr_status_t write_chunk(chat_store_t *s, dy_t *dy, const chat_msg_t *const *msgs, int n,
                                apr_time_t deadline, apr_pool_t *scratch)
{
    json_object *puts = json_object_new_array();
    json_object *rest = NULL;
    apr_pool_t *attempt_pool = NULL;            /* cleared per attempt: retries may be many */
    char *body = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    rv = apr_pool_create(&attempt_pool, scratch);
    if (rv != APR_SUCCESS) {
        json_object_put(puts);
        return rv;
    }
    for (int i = 0; i < n; i++) {
        json_object *put = json_object_new_object();
        json_object *wr = json_object_new_object();

        json_object_object_add(put, "Item", item_new(msgs[i]));
        json_object_object_add(wr, "PutRequest", put);
        json_object_array_add(puts, wr);
    }
    for (int attempt = 0;; attempt++) {
        json_object *req = json_object_new_object();
        json_object *items = json_object_new_object();

        apr_pool_clear(attempt_pool);
        json_object_object_add(items, dy->table, json_object_get(puts));
        json_object_object_add(req, "RequestItems", items);
        dy->timeout_ms = request_timeout(deadline);
        rv = dy_call(s, dy, "BatchWriteItem", req, &body, &len, attempt_pool);
        json_object_put(req);
        if (rv == APR_SUCCESS && take_unprocessed(dy, body, len, &rest) != APR_SUCCESS) {
            chat_store_error_set(s, "dynamodb BatchWriteItem: the answer is not a JSON object");
            dy->retryable = 1;
            rv = CHAT_ESTORE_UNAVAILABLE;
        }
        if (rv == APR_SUCCESS && rest == NULL) {
            break;                              /* all written */
        }
        if (rv == APR_SUCCESS) {
            json_object_put(puts);              /* retry only what DynamoDB left */
            puts = rest;
            rest = NULL;
            chat_store_error_set(s, "dynamodb BatchWriteItem: %d items unprocessed",
                                 (int)json_object_array_length(puts));
            dy->retryable = 1;
            rv = CHAT_ESTORE_THROTTLED;
        }
        if (!dy->retryable || !backoff(s, dy, attempt, deadline)) {
            break;
        }
    }
    json_object_put(puts);
    apr_pool_destroy(attempt_pool);
    return rv;
}

static apr_status_t dy_save(chat_store_t *s, const chat_msg_t *const *msgs, int n,
                            apr_time_t deadline, apr_pool_t *scratch)
{
    dy_t *dy = s->impl;
    apr_hash_t *seen = apr_hash_make(scratch);
    const chat_msg_t **chunk = apr_palloc(scratch, sizeof(*chunk) * DY_CHUNK);
    int have = 0;
    apr_status_t rv = APR_SUCCESS;

    for (int i = 0; i < n; i++) {
        const chat_msg_t *m = msgs[i];

        if (m == NULL || m->message_id == NULL || m->message_id[0] == '\0' || m->room_id == NULL
            || m->room_id[0] == '\0' || m->user_id == NULL || m->user_id[0] == '\0') {
            return APR_EINVAL;
        }
    }
    /* Duplicates are dropped across the whole batch, so no chunk names a key twice. */
    for (int i = 0; i < n && rv == APR_SUCCESS; i++) {
        if (apr_hash_get(seen, msgs[i]->message_id, APR_HASH_KEY_STRING) != NULL) {
            continue;
        }
        apr_hash_set(seen, msgs[i]->message_id, APR_HASH_KEY_STRING, msgs[i]);
        chunk[have++] = msgs[i];
        if (have == DY_CHUNK) {
            rv = write_chunk(s, dy, chunk, have, deadline, scratch);
            have = 0;
        }
    }
    if (rv == APR_SUCCESS && have > 0) {
        rv = write_chunk(s, dy, chunk, have, deadline, scratch);
    }
    return rv;
}

/* ---------------------------------------------------------------- queries */

/* Called with each page's rows (answer order, allocated from a pool cleared after the call:
 * copy what you keep with msg_copy); returns 1 to stop paging. */
typedef int (*dy_page_fn)(void *baton, apr_array_header_t *items);

/* Runs the Query req (borrowed; its ExclusiveStartKey is replaced page by page) until fn says
 * stop, the results end (*exhausted = 1) or DY_MAX_PAGES pages were read. Memory stays at one
 * page however many pages are read. */
static apr_status_t query_pages(chat_store_t *s, dy_t *dy, json_object *req, dy_page_fn fn,
                                void *baton, int *exhausted, apr_pool_t *pool)
{
    apr_array_header_t *items = NULL;
    apr_pool_t *page_pool = NULL;               /* one answer and its rows */
    char *last_key = NULL;
    char *body = NULL;
    apr_size_t len = 0;
    json_object *start;
    apr_status_t rv;

    *exhausted = 0;
    rv = apr_pool_create(&page_pool, pool);
    for (int page = 0; rv == APR_SUCCESS && page < DY_MAX_PAGES; page++) {
        if (last_key != NULL) {
            /* last_key lives in page_pool: turn it into JSON before clearing */
            if (parse_json(last_key, strlen(last_key), &start) != APR_SUCCESS) {
                rv = CHAT_ECORRUPT;             /* we printed it ourselves: cannot happen */
                break;
            }
            json_object_object_add(req, "ExclusiveStartKey", start);
        }
        apr_pool_clear(page_pool);
        rv = dy_call(s, dy, "Query", req, &body, &len, page_pool);
        if (rv == CHAT_ENOT_FOUND) {
            rv = CHAT_ESTORE_UNAVAILABLE;       /* no table yet */
        }
        if (rv != APR_SUCCESS) {
            break;
        }
        rv = chat_store_dynamo_parse_items(body, len, &items, &last_key, page_pool);
        if (rv != APR_SUCCESS) {
            chat_store_error_set(s, "dynamodb Query: the answer does not decode");
            rv = rv == CHAT_ECORRUPT ? CHAT_ECORRUPT : CHAT_ESTORE_UNAVAILABLE;
            break;
        }
        *exhausted = last_key == NULL;
        if (fn(baton, items) || last_key == NULL) {
            break;
        }
    }
    if (page_pool != NULL) {
        apr_pool_destroy(page_pool);
    }
    return rv;
}

/* A Query request on the table (index NULL) or an index. values: NULL-terminated pairs of
 * placeholder and string value; names likewise ("#t", "Timestamp") for reserved words. */
static json_object *query_req(dy_t *dy, const char *index, const char *cond, int forward,
                              int limit, const char *const *values, const char *const *names)
{
    json_object *req = table_req(dy);
    json_object *vals = json_object_new_object();

    if (index != NULL) {
        json_object_object_add(req, "IndexName", json_object_new_string(index));
    }
    json_object_object_add(req, "KeyConditionExpression", json_object_new_string(cond));
    for (int i = 0; values[i] != NULL; i += 2) {
        json_object_object_add(vals, values[i], attr_s(values[i + 1]));
    }
    json_object_object_add(req, "ExpressionAttributeValues", vals);
    if (names != NULL) {
        json_object *nm = json_object_new_object();

        for (int i = 0; names[i] != NULL; i += 2) {
            json_object_object_add(nm, names[i], json_object_new_string(names[i + 1]));
        }
        json_object_object_add(req, "ExpressionAttributeNames", nm);
    }
    json_object_object_add(req, "ScanIndexForward", json_object_new_boolean(forward));
    json_object_object_add(req, "Limit", json_object_new_int(limit));
    return req;
}

typedef struct dy_collect_t {
    apr_pool_t *pool;             /* where kept rows are copied */
    apr_array_header_t *all;      /* chat_msg_t *, answer order */
    int need;                     /* rows wanted: limit + 1 */
    int limit;
    const char *before;           /* user_recent: the cursor */
    apr_time_t before_ms;
    apr_int64_t after_seq;        /* room_after; room_max_seq: the maximum so far */
    int found;                    /* room_after: reached a row at or before after_seq */
    int overflow;                 /* room_after: more matches than it keeps newest-first */
} dy_collect_t;

static chat_msg_t *msg_copy(const chat_msg_t *m, apr_pool_t *pool)
{
    chat_msg_t *c = apr_pmemdup(pool, m, sizeof(*m));

    c->message_id = apr_pstrdup(pool, m->message_id);
    c->room_id = apr_pstrdup(pool, m->room_id);
    c->user_id = apr_pstrdup(pool, m->user_id);
    c->username = apr_pstrdup(pool, m->username);
    c->content = apr_pstrdup(pool, m->content);
    c->nonce = NULL;
    return c;
}

static void keep(dy_collect_t *c, const chat_msg_t *m)
{
    APR_ARRAY_PUSH(c->all, chat_msg_t *) = msg_copy(m, c->pool);
}

static int on_room_page(void *baton, apr_array_header_t *items)
{
    dy_collect_t *c = baton;
    chat_msg_t **e = (chat_msg_t **)items->elts;

    for (int i = 0; i < items->nelts && c->all->nelts < c->need; i++) {
        keep(c, e[i]);
    }
    return c->all->nelts >= c->need;
}

static void reverse(apr_array_header_t *arr)
{
    chat_msg_t **e = (chat_msg_t **)arr->elts;

    for (int i = 0, j = arr->nelts - 1; i < j; i++, j--) {
        chat_msg_t *m = e[i];

        e[i] = e[j];
        e[j] = m;
    }
}

/* Cuts the newest-first c->all to limit rows, oldest first. has_more: a row beyond the page
 * was seen, or paging stopped before the results ended. */
static void finish_page(dy_collect_t *c, int exhausted, apr_array_header_t **out, int *has_more)
{
    *has_more = c->all->nelts > c->limit || !exhausted;
    if (c->all->nelts > c->limit) {
        c->all->nelts = c->limit;
    }
    reverse(c->all);
    *out = c->all;
}

static dy_collect_t collect_make(int limit, apr_pool_t *pool)
{
    dy_collect_t c;

    memset(&c, 0, sizeof(c));
    c.pool = pool;
    c.all = apr_array_make(pool, limit + 1, sizeof(chat_msg_t *));
    c.need = limit + 1;
    c.limit = limit;
    return c;
}

static apr_status_t dy_room_recent(chat_store_t *s, const char *room, const char *before,
                                   int limit, apr_array_header_t **out, int *has_more,
                                   apr_pool_t *pool)
{
    dy_t *dy = s->impl;
    const char *const with_before[] = { ":r", room, ":b", before, NULL };
    const char *const only_room[] = { ":r", room, NULL };
    dy_collect_t c = collect_make(limit, pool);
    json_object *req;
    int exhausted = 0;
    apr_status_t rv;

    req = before != NULL
          ? query_req(dy, NULL, "RoomID = :r AND MessageID < :b", 0, limit + 1, with_before, NULL)
          : query_req(dy, NULL, "RoomID = :r", 0, limit + 1, only_room, NULL);
    rv = query_pages(s, dy, req, on_room_page, &c, &exhausted, pool);
    json_object_put(req);
    if (rv == APR_SUCCESS) {
        finish_page(&c, exhausted || c.all->nelts > limit, out, has_more);
    }
    return rv;
}

static int is_older_than_cursor(const dy_collect_t *c, const chat_msg_t *m)
{
    apr_time_t ms = apr_time_as_msec(m->timestamp);

    return ms < c->before_ms || (ms == c->before_ms && strcmp(m->message_id, c->before) < 0);
}

/* Keeps rows older than the cursor; stops once limit+1 rows are in and the millisecond of the
 * limit-th row is complete (a later row is older), since rows within one millisecond come back
 * in no defined order. */
static int on_user_page(void *baton, apr_array_header_t *items)
{
    dy_collect_t *c = baton;
    chat_msg_t **e = (chat_msg_t **)items->elts;
    chat_msg_t **all;

    for (int i = 0; i < items->nelts; i++) {
        if (c->before == NULL || is_older_than_cursor(c, e[i])) {
            keep(c, e[i]);
        }
    }
    all = (chat_msg_t **)c->all->elts;
    return c->all->nelts >= c->need
           && apr_time_as_msec(all[c->all->nelts - 1]->timestamp)
              < apr_time_as_msec(all[c->limit - 1]->timestamp);
}

static int by_time_desc(const void *a, const void *b)
{
    const chat_msg_t *x = *(const chat_msg_t *const *)a;
    const chat_msg_t *y = *(const chat_msg_t *const *)b;

    if (x->timestamp != y->timestamp) {
        return x->timestamp > y->timestamp ? -1 : 1;
    }
    return -strcmp(x->message_id, y->message_id);
}

static apr_status_t dy_user_recent(chat_store_t *s, const char *user_id, const char *before,
                                   int limit, apr_array_header_t **out, int *has_more,
                                   apr_pool_t *pool)
{
    dy_t *dy = s->impl;
    char ts[CHAT_MSG_TIME_LEN + 1];
    const char *const values[] = { ":u", user_id, ":t", ts, NULL };
    const char *const only_user[] = { ":u", user_id, NULL };
    const char *const names[] = { "#t", "Timestamp", NULL };
    dy_collect_t c = collect_make(limit, pool);
    apr_time_t id_time = 0;
    json_object *req;
    int exhausted = 0;
    apr_status_t rv;

    if (before != NULL) {
        if (chat_id_time(before, &id_time) != APR_SUCCESS) {
            return CHAT_EBAD_MESSAGE_ID;        /* the GSI cursor needs the id's time */
        }
        c.before = before;
        c.before_ms = apr_time_as_msec(id_time);
        chat_msg_time_format(apr_time_from_msec(c.before_ms), ts);
        req = query_req(dy, DY_USER_INDEX, "UserID = :u AND #t <= :t", 0, limit + 1, values,
                        names);
    }
    else {
        req = query_req(dy, DY_USER_INDEX, "UserID = :u", 0, limit + 1, only_user, NULL);
    }
    rv = query_pages(s, dy, req, on_user_page, &c, &exhausted, pool);
    json_object_put(req);
    if (rv == APR_SUCCESS) {
        qsort(c.all->elts, (size_t)c.all->nelts, sizeof(chat_msg_t *), by_time_desc);
        finish_page(&c, exhausted || c.all->nelts > limit, out, has_more);
    }
    return rv;
}

/* room_after, newest first: keeps rows with Seq > after_seq until the first row carrying a Seq
 * at or below it (the relay numbers a room's messages in id order, so everything older is
 * older in Seq too). Gives up past DY_AFTER_FACTOR * limit matches: the caller is far behind,
 * and the filtered oldest-first read finds the oldest matches cheaper than keeping them all. */
#define DY_AFTER_FACTOR 10

static int on_after_newest_page(void *baton, apr_array_header_t *items)
{
    dy_collect_t *c = baton;
    chat_msg_t **e = (chat_msg_t **)items->elts;

    for (int i = 0; i < items->nelts; i++) {
        if (e[i]->seq > c->after_seq) {
            if (c->all->nelts >= DY_AFTER_FACTOR * c->limit) {
                c->overflow = 1;
                return 1;
            }
            keep(c, e[i]);
        }
        else if (e[i]->seq > 0) {
            c->found = 1;
            return 1;
        }
    }
    return 0;
}

/* room_after, oldest first with FilterExpression Seq > :s (Seq is not a key, so the room is
 * read from its start; pages may come back short or empty while LastEvaluatedKey continues). */
static int on_after_oldest_page(void *baton, apr_array_header_t *items)
{
    dy_collect_t *c = baton;
    chat_msg_t **e = (chat_msg_t **)items->elts;

    for (int i = 0; i < items->nelts && c->all->nelts < c->limit; i++) {
        if (e[i]->seq > c->after_seq) {
            keep(c, e[i]);
        }
    }
    return c->all->nelts >= c->limit;
}

static int by_seq(const void *a, const void *b)
{
    const chat_msg_t *x = *(const chat_msg_t *const *)a;
    const chat_msg_t *y = *(const chat_msg_t *const *)b;

    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static apr_status_t dy_room_after(chat_store_t *s, const char *room, apr_int64_t after_seq,
                                  int limit, apr_array_header_t **out, apr_pool_t *pool)
{
    dy_t *dy = s->impl;
    const char *const values[] = { ":r", room, NULL };
    dy_collect_t c = collect_make(limit, pool);
    json_object *req;
    int exhausted = 0;
    apr_status_t rv;

    c.after_seq = after_seq;
    req = query_req(dy, NULL, "RoomID = :r", 0, DY_AFTER_PAGE, values, NULL);
    json_object_object_add(req, "ConsistentRead", json_object_new_boolean(1));
    rv = query_pages(s, dy, req, on_after_newest_page, &c, &exhausted, pool);
    json_object_put(req);
    if (rv == APR_SUCCESS && (c.overflow || (!c.found && !exhausted))) {
        c.all->nelts = 0;                       /* start over from the room's oldest row */
        req = query_req(dy, NULL, "RoomID = :r", 1, CHAT_STORE_MAX_LIMIT, values, NULL);
        json_object_object_add(json_object_object_get(req, "ExpressionAttributeValues"), ":s",
                               attr_n(after_seq));
        json_object_object_add(req, "FilterExpression", json_object_new_string("Seq > :s"));
        json_object_object_add(req, "ConsistentRead", json_object_new_boolean(1));
        rv = query_pages(s, dy, req, on_after_oldest_page, &c, &exhausted, pool);
        json_object_put(req);
    }
    if (rv == APR_SUCCESS) {
        qsort(c.all->elts, (size_t)c.all->nelts, sizeof(chat_msg_t *), by_seq);
        if (c.all->nelts > limit) {
            c.all->nelts = limit;               /* the oldest limit of the matches */
        }
        *out = c.all;
    }
    return rv;
}

static int on_max_seq_page(void *baton, apr_array_header_t *items)
{
    dy_collect_t *c = baton;
    chat_msg_t **e = (chat_msg_t **)items->elts;

    for (int i = 0; i < items->nelts; i++) {
        if (e[i]->seq > c->after_seq) {
            c->after_seq = e[i]->seq;
        }
    }
    return c->after_seq > 0;                    /* the newest rows carrying a Seq hold the max */
}

static apr_status_t dy_room_max_seq(chat_store_t *s, const char *room, apr_int64_t *out)
{
    dy_t *dy = s->impl;
    const char *const values[] = { ":r", room, NULL };
    apr_pool_t *tmp = NULL;
    dy_collect_t c;
    json_object *req;
    int exhausted = 0;
    apr_status_t rv;

    rv = apr_pool_create(&tmp, s->pool);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    c = collect_make(1, tmp);
    req = query_req(dy, NULL, "RoomID = :r", 0, 25, values, NULL);
    /* Strongly consistent: numbering continues from this after a restart, right after the
     * journal replay wrote the last batches. */
    json_object_object_add(req, "ConsistentRead", json_object_new_boolean(1));
    rv = query_pages(s, dy, req, on_max_seq_page, &c, &exhausted, tmp);
    json_object_put(req);
    if (rv == APR_SUCCESS) {
        *out = c.after_seq;
    }
    apr_pool_destroy(tmp);
    return rv;
}

const chat_store_ops_t chat_store_dynamo_ops = {
    "dynamodb", dy_open, dy_ensure_schema, dy_health, dy_save,
    dy_room_recent, dy_room_after, dy_room_max_seq, dy_user_recent
};
