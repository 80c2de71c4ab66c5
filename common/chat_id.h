/* chat_id.h: message ids and connection ids.
 *
 * Message ids use the UUID version 7 layout (RFC 9562): 48 bits of Unix milliseconds, then a
 * 12-bit counter that keeps ids from one generator strictly increasing within a millisecond,
 * then random bits. Lowercase text form, so sorting ids as strings sorts them by time and the
 * newest message of a room has the greatest id. Connection ids are "client-" + a UUIDv4.
 *
 * Thread: a chat_id_gen_t belongs to one thread (the relay's service thread); the functions
 * that take none are pure. */
#ifndef CHAT_ID_H
#define CHAT_ID_H

#include <apr_time.h>
#include <stdint.h>
#include "chat_msg.h"

#define CHAT_ID_CLIENT_LEN (7 + CHAT_MSG_ID_LEN)   /* "client-" + uuid */

/* Generator state lives in caller storage (init/fini pair has nothing to release). */
typedef struct chat_id_gen_t {
    uint64_t last_ms;       /* millisecond of the previous id */
    uint32_t counter;       /* 12-bit monotonic counter within last_ms */
    uint64_t rng[2];        /* xorshift128+ state, seeded from the OS */
} chat_id_gen_t;

/* Seeds the generator from the OS random source. APR_SUCCESS or the OS error. */
apr_status_t chat_id_gen_init(chat_id_gen_t *gen);

/* Writes the next message id for time now into out (CHAT_MSG_ID_LEN + 1 bytes). Ids from one
 * generator strictly increase even when the clock stands still or steps back. */
void chat_id_next_message(chat_id_gen_t *gen, apr_time_t now, char *out);

/* Writes a new connection id ("client-<uuid v4>") into out (CHAT_ID_CLIENT_LEN + 1 bytes). */
void chat_id_next_client(chat_id_gen_t *gen, char *out);

/* 1 if s is a well-formed lowercase UUID text (any version), else 0. */
int chat_id_is_valid(const char *s);

/* The millisecond timestamp of a UUIDv7 id; APR_SUCCESS or CHAT_EBAD_MESSAGE_ID. */
apr_status_t chat_id_time(const char *id, apr_time_t *out);

#endif
