/* Tests of common/chat_config.c: defaults, the EnvironmentFile parser, precedence, strict
 * values, listen addresses and the origin allowlist. */
#include "../check_main.h"
#include "chat_config.h"

#include <apr_file_io.h>
#include <apr_strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POOL test_pool

static const char *const no_env[] = { NULL };

static chat_config_t *load_env(const char *const *envp)
{
    chat_config_t *cfg = NULL;
    char *err = NULL;
    apr_status_t rv = chat_config_load(&cfg, NULL, envp, &err, POOL);

    ck_assert_msg(rv == APR_SUCCESS, "load failed: %s", err ? err : "?");
    return cfg;
}

START_TEST(defaults_match_the_documented_values)
{
    chat_config_t *cfg = load_env(no_env);

    ck_assert_str_eq(cfg->log_level, "info");
    ck_assert_str_eq(cfg->log_file, "");
    ck_assert_int_eq(cfg->allow_all_origins, 1);
    ck_assert_str_eq(cfg->auth_secret, "");
    ck_assert_int_eq(cfg->token_ttl_s, 3600);
    ck_assert(cfg->rate_per_sec == 5.0);
    ck_assert_int_eq(cfg->rate_burst, 10);
    ck_assert_int_eq(cfg->max_conn_per_ip, 100);
    ck_assert_int_eq(cfg->trusted_proxies->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(cfg->trusted_proxies, 0, const char *), "127.0.0.1");
    ck_assert_str_eq(APR_ARRAY_IDX(cfg->trusted_proxies, 1, const char *), "::1");
    ck_assert_int_eq(cfg->handshake_timeout_s, 10);
    ck_assert_str_eq(cfg->relay_listen, "127.0.0.1:8081");
    ck_assert_int_eq(cfg->event_loop, CHAT_EVENT_LOOP_POLL);
    ck_assert_int_eq(cfg->ping_interval_s, 54);
    ck_assert_int_eq(cfg->pong_timeout_s, 60);
    ck_assert_int_eq(cfg->send_timeout_s, 10);
    ck_assert_int_eq(cfg->client_send_queue, 256);
    ck_assert_int_eq(cfg->relay_pace_rate, 150000);
    ck_assert_int_eq(cfg->slow_client_timeout_s, 10);
    ck_assert_int_eq(cfg->presence_max_room, 1000);
    ck_assert_int_eq(cfg->history_replay, 50);
    ck_assert_int_eq(cfg->room_ring_size, 1024);
    ck_assert_int_eq(cfg->max_rooms, 10000);
    ck_assert_int_eq(cfg->storage, CHAT_STORAGE_SQLITE);
    ck_assert_int_eq(cfg->persist_workers, 4);
    ck_assert_int_eq(cfg->persist_batch_size, 25);
    ck_assert_int_eq(cfg->persist_queue_size, 1024);
    ck_assert_int_eq(cfg->persist_flush_ms, 200);
    ck_assert_int_eq(cfg->spool_fsync_ms, 100);
    ck_assert_int_eq(cfg->shutdown_drain_s, 30);
    ck_assert_int_eq(cfg->persist_stall_ms, 5000);
    ck_assert_int_eq(cfg->journal_segment_bytes, 4 << 20);
    ck_assert_str_eq(cfg->data_dir, CHAT_DEFAULT_DATA_DIR);
    ck_assert_str_eq(cfg->run_dir, CHAT_DEFAULT_RUN_DIR);
    ck_assert_str_eq(cfg->sqlite_path, CHAT_DEFAULT_DATA_DIR "/chat.db");
    ck_assert_str_eq(cfg->journal_dir, CHAT_DEFAULT_DATA_DIR "/journal");
    ck_assert_str_eq(cfg->dynamodb_endpoint, "");
    ck_assert_str_eq(cfg->dynamodb_region, "us-east-1");
    ck_assert_str_eq(cfg->dynamodb_table, "chat-messages");
    ck_assert_str_eq(cfg->aws_access_key_id, "");
    ck_assert_str_eq(cfg->aws_secret_access_key, "");
    ck_assert_str_eq(cfg->aws_session_token, "");
    ck_assert_str_eq(cfg->analytics_shm, CHAT_DEFAULT_RUN_DIR "/analytics.shm");
    ck_assert_int_eq(cfg->analytics_max_users, 4096);
    ck_assert_int_eq(cfg->analytics_max_rooms, 1024);
    ck_assert_int_eq(cfg->analytics_public_users, 1);
    ck_assert_str_eq(cfg->restapi_listen, "");
    ck_assert_int_eq(cfg->restapi_threads, 8);
    ck_assert_ptr_nonnull(cfg->raw);
}
END_TEST

