/* rest_metrics.c: the Prometheus exposition (see rest_metrics.h).
 *
 * Values in JSON keep the segment's units (microseconds for batch latency); here every series
 * uses base units, so a name ending in _seconds is converted from microseconds.
 *
 * Thread: any REST thread, on its own request. */
#include "rest_metrics.h"

#include <stdlib.h>
#include <string.h>
#include "rest_analytics.h"

/* Upper bounds of the exported latency buckets, in seconds. */
static const double le_bounds[] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0
};
#define N_LE (sizeof(le_bounds) / sizeof(le_bounds[0]))

static void head(rest_buf_t *b, const char *name, const char *type, const char *help)
{
    rest_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void put_counters(rest_buf_t *b, const chat_shm_snapshot_t *s)
{
    int i;

    for (i = 0; i < CHAT_CTR__COUNT; i++) {
        const char *name = chat_shm_counter_prom(i);

        head(b, name, chat_shm_counter_is_gauge(i) ? "gauge" : "counter",
             chat_shm_counter_help(i));
        if (ends_with(name, "_seconds")) {
            rest_buf_printf(b, "%s %.6f\n", name, (double)s->counters[i] / 1e6);
        }
        else {
            rest_buf_printf(b, "%s %llu\n", name, (unsigned long long)s->counters[i]);
        }
    }
}

static void put_histogram(rest_buf_t *b, const chat_shm_snapshot_t *s)
{
    uint64_t le_counts[N_LE] = { 0 };
    uint64_t total = 0, cum = 0;
    size_t k;
    int i;

    for (i = 0; i < CHAT_SHM_HIST_BUCKETS; i++) {
        double bound_s = (double)chat_shm_hist_bound(i) / 1e6;

        total += s->hist[i];
        for (k = 0; k < N_LE; k++) {
            if (bound_s <= le_bounds[k] * (1.0 + 1e-9)) {
                le_counts[k] += s->hist[i];
                break;
            }
        }
    }
    head(b, "chat_fanout_latency_seconds", "histogram",
         "Fan-out latency from receipt of a message to its write to the last recipient");
    for (k = 0; k < N_LE; k++) {
        cum += le_counts[k];
        rest_buf_printf(b, "chat_fanout_latency_seconds_bucket{le=\"%g\"} %llu\n", le_bounds[k],
                        (unsigned long long)cum);
    }
    rest_buf_printf(b, "chat_fanout_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
                    (unsigned long long)total);
    rest_buf_printf(b, "chat_fanout_latency_seconds_sum %.6f\n", s->hist_sum_us / 1e6);
    rest_buf_printf(b, "chat_fanout_latency_seconds_count %llu\n", (unsigned long long)total);
}

static int cmp_busy(const void *a, const void *b)
{
    const chat_shm_room_t *x = a, *y = b;

    if (x->connections != y->connections) {
        return x->connections > y->connections ? -1 : 1;
    }
    if (x->messages_last_minute != y->messages_last_minute) {
        return x->messages_last_minute > y->messages_last_minute ? -1 : 1;
    }
    return strcmp(x->room_id, y->room_id);
}

/* Room ids are [A-Za-z0-9._:-] by validation; escape anyway so a label can never break. */
static void put_label(rest_buf_t *b, const char *v)
{
    for (; *v != '\0'; v++) {
        if (*v == '\\' || *v == '"') {
            rest_buf_printf(b, "\\%c", *v);
        }
        else if (*v == '\n') {
            rest_buf_puts(b, "\\n");
        }
        else {
            rest_buf_putn(b, v, 1);
        }
    }
}

static void put_room_series(rest_buf_t *b, const chat_shm_snapshot_t *s, int n,
                            const char *name, const char *type, const char *help, int field)
{
    int i;

    head(b, name, type, help);
    for (i = 0; i < n; i++) {
        const chat_shm_room_t *rm = &s->rooms[i];
        uint64_t v = field == 0 ? rm->connections : field == 1 ? rm->users
                   : field == 2 ? rm->messages_last_minute : rm->messages_total;

        rest_buf_printf(b, "%s{room=\"", name);
        put_label(b, rm->room_id);
        rest_buf_printf(b, "\"} %llu\n", (unsigned long long)v);
    }
}

static void put_rooms(rest_buf_t *b, chat_shm_snapshot_t *s)
{
    int n = s->n_rooms < REST_METRICS_TOP_ROOMS ? s->n_rooms : REST_METRICS_TOP_ROOMS;

    if (s->n_rooms > 1) {
        qsort(s->rooms, (size_t)s->n_rooms, sizeof(s->rooms[0]), cmp_busy);
    }
    head(b, "chat_rooms", "gauge", "Active rooms (all of them, not only the exported top)");
    rest_buf_printf(b, "chat_rooms %d\n", s->n_rooms);
    put_room_series(b, s, n, "chat_room_connections", "gauge",
                    "Open connections per room (busiest rooms only)", 0);
    put_room_series(b, s, n, "chat_room_users", "gauge",
                    "Distinct users per room (busiest rooms only)", 1);
    put_room_series(b, s, n, "chat_room_messages_last_minute", "gauge",
                    "Messages in the last minute per room (busiest rooms only)", 2);
    put_room_series(b, s, n, "chat_room_messages_total", "counter",
                    "Messages since the relay started per room (busiest rooms only)", 3);
    head(b, "chat_analytics_unlisted", "gauge",
         "Rows the analytics segment could not list because its table was full");
    rest_buf_printf(b, "chat_analytics_unlisted{table=\"users\"} %llu\n",
                    (unsigned long long)s->users_overflow);
    rest_buf_printf(b, "chat_analytics_unlisted{table=\"rooms\"} %llu\n",
                    (unsigned long long)s->rooms_overflow);
}

void rest_metrics_handle(rest_req_t *r)
{
    chat_shm_snapshot_t *s = rest_analytics_snapshot(r, CHAT_SHM_PART_WINDOW | CHAT_SHM_PART_ROOMS);
    rest_buf_t *b = &r->body;

    rest_reply_start(r, 200, REST_PROM);
    head(b, "chat_relay_up", "gauge", "1 when the relay's analytics heartbeat is fresh");
    rest_buf_printf(b, "chat_relay_up %d\n", s->relay_up ? 1 : 0);
    head(b, "chat_relay_start_time_seconds", "gauge", "Start time of the relay, Unix seconds");
    rest_buf_printf(b, "chat_relay_start_time_seconds %lld\n",
                    s->relay_up ? (long long)apr_time_sec(s->start_time) : 0LL);
    put_counters(b, s);
    put_histogram(b, s);
    put_rooms(b, s);
}
