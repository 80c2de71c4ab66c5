/* Unit tests of chat-restapi's routing, parsing, CORS and replies, through their headers.
 * No FastCGI and no Apache: a rest_req_t is filled in by hand, as rest_main would. The store
 * is STORAGE=none and there is no shm reader, so the history routes answer 503 and the live
 * views report the relay as down; the integration tests cover the live paths. */
#include <apr_file_io.h>
#include <apr_strings.h>
#include <string.h>
#include <unistd.h>
#include "check_main.h"
#include "chat_config.h"
#include "rest_health.h"
#include "rest_history.h"
#include "rest_reply.h"
#include "rest_route.h"

const char *const chat_suite_name = "restapi";

static rest_ctx_t ctx;
static chat_config_t *cfg;

/* A context whose config comes from envp (NULL-terminated). */
static void make_ctx(const char *const *envp)
{
    char *err = NULL;

    ck_assert_int_eq(chat_config_load(&cfg, NULL, envp, &err, test_pool), APR_SUCCESS);
    memset(&ctx, 0, sizeof(ctx));
    ctx.cfg = cfg;
    ck_assert_int_eq(chat_log_create(&ctx.log, CHAT_LOG_ERROR, NULL, test_pool), APR_SUCCESS);
    ctx.started = apr_time_now();
}

static rest_req_t *request(const char *method, const char *path, const char *qs)
{
    rest_req_t *r = apr_pcalloc(test_pool, sizeof(*r));

    rest_reply_init(r, &ctx, test_pool);
    r->method = method;
    r->path = path;
    r->query_string = qs != NULL ? qs : "";
    rest_route_parse_query(r, r->query_string);
    return r;
}

static const char *const env_none[] = { "STORAGE=none", "ALLOWED_ORIGINS=*", NULL };
static const char *const env_list[] = {
    "STORAGE=none", "ALLOWED_ORIGINS=http://good.example,https://also.example", NULL
};

static const struct {
    const char *s;
    apr_status_t want;
    int value;
} limits[] = {
    { NULL,          APR_SUCCESS,       50 },
    { "1",           APR_SUCCESS,       1 },
    { "200",         APR_SUCCESS,       200 },
    { "201",         APR_SUCCESS,       200 },
    { "99999999999999999999", APR_SUCCESS, 200 },
    { "0",           CHAT_EBAD_REQUEST, 0 },
    { "",            CHAT_EBAD_REQUEST, 0 },
    { "-1",          CHAT_EBAD_REQUEST, 0 },
    { "10abc",       CHAT_EBAD_REQUEST, 0 },
    { "abc",         CHAT_EBAD_REQUEST, 0 },
    { " 5",          CHAT_EBAD_REQUEST, 0 },
    { "1e3",         CHAT_EBAD_REQUEST, 0 },
};

START_TEST(limit_parses_defaults_clamps_and_rejects_each_row)
{
    int v = -7;
    apr_status_t rv = rest_history_parse_limit(limits[_i].s, &v);

    ck_assert_int_eq(rv, limits[_i].want);
    if (rv == APR_SUCCESS) {
        ck_assert_int_eq(v, limits[_i].value);
    }
    else {
        ck_assert_int_eq(v, -7);              /* out-param untouched on failure */
    }
}
END_TEST

static const struct {
    const char *method, *path, *qs;
    int status;
    const char *allow;
} routes[] = {
    { "GET",    "/nope",                          NULL,            404, NULL },
    { "GET",    "/api",                           NULL,            404, NULL },
    { "GET",    "/api/rooms/lobby/messages/x",    NULL,            404, NULL },
    { "GET",    "/api/rooms//messages",           NULL,            404, NULL },
    { "POST",   "/api/analytics",                 NULL,            405, "GET, HEAD, OPTIONS" },
    { "DELETE", "/api/rooms/lobby/messages",      NULL,            405, "GET, HEAD, OPTIONS" },
    { "OPTIONS","/api/analytics",                 NULL,            204, "GET, HEAD, OPTIONS" },
    { "GET",    "/api/rooms/bad%20room/messages", NULL,            400, NULL },
    { "GET",    "/api/rooms/x'%3B--/messages",    NULL,            400, NULL },
    { "GET",    "/api/rooms/a%2Fb/messages",      NULL,            400, NULL },
    { "GET",    "/api/rooms/a%00b/messages",      NULL,            400, NULL },
    { "GET",    "/api/rooms/a%zzb/messages",      NULL,            400, NULL },
    { "GET",    "/api/users/a%7Cb/messages",      NULL,            400, NULL },
    { "GET",    "/api/rooms/lobby/messages",      "limit=0",       400, NULL },
    { "GET",    "/api/rooms/lobby/messages",      "limit=abc",     400, NULL },
    { "GET",    "/api/rooms/lobby/messages",      "before=nope",   400, NULL },
    { "GET",    "/api/rooms/lobby/messages",      "limit=%zz",     400, NULL },
    { "GET",    "/api/rooms/lobby/messages",      "limit=500",     503, NULL },
    { "GET",    "/api/users/u1/messages",         NULL,            503, NULL },
    { "GET",    "/api/token",                     NULL,            404, NULL },
    { "GET",    "/health",                        NULL,            200, NULL },
    { "GET",    "/ready",                         NULL,            503, NULL },
    { "HEAD",   "/api/rooms",                     NULL,            200, NULL },
    { "GET",    "/metrics",                       NULL,            200, NULL },
    { "GET",    "/api/status",                    "auto",          200, NULL },
};

