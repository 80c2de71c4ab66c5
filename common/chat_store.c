/* chat_store.c: the storage interface: argument checks, dispatch to the backend's ops table
 * (chat_store_private.h), and the "none" backend that answers CHAT_ESTORE_DISABLED.
 *
 * Thread: a handle belongs to the thread that opened it, except its deadline (an atomic, which
 * any thread may set); nothing here keeps global state.
 * Nothing here logs: callers decide, and chat_store_last_error keeps the backend's text. */
#include "chat_store.h"
#include "chat_store_private.h"

#include <apr_strings.h>
#include <stdarg.h>

#include "chat_id.h"

static apr_status_t none_open(chat_store_t *s)
{
    (void)s;
    return APR_SUCCESS;
}

static apr_status_t none_ensure_schema(chat_store_t *s, apr_interval_time_t timeout)
{
    (void)s;
    (void)timeout;
    return CHAT_ESTORE_DISABLED;
}

static apr_status_t none_health(chat_store_t *s)
{
    (void)s;
    return CHAT_ESTORE_DISABLED;
}

static apr_status_t none_save(chat_store_t *s, const chat_msg_t *const *msgs, int n,
                              apr_time_t deadline, apr_pool_t *scratch)
{
    (void)s;
    (void)msgs;
    (void)n;
    (void)deadline;
    (void)scratch;
    return CHAT_ESTORE_DISABLED;
}

static apr_status_t none_recent(chat_store_t *s, const char *key, const char *before, int limit,
                                apr_array_header_t **out, int *has_more, apr_pool_t *pool)
{
    (void)s;
    (void)key;
    (void)before;
    (void)limit;
    (void)out;
    (void)has_more;
    (void)pool;
    return CHAT_ESTORE_DISABLED;
}

static apr_status_t none_room_after(chat_store_t *s, const char *room, apr_int64_t after_seq,
                                    int limit, apr_array_header_t **out, apr_pool_t *pool)
{
    (void)s;
    (void)room;
    (void)after_seq;
    (void)limit;
    (void)out;
    (void)pool;
    return CHAT_ESTORE_DISABLED;
}

static apr_status_t none_room_max_seq(chat_store_t *s, const char *room, apr_int64_t *out)
{
    (void)s;
    (void)room;
    (void)out;
    return CHAT_ESTORE_DISABLED;
}

static const chat_store_ops_t none_ops = {
    "none", none_open, none_ensure_schema, none_health, none_save,
    none_recent, none_room_after, none_room_max_seq, none_recent
};

void chat_store_error_set(chat_store_t *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    apr_vsnprintf(s->errbuf, sizeof(s->errbuf), fmt, ap);
    va_end(ap);
}

apr_status_t chat_store_open(chat_store_t **out, const chat_config_t *cfg, apr_pool_t *pool)
{
    const chat_store_ops_t *ops;
    chat_store_t *s;
    apr_status_t rv;

    switch (cfg->storage) {
    case CHAT_STORAGE_SQLITE:
        ops = &chat_store_sqlite_ops;
        break;
    case CHAT_STORAGE_DYNAMODB:
        ops = &chat_store_dynamo_ops;
        break;
    case CHAT_STORAGE_NONE:
        ops = &none_ops;
        break;
    default:
        return CHAT_ECONFIG;
    }
    s = apr_pcalloc(pool, sizeof(*s));
    s->ops = ops;
    s->cfg = cfg;
    s->pool = pool;
    atomic_init(&s->deadline, 0);
    rv = ops->open(s);
    if (rv == APR_SUCCESS) {
        *out = s;
    }
    return rv;
}

void chat_store_deadline_set(chat_store_t *s, apr_time_t deadline)
{
    atomic_store(&s->deadline, deadline);
}

apr_time_t chat_store_deadline_get(const chat_store_t *s)
{
    return atomic_load(&((chat_store_t *)s)->deadline);
}

apr_time_t chat_store_deadline_min(const chat_store_t *s, apr_time_t a)
{
    apr_time_t b = chat_store_deadline_get(s);

    if (a == 0 || (b != 0 && b < a)) {
        return b;
    }
    return a;
}

const char *chat_store_name(const chat_store_t *s)
{
    return s->ops->name;
}

const char *chat_store_last_error(const chat_store_t *s)
{
    return s->errbuf;
}

apr_status_t chat_store_ensure_schema(chat_store_t *s, apr_interval_time_t timeout)
{
    s->errbuf[0] = '\0';
    return s->ops->ensure_schema(s, timeout);
}

apr_status_t chat_store_health(chat_store_t *s)
{
    s->errbuf[0] = '\0';
    return s->ops->health(s);
}

apr_status_t chat_store_save(chat_store_t *s, const chat_msg_t *const *msgs, int n,
                             apr_time_t deadline, apr_pool_t *scratch)
{
    if (n < 0 || (n > 0 && msgs == NULL)) {
        return APR_EINVAL;
    }
    s->errbuf[0] = '\0';
    if (n == 0 && s->ops != &none_ops) {
        return APR_SUCCESS;
    }
    return s->ops->save(s, msgs, n, deadline, scratch);
}

static int is_limit_ok(int limit)
{
    return limit >= 1 && limit <= CHAT_STORE_MAX_LIMIT;
}

apr_status_t chat_store_room_recent(chat_store_t *s, const char *room, const char *before,
                                    int limit, apr_array_header_t **out, int *has_more,
                                    apr_pool_t *pool)
{
    if (room == NULL || !is_limit_ok(limit)) {
        return APR_EINVAL;
    }
    if (before != NULL && !chat_id_is_valid(before)) {
        return CHAT_EBAD_MESSAGE_ID;
    }
    s->errbuf[0] = '\0';
    return s->ops->room_recent(s, room, before, limit, out, has_more, pool);
}

apr_status_t chat_store_room_after(chat_store_t *s, const char *room, apr_int64_t after_seq,
                                   int limit, apr_array_header_t **out, apr_pool_t *pool)
{
    if (room == NULL || !is_limit_ok(limit)) {
        return APR_EINVAL;
    }
    s->errbuf[0] = '\0';
    return s->ops->room_after(s, room, after_seq, limit, out, pool);
}

apr_status_t chat_store_room_max_seq(chat_store_t *s, const char *room, apr_int64_t *out)
{
    if (room == NULL) {
        return APR_EINVAL;
    }
    s->errbuf[0] = '\0';
    return s->ops->room_max_seq(s, room, out);
}

apr_status_t chat_store_user_recent(chat_store_t *s, const char *user_id, const char *before,
                                    int limit, apr_array_header_t **out, int *has_more,
                                    apr_pool_t *pool)
{
    if (user_id == NULL || !is_limit_ok(limit)) {
        return APR_EINVAL;
    }
    if (before != NULL && !chat_id_is_valid(before)) {
        return CHAT_EBAD_MESSAGE_ID;
    }
    s->errbuf[0] = '\0';
    return s->ops->user_recent(s, user_id, before, limit, out, has_more, pool);
}
