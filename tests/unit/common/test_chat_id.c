/* Tests of common/chat_id.c (being written). */
#include "../check_main.h"

TCase *tcase_chat_id(void);

TCase *tcase_chat_id(void)
{
    return chat_tcase_create("chat_id");
}