START_TEST(router_answers_each_request_with_its_status)
{
    rest_req_t *r;

    make_ctx(env_none);
    r = request(routes[_i].method, routes[_i].path, routes[_i].qs);
    rest_route_handle(r);
    ck_assert_msg(r->status == routes[_i].status, "%s %s?%s: got %d want %d",
                  routes[_i].method, routes[_i].path, routes[_i].qs ? routes[_i].qs : "",
                  r->status, routes[_i].status);
    if (routes[_i].allow != NULL) {
        ck_assert_str_eq(apr_table_get(r->headers, "Allow"), routes[_i].allow);
    }
    if (r->status >= 400) {
        ck_assert_msg(strstr(r->body.data, "\"error\":\"") != NULL, "body %s", r->body.data);
    }
}
END_TEST

START_TEST(health_reports_relay_down_and_storage_disabled)
{
    rest_req_t *r;

    make_ctx(env_none);
    r = request("GET", "/health", NULL);
    rest_route_handle(r);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(r->body.data, "{\"status\":\"degraded\",\"clients\":0,"
                     "\"storage\":\"disabled\",\"relay\":\"down\"}\n");
}
END_TEST

START_TEST(star_origins_answer_star_and_never_credentials)
{
    rest_req_t *r;

    make_ctx(env_none);
    r = request("GET", "/health", NULL);
    r->origin = "http://anything.example";
    rest_route_handle(r);
    ck_assert_str_eq(apr_table_get(r->headers, "Access-Control-Allow-Origin"), "*");
    ck_assert_ptr_null(apr_table_get(r->headers, "Access-Control-Allow-Credentials"));
}
END_TEST

START_TEST(listed_origin_is_echoed_with_vary_and_others_get_nothing)
{
    rest_req_t *r;

    make_ctx(env_list);
    r = request("GET", "/health", NULL);
    r->origin = "http://good.example";
    rest_route_handle(r);
    ck_assert_str_eq(apr_table_get(r->headers, "Access-Control-Allow-Origin"),
                     "http://good.example");
    ck_assert_str_eq(apr_table_get(r->headers, "Vary"), "Origin");

    r = request("GET", "/health", NULL);
    r->origin = "http://evil.example";
    rest_route_handle(r);
    ck_assert_int_eq(r->status, 200);
    ck_assert_ptr_null(apr_table_get(r->headers, "Access-Control-Allow-Origin"));
}
END_TEST

START_TEST(preflight_from_a_refused_origin_is_403_and_from_a_listed_one_204)
{
    rest_req_t *r;

    make_ctx(env_list);
    r = request("OPTIONS", "/api/analytics", NULL);
    r->origin = "http://evil.example";
    rest_route_handle(r);
    ck_assert_int_eq(r->status, 403);

    r = request("OPTIONS", "/api/analytics", NULL);
    r->origin = "https://also.example";
    rest_route_handle(r);
    ck_assert_int_eq(r->status, 204);
    ck_assert_str_eq(apr_table_get(r->headers, "Access-Control-Allow-Methods"),
                     "GET, HEAD, OPTIONS");
    ck_assert_ptr_nonnull(apr_table_get(r->headers, "Access-Control-Allow-Headers"));
}
END_TEST

START_TEST(query_decodes_plus_and_escapes_and_keeps_the_first_value)
{
    rest_req_t *r;

    make_ctx(env_none);
    r = request("GET", "/health", "a=x+y%21&a=second&flag&b=");
    ck_assert_int_eq(r->query_bad, 0);
    ck_assert_str_eq(apr_table_get(r->query, "a"), "x y!");
    ck_assert_str_eq(apr_table_get(r->query, "flag"), "");
    ck_assert_str_eq(apr_table_get(r->query, "b"), "");
}
END_TEST

