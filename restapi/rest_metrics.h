/* rest_metrics.h: GET /metrics in the Prometheus text exposition format (0.0.4).
 *
 * Every counter and gauge of chat_shm_counters.def under its Prometheus name with # HELP and
 * # TYPE; chat_relay_up; the fan-out latency as the histogram chat_fanout_latency_seconds
 * (_bucket{le}, _sum, _count) folded from the segment's log-linear buckets into fixed bounds;
 * per-room series for the REST_METRICS_TOP_ROOMS busiest rooms only, so label cardinality
 * stays bounded however many rooms exist.
 *
 * Thread: any REST thread, with its own shm reader. */
#ifndef REST_METRICS_H
#define REST_METRICS_H

#include "rest_reply.h"

#define REST_METRICS_TOP_ROOMS 20

void rest_metrics_handle(rest_req_t *r);

#endif
