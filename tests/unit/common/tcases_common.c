/* The TCases of tests/unit/test_common: one per module of common/ except the analytics
 * segment and the stores, which have programs of their own. */
#include "../check_main.h"

TCase *tcase_chat_err(void);
TCase *tcase_chat_msg(void);
TCase *tcase_chat_id(void);
TCase *tcase_chat_token(void);
TCase *tcase_chat_bucket(void);
TCase *tcase_chat_config(void);
TCase *tcase_chat_log(void);

const char *const chat_suite_name = "common";
const chat_tcase_fn chat_tcases[] = {
    tcase_chat_err, tcase_chat_msg, tcase_chat_id, tcase_chat_token,
    tcase_chat_bucket, tcase_chat_config, tcase_chat_log, NULL
};
