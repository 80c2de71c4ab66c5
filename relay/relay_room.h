/* relay_room.h: rooms, their recent-message rings, sequence numbers and the fan-out.
 *
 * A room holds its members, a ring of the last ROOM_RING_SIZE broadcast frames (in seq order)
 * and the next seq. Accepting a message means: assign messageId, timestamp and seq, hand it to
 * the persistence pipeline (journal first), encode it once into a shared frame, put the frame in
 * the ring and queue it to every live member. The ring serves join-time replay (newest
 * HISTORY_REPLAY, oldest first), resume (messages after `since`) and nonce de-duplication.
 *
 * Sequence numbers continue across restarts: a new room first asks storage for its recent
 * messages and highest seq (relay_persist_read, answered off-thread). Until the answer, joiners
 * wait for their replay and new messages are held (at most RELAY_HOLD_MAX), so no seq is handed
 * out that storage already used. When storage cannot say (STORAGE=none, unavailable, no answer
 * within RELAY_WARM_TIMEOUT) the room starts at seq 1 under a new epoch (ms, unique per room
 * creation), announced in the hello frame; a durable sequence has epoch 0.
 *
 * Presence (join/leave) is broadcast live without seq and not stored: seq counts accepted chat
 * messages only, so replay and resume never contain presence.
 *
 * Thread: lws service thread only; nothing here blocks. */
#ifndef RELAY_ROOM_H
#define RELAY_ROOM_H

#include "relay_server.h"
#include "relay_frame.h"

/* 1 if a connection to room id can be admitted now: the room exists or MAX_ROOMS leaves space
 * (possibly by evicting an idle empty room). */
int relay_room_can_admit(relay_server_t *srv, const char *id);

/* Adds c (identity set, not yet a member) to its room, creating the room if needed, and starts
 * its replay or resume. Announces presence. APR_SUCCESS or CHAT_EFULL. */
apr_status_t relay_room_join(relay_server_t *srv, relay_conn_t *c, apr_time_t now);

/* Removes c from its room (presence, held messages, reads in flight). */
void relay_room_leave(relay_server_t *srv, relay_conn_t *c, apr_time_t now);

/* Accepts msg (type and content decoded from c's frame; nonce may be set) into c's room:
 * sequences, persists, broadcasts and acks it, or holds it during warm-up. CHAT_EFULL when
 * the hold list is full. */
apr_status_t relay_room_publish(relay_server_t *srv, relay_conn_t *c, const chat_msg_t *msg,
                                apr_uint64_t nonce_key, apr_time_t received);

/* The frame an earlier message with this nonce key became, within RELAY_NONCE_WINDOW, or NULL.
 * *held is set to 1 when the earlier message is still held for warm-up. */
const relay_frame_t *relay_room_find_nonce(relay_conn_t *c, apr_uint64_t key, apr_time_t now,
                                           int *held);

/* relay_persist_drain callback: warm-up and resume answers. */
void relay_room_on_read(void *srv, const relay_read_result_t *r);

/* Tick: gives up warm-ups that did not answer in time. */
void relay_room_tick(relay_server_t *srv, apr_time_t now);

/* Shutdown: frees every room and pending read (members are gone). */
void relay_room_destroy_all(relay_server_t *srv);

#endif
