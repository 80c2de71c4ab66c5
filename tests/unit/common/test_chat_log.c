/* Tests of common/chat_log.c: JSON lines, levels, escaping, truncation, reopen. */
#include "../check_main.h"
#include "chat_log.h"

#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POOL test_pool

/* The logger's pool cleanup, registered after the directory's, closes the file before the
 * directory is removed. */
#define temp_dir() chat_test_temp_dir("chat-log-test-")

/* The file's lines, each checked to be one JSON object. */
static apr_array_header_t *read_lines(const char *path)
{
    apr_array_header_t *lines = apr_array_make(POOL, 8, sizeof(json_object *));
    char *text = NULL;
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t got;

    ck_assert_int_eq(apr_file_open(&f, path, APR_FOPEN_READ, 0, POOL), APR_SUCCESS);
    ck_assert_int_eq(apr_file_info_get(&fi, APR_FINFO_SIZE, f), APR_SUCCESS);
    text = apr_pcalloc(POOL, (apr_size_t)fi.size + 1);
    apr_file_read_full(f, text, (apr_size_t)fi.size, &got);
    apr_file_close(f);
    ck_assert_uint_eq(got, (apr_size_t)fi.size);
    for (char *line = text, *nl; *line != '\0'; line = nl + 1) {
        json_object *obj;

        nl = strchr(line, '\n');
        ck_assert_msg(nl != NULL, "last line has no newline");
        *nl = '\0';
        ck_assert_uint_le(strlen(line) + 1, CHAT_LOG_MAX_LINE);
        obj = json_tokener_parse(line);
        ck_assert_msg(obj != NULL && json_object_is_type(obj, json_type_object),
                      "not a JSON object: %s", line);
        APR_ARRAY_PUSH(lines, json_object *) = obj;
    }
    return lines;
}

static void put_lines(apr_array_header_t *lines)
{
    for (int i = 0; i < lines->nelts; i++) {
        json_object_put(APR_ARRAY_IDX(lines, i, json_object *));
    }
}

static const char *field(apr_array_header_t *lines, int i, const char *key)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(APR_ARRAY_IDX(lines, i, json_object *), key, &v)) {
        return NULL;
    }
    return v == NULL ? "(null)" : json_object_get_string(v);
}

START_TEST(each_line_is_a_json_object_with_ts_level_msg_and_fields)
{
    char *path = apr_pstrcat(POOL, temp_dir(), "/a.log", NULL);
    chat_log_t *log = NULL;
    apr_array_header_t *lines;

    ck_assert_int_eq(chat_log_create(&log, CHAT_LOG_INFO, path, POOL), APR_SUCCESS);
    CHAT_LOG(log, CHAT_LOG_INFO, "relay listening", "port", "8081", "room", NULL);
    CHAT_LOG(log, CHAT_LOG_ERROR, "store failed", "err", "quote \" slash \\ nl \n ctl \x01 \xff");
    lines = read_lines(path);
    ck_assert_int_eq(lines->nelts, 2);
    ck_assert_uint_eq(strlen(field(lines, 0, "ts")), 24);
    ck_assert_str_eq(field(lines, 0, "level"), "info");
    ck_assert_str_eq(field(lines, 0, "msg"), "relay listening");
    ck_assert_str_eq(field(lines, 0, "port"), "8081");
    ck_assert_str_eq(field(lines, 0, "room"), "(null)");
    ck_assert_str_eq(field(lines, 1, "level"), "error");
    ck_assert_str_eq(field(lines, 1, "err"), "quote \" slash \\ nl \n ctl \x01 \xef\xbf\xbd");
    put_lines(lines);
}
END_TEST

