/* chat_store_sqlite.c: the SQLite backend (work in progress). */
#include "chat_store_private.h"

static apr_status_t sq_open(chat_store_t *s)
{
    (void)s;
    return APR_SUCCESS;
}

static apr_status_t sq_ensure_schema(chat_store_t *s, apr_interval_time_t timeout)
{
    (void)s; (void)timeout;
    return APR_ENOTIMPL;
}

static apr_status_t sq_health(chat_store_t *s)
{
    (void)s;
    return APR_ENOTIMPL;
}

static apr_status_t sq_save(chat_store_t *s, const chat_msg_t *const *msgs, int n,
                            apr_time_t deadline, apr_pool_t *scratch)
{
    (void)s; (void)msgs; (void)n; (void)deadline; (void)scratch;
    return APR_ENOTIMPL;
}

static apr_status_t sq_room_recent(chat_store_t *s, const char *room, const char *before,
                                   int limit, apr_array_header_t **out, int *has_more,
                                   apr_pool_t *pool)
{
    (void)s; (void)room; (void)before; (void)limit; (void)out; (void)has_more; (void)pool;
    return APR_ENOTIMPL;
}

static apr_status_t sq_room_after(chat_store_t *s, const char *room, apr_int64_t after_seq,
                                  int limit, apr_array_header_t **out, apr_pool_t *pool)
{
    (void)s; (void)room; (void)after_seq; (void)limit; (void)out; (void)pool;
    return APR_ENOTIMPL;
}

static apr_status_t sq_room_max_seq(chat_store_t *s, const char *room, apr_int64_t *out)
{
    (void)s; (void)room; (void)out;
    return APR_ENOTIMPL;
}

const chat_store_ops_t chat_store_sqlite_ops = {
    "sqlite", sq_open, sq_ensure_schema, sq_health, sq_save,
    sq_room_recent, sq_room_after, sq_room_max_seq, sq_room_recent
};
