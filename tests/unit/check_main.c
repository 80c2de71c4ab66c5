/* check_main.c: runner shared by the unit-test programs; see check_main.h. */
#include "check_main.h"

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
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

static apr_status_t remove_temp_dir(void *data)
{
    const char *dir = data;
    apr_pool_t *p = NULL;
    apr_dir_t *d = NULL;
    apr_finfo_t fi;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return APR_SUCCESS;
    }
    if (apr_dir_open(&d, dir, p) == APR_SUCCESS) {
        while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS) {
            if (fi.filetype != APR_DIR) {
                apr_file_remove(apr_pstrcat(p, dir, "/", fi.name, NULL), p);
            }
        }
        apr_dir_close(d);
    }
    apr_dir_remove(dir, p);
    apr_pool_destroy(p);
    return APR_SUCCESS;
}

char *chat_test_temp_dir(const char *prefix)
{
    char *dir = apr_pstrcat(test_pool, "/tmp/", prefix, "XXXXXX", NULL);

    ck_assert_ptr_nonnull(mkdtemp(dir));
    apr_pool_cleanup_register(test_pool, dir, remove_temp_dir, apr_pool_cleanup_null);
    return dir;
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
