/* Unit tests for relay/relay_wsscan.c: the RFC 6455 rules checked on client bytes before lws. */
#include <string.h>

#include "../check_main.h"
#include "relay_wsscan.h"

#define PROTO RELAY_WS_PROTOCOL_ERROR
#define BADDATA RELAY_WS_INVALID_DATA

static const unsigned char key[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* Appends one frame to out at *len: the header as given (fin, rsv bits, opcode, masked) with the
 * shortest length form (or the 64-bit form when long64), then the payload, masked when masked. */
static void frame(unsigned char *out, apr_size_t *len, int fin, int rsv, int op, int masked,
                  const void *payload, apr_size_t n, int long64)
{
    unsigned char *p = out + *len;
    const unsigned char *src = payload;
    apr_size_t i;

    *p++ = (unsigned char)((fin ? 0x80 : 0) | (rsv << 4) | op);
    if (n < 126 && !long64) {
        *p++ = (unsigned char)((masked ? 0x80 : 0) | n);
    } else if (n < 65536 && !long64) {
        *p++ = (unsigned char)((masked ? 0x80 : 0) | 126);
        *p++ = (unsigned char)(n >> 8);
        *p++ = (unsigned char)n;
    } else {
        *p++ = (unsigned char)((masked ? 0x80 : 0) | 127);
        for (i = 0; i < 8; i++) {
            *p++ = (unsigned char)((apr_uint64_t)n >> (56 - 8 * i));
        }
    }
    if (masked) {
        memcpy(p, key, 4);
        p += 4;
    }
    for (i = 0; i < n; i++) {
        *p++ = (unsigned char)(src != NULL ? src[i] : 'x') ^ (masked ? key[i & 3] : 0);
    }
    *len = (apr_size_t)(p - out);
}

static unsigned char buf[80000];

/* One frame as frame() builds it. bad: the offset of the byte that breaks a rule, or
 * BAD_LAST for the frame's last byte (a close payload is judged when it is complete). */
typedef struct {
    int fin, rsv, op, masked;
    const char *payload;                 /* NULL: n filler bytes */
    apr_size_t n;
    long bad;
} frame_spec_t;

#define BAD_LAST (-1L)

typedef struct {
    const char *name;
    frame_spec_t one;                    /* the row's only frame, unless build is set */
    void (*build)(unsigned char *out, apr_size_t *len, apr_size_t *bad);  /* bad: offset */
    int code;                                                           /* 0: clean */
} scan_row_t;

static void b_unmasked(unsigned char *o, apr_size_t *l, apr_size_t *bad)
{
    frame(o, l, 1, 0, 1, 1, "ok", 2, 0);
    *bad = *l + 1;
    frame(o, l, 1, 0, 1, 0, "hi", 2, 0);
}

static void b_text_in_fragmented(unsigned char *o, apr_size_t *l, apr_size_t *bad)
{
    frame(o, l, 0, 0, 1, 1, "{\"a\":", 5, 0);
    *bad = *l;
    frame(o, l, 1, 0, 1, 1, "1}", 2, 0);
}

static void b_interleaved(unsigned char *o, apr_size_t *l, apr_size_t *bad)
{
    frame(o, l, 0, 0, 1, 1, "{\"a\":", 5, 0);
    frame(o, l, 1, 0, 9, 1, "ping", 4, 0);
    frame(o, l, 0, 0, 0, 1, "1", 1, 0);
    frame(o, l, 1, 0, 0xa, 1, NULL, 0, 0);
    frame(o, l, 1, 0, 0, 1, "}", 1, 0);
    frame(o, l, 1, 0, 1, 1, "{}", 2, 0);
    *bad = 0;
}

static void close_with(unsigned char *o, apr_size_t *l, unsigned code, const char *reason,
                       apr_size_t rlen)
{
    unsigned char p[125];

    p[0] = (unsigned char)(code >> 8);
    p[1] = (unsigned char)code;
    memcpy(p + 2, reason, rlen);
    frame(o, l, 1, 0, 8, 1, p, 2 + rlen, 0);
}

static void b_len_msb(unsigned char *o, apr_size_t *l, apr_size_t *bad)
{
    frame(o, l, 1, 0, 1, 1, "x", 1, 1);
    o[2] = 0x80;                         /* the 64-bit length's top bit */
    *bad = 2;
}

/* A 70,000-byte message in the 64-bit length form, then an unmasked frame: the payload is
 * skipped, the next header still found. */
static void b_after_long(unsigned char *o, apr_size_t *l, apr_size_t *bad)
{
    frame(o, l, 1, 0, 1, 1, NULL, 70000, 1);
    frame(o, l, 1, 0, 1, 1, NULL, 300, 0);
    *bad = *l + 1;
    frame(o, l, 1, 0, 1, 0, "x", 1, 0);
}

static const scan_row_t scan_rows[] = {
    { "a masked text frame", { 1, 0, 1, 1, "{\"type\":\"chat\"}", 15, 0 }, NULL, 0 },
    { "an unmasked text frame after a good one", { 0 }, b_unmasked, PROTO },
    { "an unmasked ping", { 1, 0, 9, 0, "p", 1, 1 }, NULL, PROTO },
    { "RSV1 on a text frame", { 1, 4, 1, 1, "hi", 2, 0 }, NULL, PROTO },
    { "RSV3 on a ping", { 1, 1, 9, 1, "p", 1, 0 }, NULL, PROTO },
    { "reserved data opcode 3", { 1, 0, 3, 1, "x", 1, 0 }, NULL, PROTO },
    { "reserved control opcode 11", { 1, 0, 0xb, 1, NULL, 0, 0 }, NULL, PROTO },
    { "a fragmented ping", { 0, 0, 9, 1, "p", 1, 0 }, NULL, PROTO },
    { "a ping of 126 bytes", { 1, 0, 9, 1, NULL, 126, 1 }, NULL, PROTO },
    { "a close of 126 bytes", { 1, 0, 8, 1, NULL, 126, 1 }, NULL, PROTO },
    { "a continuation without a start", { 1, 0, 0, 1, "x", 1, 0 }, NULL, PROTO },
    { "a new text frame inside a fragmented message", { 0 }, b_text_in_fragmented, PROTO },
    { "control frames between fragments", { 0 }, b_interleaved, 0 },
    { "a one-byte close payload", { 1, 0, 8, 1, "\x03", 1, BAD_LAST }, NULL, PROTO },
    { "an empty close", { 1, 0, 8, 1, NULL, 0, 0 }, NULL, 0 },
    { "a 64-bit length with its top bit set", { 0 }, b_len_msb, PROTO },
    { "an unmasked frame after a 70,000-byte one", { 0 }, b_after_long, PROTO },
};

/* Writes row i's bytes into buf: its length, and where its broken rule is. */
static void build_row(const scan_row_t *r, apr_size_t *len, apr_size_t *bad)
{
    const frame_spec_t *f = &r->one;

    *len = 0;
    if (r->build != NULL) {
        r->build(buf, len, bad);
        return;
    }
    frame(buf, len, f->fin, f->rsv, f->op, f->masked, f->payload, f->n, 0);
    *bad = f->bad == BAD_LAST ? *len - 1 : (apr_size_t)f->bad;
}

/* Each row fed in one piece: the clean prefix and the code. */
START_TEST(test_scan_table_whole)
{
    const scan_row_t *r = &scan_rows[_i];
    relay_wsscan_t s;
    apr_size_t len = 0, bad = 0, ok;

    build_row(r, &len, &bad);
    relay_wsscan_init(&s);
    ok = relay_wsscan_feed(&s, buf, len);
    ck_assert_msg(s.code == r->code, "%s: code %d, want %d", r->name, s.code, r->code);
    if (r->code == 0) {
        ck_assert_msg(ok == len, "%s: %zu of %zu passed", r->name, (size_t)ok, (size_t)len);
        ck_assert_ptr_null(s.reason);
    } else {
        ck_assert_msg(ok == bad, "%s: stopped at %zu, want %zu", r->name, (size_t)ok,
                      (size_t)bad);
        ck_assert_ptr_nonnull(s.reason);
        ck_assert_uint_eq(relay_wsscan_feed(&s, buf, len), 0);   /* broken stays broken */
    }
}
END_TEST

/* The same bytes one at a time (a client's frames split across reads anywhere): the same
 * verdict, found at the same byte. */
START_TEST(test_scan_table_bytewise)
{
    const scan_row_t *r = &scan_rows[_i];
    relay_wsscan_t s;
    apr_size_t len = 0, bad = 0, i, passed = 0;

    build_row(r, &len, &bad);
    relay_wsscan_init(&s);
    for (i = 0; i < len; i++) {
        apr_size_t ok = relay_wsscan_feed(&s, buf + i, 1);

        if (ok == 0) {
            break;
        }
        passed++;
    }
    ck_assert_msg(s.code == r->code, "%s: code %d, want %d", r->name, s.code, r->code);
    ck_assert_uint_eq(passed, r->code == 0 ? len : bad);
}
END_TEST

/* A frame split in the middle of its header and of its payload, in three reads. */
START_TEST(test_scan_split_reads)
{
    relay_wsscan_t s;
    apr_size_t len = 0;

    frame(buf, &len, 1, 0, 1, 1, NULL, 1000, 0);
    frame(buf, &len, 1, 0, 8, 1, "\x03\xe8ok", 4, 0);
    relay_wsscan_init(&s);
    ck_assert_uint_eq(relay_wsscan_feed(&s, buf, 3), 3);
    ck_assert_uint_eq(relay_wsscan_feed(&s, buf + 3, 500), 500);
    ck_assert_uint_eq(relay_wsscan_feed(&s, buf + 503, len - 503), len - 503);
    ck_assert_int_eq(s.code, 0);
}
END_TEST

/* Close frames: a code and a reason; a broken one is found at its last payload byte. */
typedef struct {
    unsigned code;
    const char *reason;
    apr_size_t rlen;
    int want;                            /* 0: clean */
} close_row_t;

static const close_row_t close_rows[] = {
    { 999, "", 0, PROTO },
    { 1004, "", 0, PROTO },
    { 1005, "", 0, PROTO },
    { 1006, "", 0, PROTO },
    { 1015, "", 0, PROTO },
    { 2999, "x", 1, PROTO },
    { 5000, "", 0, PROTO },
    { 65535, "", 0, PROTO },
    { 1000, "\xff\xfe", 2, BADDATA },
    { 1000, "ok\xe2\x82", 4, BADDATA },           /* truncated sequence at the end */
    { 1001, "\xed\xa0\x80", 3, BADDATA },        /* a UTF-16 surrogate */
    { 1000, "bye \xe2\x82\xac", 7, 0 },
    { 1003, "", 0, 0 },
    { 1011, "x", 1, 0 },
    { 1013, "", 0, 0 },                          /* the relay's own slow-consumer code, echoed */
    { 3000, "", 0, 0 },
    { 4999, "x", 1, 0 },
};

START_TEST(test_close_table)
{
    const close_row_t *r = &close_rows[_i];
    relay_wsscan_t s;
    apr_size_t len = 0, ok;

    close_with(buf, &len, r->code, r->reason, r->rlen);
    relay_wsscan_init(&s);
    ok = relay_wsscan_feed(&s, buf, len);
    ck_assert_msg(s.code == r->want, "close %u: code %d, want %d", r->code, s.code, r->want);
    ck_assert_uint_eq(ok, r->want == 0 ? len : len - 1);
}
END_TEST

typedef struct {
    const char *name;
    const char *bytes;
    apr_ssize_t want;                    /* -1, or the offset; -2: the length of bytes */
} start_row_t;

#define UPGRADE "GET /ws?room=a HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n" \
    "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"
#define HEALTH "GET /health HTTP/1.1\r\nHost: h\r\n\r\n"

static const start_row_t start_rows[] = {
    { "an upgrade request alone", UPGRADE, -2 },
    { "an upgrade request and a frame", UPGRADE "\x81\x80", (apr_ssize_t)sizeof(UPGRADE) - 1 },
    { "the header name in lower case", "GET /ws HTTP/1.1\r\nupgrade: websocket\r\n\r\n", -2 },
    { "a keep-alive request first", HEALTH UPGRADE, -2 },
    { "a request with Content-Length: 0 first", "GET /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n" UPGRADE, -2 },
    { "a request with a body first", "POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello" UPGRADE, -1 },
    { "a chunked request first", "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" UPGRADE, -1 },
    { "no upgrade header", HEALTH, -1 },
    { "a look-alike header", "GET /ws HTTP/1.1\r\nX-Upgrade: websocket\r\n\r\n", -1 },
    { "headers not finished", "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n", -1 },
    { "nothing", "", -1 },
};

START_TEST(test_frames_start_table)
{
    const start_row_t *r = &start_rows[_i];
    apr_size_t len = strlen(r->bytes);
    apr_ssize_t want = r->want == -2 ? (apr_ssize_t)len : r->want;
    apr_ssize_t got = relay_wsscan_frames_start((const unsigned char *)r->bytes, len);

    ck_assert_msg(got == want, "%s: %ld, want %ld", r->name, (long)got, (long)want);
}
END_TEST

static TCase *tcase_wsscan(void)
{
    TCase *tc = chat_tcase_create("wsscan");

    tcase_add_loop_test(tc, test_scan_table_whole, 0, sizeof(scan_rows) / sizeof(scan_rows[0]));
    tcase_add_loop_test(tc, test_scan_table_bytewise, 0,
                        sizeof(scan_rows) / sizeof(scan_rows[0]));
    tcase_add_test(tc, test_scan_split_reads);
    tcase_add_loop_test(tc, test_close_table, 0, sizeof(close_rows) / sizeof(close_rows[0]));
    tcase_add_loop_test(tc, test_frames_start_table, 0,
                        sizeof(start_rows) / sizeof(start_rows[0]));
    return tc;
}

const char *const chat_suite_name = "wsscan";
const chat_tcase_fn chat_tcases[] = { tcase_wsscan, NULL };
