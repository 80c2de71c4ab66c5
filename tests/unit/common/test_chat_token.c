/* Tests of common/chat_token.c (being written). */
#include "../check_main.h"

TCase *tcase_chat_token(void);

TCase *tcase_chat_token(void)
{
    return chat_tcase_create("chat_token");
}
