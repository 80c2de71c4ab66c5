/* The TCases of tests/unit/test_relay: the relay's persistence pipeline. */
#include "../check_main.h"

TCase *tcase_relay_journal(void);
TCase *tcase_relay_persist(void);

const char *const chat_suite_name = "relay";
const chat_tcase_fn chat_tcases[] = { tcase_relay_journal, tcase_relay_persist, NULL };
