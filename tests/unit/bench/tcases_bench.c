/* The TCases of tests/unit/test_bench: chat-bench's WebSocket codec and statistics. */
#include "../check_main.h"

TCase *tcase_bench_ws(void);
TCase *tcase_bench_stats(void);

const char *const chat_suite_name = "bench";
const chat_tcase_fn chat_tcases[] = { tcase_bench_ws, tcase_bench_stats, NULL };
