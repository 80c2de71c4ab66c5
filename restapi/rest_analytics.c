/* rest_analytics.c: /api/analytics, /api/rooms and /api/status from one segment snapshot.
 *
 * Counters are emitted by walking chat_shm_counters.def, so a counter the relay adds shows up
 * here without touching this file; the grouped views (rejections, drops, persistence) name
 * their members explicitly because their JSON names are shorter than the flat keys.
 *
 * Thread: any REST thread, on its own request. */
#include "rest_analytics.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>
#include "rest_health.h"

chat_shm_snapshot_t *rest_analytics_snapshot(rest_req_t *r, int parts)
{
    chat_shm_snapshot_t *snap = apr_pcalloc(r->pool, sizeof(*snap));
    apr_status_t rv = APR_EGENERAL;

    if (r->shm != NULL) {
        rv = chat_shm_reader_snapshot_parts(r->shm, r->now, parts, snap, r->pool);
    }
    if (rv != APR_SUCCESS) {
        char buf[128];

        memset(snap, 0, sizeof(*snap));
        CHAT_LOG(r->ctx->log, CHAT_LOG_WARN, "analytics snapshot failed",
                 "err", chat_err_str(rv, buf, sizeof(buf)));
    }
    if (!snap->relay_up) {
        /* Counters of a dead relay are not live figures. */
        memset(snap->counters, 0, sizeof(snap->counters));
        snap->n_users = 0;
        snap->n_rooms = 0;
    }
    return snap;
}

static unsigned long long ctr(const chat_shm_snapshot_t *s, enum chat_ctr c)
{
    return (unsigned long long)s->counters[c];
}

static void put_time(rest_buf_t *b, apr_time_t t)
{
    char ts[CHAT_MSG_TIME_LEN + 1];

    if (t <= 0) {
        rest_buf_puts(b, "null");
        return;
    }
    chat_msg_time_format(t, ts);
    rest_buf_json_str(b, ts);
}

static int cmp_rooms(const void *a, const void *b)
{
    const chat_shm_room_t *x = a, *y = b;

    if (x->connections != y->connections) {
        return x->connections > y->connections ? -1 : 1;
    }
    return strcmp(x->room_id, y->room_id);
}

static void put_rooms(rest_buf_t *b, chat_shm_snapshot_t *s)
{
    int i;

    if (s->n_rooms > 1) {
        qsort(s->rooms, (size_t)s->n_rooms, sizeof(s->rooms[0]), cmp_rooms);
    }
    rest_buf_puts(b, "[");
    for (i = 0; i < s->n_rooms; i++) {
        const chat_shm_room_t *rm = &s->rooms[i];

        rest_buf_puts(b, i ? ",{\"roomId\":" : "{\"roomId\":");
        rest_buf_json_str(b, rm->room_id);
        rest_buf_printf(b, ",\"connections\":%llu,\"users\":%llu,\"messagesLastMinute\":%llu,"
                        "\"messagesTotal\":%llu}", (unsigned long long)rm->connections,
                        (unsigned long long)rm->users,
                        (unsigned long long)rm->messages_last_minute,
                        (unsigned long long)rm->messages_total);
    }
    rest_buf_puts(b, "]");
}

static void put_users(rest_buf_t *b, const chat_shm_snapshot_t *s)
{
    int i;

    rest_buf_puts(b, "[");
    for (i = 0; i < s->n_users; i++) {
        const chat_shm_user_t *u = &s->users[i];

        rest_buf_puts(b, i ? ",{\"clientId\":" : "{\"clientId\":");
        rest_buf_json_str(b, u->client_id);
        rest_buf_puts(b, ",\"userId\":");
        rest_buf_json_str(b, u->user_id);
        rest_buf_puts(b, ",\"username\":");
        rest_buf_json_str(b, u->username);
        rest_buf_puts(b, ",\"roomId\":");
        rest_buf_json_str(b, u->room_id);
        rest_buf_puts(b, ",\"joinedAt\":");
        put_time(b, u->joined_at);
        rest_buf_puts(b, "}");
    }
    rest_buf_puts(b, "]");
}