START_TEST(paths_follow_data_dir_and_run_dir_unless_set)
{
    const char *const env[] = { "DATA_DIR=/srv/chat", "RUN_DIR=/tmp/r",
                                "JOURNAL_DIR=/j", NULL };
    chat_config_t *cfg = load_env(env);

    ck_assert_str_eq(cfg->sqlite_path, "/srv/chat/chat.db");
    ck_assert_str_eq(cfg->journal_dir, "/j");
    ck_assert_str_eq(cfg->analytics_shm, "/tmp/r/analytics.shm");
}
END_TEST

static char *write_temp(const char *text)
{
    char *path = apr_pstrdup(POOL, "/tmp/chat-config-test-XXXXXX");
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

START_TEST(the_environment_overrides_the_file_which_overrides_defaults)
{
    char *path = write_temp("# comment\n"
                            "; another\n"
                            "RATE_LIMIT_BURST=20\n"
                            "export PERSIST_WORKERS=8\n"
                            "STORAGE='none'\n"
                            "SOMETHING_ELSE=kept\n");
    const char *const env[] = { "PERSIST_WORKERS=2", "UNRELATED=1", NULL };
    chat_config_t *cfg = NULL;
    char *err = NULL;

    ck_assert_int_eq(chat_config_load(&cfg, path, env, &err, POOL), APR_SUCCESS);
    unlink(path);
    ck_assert_int_eq(cfg->rate_burst, 20);
    ck_assert_int_eq(cfg->persist_workers, 2);
    ck_assert_int_eq(cfg->storage, CHAT_STORAGE_NONE);
    ck_assert_int_eq(cfg->persist_batch_size, 25);
    ck_assert_str_eq(apr_table_get(cfg->raw, "SOMETHING_ELSE"), "kept");
    ck_assert_str_eq(apr_table_get(cfg->raw, "PERSIST_WORKERS"), "2");
}
END_TEST

START_TEST(a_missing_config_file_is_an_error_naming_it)
{
    chat_config_t *cfg = NULL;
    char *err = NULL;

    ck_assert_int_eq(chat_config_load(&cfg, "/nonexistent/chat.conf", no_env, &err, POOL),
                     CHAT_ECONFIG);
    ck_assert_ptr_null(cfg);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/chat.conf"));
}
END_TEST

START_TEST(a_syntax_error_in_the_file_names_file_and_line)
{
    char *path = write_temp("A=1\n\nthis line has no equals sign\n");
    chat_config_t *cfg = NULL;
    char *err = NULL;

    ck_assert_int_eq(chat_config_load(&cfg, path, no_env, &err, POOL), CHAT_ECONFIG);
    ck_assert_str_eq(err, apr_psprintf(POOL, "%s: line 3: expected KEY=value", path));
    unlink(path);
}
END_TEST

/* EnvironmentFile syntax, as systemd reads it. */
static const struct {
    const char *text;
    const char *key;
    const char *want;
} env_rows[] = {
    { "A=plain", "A", "plain" },
    { "A = spaced  \n", "A", "spaced" },
    { "A=", "A", "" },
    { "  # comment\nA=1", "A", "1" },
    { "; comment\nA=1", "A", "1" },
    { "A=not # a comment", "A", "not # a comment" },
    { "A='single $quoted \\n'", "A", "single $quoted \\n" },
    { "A=\"double \\\"esc\\\" \\\\ \\$x \\n\"", "A", "double \"esc\" \\ $x \\n" },
    { "A=\"multi\nline\"", "A", "multi\nline" },
    { "A=one\\\ntwo", "A", "onetwo" },
    { "A=\"one\\\ntwo\"", "A", "onetwo" },
    { "A='x'\"y\"z", "A", "xyz" },
    { "A=a\\ b", "A", "a b" },
    { "export A=exported", "A", "exported" },
    { "A=first\nA=second", "A", "second" },
    { "A=crlf\r\nB=2\r\n", "A", "crlf" },
    { "A=x=y", "A", "x=y" },
    { "#A=commented\\\nA=continued comment\nB=1", "A", NULL },
};

START_TEST(parse_buffer_reads_each_form_like_systemd)
{
    apr_table_t *t = apr_table_make(POOL, 4);
    char *err = NULL;
    const char *text = env_rows[_i].text;

    ck_assert_msg(chat_config_parse_buffer(text, strlen(text), t, &err, POOL) == APR_SUCCESS,
                  "row %d: %s", _i, err ? err : "?");
    if (env_rows[_i].want == NULL) {
        ck_assert_ptr_null(apr_table_get(t, env_rows[_i].key));
    }
    else {
        ck_assert_str_eq(apr_table_get(t, env_rows[_i].key), env_rows[_i].want);
    }
}
END_TEST

static const struct {
    const char *text;
    const char *want_err;
} bad_env_rows[] = {
    { "A=1\nNOEQUALS\n", "line 2: expected KEY=value" },
    { "NOEQUALS", "line 1: expected KEY=value" },
    { "1A=x", "line 1: invalid variable name \"1A\"" },
    { "A-B=x", "line 1: invalid variable name \"A-B\"" },
    { "=x", "line 1: invalid variable name \"\"" },
    { "A='open", "line 1: unterminated quote" },
    { "\nA=\"open\nstill", "line 2: unterminated quote" },
};

START_TEST(parse_buffer_reports_each_syntax_error_with_its_line)
{
    apr_table_t *t = apr_table_make(POOL, 4);
    char *err = NULL;
    const char *text = bad_env_rows[_i].text;

    ck_assert_int_eq(chat_config_parse_buffer(text, strlen(text), t, &err, POOL),
                     CHAT_ECONFIG);
    ck_assert_str_eq(err, bad_env_rows[_i].want_err);
}
END_TEST

START_TEST(parse_buffer_never_reads_past_len_and_refuses_nul)
{
    apr_table_t *t = apr_table_make(POOL, 4);
    char *err = NULL;
    char buf[] = { 'A', '=', 'x', 'y', 'z' };   /* no NUL terminator */

    ck_assert_int_eq(chat_config_parse_buffer(buf, 3, t, &err, POOL), APR_SUCCESS);
    ck_assert_str_eq(apr_table_get(t, "A"), "x");
    ck_assert_int_eq(chat_config_parse_buffer("A=\0x", 4, t, &err, POOL), CHAT_ECONFIG);
    ck_assert_str_eq(err, "line 1: NUL byte");
}
END_TEST

/* Bad values: each names the variable and quotes the value. */
static const struct {
    const char *env;
    const char *want_err;
} bad_values[] = {
    { "RATE_LIMIT_PER_SEC=abc", "RATE_LIMIT_PER_SEC: not a number: \"abc\"" },
    { "RATE_LIMIT_PER_SEC=", "RATE_LIMIT_PER_SEC: not a number: \"\"" },
    { "RATE_LIMIT_PER_SEC=nan", "RATE_LIMIT_PER_SEC: not a number: \"nan\"" },
    { "RATE_LIMIT_PER_SEC=inf", "RATE_LIMIT_PER_SEC: not a number: \"inf\"" },
    { "RATE_LIMIT_PER_SEC=0x10", "RATE_LIMIT_PER_SEC: not a number: \"0x10\"" },
    { "RATE_LIMIT_PER_SEC=5.5.5", "RATE_LIMIT_PER_SEC: not a number: \"5.5.5\"" },
    { "RATE_LIMIT_BURST=10x", "RATE_LIMIT_BURST: not a number: \"10x\"" },
    { "RATE_LIMIT_BURST= 10", "RATE_LIMIT_BURST: not a number: \" 10\"" },
    { "PERSIST_WORKERS=-1", "PERSIST_WORKERS: must be between 1 and 64: \"-1\"" },
    { "PERSIST_WORKERS=0", "PERSIST_WORKERS: must be between 1 and 64: \"0\"" },
    { "PERSIST_WORKERS=65", "PERSIST_WORKERS: must be between 1 and 64: \"65\"" },
    { "PERSIST_WORKERS=99999999999999999999",
      "PERSIST_WORKERS: must be between 1 and 64: \"99999999999999999999\"" },
    { "PERSIST_WORKERS=4.0", "PERSIST_WORKERS: not a number: \"4.0\"" },
    { "PERSIST_BATCH_SIZE=1001", "PERSIST_BATCH_SIZE: must be between 1 and 1000: \"1001\"" },
    { "PERSIST_QUEUE_SIZE=0", "PERSIST_QUEUE_SIZE: must be between 1 and 1048576: \"0\"" },
    { "RELAY_PACE_RATE=-1", "RELAY_PACE_RATE: must be between 0 and 1000000000: \"-1\"" },
    { "RELAY_PACE_RATE=150k", "RELAY_PACE_RATE: not a number: \"150k\"" },
    { "JOURNAL_SEGMENT_BYTES=12k", "JOURNAL_SEGMENT_BYTES: not a number: \"12k\"" },
    { "JOURNAL_SEGMENT_BYTES=4096 ", "JOURNAL_SEGMENT_BYTES: not a number: \"4096 \"" },
    { "JOURNAL_SEGMENT_BYTES=", "JOURNAL_SEGMENT_BYTES: not a number: \"\"" },
    { "JOURNAL_SEGMENT_BYTES=4095",                  /* below one page of records */
      "JOURNAL_SEGMENT_BYTES: must be between 4096 and 1073741824: \"4095\"" },
    { "JOURNAL_SEGMENT_BYTES=1073741825",
      "JOURNAL_SEGMENT_BYTES: must be between 4096 and 1073741824: \"1073741825\"" },
    { "JOURNAL_SEGMENT_BYTES=-4096",
      "JOURNAL_SEGMENT_BYTES: must be between 4096 and 1073741824: \"-4096\"" },
    { "STORAGE=mysql", "STORAGE: must be sqlite, dynamodb or none: \"mysql\"" },
    { "STORAGE=SQLite", "STORAGE: must be sqlite, dynamodb or none: \"SQLite\"" },
    { "RELAY_EVENT_LOOP=epoll", "RELAY_EVENT_LOOP: must be poll or libev: \"epoll\"" },
    { "RELAY_EVENT_LOOP=", "RELAY_EVENT_LOOP: must be poll or libev: \"\"" },
    { "LOG_LEVEL=loud", "LOG_LEVEL: must be debug, info, warn or error: \"loud\"" },
    { "ANALYTICS_PUBLIC_USERS=maybe",
      "ANALYTICS_PUBLIC_USERS: not a boolean (true/false/1/0/yes/no/on/off): \"maybe\"" },
    { "RELAY_LISTEN=8081", "RELAY_LISTEN: not host:port, [v6]:port, :port or a path: \"8081\"" },
    { "RELAY_LISTEN=:0", "RELAY_LISTEN: not host:port, [v6]:port, :port or a path: \":0\"" },
    { "RELAY_LISTEN=", "RELAY_LISTEN: not host:port, [v6]:port, :port or a path: \"\"" },
    { "ALLOWED_ORIGINS=", "ALLOWED_ORIGINS: must be * or a comma-separated list of origins: \"\"" },
    { "ALLOWED_ORIGINS=example.com",
      "ALLOWED_ORIGINS: an origin must look like scheme://host[:port]: \"example.com\"" },
    { "TRUSTED_PROXIES=10.1", "TRUSTED_PROXIES: not an IP address or CIDR: \"10.1\"" },
    { "TRUSTED_PROXIES=10.0.0.0/33",
      "TRUSTED_PROXIES: not an IP address or CIDR: \"10.0.0.0/33\"" },
    { "HISTORY_REPLAY=2000", "HISTORY_REPLAY: must not exceed ROOM_RING_SIZE (1024): \"2000\"" },
    { "RELAY_TLS_CERT=/c.pem", "RELAY_TLS_KEY: required when RELAY_TLS_CERT is set" },
    { "TOKEN_TTL=0", "TOKEN_TTL: must be between 1 and 315360000: \"0\"" },
    { "DYNAMODB_ENDPOINT=localhost:8000",
      "DYNAMODB_ENDPOINT: must be an http:// or https:// URL: \"localhost:8000\"" },
    { "DYNAMODB_REGION=us-east-1.evil.com/",
      "DYNAMODB_REGION: must be an AWS region name: \"us-east-1.evil.com/\"" },
    { "DYNAMODB_REGION=", "DYNAMODB_REGION: must be an AWS region name: \"\"" },
    { "DYNAMODB_TABLE=a\"b", "DYNAMODB_TABLE: must be 3-255 of A-Z a-z 0-9 _ . -: \"a\"b\"" },
    { "DYNAMODB_TABLE=ab", "DYNAMODB_TABLE: must be 3-255 of A-Z a-z 0-9 _ . -: \"ab\"" },
};

START_TEST(each_bad_value_stops_loading_with_an_error_naming_the_variable)
{
    const char *const env[] = { bad_values[_i].env, NULL };
    chat_config_t *cfg = NULL;
    char *err = NULL;

    ck_assert_int_eq(chat_config_load(&cfg, NULL, env, &err, POOL), CHAT_ECONFIG);
    ck_assert_ptr_null(cfg);
    ck_assert_str_eq(err, bad_values[_i].want_err);
}
END_TEST

START_TEST(a_bad_value_in_the_file_is_refused_by_name_too)
{
    char *path = write_temp("RATE_LIMIT_PER_SEC=abc\n");
    chat_config_t *cfg = NULL;
    char *err = NULL;

    ck_assert_int_eq(chat_config_load(&cfg, path, no_env, &err, POOL), CHAT_ECONFIG);
    unlink(path);
    ck_assert_str_eq(err, "RATE_LIMIT_PER_SEC: not a number: \"abc\"");
}
END_TEST

START_TEST(good_values_of_every_kind_are_taken)
{
    const char *const env[] = {
        "RATE_LIMIT_PER_SEC=0.5", "RATE_LIMIT_BURST=-1", "ANALYTICS_PUBLIC_USERS=off",
        "LOG_LEVEL=WARNING", "STORAGE=dynamodb", "RELAY_LISTEN=[::1]:9000",
        "TRUSTED_PROXIES=10.0.0.0/8, fd00::/8 ,192.168.1.1", "PERSIST_WORKERS=+64",
        "RESTAPI_LISTEN=/run/x.sock", "DYNAMODB_ENDPOINT=http://127.0.0.1:8000",
        "DYNAMODB_REGION=eu-west-2", "DYNAMODB_TABLE=Chat_Messages.v2",
        "RELAY_EVENT_LOOP=libev", "JOURNAL_SEGMENT_BYTES=1073741824", "RELAY_PACE_RATE=0", NULL
    };
    chat_config_t *cfg = load_env(env);

    ck_assert(cfg->rate_per_sec == 0.5);
    ck_assert_int_eq(cfg->rate_burst, -1);
    ck_assert_int_eq(cfg->analytics_public_users, 0);
    ck_assert_str_eq(cfg->log_level, "WARNING");
    ck_assert_int_eq(cfg->storage, CHAT_STORAGE_DYNAMODB);
    ck_assert_str_eq(cfg->relay_listen, "[::1]:9000");
    ck_assert_int_eq(cfg->trusted_proxies->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(cfg->trusted_proxies, 1, const char *), "fd00::/8");
    ck_assert_int_eq(cfg->persist_workers, 64);
    ck_assert_str_eq(cfg->restapi_listen, "/run/x.sock");
    ck_assert_str_eq(cfg->dynamodb_endpoint, "http://127.0.0.1:8000");
    ck_assert_str_eq(cfg->dynamodb_region, "eu-west-2");
    ck_assert_str_eq(cfg->dynamodb_table, "Chat_Messages.v2");
    ck_assert_int_eq(cfg->event_loop, CHAT_EVENT_LOOP_LIBEV);
    ck_assert_int_eq(cfg->journal_segment_bytes, 1073741824);
    ck_assert_int_eq(cfg->relay_pace_rate, 0);
}
END_TEST

START_TEST(booleans_accept_every_documented_spelling)
{
    static const char *const yes[] = { "true", "1", "yes", "on", "TRUE", "On" };
    static const char *const no[] = { "false", "0", "no", "off", "False", "NO" };

    for (int i = 0; i < 6; i++) {
        const char *const env_yes[] = { apr_pstrcat(POOL, "ANALYTICS_PUBLIC_USERS=", yes[i],
                                                    NULL), NULL };
        const char *const env_no[] = { apr_pstrcat(POOL, "ANALYTICS_PUBLIC_USERS=", no[i],
                                                   NULL), NULL };

        ck_assert_int_eq(load_env(env_yes)->analytics_public_users, 1);
        ck_assert_int_eq(load_env(env_no)->analytics_public_users, 0);
    }
}
END_TEST

START_TEST(origins_match_exactly_and_case_insensitively)
{
    const char *const env[] = {
        "ALLOWED_ORIGINS=https://Example.com, http://localhost:3000/", NULL
    };
    chat_config_t *cfg = load_env(env);

    ck_assert_int_eq(cfg->allow_all_origins, 0);
    ck_assert_int_eq(chat_config_is_origin_allowed(cfg, "https://example.com"), 1);
    ck_assert_int_eq(chat_config_is_origin_allowed(cfg, "HTTPS://EXAMPLE.COM"), 1);
    ck_assert_int_eq(chat_config_is_origin_allowed(cfg, "http://localhost:3000"), 1);
    ck_assert_int_eq(chat_config_is_origin_allowed(cfg, "https://example.com.evil.net"), 0);
    ck_assert_int_eq(chat_config_is_origin_allowed(cfg, "https://evil.net/https://example.com"),
                     0);
    ck_assert_int_eq(chat_config_is_origin_allowed(cfg, "https://example.co"), 0);
    ck_assert_int_eq(chat_config_is_origin_allowed(cfg, "http://example.com"), 0);
    ck_assert_int_eq(chat_config_is_origin_allowed(cfg, "https://example.com:443"), 0);
    ck_assert_int_eq(chat_config_is_origin_allowed(cfg, "null"), 0);
    ck_assert_int_eq(chat_config_is_origin_allowed(cfg, NULL), 0);
    ck_assert_int_eq(chat_config_is_origin_allowed(cfg, ""), 0);
}
END_TEST

START_TEST(star_allows_every_origin_and_null_only_when_listed)
{
    const char *const env[] = { "ALLOWED_ORIGINS=null,https://a.example", NULL };
    chat_config_t *all = load_env(no_env);
    chat_config_t *cfg = load_env(env);

    ck_assert_int_eq(chat_config_is_origin_allowed(all, "https://anything.example"), 1);
    ck_assert_int_eq(chat_config_is_origin_allowed(all, NULL), 1);
    ck_assert_int_eq(chat_config_is_origin_allowed(cfg, "null"), 1);
    ck_assert_int_eq(chat_config_is_origin_allowed(cfg, NULL), 1);
}
END_TEST

static const struct {
    const char *text;
    apr_status_t want;
    const char *host;
    int port;
    int is_unix;
} listens[] = {
    { "127.0.0.1:8081", APR_SUCCESS, "127.0.0.1", 8081, 0 },
    { "localhost:1", APR_SUCCESS, "localhost", 1, 0 },
    { ":65535", APR_SUCCESS, NULL, 65535, 0 },
    { "[::1]:443", APR_SUCCESS, "::1", 443, 0 },
    { "/run/chat/restapi.sock", APR_SUCCESS, "/run/chat/restapi.sock", 0, 1 },
    { "", CHAT_ECONFIG, NULL, 0, 0 },
    { "8081", CHAT_ECONFIG, NULL, 0, 0 },
    { "host:", CHAT_ECONFIG, NULL, 0, 0 },
    { "host:0", CHAT_ECONFIG, NULL, 0, 0 },
    { "host:65536", CHAT_ECONFIG, NULL, 0, 0 },
    { "host:80x", CHAT_ECONFIG, NULL, 0, 0 },
    { "host:-80", CHAT_ECONFIG, NULL, 0, 0 },
    { "::1:80", CHAT_ECONFIG, NULL, 0, 0 },
    { "[::1]80", CHAT_ECONFIG, NULL, 0, 0 },
    { "[]:80", CHAT_ECONFIG, NULL, 0, 0 },
};

START_TEST(parse_listen_reads_each_address_form)
{
    char *host = (char *)"unset";
    int port = -1, is_unix = -1;
    apr_status_t rv = chat_config_parse_listen(listens[_i].text, &host, &port, &is_unix, POOL);

    ck_assert_msg(rv == listens[_i].want, "row %d (%s)", _i, listens[_i].text);
    if (rv == APR_SUCCESS) {
        if (listens[_i].host == NULL) {
            ck_assert_ptr_null(host);
        }
        else {
            ck_assert_str_eq(host, listens[_i].host);
        }
        ck_assert_int_eq(port, listens[_i].port);
        ck_assert_int_eq(is_unix, listens[_i].is_unix);
    }
}
END_TEST

START_TEST(help_lists_every_variable_with_its_default)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);

    chat_config_print_help(out);
    fclose(out);
    ck_assert_ptr_nonnull(strstr(text, "RATE_LIMIT_PER_SEC"));
    ck_assert_ptr_nonnull(strstr(text, "PERSIST_QUEUE_SIZE"));
    ck_assert_ptr_nonnull(strstr(text, "(default: us-east-1)"));
    ck_assert_ptr_nonnull(strstr(text, "RESTAPI_THREADS"));
    free(text);
}
END_TEST