START_TEST(lines_below_the_level_are_not_written)
{
    char *path = apr_pstrcat(POOL, temp_dir(), "/a.log", NULL);
    chat_log_t *log = NULL;
    apr_array_header_t *lines;

    ck_assert_int_eq(chat_log_create(&log, CHAT_LOG_WARN, path, POOL), APR_SUCCESS);
    ck_assert_int_eq(chat_log_is_enabled(log, CHAT_LOG_INFO), 0);
    ck_assert_int_eq(chat_log_is_enabled(log, CHAT_LOG_WARN), 1);
    CHAT_LOG(log, CHAT_LOG_DEBUG, "d");
    CHAT_LOG(log, CHAT_LOG_INFO, "i");
    CHAT_LOG(log, CHAT_LOG_WARN, "w");
    chat_log_level_set(log, CHAT_LOG_DEBUG);
    CHAT_LOG(log, CHAT_LOG_DEBUG, "d2");
    lines = read_lines(path);
    ck_assert_int_eq(lines->nelts, 2);
    ck_assert_str_eq(field(lines, 0, "msg"), "w");
    ck_assert_str_eq(field(lines, 1, "msg"), "d2");
    put_lines(lines);
}
END_TEST

START_TEST(a_line_too_long_is_cut_but_stays_valid_json)
{
    char *path = apr_pstrcat(POOL, temp_dir(), "/a.log", NULL);
    char *big = apr_palloc(POOL, 3 * CHAT_LOG_MAX_LINE);
    chat_log_t *log = NULL;
    apr_array_header_t *lines;

    for (int i = 0; i < 3 * CHAT_LOG_MAX_LINE - 1; i++) {
        big[i] = "a\"\n\xc3\xa9"[i % 5];   /* escapes and two-byte characters at every cut */
    }
    big[3 * CHAT_LOG_MAX_LINE - 1] = '\0';
    ck_assert_int_eq(chat_log_create(&log, CHAT_LOG_DEBUG, path, POOL), APR_SUCCESS);
    for (int shift = 0; shift < 5; shift++) {
        CHAT_LOG(log, CHAT_LOG_INFO, "big", "value", big + shift, "after", "x");
        CHAT_LOG(log, CHAT_LOG_INFO, "big key", big + shift, "v");
    }
    lines = read_lines(path);   /* checks each line's length and JSON */
    ck_assert_int_eq(lines->nelts, 10);
    ck_assert_str_eq(field(lines, 0, "truncated"), "true");
    ck_assert_ptr_null(field(lines, 0, "after"));
    ck_assert_ptr_nonnull(field(lines, 0, "value"));
    ck_assert_str_eq(field(lines, 1, "msg"), "big key");
    put_lines(lines);
}
END_TEST

START_TEST(reopen_follows_a_rotated_file)
{
    char *dir = temp_dir();
    char *path = apr_pstrcat(POOL, dir, "/a.log", NULL);
    char *rotated = apr_pstrcat(POOL, dir, "/a.log.1", NULL);
    chat_log_t *log = NULL;
    apr_array_header_t *old_lines, *new_lines;

    ck_assert_int_eq(chat_log_create(&log, CHAT_LOG_INFO, path, POOL), APR_SUCCESS);
    CHAT_LOG(log, CHAT_LOG_INFO, "before");
    ck_assert_int_eq(rename(path, rotated), 0);
    CHAT_LOG(log, CHAT_LOG_INFO, "still old");
    ck_assert_int_eq(chat_log_reopen(log), APR_SUCCESS);
    CHAT_LOG(log, CHAT_LOG_INFO, "after");
    old_lines = read_lines(rotated);
    new_lines = read_lines(path);
    ck_assert_int_eq(old_lines->nelts, 2);
    ck_assert_int_eq(new_lines->nelts, 1);
    ck_assert_str_eq(field(new_lines, 0, "msg"), "after");
    put_lines(old_lines);
    put_lines(new_lines);
}
END_TEST

