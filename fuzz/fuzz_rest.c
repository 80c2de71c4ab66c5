/* fuzz_rest.c: libFuzzer harness for chat-restapi's request parsing and routing (restapi/).
 *
 * A request reaches the app as CGI strings Apache already split: the method, the raw path and
 * QUERY_STRING, the Origin header. The first input byte picks the method, whether an Origin
 * and a REMOTE_USER are sent; the rest is "path[?query][\n origin]". The request goes the
 * way rest_main sends it (rest_reply_init, rest_route_parse_query, rest_route_handle), with a
 * real SQLite store in a private temporary directory holding a few messages, so fuzzed room
 * and user ids reach the store's queries. The path is also fed to the segment decoder and the
 * query's limit to rest_history_parse_limit on their own.
 * Properties: a status between 200 and 599; an error carries {"error":...}; a JSON body is
 * valid JSON; no header name or value holds CR or LF (the head is written verbatim); a
 * decoded path segment holds no '/' and no NUL; a parsed limit is within 1..MAX. */
#include "fuzz_common.h"

#include <apr_file_io.h>
#include <apr_strings.h>
#include <json-c/json.h>
#include <string.h>
#include <unistd.h>
#include "chat_config.h"
#include "chat_id.h"
#include "chat_store.h"
#include "rest_history.h"
#include "rest_reply.h"
#include "rest_route.h"

typedef struct {
    rest_ctx_t ctx;
    chat_store_t *store;
} app_t;

static const char *const methods[] = { "GET", "HEAD", "OPTIONS", "POST", "DELETE", "get" };

/* One message per (room, user) pair the seeds and dictionary name. */
static void seed_store(chat_store_t *store, apr_pool_t *pool)
{
    static const char *const rooms[] = { "lobby", "general", "a.b:c-d_e" };
    const chat_msg_t *msgs[3];
    chat_id_gen_t gen;
    apr_time_t now = apr_time_now();

    FUZZ_CHECK(chat_id_gen_init(&gen) == APR_SUCCESS);
    for (int i = 0; i < 3; i++) {
        chat_msg_t *m = apr_pcalloc(pool, sizeof(*m));
        char *id = apr_palloc(pool, CHAT_MSG_ID_LEN + 1);

        chat_id_next_message(&gen, now + i, id);
        m->message_id = id;
        m->room_id = rooms[i];
        m->type = CHAT_MSG_CHAT;
        m->user_id = i == 0 ? "u1" : "user-2";
        m->username = "Fuzz \"<b>\" \xe2\x80\xa8";
        m->content = "hello \\ \"world\" \xf0\x9f\x98\x80 </script>";
        m->timestamp = now + i;
        m->seq = i + 1;
        msgs[i] = m;
    }
    FUZZ_CHECK(chat_store_save(store, msgs, 3, now + apr_time_from_sec(30), pool) == APR_SUCCESS);
}

static apr_pool_t *app_pool = NULL;

/* At exit, before LeakSanitizer looks: closes the store (SQLite's connection is malloc'd). */
static void app_destroy(void)
{
    apr_pool_destroy(app_pool);
}

/* Pool cleanup, registered before the store opens so it runs after the store closes. */
static apr_status_t remove_dir(void *data)
{
    const char *dir = data;
    static const char *const files[] = { "chat.db", "chat.db-wal", "chat.db-shm",
                                         "chat.db-journal" };
    char path[512];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    return APR_SUCCESS;
}