START_TEST(storage_names_are_the_accepted_values)
{
    ck_assert_str_eq(chat_config_storage_name(CHAT_STORAGE_SQLITE), "sqlite");
    ck_assert_str_eq(chat_config_storage_name(CHAT_STORAGE_DYNAMODB), "dynamodb");
    ck_assert_str_eq(chat_config_storage_name(CHAT_STORAGE_NONE), "none");
    ck_assert_str_eq(chat_config_event_loop_name(CHAT_EVENT_LOOP_POLL), "poll");
    ck_assert_str_eq(chat_config_event_loop_name(CHAT_EVENT_LOOP_LIBEV), "libev");
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* A reload keeps what the running process cannot change and names what it kept. */
START_TEST(carry_keeps_restart_only_settings_and_names_the_changed_ones)
{
    static const char *const running_env[] = { "RELAY_LISTEN=127.0.0.1:1000", "STORAGE=sqlite",
                                               "RATE_LIMIT_PER_SEC=5", "MAX_ROOMS=7",
                                               "TRUSTED_PROXIES=10.0.0.1",
                                               "RELAY_EVENT_LOOP=poll", NULL };
    static const char *const next_env[] = { "RELAY_LISTEN=127.0.0.1:2000", "STORAGE=none",
                                            "RATE_LIMIT_PER_SEC=9", "MAX_ROOMS=7",
                                            "TRUSTED_PROXIES=10.0.0.2",
                                            "RELAY_EVENT_LOOP=libev", NULL };
    static const char *const keep[] = { "RELAY_LISTEN", "STORAGE", "MAX_ROOMS",
                                        "TRUSTED_PROXIES", "RELAY_EVENT_LOOP",
                                        "NO_SUCH_VARIABLE", NULL };
    chat_config_t *running = load_env(running_env);
    chat_config_t *next = load_env(next_env);
    const char *changed = chat_config_carry(next, running, keep, POOL);

    ck_assert_str_eq(changed, "RELAY_LISTEN,STORAGE,TRUSTED_PROXIES,RELAY_EVENT_LOOP");
    ck_assert_str_eq(next->relay_listen, "127.0.0.1:1000");
    ck_assert_int_eq(next->event_loop, CHAT_EVENT_LOOP_POLL);
    ck_assert_int_eq(next->storage, CHAT_STORAGE_SQLITE);
    ck_assert_str_eq(APR_ARRAY_IDX(next->trusted_proxies, 0, const char *), "10.0.0.1");
    ck_assert_str_eq(apr_table_get(next->raw, "RELAY_LISTEN"), "127.0.0.1:1000");
    ck_assert(next->rate_per_sec == 9.0);              /* not listed: the new value stays */
    ck_assert_ptr_null(chat_config_carry(next, running, keep, POOL));   /* nothing left */
}
END_TEST

TCase *tcase_chat_config(void);

TCase *tcase_chat_config(void)
{
    TCase *tc = chat_tcase_create("chat_config");

    tcase_add_test(tc, defaults_match_the_documented_values);
    tcase_add_test(tc, paths_follow_data_dir_and_run_dir_unless_set);
    tcase_add_test(tc, the_environment_overrides_the_file_which_overrides_defaults);
    tcase_add_test(tc, a_missing_config_file_is_an_error_naming_it);
    tcase_add_test(tc, a_syntax_error_in_the_file_names_file_and_line);
    tcase_add_loop_test(tc, parse_buffer_reads_each_form_like_systemd, 0, N(env_rows));
    tcase_add_loop_test(tc, parse_buffer_reports_each_syntax_error_with_its_line, 0,
                        N(bad_env_rows));
    tcase_add_test(tc, parse_buffer_never_reads_past_len_and_refuses_nul);
    tcase_add_loop_test(tc, each_bad_value_stops_loading_with_an_error_naming_the_variable, 0,
                        N(bad_values));
    tcase_add_test(tc, a_bad_value_in_the_file_is_refused_by_name_too);
    tcase_add_test(tc, good_values_of_every_kind_are_taken);
    tcase_add_test(tc, booleans_accept_every_documented_spelling);
    tcase_add_test(tc, origins_match_exactly_and_case_insensitively);
    tcase_add_test(tc, star_allows_every_origin_and_null_only_when_listed);
    tcase_add_loop_test(tc, parse_listen_reads_each_address_form, 0, N(listens));
    tcase_add_test(tc, help_lists_every_variable_with_its_default);
    tcase_add_test(tc, storage_names_are_the_accepted_values);
    tcase_add_test(tc, carry_keeps_restart_only_settings_and_names_the_changed_ones);
    return tc;
}