static void put_groups(rest_buf_t *b, const chat_shm_snapshot_t *s)
{
    rest_buf_printf(b, ",\"rejections\":{\"invalid\":%llu,\"rateLimited\":%llu,\"tooLarge\":%llu,"
                    "\"unauthorized\":%llu,\"origin\":%llu,\"connLimit\":%llu,"
                    "\"badRequest\":%llu}",
                    ctr(s, CHAT_CTR_REJ_INVALID), ctr(s, CHAT_CTR_REJ_RATE),
                    ctr(s, CHAT_CTR_REJ_TOO_LARGE), ctr(s, CHAT_CTR_REJ_UNAUTHORIZED),
                    ctr(s, CHAT_CTR_REJ_ORIGIN), ctr(s, CHAT_CTR_REJ_CONN_LIMIT),
                    ctr(s, CHAT_CTR_REJ_BAD_REQUEST));
    rest_buf_printf(b, ",\"drops\":{\"slowConsumerDropped\":%llu,"
                    "\"slowConsumerDisconnects\":%llu}",
                    ctr(s, CHAT_CTR_SLOW_DROPPED), ctr(s, CHAT_CTR_SLOW_DISCONNECTS));
    rest_buf_printf(b, ",\"persistence\":{\"queued\":%llu,\"written\":%llu,\"failed\":%llu,"
                    "\"retried\":%llu,\"spilled\":%llu,\"queueDepth\":%llu,"
                    "\"journalPending\":%llu,\"journalBytes\":%llu,\"lastBatchMs\":",
                    ctr(s, CHAT_CTR_PERSIST_QUEUED), ctr(s, CHAT_CTR_PERSIST_WRITTEN),
                    ctr(s, CHAT_CTR_PERSIST_FAILED), ctr(s, CHAT_CTR_PERSIST_RETRIED),
                    ctr(s, CHAT_CTR_PERSIST_SPILLED), ctr(s, CHAT_CTR_PERSIST_DEPTH),
                    ctr(s, CHAT_CTR_PERSIST_PENDING), ctr(s, CHAT_CTR_PERSIST_JBYTES));
    rest_buf_json_double(b, (double)s->counters[CHAT_CTR_PERSIST_BATCH_US] / 1000.0);
    rest_buf_printf(b, ",\"storageUp\":%s}", s->counters[CHAT_CTR_STORE_UP] ? "true" : "false");
}

static int users_visible(const rest_req_t *r)
{
    return r->ctx->cfg->analytics_public_users
           || (r->remote_user != NULL && r->remote_user[0] != '\0');
}

