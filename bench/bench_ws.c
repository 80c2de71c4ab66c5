/* bench_ws.c: handshake and frame codec for chat-bench (see bench_ws.h).
 *
 * Thread: any; everything works on caller buffers. The only dependency is libcrypto's SHA-1
 * and base64 for the accept check, so a relay answering with the wrong accept is caught.
 */
#include <config.h>

#include "bench_ws.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static uint64_t next_random(uint64_t *s)
{
    uint64_t x = *s;   /* xorshift64*: fast, good enough for keys and masks */

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

void bench_ws_key_make(char key[BENCH_WS_KEY_LEN + 1], uint64_t *rng)
{
    unsigned char raw[16];
    uint64_t a = next_random(rng);
    uint64_t b = next_random(rng);

    memcpy(raw, &a, 8);
    memcpy(raw + 8, &b, 8);
    EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw));   /* 24 chars + NUL */
}

void bench_ws_accept_compute(char accept[29], const char *key)
{
    char joined[BENCH_WS_KEY_LEN + sizeof(WS_GUID)];
    unsigned char digest[SHA_DIGEST_LENGTH];
    size_t klen = strnlen(key, BENCH_WS_KEY_LEN);

    memcpy(joined, key, klen);
    memcpy(joined + klen, WS_GUID, sizeof(WS_GUID) - 1);
    SHA1((const unsigned char *)joined, klen + sizeof(WS_GUID) - 1, digest);
    EVP_EncodeBlock((unsigned char *)accept, digest, sizeof(digest));   /* 28 chars + NUL */
}

int bench_ws_request_encode(char *buf, size_t cap, const char *host_port, const char *target,
                            const char *key, const char *origin)
{
    int n = snprintf(buf, cap,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "%s%s%s"
                     "\r\n",
                     target, host_port, key, origin ? "Origin: " : "", origin ? origin : "",
                     origin ? "\r\n" : "");

    return (n < 0 || (size_t)n >= cap) ? -1 : n;
}

/* Finds header name (case-insensitive) in head[0..len) and returns its trimmed value. */
static const char *find_header(const char *head, size_t len, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    const char *end = head + len;
    const char *line = memchr(head, '\n', len);   /* skip the status line */

    while (line != NULL && line + 1 < end) {
        const char *p = line + 1;
        const char *eol = memchr(p, '\n', (size_t)(end - p));

        if (eol == NULL) {
            eol = end;
        }
        if ((size_t)(eol - p) > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
            const char *v = p + nlen + 1;
            const char *ve = eol;

            while (v < ve && (*v == ' ' || *v == '\t')) {
                v++;
            }
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) {
                ve--;
            }
            *vlen = (size_t)(ve - v);
            return v;
        }
        line = eol < end ? eol : NULL;
    }
    return NULL;
}

int bench_ws_response_check(const char *buf, size_t len, const char *key, size_t *hdr_len,
                            int *status)
{
    const char *eoh = memmem(buf, len, "\r\n\r\n", 4);
    char want[29];
    const char *acc;
    size_t alen = 0;
    int code = 0;

    if (eoh == NULL) {
        return len > BENCH_WS_MAX_HEADER ? BENCH_WS_ETOOBIG : BENCH_WS_AGAIN;
    }
    if (len >= 12 && memcmp(buf, "HTTP/1.", 7) == 0 && buf[8] == ' ') {
        for (int i = 9; i < 12 && buf[i] >= '0' && buf[i] <= '9'; i++) {
            code = code * 10 + (buf[i] - '0');
        }
    }
    *status = code;
    if (code != 101) {
        return BENCH_WS_EPROTO;
    }
    bench_ws_accept_compute(want, key);
    acc = find_header(buf, (size_t)(eoh - buf) + 2, "Sec-WebSocket-Accept", &alen);
    if (acc == NULL || alen != 28 || memcmp(acc, want, 28) != 0) {
        return BENCH_WS_EPROTO;
    }
    *hdr_len = (size_t)(eoh - buf) + 4;
    return BENCH_WS_OK;
}

int bench_ws_frame_decode(bench_ws_frame_t *f, const unsigned char *buf, size_t len,
                          uint64_t max_payload)
{
    uint64_t plen;
    size_t hdr = 2;
    unsigned op;

    if (len < 2) {
        return BENCH_WS_AGAIN;
    }
    op = buf[0] & 0x0F;
    if ((buf[0] & 0x70) != 0 || (buf[1] & 0x80) != 0) {
        return BENCH_WS_EPROTO;             /* RSV bits without extension, or masked */
    }
    if (op > BENCH_WS_OP_BINARY && (op < BENCH_WS_OP_CLOSE || op > BENCH_WS_OP_PONG)) {
        return BENCH_WS_EPROTO;
    }
    plen = buf[1] & 0x7F;
    if (plen == 126) {
        if (len < 4) {
            return BENCH_WS_AGAIN;
        }
        plen = ((uint64_t)buf[2] << 8) | buf[3];
        hdr = 4;
    }
    else if (plen == 127) {
        if (len < 10) {
            return BENCH_WS_AGAIN;
        }
        plen = 0;
        for (int i = 2; i < 10; i++) {
            plen = (plen << 8) | buf[i];
        }
        hdr = 10;
    }
    if (op >= BENCH_WS_OP_CLOSE && (plen > 125 || (buf[0] & 0x80) == 0)) {
        return BENCH_WS_EPROTO;
    }
    if (plen > max_payload) {
        return BENCH_WS_ETOOBIG;
    }
    f->fin = (buf[0] & 0x80) != 0;
    f->opcode = op;
    f->payload_len = plen;
    f->hdr_len = hdr;
    return BENCH_WS_OK;
}

size_t bench_ws_frame_encode(unsigned char *out, size_t cap, unsigned opcode,
                             const void *payload, size_t len, uint32_t mask)
{
    const unsigned char *src = payload;
    unsigned char m[4];
    size_t hdr = len < 126 ? 2 : (len <= 0xFFFF ? 4 : 10);

    if (cap < hdr + 4 || cap - hdr - 4 < len) {
        return 0;
    }
    out[0] = (unsigned char)(0x80 | (opcode & 0x0F));
    if (len < 126) {
        out[1] = (unsigned char)(0x80 | len);
    }
    else if (len <= 0xFFFF) {
        out[1] = 0x80 | 126;
        out[2] = (unsigned char)(len >> 8);
        out[3] = (unsigned char)len;
    }
    else {
        out[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++) {
            out[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
        }
    }
    memcpy(m, &mask, 4);
    memcpy(out + hdr, m, 4);
    for (size_t i = 0; i < len; i++) {
        out[hdr + 4 + i] = src[i] ^ m[i & 3];
    }
    return hdr + 4 + len;
}
