/* rest_history.h: message history from the store.
 *
 *   GET /api/rooms/{room}/messages?limit=N&before=<messageId>
 *   GET /api/users/{userId}/messages?limit=N&before=<messageId>
 *   -> {"roomId"|"userId", "count", "messages":[oldest first], "hasMore", "nextBefore"}
 *
 * limit defaults to 50 and is clamped to 200; non-numeric, empty or < 1 is a 400. before must be
 * a message id (chat_id_is_valid); nextBefore is the id of the oldest message returned when
 * older ones exist, else null. 503 when storage is disabled or unavailable.
 *
 * Thread: any REST thread, with its own store handle. */
#ifndef REST_HISTORY_H
#define REST_HISTORY_H

#include "rest_reply.h"

#define REST_HISTORY_DEFAULT_LIMIT 50
#define REST_HISTORY_MAX_LIMIT 200

/* Parses the limit parameter (NULL = default). APR_SUCCESS with *out in 1..MAX, or
 * CHAT_EBAD_REQUEST for anything but digits or a value below 1. */
apr_status_t rest_history_parse_limit(const char *s, int *out);

void rest_history_room(rest_req_t *r, const char *room);
void rest_history_user(rest_req_t *r, const char *user_id);

#endif
