/* rest_health.c: /health and /ready (see rest_health.h).
 *
 * "storage" combines two views of the store: this thread's own probe (a read, SELECT 1 or a
 * DescribeTable) and the relay's, which writes (the storageUp gauge in the analytics segment).
 * A store can answer reads and still refuse or hang writes (a SQLite database another process
 * holds locked: WAL readers are not blocked), and only the relay sees that; while the relay is
 * down its gauge says nothing, so the probe alone decides.
 * Thread: any REST thread, on its own request. */
#include "rest_health.h"

const char *rest_health_storage(rest_req_t *r)
{
    apr_status_t rv;

    if (r->ctx->cfg->storage == CHAT_STORAGE_NONE) {
        return "disabled";
    }
    if (r->store == NULL) {
        return "unavailable";
    }
    if (r->health != NULL && r->health->at != 0 && r->now >= r->health->at
        && r->now - r->health->at < REST_HEALTH_CACHE) {
        rv = r->health->rv;
    }
    else {
        rv = chat_store_health(r->store);
        if (r->health != NULL) {
            r->health->at = r->now;
            r->health->rv = rv;
        }
    }
    if (rv == APR_SUCCESS) {
        return "ok";
    }
    return rv == CHAT_ESTORE_DISABLED ? "disabled" : "unavailable";
}

const char *rest_health_storage_seen(rest_req_t *r, const chat_shm_snapshot_t *snap)
{
    if (r->ctx->cfg->storage == CHAT_STORAGE_NONE) {
        return "disabled";
    }
    if (snap->relay_up && snap->counters[CHAT_CTR_STORE_UP] == 0) {
        return "unavailable";                  /* the writer says so; no need to ask */
    }
    return rest_health_storage(r);
}

/* Takes a snapshot of the counters only (no table: /health is polled often, and copying the
 * user table was half its cost); on a reader error reports the relay as down. */
static void snapshot(rest_req_t *r, chat_shm_snapshot_t *snap)
{
    if (r->shm == NULL || chat_shm_reader_snapshot_parts(r->shm, r->now, 0, snap, r->pool)
                          != APR_SUCCESS) {
        snap->relay_up = 0;
        snap->counters[CHAT_CTR_CONNS_ACTIVE] = 0;
    }
}

void rest_health_live(rest_req_t *r)
{
    chat_shm_snapshot_t *snap = apr_pcalloc(r->pool, sizeof(*snap));
    const char *storage;
    int degraded;

    snapshot(r, snap);
    storage = rest_health_storage_seen(r, snap);
    degraded = !snap->relay_up || storage[0] == 'u';
    rest_reply_start(r, 200, REST_JSON);
    rest_buf_printf(&r->body, "{\"status\":\"%s\",\"clients\":%llu,\"storage\":\"%s\","
                    "\"relay\":\"%s\"}\n", degraded ? "degraded" : "ok",
                    snap->relay_up ? (unsigned long long)snap->counters[CHAT_CTR_CONNS_ACTIVE]
                                   : 0ULL,
                    storage, snap->relay_up ? "ok" : "down");
}

void rest_health_ready(rest_req_t *r)
{
    chat_shm_snapshot_t *snap = apr_pcalloc(r->pool, sizeof(*snap));
    const char *storage;
    const char *reason = NULL;

    snapshot(r, snap);
    storage = rest_health_storage_seen(r, snap);
    if (!snap->relay_up) {
        reason = "analytics segment missing or stale: relay down";
    }
    else if (storage[0] == 'u') {
        reason = "storage unavailable";
    }
    if (reason != NULL) {
        rest_reply_start(r, 503, REST_JSON);
        rest_buf_puts(&r->body, "{\"status\":\"not ready\",\"error\":");
        rest_buf_json_str(&r->body, reason);
        rest_buf_printf(&r->body, ",\"relay\":\"%s\",\"storage\":\"%s\"}\n",
                        snap->relay_up ? "ok" : "down", storage);
        apr_table_setn(r->headers, "Retry-After", "5");
        return;
    }
    rest_reply_start(r, 200, REST_JSON);
    rest_buf_printf(&r->body, "{\"status\":\"ready\",\"relay\":\"ok\",\"storage\":\"%s\"}\n",
                    storage);
}
