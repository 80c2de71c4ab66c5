/* Tests of common/chat_err.c (being written). */
#include "../check_main.h"

TCase *tcase_chat_err(void);

TCase *tcase_chat_err(void)
{
    return chat_tcase_create("chat_err");
}
