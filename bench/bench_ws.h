/* bench_ws.h: the client half of RFC 6455 that chat-bench needs, and nothing more.
 *
 * Pure functions over caller buffers: no sockets, no allocation, no global state, so any
 * generator thread may call them and the unit tests can feed them byte strings. The handshake
 * request carries a random Sec-WebSocket-Key; the response must be "101" with the matching
 * Sec-WebSocket-Accept. Server frames must be unmasked (RFC 6455 5.1); client frames are masked.
 */
#ifndef BENCH_WS_H
#define BENCH_WS_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_WS_KEY_LEN 24          /* base64 of 16 random bytes */
#define BENCH_WS_MAX_HEADER 8192     /* an HTTP response head longer than this is refused */
#define BENCH_WS_MAX_FRAME_HDR 14    /* 2 + 8 (length) + 4 (mask) */

/* Results of the decoders: 0 or one of these. */
#define BENCH_WS_OK 0
#define BENCH_WS_AGAIN (-1)          /* need more bytes: call again once they arrived */
#define BENCH_WS_EPROTO (-2)         /* not a WebSocket peer we accept */
#define BENCH_WS_ETOOBIG (-3)        /* frame or header larger than the caller's limit */

enum bench_ws_opcode {
    BENCH_WS_OP_CONT = 0x0,
    BENCH_WS_OP_TEXT = 0x1,
    BENCH_WS_OP_BINARY = 0x2,
    BENCH_WS_OP_CLOSE = 0x8,
    BENCH_WS_OP_PING = 0x9,
    BENCH_WS_OP_PONG = 0xA
};

typedef struct bench_ws_frame_t {
    unsigned fin;                    /* 1 when this is the last fragment */
    unsigned opcode;                 /* enum bench_ws_opcode */
    uint64_t payload_len;
    size_t hdr_len;                  /* payload starts at buf + hdr_len */
} bench_ws_frame_t;

/* Writes a fresh random key (BENCH_WS_KEY_LEN characters and a NUL) from *rng (xorshift state
 * the caller owns; advanced). */
void bench_ws_key_make(char key[BENCH_WS_KEY_LEN + 1], uint64_t *rng);

/* Computes the Sec-WebSocket-Accept value (28 characters and a NUL) for key. */
void bench_ws_accept_compute(char accept[29], const char *key);

/* Writes the upgrade request for target ("/ws?room=...") into buf[0..cap), with an Origin
 * header when origin is not NULL. Returns its length, or -1 when it does not fit. */
int bench_ws_request_encode(char *buf, size_t cap, const char *host_port, const char *target,
                            const char *key, const char *origin);

/* Checks the HTTP response head at buf[0..len). BENCH_WS_OK: 101 with the right accept value,
 * *hdr_len is where the frames start. BENCH_WS_AGAIN: head incomplete. BENCH_WS_EPROTO: other
 * status (in *status, 0 if unparsable) or a wrong accept. BENCH_WS_ETOOBIG: head over
 * BENCH_WS_MAX_HEADER without an end. */
int bench_ws_response_check(const char *buf, size_t len, const char *key, size_t *hdr_len,
                            int *status);

/* Decodes the server frame header at buf[0..len). BENCH_WS_OK fills *f (the payload may still
 * be incomplete: the caller compares hdr_len + payload_len with what it has). BENCH_WS_AGAIN:
 * header incomplete. BENCH_WS_EPROTO: masked, reserved bits, bad opcode, oversized or
 * fragmented control frame. BENCH_WS_ETOOBIG: payload over max_payload. */
int bench_ws_frame_decode(bench_ws_frame_t *f, const unsigned char *buf, size_t len,
                          uint64_t max_payload);

/* Encodes one final, masked client frame of opcode with payload[0..len) into out[0..cap) using
 * mask. Returns the bytes written, or 0 when it does not fit. */
size_t bench_ws_frame_encode(unsigned char *out, size_t cap, unsigned opcode,
                             const void *payload, size_t len, uint32_t mask);

#endif