START_TEST(reply_head_carries_status_length_and_no_store)
{
    rest_req_t *r;
    char *head;

    make_ctx(env_none);
    r = request("GET", "/nope", NULL);
    rest_route_handle(r);
    head = rest_reply_head(r, test_pool);
    ck_assert_ptr_nonnull(strstr(head, "Status: 404 Not Found\r\n"));
    ck_assert_ptr_nonnull(strstr(head, "Cache-Control: no-store\r\n"));
    ck_assert_ptr_nonnull(strstr(head, apr_psprintf(test_pool, "Content-Length: %d\r\n",
                                                    (int)r->body.len)));
    ck_assert_ptr_nonnull(strstr(head, "\r\n\r\n"));
}
END_TEST

START_TEST(buffer_stops_at_its_cap_and_says_so)
{
    rest_buf_t b;
    char *chunk = apr_palloc(test_pool, 1024 * 1024);
    int i;

    memset(chunk, 'x', 1024 * 1024);
    rest_buf_init(&b, 16, test_pool);
    for (i = 0; i < 9; i++) {
        rest_buf_putn(&b, chunk, 1024 * 1024);
    }
    ck_assert_int_eq(b.overflow, 1);
    ck_assert_uint_le(b.len, REST_BUF_MAX);
    ck_assert_uint_eq(strlen(b.data), b.len);
}
END_TEST

START_TEST(json_strings_are_escaped)
{
    rest_buf_t b;

    rest_buf_init(&b, 16, test_pool);
    rest_buf_json_str(&b, "a\"b\\c\n<\x01");
    ck_assert_str_eq(b.data, "\"a\\\"b\\\\c\\n<\\u0001\"");
}
END_TEST

START_TEST(storage_health_is_reused_for_a_second_per_thread)
{
    const char *dir = NULL;
    const char *env[4];
    chat_store_t *store = NULL;
    rest_health_cache_t cache = { 0, APR_SUCCESS };
    rest_req_t *r;

    ck_assert_int_eq(apr_temp_dir_get(&dir, test_pool), APR_SUCCESS);
    env[0] = "STORAGE=sqlite";
    env[1] = apr_psprintf(test_pool, "SQLITE_PATH=%s/rest-health-%d.db", dir, (int)getpid());
    env[2] = apr_psprintf(test_pool, "DATA_DIR=%s", dir);
    env[3] = NULL;
    make_ctx(env);
    ck_assert_int_eq(chat_store_open(&store, cfg, test_pool), APR_SUCCESS);

    r = request("GET", "/health", NULL);
    r->store = store;
    r->health = &cache;
    ck_assert_str_eq(rest_health_storage(r), "ok");
    ck_assert(cache.at == r->now);

    cache.rv = CHAT_ESTORE_UNAVAILABLE;        /* a recent answer is reused ... */
    r->now = cache.at + REST_HEALTH_CACHE / 2;
    ck_assert_str_eq(rest_health_storage(r), "unavailable");
    r->now = cache.at + REST_HEALTH_CACHE;     /* ... an old one is not */
    ck_assert_str_eq(rest_health_storage(r), "ok");
    {
        const char *db = env[1] + strlen("SQLITE_PATH=");

        apr_file_remove(db, test_pool);
        apr_file_remove(apr_pstrcat(test_pool, db, "-wal", NULL), test_pool);
        apr_file_remove(apr_pstrcat(test_pool, db, "-shm", NULL), test_pool);
    }
}
END_TEST

static TCase *tcase_rest(void)
{
    TCase *tc = chat_tcase_create("rest");

    tcase_add_loop_test(tc, limit_parses_defaults_clamps_and_rejects_each_row, 0,
                        (int)(sizeof(limits) / sizeof(limits[0])));
    tcase_add_loop_test(tc, router_answers_each_request_with_its_status, 0,
                        (int)(sizeof(routes) / sizeof(routes[0])));
    tcase_add_test(tc, health_reports_relay_down_and_storage_disabled);
    tcase_add_test(tc, star_origins_answer_star_and_never_credentials);
    tcase_add_test(tc, listed_origin_is_echoed_with_vary_and_others_get_nothing);
    tcase_add_test(tc, preflight_from_a_refused_origin_is_403_and_from_a_listed_one_204);
    tcase_add_test(tc, query_decodes_plus_and_escapes_and_keeps_the_first_value);
    tcase_add_test(tc, reply_head_carries_status_length_and_no_store);
    tcase_add_test(tc, buffer_stops_at_its_cap_and_says_so);
    tcase_add_test(tc, json_strings_are_escaped);
    tcase_add_test(tc, storage_health_is_reused_for_a_second_per_thread);
    return tc;
}

const chat_tcase_fn chat_tcases[] = { tcase_rest, NULL };