START_TEST(create_fails_for_an_unwritable_path_and_stderr_needs_no_file)
{
    chat_log_t *log = NULL;

    ck_assert_int_ne(chat_log_create(&log, CHAT_LOG_INFO, "/nonexistent/dir/x.log", POOL),
                     APR_SUCCESS);
    ck_assert_ptr_null(log);
    ck_assert_int_eq(chat_log_create(&log, CHAT_LOG_ERROR, NULL, POOL), APR_SUCCESS);
    ck_assert_int_eq(chat_log_reopen(log), APR_SUCCESS);
    ck_assert_int_eq(chat_log_create(&log, CHAT_LOG_ERROR, "", POOL), APR_SUCCESS);
}
END_TEST

static const struct {
    const char *text;
    apr_status_t want;
    chat_log_level_e level;
} level_rows[] = {
    { "debug", APR_SUCCESS, CHAT_LOG_DEBUG },
    { "INFO", APR_SUCCESS, CHAT_LOG_INFO },
    { "warn", APR_SUCCESS, CHAT_LOG_WARN },
    { "Warning", APR_SUCCESS, CHAT_LOG_WARN },
    { "error", APR_SUCCESS, CHAT_LOG_ERROR },
    { "", CHAT_ECONFIG, CHAT_LOG_INFO },
    { "verbose", CHAT_ECONFIG, CHAT_LOG_INFO },
    { "info ", CHAT_ECONFIG, CHAT_LOG_INFO },
    { NULL, CHAT_ECONFIG, CHAT_LOG_INFO },
};

START_TEST(level_parse_takes_each_name_and_refuses_others)
{
    chat_log_level_e level = CHAT_LOG_INFO;

    ck_assert_int_eq(chat_log_level_parse(level_rows[_i].text, &level), level_rows[_i].want);
    ck_assert_int_eq(level, level_rows[_i].level);
}
END_TEST

typedef struct {
    chat_log_t *log;
    const char *name;
} writer_arg_t;

static void *APR_THREAD_FUNC write_many(apr_thread_t *thd, void *data)
{
    writer_arg_t *arg = data;

    for (int i = 0; i < 300; i++) {
        CHAT_LOG(arg->log, CHAT_LOG_INFO, "from thread", "thread", arg->name, "pad",
                 "...................................................................");
    }
    apr_thread_exit(thd, APR_SUCCESS);
    return NULL;
}

START_TEST(lines_from_concurrent_threads_never_interleave)
{
    char *path = apr_pstrcat(POOL, temp_dir(), "/a.log", NULL);
    chat_log_t *log = NULL;
    apr_thread_t *threads[4];
    writer_arg_t args[4];
    apr_array_header_t *lines;
    apr_status_t trv;

    ck_assert_int_eq(chat_log_create(&log, CHAT_LOG_INFO, path, POOL), APR_SUCCESS);
    for (int i = 0; i < 4; i++) {
        args[i].log = log;
        args[i].name = apr_itoa(POOL, i);
        ck_assert_int_eq(apr_thread_create(&threads[i], NULL, write_many, &args[i], POOL),
                         APR_SUCCESS);
    }
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(apr_thread_join(&trv, threads[i]), APR_SUCCESS);
    }
    lines = read_lines(path);   /* every line must parse on its own */
    ck_assert_int_eq(lines->nelts, 1200);
    put_lines(lines);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

TCase *tcase_chat_log(void);

TCase *tcase_chat_log(void)
{
    TCase *tc = chat_tcase_create("chat_log");

    tcase_add_test(tc, each_line_is_a_json_object_with_ts_level_msg_and_fields);
    tcase_add_test(tc, lines_below_the_level_are_not_written);
    tcase_add_test(tc, a_line_too_long_is_cut_but_stays_valid_json);
    tcase_add_test(tc, reopen_follows_a_rotated_file);
    tcase_add_test(tc, create_fails_for_an_unwritable_path_and_stderr_needs_no_file);
    tcase_add_loop_test(tc, level_parse_takes_each_name_and_refuses_others, 0, N(level_rows));
    tcase_add_test(tc, lines_from_concurrent_threads_never_interleave);
    return tc;
}
