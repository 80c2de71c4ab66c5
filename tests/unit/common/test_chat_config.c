/* Tests of common/chat_config.c (being written). */
#include "../check_main.h"

TCase *tcase_chat_config(void);

TCase *tcase_chat_config(void)
{
    return chat_tcase_create("chat_config");
}
