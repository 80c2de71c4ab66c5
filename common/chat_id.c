/* chat_id.c: message ids (UUIDv7) and connection ids (being written). */
#include "chat_id.h"

#include <string.h>

apr_status_t chat_id_gen_init(chat_id_gen_t *gen)
{
    memset(gen, 0, sizeof(*gen));
    return APR_ENOTIMPL;
}

void chat_id_next_message(chat_id_gen_t *gen, apr_time_t now, char *out)
{
    (void)gen, (void)now;
    memcpy(out, "00000000-0000-7000-8000-000000000000", CHAT_MSG_ID_LEN + 1);
}

void chat_id_next_client(chat_id_gen_t *gen, char *out)
{
    (void)gen;
    memcpy(out, "client-00000000-0000-4000-8000-000000000000", CHAT_ID_CLIENT_LEN + 1);
}

int chat_id_is_valid(const char *s)
{
    (void)s;
    return 0;
}

apr_status_t chat_id_time(const char *id, apr_time_t *out)
{
    (void)id, (void)out;
    return APR_ENOTIMPL;
}
