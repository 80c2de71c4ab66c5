/* relay_wsscan.c: the RFC 6455 rules for client frames (see relay_wsscan.h). */
#include "relay_wsscan.h"

#include <ctype.h>
#include <string.h>

#include "chat_msg.h"

#define OP_CONT 0x0
#define OP_TEXT 0x1
#define OP_BINARY 0x2
#define OP_CLOSE 0x8

void relay_wsscan_init(relay_wsscan_t *s)
{
    memset(s, 0, sizeof(*s));
    s->hdr_need = 2;
}

static int broken(relay_wsscan_t *s, int code, const char *reason)
{
    s->code = code;
    s->reason = reason;
    return 0;
}

/* RFC 6455 7.4: the codes an endpoint may send, plus the IANA-registered 1012-1014 (the relay
 * itself closes slow consumers with 1013, which a client echoes). */
static int close_code_valid(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014)
        || (code >= 3000 && code <= 4999);
}

static int utf8_valid(const unsigned char *p, apr_size_t len)
{
    apr_uint32_t cp;
    apr_size_t n;

    while (len > 0) {
        n = chat_msg_utf8_decode(p, len, &cp);
        if (n == 0) {
            return 0;
        }
        p += n;
        len -= n;
    }
    return 1;
}

/* The frame's first byte: reserved bits, opcode, fragmentation. Returns 1 if it is allowed. */
static int check_first(relay_wsscan_t *s, unsigned char b)
{
    unsigned op = b & 0x0f;
    int fin = (b & 0x80) != 0;

    if (b & 0x70) {
        return broken(s, RELAY_WS_PROTOCOL_ERROR, "reserved bits set");
    }
    if ((op >= 3 && op <= 7) || op >= 0xb) {
        return broken(s, RELAY_WS_PROTOCOL_ERROR, "reserved opcode");
    }
    if (op & 8) {
        return fin ? 1 : broken(s, RELAY_WS_PROTOCOL_ERROR, "fragmented control frame");
    }
    if (op == OP_CONT) {
        if (!s->fragmented) {
            return broken(s, RELAY_WS_PROTOCOL_ERROR, "continuation without a start");
        }
    } else if (s->fragmented) {
        return broken(s, RELAY_WS_PROTOCOL_ERROR, "new message inside a fragmented one");
    }
    s->fragmented = !fin;
    return 1;
}

/* The second byte: the mask bit every client frame must carry, and the length form. */
static int check_second(relay_wsscan_t *s, unsigned char b)
{
    unsigned len7 = b & 0x7f;

    if (!(b & 0x80)) {
        return broken(s, RELAY_WS_PROTOCOL_ERROR, "unmasked client frame");
    }
    if ((s->hdr[0] & 8) && len7 > 125) {
        return broken(s, RELAY_WS_PROTOCOL_ERROR, "control frame over 125 bytes");
    }
    s->hdr_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
    return 1;
}

static apr_uint64_t payload_length(const relay_wsscan_t *s)
{
    unsigned len7 = s->hdr[1] & 0x7f;
    apr_uint64_t n = 0;
    unsigned i;

    if (len7 < 126) {
        return len7;
    }
    for (i = 0; i < (len7 == 126 ? 2u : 8u); i++) {
        n = (n << 8) | s->hdr[2 + i];
    }
    return n;
}

/* A close frame is complete: empty, or a valid code and a UTF-8 reason. */
static int check_close(relay_wsscan_t *s)
{
    apr_size_t len = s->close_len;

    if (len == 0) {
        return 1;
    }
    if (len == 1) {
        return broken(s, RELAY_WS_PROTOCOL_ERROR, "one-byte close payload");
    }
    if (!close_code_valid(((unsigned)s->close[0] << 8) | s->close[1])) {
        return broken(s, RELAY_WS_PROTOCOL_ERROR, "invalid close code");
    }
    if (!utf8_valid(s->close + 2, len - 2)) {
        return broken(s, RELAY_WS_INVALID_DATA, "invalid UTF-8 in close reason");
    }
    return 1;
}

