/* rest_health.h: liveness (/health) and readiness (/ready).
 *
 * /health always answers 200 while the process runs: status "ok", or "degraded" when the relay
 * is down (no segment, or its heartbeat is stale) or the store is unavailable: to this
 * thread's probe, or to the relay's writers (rest_health_storage_seen).
 * /ready answers 200 only when the segment is attached and fresh and the store is reachable
 * (or disabled by STORAGE=none); otherwise 503 with the reasons, so a load balancer or a
 * deployment script can wait for it.
 *
 * Thread: any REST thread, with its own store handle and shm reader. */
#ifndef REST_HEALTH_H
#define REST_HEALTH_H

#include "rest_reply.h"

void rest_health_live(rest_req_t *r);
void rest_health_ready(rest_req_t *r);

#define REST_HEALTH_CACHE (1 * APR_USEC_PER_SEC)

/* "ok", "disabled" or "unavailable" for this thread's store: one cheap round trip, or the
 * thread's answer from less than REST_HEALTH_CACHE ago. */
const char *rest_health_storage(rest_req_t *r);

/* The storage state /health and /ready report: "disabled" with STORAGE=none; "unavailable"
 * when the relay is up (snap->relay_up) and its writers report the store down
 * (storageUp gauge 0: writes failing or hanging) even if this thread can still read;
 * otherwise rest_health_storage. */
const char *rest_health_storage_seen(rest_req_t *r, const chat_shm_snapshot_t *snap);

#endif
