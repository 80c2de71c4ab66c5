/* chat_shm.c: live analytics segment (issue 4). Placeholder so libchatcommon links; the real
 * implementation follows. */
#include "chat_shm.h"

apr_status_t chat_shm_create(chat_shm_t **out, const char *path, const chat_shm_limits_t *lim,
                             apr_time_t now, apr_pool_t *pool)
{
    (void)out; (void)path; (void)lim; (void)now; (void)pool;
    return APR_ENOTIMPL;
}
void chat_shm_tick(chat_shm_t *shm, apr_time_t now) { (void)shm; (void)now; }
void chat_shm_add(chat_shm_t *shm, enum chat_ctr ctr, uint64_t n) { (void)shm; (void)ctr; (void)n; }
void chat_shm_sub(chat_shm_t *shm, enum chat_ctr ctr, uint64_t n) { (void)shm; (void)ctr; (void)n; }
void chat_shm_set(chat_shm_t *shm, enum chat_ctr ctr, uint64_t v) { (void)shm; (void)ctr; (void)v; }
void chat_shm_conn_open(chat_shm_t *shm, const char *client_id, const char *user_id,
                        const char *username, const char *room_id, apr_time_t joined,
                        int *slot)
{
    (void)shm; (void)client_id; (void)user_id; (void)username; (void)room_id; (void)joined;
    *slot = -1;
}
void chat_shm_conn_close(chat_shm_t *shm, int slot, const char *client_id, const char *user_id,
                         const char *room_id)
{
    (void)shm; (void)slot; (void)client_id; (void)user_id; (void)room_id;
}
void chat_shm_message(chat_shm_t *shm, const char *room_id, apr_time_t now)
{
    (void)shm; (void)room_id; (void)now;
}
void chat_shm_latency(chat_shm_t *shm, apr_interval_time_t usec) { (void)shm; (void)usec; }
apr_status_t chat_shm_reader_create(chat_shm_reader_t **out, const char *path,
                                    apr_pool_t *pool)
{
    (void)out; (void)path; (void)pool;
    return APR_ENOTIMPL;
}
apr_status_t chat_shm_reader_snapshot(chat_shm_reader_t *r, apr_time_t now,
                                      chat_shm_snapshot_t *snap, apr_pool_t *pool)
{
    (void)r; (void)now; (void)snap; (void)pool;
    return APR_ENOTIMPL;
}
int chat_shm_hist_index(uint64_t usec) { (void)usec; return 0; }
uint64_t chat_shm_hist_bound(int index) { (void)index; return 0; }
double chat_shm_hist_percentile(const uint64_t *hist, uint64_t count, double q)
{
    (void)hist; (void)count; (void)q;
    return 0.0;
}
const char *chat_shm_counter_key(enum chat_ctr ctr) { (void)ctr; return ""; }
const char *chat_shm_counter_prom(enum chat_ctr ctr) { (void)ctr; return ""; }
const char *chat_shm_counter_help(enum chat_ctr ctr) { (void)ctr; return ""; }
int chat_shm_counter_is_gauge(enum chat_ctr ctr) { (void)ctr; return 0; }
