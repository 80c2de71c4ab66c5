/* relay_wsscan.h: the RFC 6455 rules for client frames that libwebsockets 4.1 does not enforce,
 * checked on the raw bytes before lws parses them.
 *
 * lws 4.1.6 accepts unmasked client frames (5.1), drops the TCP connection without a close
 * frame on a control frame longer than 125 bytes (5.5), and does not validate the UTF-8 of a
 * close reason (7.1.6). The scanner follows the frame stream a client sends, header by header
 * (payloads are skipped, except a close frame's, which it unmasks and checks), and reports the
 * first broken rule with the close code the RFC asks for. It also checks the rules lws does
 * enforce (reserved bits and opcodes, fragmentation, close codes) so that one place decides.
 *
 * Pure code: no I/O, no allocation, no lws. Thread: one scanner per connection. */
#ifndef RELAY_WSSCAN_H
#define RELAY_WSSCAN_H

#include <apr.h>

#define RELAY_WS_PROTOCOL_ERROR 1002
#define RELAY_WS_INVALID_DATA 1007

typedef struct relay_wsscan_t {
    unsigned char hdr[14];           /* the current frame's header, gathered across reads */
    unsigned hdr_len;                /* bytes of hdr held */
    unsigned hdr_need;               /* bytes the header has: 2 until its length byte is seen */
    apr_uint64_t left;               /* payload bytes of the current frame still to come */
    unsigned char close[125];        /* a close frame's payload, unmasked */
    unsigned close_len;              /* bytes of it so far (at most 125: checked in the header) */
    int in_payload;
    int fragmented;                  /* a text or binary message waits for continuations */
    int code;                        /* the first violation's close code; 0 while clean */
    const char *reason;              /* its static description */
} relay_wsscan_t;

/* A scanner at the start of a frame stream. */
void relay_wsscan_init(relay_wsscan_t *s);

/* Follows the next len bytes the client sent. Returns how many of them may be passed on: len
 * while the stream obeys the rules, else the offset of the byte that breaks one (s->code and
 * s->reason then say which). Once broken, every later call returns 0. */
apr_size_t relay_wsscan_feed(relay_wsscan_t *s, const unsigned char *buf, apr_size_t len);

/* Where the frames begin in the first len bytes read from a connection that upgraded: just past
 * the blank line that ends the first request carrying an "Upgrade:" header. Requests before it
 * must be bodiless (GET). Returns the offset, or -1 when it cannot be told (no such request in
 * the bytes, or a request with a body before it). */
apr_ssize_t relay_wsscan_frames_start(const unsigned char *buf, apr_size_t len);

#endif
