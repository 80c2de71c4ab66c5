/* Tests of common/chat_log.c (being written). */
#include "../check_main.h"

TCase *tcase_chat_log(void);

TCase *tcase_chat_log(void)
{
    return chat_tcase_create("chat_log");
}
