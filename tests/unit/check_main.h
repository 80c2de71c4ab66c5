/* check_main.h: the shared runner of every Check unit-test program.
 *
 * Each test file ends with a function returning its TCase; each program lists those functions
 * in a NULL-terminated chat_tcases[] (tests/unit/<area>/tcases_<area>.c) and names its suite.
 * The runner calls apr_initialize once, runs the suite and prints Check's summary. Each test
 * gets a fresh pool from the checked fixture below (run inside the test's own fork). */
#ifndef CHECK_MAIN_H
#define CHECK_MAIN_H

#include <check.h>
#include <apr_pools.h>

typedef TCase *(*chat_tcase_fn)(void);

extern const chat_tcase_fn chat_tcases[];   /* NULL-terminated */
extern const char *const chat_suite_name;

/* The test's pool: created by chat_test_pool_setup, destroyed by chat_test_pool_teardown.
 * Add them with tcase_add_checked_fixture(tc, chat_test_pool_setup, chat_test_pool_teardown). */
extern apr_pool_t *test_pool;
void chat_test_pool_setup(void);
void chat_test_pool_teardown(void);

/* A new directory /tmp/<prefix>XXXXXX (the string from test_pool), removed when test_pool goes,
 * with every entry in it that is not a directory (files, sockets). Pool cleanups run
 * last-registered first, so what is opened in it after this call is closed before it goes. */
char *chat_test_temp_dir(const char *prefix);

/* A TCase with the pool fixture added and a generous timeout (sanitizer builds are slow). */
TCase *chat_tcase_create(const char *name);

#endif