void rest_analytics_handle(rest_req_t *r)
{
    int i, show_users = users_visible(r);
    chat_shm_snapshot_t *s = rest_analytics_snapshot(r, CHAT_SHM_PART_WINDOW | CHAT_SHM_PART_ROOMS
                                                        | (show_users ? CHAT_SHM_PART_USERS : 0));
    rest_buf_t *b = &r->body;

    rest_reply_start(r, 200, REST_JSON);
    rest_buf_puts(b, "{");
    for (i = 0; i < CHAT_CTR__COUNT; i++) {
        rest_buf_printf(b, "%s\"%s\":%llu", i ? "," : "", chat_shm_counter_key(i),
                        ctr(s, (enum chat_ctr)i));
    }
    rest_buf_puts(b, ",\"messagesPerMinute\":[");
    for (i = 0; i < CHAT_SHM_WINDOW_MINUTES; i++) {
        rest_buf_printf(b, "%s%llu", i ? "," : "", (unsigned long long)s->per_minute[i]);
    }
    rest_buf_puts(b, "],\"latencyP50Ms\":");
    rest_buf_json_double(b, s->p50_ms);
    rest_buf_puts(b, ",\"latencyP95Ms\":");
    rest_buf_json_double(b, s->p95_ms);
    rest_buf_puts(b, ",\"latencyP99Ms\":");
    rest_buf_json_double(b, s->p99_ms);
    rest_buf_puts(b, ",\"latencyLastMinute\":{\"p50Ms\":");
    rest_buf_json_double(b, s->p50_ms_1m);
    rest_buf_puts(b, ",\"p95Ms\":");
    rest_buf_json_double(b, s->p95_ms_1m);
    rest_buf_puts(b, ",\"p99Ms\":");
    rest_buf_json_double(b, s->p99_ms_1m);
    rest_buf_puts(b, "},\"activeUserDetails\":");
    if (show_users) {
        put_users(b, s);
    }
    else {
        rest_buf_puts(b, "[]");
    }
    rest_buf_printf(b, ",\"activeUserDetailsHidden\":%s,\"activeUserDetailsOverflow\":%llu",
                    show_users ? "false" : "true", (unsigned long long)s->users_overflow);
    rest_buf_puts(b, ",\"rooms\":");
    put_rooms(b, s);
    rest_buf_printf(b, ",\"roomsOverflow\":%llu", (unsigned long long)s->rooms_overflow);
    put_groups(b, s);
    rest_buf_printf(b, ",\"relay\":\"%s\",\"uptimeSeconds\":%lld,\"serverStartTime\":",
                    s->relay_up ? "ok" : "down",
                    s->relay_up ? (long long)apr_time_sec(r->now - s->start_time) : 0LL);
    put_time(b, s->relay_up ? s->start_time : 0);
    rest_buf_puts(b, "}\n");
}

void rest_analytics_rooms(rest_req_t *r)
{
    chat_shm_snapshot_t *s = rest_analytics_snapshot(r, CHAT_SHM_PART_ROOMS);

    rest_reply_start(r, 200, REST_JSON);
    rest_buf_printf(&r->body, "{\"count\":%d,\"rooms\":", s->n_rooms);
    put_rooms(&r->body, s);
    rest_buf_printf(&r->body, ",\"overflow\":%llu,\"relay\":\"%s\"}\n",
                    (unsigned long long)s->rooms_overflow, s->relay_up ? "ok" : "down");
}

void rest_analytics_status(rest_req_t *r)
{
    chat_shm_snapshot_t *s = rest_analytics_snapshot(r, CHAT_SHM_PART_WINDOW | CHAT_SHM_PART_ROOMS);
    rest_buf_t *b = &r->body;
    int i;

    rest_reply_start(r, 200, REST_TEXT);
    rest_buf_printf(b, "RelayUp: %d\n", s->relay_up);
    rest_buf_printf(b, "RelayPid: %lld\n", s->relay_up ? (long long)s->relay_pid : 0LL);
    rest_buf_printf(b, "RelayUptime: %lld\n",
                    s->relay_up ? (long long)apr_time_sec(r->now - s->start_time) : 0LL);
    rest_buf_printf(b, "RestapiUptime: %lld\n",
                    (long long)apr_time_sec(r->now - r->ctx->started));
    rest_buf_printf(b, "Storage: %s\n", rest_health_storage_seen(r, s));
    for (i = 0; i < CHAT_CTR__COUNT; i++) {
        const char *key = chat_shm_counter_key(i);

        if (key == NULL || key[0] == '\0') {
            continue;
        }
        rest_buf_printf(b, "%c%s: %llu\n", apr_toupper(key[0]), key + 1,
                        ctr(s, (enum chat_ctr)i));
    }
    rest_buf_printf(b, "MessagesLastMinute: %llu\n",
                    (unsigned long long)s->per_minute[CHAT_SHM_WINDOW_MINUTES - 1]);
    rest_buf_printf(b, "LatencyP50Ms: %.3f\nLatencyP95Ms: %.3f\nLatencyP99Ms: %.3f\n",
                    s->p50_ms, s->p95_ms, s->p99_ms);
    rest_buf_printf(b, "Rooms: %d\n", s->n_rooms);
}
