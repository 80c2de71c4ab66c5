/* Tests of common/chat_bucket.c (being written). */
#include "../check_main.h"

TCase *tcase_chat_bucket(void);

TCase *tcase_chat_bucket(void)
{
    return chat_tcase_create("chat_bucket");
}