/* Starts the next frame; returns 0 when the frame just ended breaks a rule. */
static int end_frame(relay_wsscan_t *s)
{
    int ok = (s->hdr[0] & 0x0f) == OP_CLOSE ? check_close(s) : 1;

    s->in_payload = 0;
    s->hdr_len = 0;
    s->hdr_need = 2;
    s->close_len = 0;
    return ok;
}

apr_size_t relay_wsscan_feed(relay_wsscan_t *s, const unsigned char *buf, apr_size_t len)
{
    apr_size_t i = 0;

    if (s->code != 0) {
        return 0;
    }
    while (i < len) {
        if (!s->in_payload) {
            unsigned char b = buf[i];

            s->hdr[s->hdr_len++] = b;
            if ((s->hdr_len == 1 && !check_first(s, b))
                || (s->hdr_len == 2 && !check_second(s, b))
                || (s->hdr_len == 3 && (s->hdr[1] & 0x7f) == 127 && (b & 0x80))) {
                if (s->code == 0) {
                    broken(s, RELAY_WS_PROTOCOL_ERROR, "payload length over 2^63");
                }
                return i;
            }
            i++;
            if (s->hdr_len == s->hdr_need) {
                s->left = payload_length(s);
                s->in_payload = 1;
                if (s->left == 0) {
                    end_frame(s);            /* an empty payload breaks no rule */
                }
            }
            continue;
        }
        if ((s->hdr[0] & 0x0f) == OP_CLOSE) {
            const unsigned char *mask = s->hdr + s->hdr_need - 4;

            s->close[s->close_len] = buf[i] ^ mask[s->close_len & 3];
            s->close_len++;
            s->left--;
            if (s->left == 0 && !end_frame(s)) {
                return i;
            }
            i++;
        } else {
            apr_uint64_t take = len - i < s->left ? len - i : s->left;

            i += (apr_size_t)take;
            s->left -= take;
            if (s->left == 0) {
                end_frame(s);
            }
        }
    }
    return len;
}

/* ------------------------------------------------------------------ the handshake */

/* Does the header block [p, end) have a line starting with name (lower case, with the colon)?
 * Returns a pointer just past the name, or NULL. */
static const unsigned char *header(const unsigned char *p, const unsigned char *end,
                                   const char *name)
{
    apr_size_t n = strlen(name), i;

    while (p < end) {
        const unsigned char *eol = memchr(p, '\n', (apr_size_t)(end - p));

        for (i = 0; i < n && p + i < end && tolower(p[i]) == name[i]; i++) {
        }
        if (i == n) {
            return p + n;
        }
        if (eol == NULL) {
            break;
        }
        p = eol + 1;
    }
    return NULL;
}

static int has_body(const unsigned char *p, const unsigned char *end)
{
    const unsigned char *v = header(p, end, "content-length:");

    if (header(p, end, "transfer-encoding:") != NULL) {
        return 1;
    }
    if (v == NULL) {
        return 0;
    }
    while (v < end && (*v == ' ' || *v == '\t' || *v == '0')) {
        v++;
    }
    return v < end && *v >= '1' && *v <= '9';
}

apr_ssize_t relay_wsscan_frames_start(const unsigned char *buf, apr_size_t len)
{
    const unsigned char *p = buf, *end = buf + len;

    while (p < end) {
        const unsigned char *e = NULL, *q;

        for (q = p; q + 4 <= end; q++) {
            if (q[0] == '\r' && q[1] == '\n' && q[2] == '\r' && q[3] == '\n') {
                e = q;
                break;
            }
        }
        if (e == NULL) {
            return -1;
        }
        if (header(p, e + 2, "upgrade:") != NULL) {
            return (apr_ssize_t)(e + 4 - buf);
        }
        if (has_body(p, e + 2)) {
            return -1;
        }
        p = e + 4;
    }
    return -1;
}
