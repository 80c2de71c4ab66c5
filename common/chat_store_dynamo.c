/* chat_store_dynamo.c: the DynamoDB backend (work in progress). */
#include "chat_store_private.h"

static apr_status_t dy_open(chat_store_t *s)
{
    (void)s;
    return APR_SUCCESS;
}

static apr_status_t dy_ensure_schema(chat_store_t *s, apr_interval_time_t timeout)
{
    (void)s; (void)timeout;
    return APR_ENOTIMPL;
}

static apr_status_t dy_health(chat_store_t *s)
{
    (void)s;
    return APR_ENOTIMPL;
}

static apr_status_t dy_save(chat_store_t *s, const chat_msg_t *const *msgs, int n,
                            apr_time_t deadline, apr_pool_t *scratch)
{
    (void)s; (void)msgs; (void)n; (void)deadline; (void)scratch;
    return APR_ENOTIMPL;
}

static apr_status_t dy_room_recent(chat_store_t *s, const char *room, const char *before,
                                   int limit, apr_array_header_t **out, int *has_more,
                                   apr_pool_t *pool)
{
    (void)s; (void)room; (void)before; (void)limit; (void)out; (void)has_more; (void)pool;
    return APR_ENOTIMPL;
}

static apr_status_t dy_room_after(chat_store_t *s, const char *room, apr_int64_t after_seq,
                                  int limit, apr_array_header_t **out, apr_pool_t *pool)
{
    (void)s; (void)room; (void)after_seq; (void)limit; (void)out; (void)pool;
    return APR_ENOTIMPL;
}

static apr_status_t dy_room_max_seq(chat_store_t *s, const char *room, apr_int64_t *out)
{
    (void)s; (void)room; (void)out;
    return APR_ENOTIMPL;
}

const chat_store_ops_t chat_store_dynamo_ops = {
    "dynamodb", dy_open, dy_ensure_schema, dy_health, dy_save,
    dy_room_recent, dy_room_after, dy_room_max_seq, dy_room_recent
};