static app_t *app_get(apr_pool_t *scratch)
{
    static app_t *app = NULL;
    apr_pool_t *pool;
    char *dir, *err = NULL;
    const char *env[6];
    chat_config_t *cfg = NULL;

    if (app != NULL) {
        return app;
    }
    FUZZ_CHECK(apr_pool_create(&pool, NULL) == APR_SUCCESS);
    app_pool = pool;
    atexit(app_destroy);
    app = apr_pcalloc(pool, sizeof(*app));
    dir = apr_pstrdup(pool, "/tmp/fuzz-rest-XXXXXX");
    FUZZ_CHECK(mkdtemp(dir) != NULL);
    apr_pool_cleanup_register(pool, dir, remove_dir, apr_pool_cleanup_null);
    env[0] = "STORAGE=sqlite";
    env[1] = apr_psprintf(pool, "DATA_DIR=%s", dir);
    env[2] = apr_psprintf(pool, "SQLITE_PATH=%s/chat.db", dir);
    env[3] = "ALLOWED_ORIGINS=http://good.example,null";
    env[4] = "AUTH_SECRET=fuzz-secret";
    env[5] = NULL;
    FUZZ_CHECK(chat_config_load(&cfg, NULL, env, &err, pool) == APR_SUCCESS);
    app->ctx.cfg = cfg;
    FUZZ_CHECK(chat_log_create(&app->ctx.log, CHAT_LOG_ERROR, NULL, pool) == APR_SUCCESS);
    app->ctx.started = apr_time_now();
    FUZZ_CHECK(chat_store_open(&app->store, cfg, pool) == APR_SUCCESS);
    FUZZ_CHECK(chat_store_ensure_schema(app->store, apr_time_from_sec(10)) == APR_SUCCESS);
    seed_store(app->store, scratch);
    return app;
}

static void check_head(const rest_req_t *r)
{
    const apr_array_header_t *arr = apr_table_elts(r->headers);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;

    for (int i = 0; i < arr->nelts; i++) {
        FUZZ_CHECK(strpbrk(e[i].key, "\r\n") == NULL && strpbrk(e[i].val, "\r\n") == NULL);
    }
}

static void check_reply(const rest_req_t *r)
{
    FUZZ_CHECK(r->status >= 200 && r->status <= 599);
    FUZZ_CHECK(r->body.data != NULL && strlen(r->body.data) == r->body.len);
    if (r->status >= 400) {
        FUZZ_CHECK(strstr(r->body.data, "\"error\":\"") != NULL);
    }
    if (r->content_type != NULL && strcmp(r->content_type, REST_JSON) == 0 && r->body.len > 0) {
        json_tokener *tok = json_tokener_new();
        json_object *obj = json_tokener_parse_ex(tok, r->body.data, (int)r->body.len);

        FUZZ_CHECK(obj != NULL && json_tokener_get_parse_end(tok) == r->body.len);
        json_object_put(obj);
        json_tokener_free(tok);
    }
    check_head(r);
}

static void check_parsers(const char *path, const char *limit, apr_pool_t *pool)
{
    const char *seg = strrchr(path, '/');
    char *dec = NULL;
    int v = -1;

    seg = seg != NULL ? seg + 1 : path;   /* the router hands over one segment */
    if (rest_route_decode_segment(seg, strlen(seg), &dec, pool) == APR_SUCCESS) {
        FUZZ_CHECK(dec != NULL && strchr(dec, '/') == NULL && strlen(dec) <= strlen(seg));
    }
    if (rest_history_parse_limit(limit, &v) == APR_SUCCESS) {
        FUZZ_CHECK(v >= 1 && v <= REST_HISTORY_MAX_LIMIT);
    }
    else {
        FUZZ_CHECK(v == -1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_pool();
    app_t *app;
    rest_req_t *r;
    char *text, *nl, *q;

    if (size == 0 || size > 8192) {
        return 0;
    }
    app = app_get(pool);
    text = fuzz_strdup(data + 1, size - 1);
    r = apr_pcalloc(pool, sizeof(*r));
    rest_reply_init(r, &app->ctx, pool);
    r->store = app->store;
    r->method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
    nl = strchr(text, '\n');
    if (nl != NULL) {
        *nl = '\0';
        r->origin = (data[0] & 0x10) ? nl + 1 : NULL;
    }
    r->remote_user = (data[0] & 0x20) ? "fuzz-user" : NULL;
    q = strchr(text, '?');
    if (q != NULL) {
        *q = '\0';
    }
    r->path = text;
    r->query_string = q != NULL ? q + 1 : "";
    rest_route_parse_query(r, r->query_string);
    rest_route_handle(r);
    check_reply(r);
    check_parsers(text, apr_table_get(r->query, "limit"), pool);
    free(text);
    fuzz_pool_done(pool);
    return 0;
}
