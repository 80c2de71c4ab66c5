/* relay_persist.c: the lossless persistence pipeline (see relay_persist.h).
 * TEMPORARY: a compiling skeleton so chat-relay links; every call is a no-op as with
 * STORAGE=none. The real implementation follows. */
#include "relay_persist.h"
#include "relay_journal.h"

struct relay_persist_t {
    const chat_config_t *cfg;
};

apr_status_t relay_persist_create(relay_persist_t **out, const chat_config_t *cfg,
                                  chat_shm_t *shm, chat_log_t *log, apr_pool_t *pool)
{
    relay_persist_t *p = apr_pcalloc(pool, sizeof(*p));

    (void)shm;
    (void)log;
    p->cfg = cfg;
    *out = p;
    return APR_SUCCESS;
}

apr_status_t relay_persist_recover(relay_persist_t *p, apr_size_t *recovered)
{
    (void)p;
    *recovered = 0;
    return APR_SUCCESS;
}

apr_status_t relay_persist_start(relay_persist_t *p, void (*wake)(void *arg), void *arg)
{
    (void)p;
    (void)wake;
    (void)arg;
    return APR_SUCCESS;
}

apr_status_t relay_persist_push(relay_persist_t *p, const chat_msg_t *msg)
{
    (void)p;
    (void)msg;
    return APR_SUCCESS;
}

apr_status_t relay_persist_read(relay_persist_t *p, relay_read_kind_e kind, const char *room,
                                apr_int64_t after_seq, int limit, apr_uint64_t *ticket)
{
    (void)p;
    (void)kind;
    (void)room;
    (void)after_seq;
    (void)limit;
    (void)ticket;
    return CHAT_ESTORE_DISABLED;
}

void relay_persist_drain(relay_persist_t *p,
                         void (*on_result)(void *arg, const relay_read_result_t *r), void *arg)
{
    (void)p;
    (void)on_result;
    (void)arg;
}

int relay_persist_is_store_up(const relay_persist_t *p)
{
    (void)p;
    return 0;
}

apr_status_t relay_persist_shutdown(relay_persist_t *p, apr_time_t deadline)
{
    (void)p;
    (void)deadline;
    return APR_SUCCESS;
}
