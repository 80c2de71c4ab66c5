/* rest_analytics.h: the live views of the analytics segment.
 *
 *   GET /api/analytics   the dashboard document: every counter of chat_shm_counters.def under
 *                        its JSON key (totalMessages, activeConnections, ...), the 15-minute
 *                        window, latency percentiles (all-time and last minute), active users,
 *                        rooms, and the rejections / drops / persistence groups.
 *   GET /api/rooms       active rooms with connection and user counts and last-minute messages.
 *   GET /api/status      plaintext "Key: value" lines like Apache's server-status?auto.
 *
 * With ANALYTICS_PUBLIC_USERS=false, activeUserDetails is empty (and activeUserDetailsHidden
 * true) unless Apache authenticated the caller (REMOTE_USER).
 *
 * Thread: any REST thread, with its own shm reader. */
#ifndef REST_ANALYTICS_H
#define REST_ANALYTICS_H

#include "rest_reply.h"

void rest_analytics_handle(rest_req_t *r);
void rest_analytics_rooms(rest_req_t *r);
void rest_analytics_status(rest_req_t *r);

/* Takes this thread's snapshot of the counters and the tables parts names (CHAT_SHM_PART_*);
 * relay_up = 0 and zeroes when the reader fails. Never NULL. */
chat_shm_snapshot_t *rest_analytics_snapshot(rest_req_t *r, int parts);

#endif
