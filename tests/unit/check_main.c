/* check_main.c: runner shared by the unit-test programs; see check_main.h. */
#include "check_main.h"

#include <apr_general.h>
#include <stdlib.h>

apr_pool_t *test_pool;

void chat_test_pool_setup(void)
{
    ck_assert_int_eq(apr_pool_create(&test_pool, NULL), APR_SUCCESS);
}

void chat_test_pool_teardown(void)
{
    apr_pool_destroy(test_pool);
    test_pool = NULL;
}

TCase *chat_tcase_create(const char *name)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, chat_test_pool_setup, chat_test_pool_teardown);
    tcase_set_timeout(tc, 120);
    return tc;
}

int main(void)
{
    Suite *suite;
    SRunner *runner;
    int failed;

    if (apr_initialize() != APR_SUCCESS) {
        return EXIT_FAILURE;
    }
    atexit(apr_terminate);
    suite = suite_create(chat_suite_name);
    for (const chat_tcase_fn *fn = chat_tcases; *fn != NULL; fn++) {
        suite_add_tcase(suite, (*fn)());
    }
    runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
