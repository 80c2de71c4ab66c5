/* relay_frame.h: one encoded outbound message, shared by every recipient.
 *
 * A broadcast is serialized once into a frame; the room ring and each recipient's queue hold
 * pointers to it and a plain-int reference count decides when it is freed (only the service
 * thread touches frames, so no atomics). The JSON sits after LWS_PRE bytes of headroom so it can
 * be handed to lws_write as is. `unsent` counts recipients that still have to write it: when the
 * last one does, the fan-out latency (receipt of the inbound frame to that write) is recorded.
 *
 * Thread: lws service thread only. */
#ifndef RELAY_FRAME_H
#define RELAY_FRAME_H

#include <libwebsockets.h>
#include <apr_time.h>
#include "chat_msg.h"

typedef struct relay_frame_t {
    int refs;
    int unsent;                          /* recipients yet to write it */
    int ctl;                             /* a reply to one client (ack, error, notice): never
                                          * dropped by the slow-consumer policy */
    apr_int64_t seq;                     /* 0: not a sequenced message (notices, acks) */
    apr_time_t received;                 /* inbound receipt, for latency; 0: none */
    apr_uint64_t nonce_key;              /* relay_frame_nonce_key of the sender's nonce, or 0 */
    char message_id[CHAT_MSG_ID_LEN + 1];
    apr_size_t len;                      /* bytes of JSON */
    unsigned char buf[];                 /* LWS_PRE headroom, JSON, NUL */
} relay_frame_t;

/* Copies json[0..len) into a new frame with refs = 1. NULL when malloc fails. */
relay_frame_t *relay_frame_create(const char *json, apr_size_t len);

/* Encodes msg into a new frame (refs = 1) using enc (CHAT_MSG_MAX_ENCODED + 1 bytes) as
 * scratch; seq and message_id are copied from msg. NULL on failure. */
relay_frame_t *relay_frame_encode(const chat_msg_t *msg, char *enc);

static inline char *relay_frame_data(relay_frame_t *f)
{
    return (char *)f->buf + LWS_PRE;
}

static inline void relay_frame_ref(relay_frame_t *f)
{
    f->refs++;
}

/* Drops one reference; frees the frame at zero. NULL is fine. */
void relay_frame_unref(relay_frame_t *f);

/* The de-duplication key of a nonce: 64-bit FNV-1a of user_id, NUL, nonce; never 0. */
apr_uint64_t relay_frame_nonce_key(const char *user_id, const char *nonce);

#endif
