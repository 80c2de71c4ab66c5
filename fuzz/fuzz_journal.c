/* fuzz_journal.c: libFuzzer harness for the journal reader (relay/relay_journal.c).
 *
 * A journal on disk after a crash can hold anything: records torn by a kill mid-write,
 * sectors of garbage, flipped bits. The reader must skip what is damaged and find every
 * intact record, never crash or stop early. Random bytes almost never hold a record with a
 * valid CRC, so the input is a small program that builds a journal:
 *   op % 5 == 0  an intact record (relay_journal_frame), payload from the input, up to the
 *                maximum size (the input is repeated to fill big payloads)
 *   op % 5 == 1  a torn record: a framed record cut short
 *   op % 5 == 2  garbage: bytes copied from the input (may hold magics and fake headers)
 *   op % 5 == 3  a flipped byte somewhere in what is written so far (kills a record)
 *   op % 5 == 4  a run of zeros (a preallocated tail; pushes records across the reader's
 *                buffer boundaries)
 * Then it checks, on the whole buffer and through the file reader (a memfd, so no disk):
 *   - relay_journal_scan(final) accounts for every byte: skipped + records == length, and
 *     each record it returns re-frames to exactly the bytes it came from;
 *   - every intact record that no flip touched is found, unless a record found earlier
 *     covers it (only a forged CRC inside garbage could do that);
 *   - scanning !final finds a prefix of what final finds;
 *   - the reader finds the same records at the same offsets as the whole-buffer scan, both
 *     final and !final, and from a record boundary it finds the rest;
 *   - found payloads go through chat_msg_decode_full, as the persistence replay does. */
#include "fuzz_common.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "chat_msg.h"
#include "relay_journal.h"

#define MAX_FILE (256 * 1024)
#define MAX_RECS 512

typedef struct {
    apr_size_t off, size;   /* whole record: header + payload */
    int damaged;
} rec_t;

typedef struct {
    unsigned char *file;
    apr_size_t len;
    rec_t intact[MAX_RECS];
    int n_intact;
    unsigned char *frame;   /* RELAY_JOURNAL_MAX_RECORD bytes */
    unsigned char *payload; /* RELAY_JOURNAL_MAX_PAYLOAD bytes */
} build_t;

/* A little reader of the input program. */
typedef struct {
    const uint8_t *data;
    size_t size, pos;
} prog_t;

static unsigned next_byte(prog_t *p)
{
    return p->pos < p->size ? p->data[p->pos++] : 0;
}

static unsigned next_u16(prog_t *p)
{
    unsigned lo = next_byte(p);

    return lo | next_byte(p) << 8;
}

/* Frames a payload of len bytes taken from the input (repeated) into b->frame. */
static apr_size_t make_frame(build_t *b, prog_t *p, apr_size_t len)
{
    for (apr_size_t i = 0; i < len; i++) {
        b->payload[i] = p->size > 0 ? p->data[(p->pos + i) % p->size] : 'x';
    }
    p->pos += len < p->size - p->pos ? len : p->size - p->pos;
    FUZZ_CHECK(relay_journal_frame(b->frame, b->payload, len) == APR_SUCCESS);
    return RELAY_JOURNAL_HEADER + len;
}

static void append(build_t *b, const unsigned char *src, apr_size_t n)
{
    n = n < MAX_FILE - b->len ? n : MAX_FILE - b->len;
    memcpy(b->file + b->len, src, n);
    b->len += n;
}

static void build(build_t *b, prog_t *p)
{
    while (p->pos < p->size && b->len < MAX_FILE) {
        unsigned op = next_byte(p);
        apr_size_t n;

        switch (op % 5) {
        case 0:
        case 1:
            n = next_u16(p) % RELAY_JOURNAL_MAX_PAYLOAD + 1;
            n = make_frame(b, p, n);
            if (op % 5 == 1) {
                n = n * next_byte(p) / 256;    /* torn: 0..n-1 bytes survive */
            }
            else if (b->len + n <= MAX_FILE && b->n_intact < MAX_RECS) {
                b->intact[b->n_intact++] = (rec_t){ b->len, n, 0 };
            }
            append(b, b->frame, n);
            break;
        case 2:
            n = next_byte(p);
            n = n < p->size - p->pos ? n : p->size - p->pos;
            append(b, p->data + p->pos, n);
            p->pos += n;
            break;
        case 3:
            if (b->len > 0) {
                apr_size_t at = next_u16(p) % b->len;

                b->file[at] ^= (unsigned char)(next_byte(p) | 1);
                for (int i = 0; i < b->n_intact; i++) {
                    if (at >= b->intact[i].off && at < b->intact[i].off + b->intact[i].size) {
                        b->intact[i].damaged = 1;
                    }
                }
            }
            break;
        default:
            n = (apr_size_t)next_byte(p) * 256;
            n = n < MAX_FILE - b->len ? n : MAX_FILE - b->len;
            memset(b->file + b->len, 0, n);
            b->len += n;
            break;
        }
    }
}

/* Scans buf whole; fills found[] with record offsets and sizes; returns the count. */
static int scan_all(const unsigned char *buf, apr_size_t len, int final, rec_t *found,
                    apr_size_t *skipped, apr_size_t *end)
{
    apr_size_t pos = 0;
    int n = 0;
    const unsigned char *payload;
    apr_size_t plen;
    apr_status_t rv;

    *skipped = 0;
    while ((rv = relay_journal_scan(buf, len, final, &pos, &payload, &plen, skipped))
           == APR_SUCCESS) {
        FUZZ_CHECK(n < MAX_FILE / RELAY_JOURNAL_HEADER);
        FUZZ_CHECK(payload >= buf + RELAY_JOURNAL_HEADER && payload + plen <= buf + len);
        FUZZ_CHECK(plen >= 1 && plen <= RELAY_JOURNAL_MAX_PAYLOAD);
        found[n].off = (apr_size_t)(payload - buf) - RELAY_JOURNAL_HEADER;
        found[n].size = RELAY_JOURNAL_HEADER + plen;
        FUZZ_CHECK(pos == found[n].off + found[n].size);
        n++;
    }
    FUZZ_CHECK(rv == APR_EOF || (rv == APR_INCOMPLETE && !final));
    FUZZ_CHECK(rv == APR_INCOMPLETE ? pos < len : pos == len);
    *end = pos;
    return n;
}

static void check_reframes(const build_t *b, const rec_t *found, int n, unsigned char *frame)
{
    for (int i = 0; i < n; i++) {
        const unsigned char *rec = b->file + found[i].off;
        apr_size_t plen = found[i].size - RELAY_JOURNAL_HEADER;

        FUZZ_CHECK(relay_journal_frame(frame, rec + RELAY_JOURNAL_HEADER, plen) == APR_SUCCESS);
        FUZZ_CHECK(memcmp(frame, rec, RELAY_JOURNAL_HEADER) == 0);
    }
}

static void check_intact_found(const build_t *b, const rec_t *found, int n)
{
    for (int i = 0; i < b->n_intact; i++) {
        const rec_t *want = &b->intact[i];
        int ok = 0;

        for (int k = 0; k < n && !ok; k++) {
            ok = found[k].off == want->off
                 || (found[k].off < want->off + want->size
                     && want->off < found[k].off + found[k].size);
        }
        FUZZ_CHECK(ok || want->damaged);
    }
}

/* Reads the memfd through relay_journal_reader from offset from; compares with want[]. */
static void check_reader(int memfd, apr_off_t from, int final, const rec_t *want, int n,
                         apr_pool_t *pool)
{
    relay_journal_reader_t *r = NULL;
    char path[64];
    const unsigned char *payload;
    apr_size_t plen, skipped = 0;
    apr_off_t offset = -1;
    apr_status_t rv;
    int k = 0;
    apr_pool_t *sub = NULL;

    FUZZ_CHECK(apr_pool_create(&sub, pool) == APR_SUCCESS);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
    FUZZ_CHECK(relay_journal_reader_open(&r, path, from, final, sub) == APR_SUCCESS);
    while ((rv = relay_journal_reader_next(r, &payload, &plen, &offset, &skipped))
           == APR_SUCCESS) {
        FUZZ_CHECK(k < n);
        FUZZ_CHECK(plen == want[k].size - RELAY_JOURNAL_HEADER);
        FUZZ_CHECK(offset == (apr_off_t)(want[k].off + want[k].size));
        k++;
    }
    FUZZ_CHECK(rv == APR_EOF && k == n);
    apr_pool_destroy(sub);   /* closes the reader's fd */
}

static void decode_payloads(const build_t *b, const rec_t *found, int n, apr_pool_t *pool)
{
    for (int i = 0; i < n; i++) {
        chat_msg_t *msg = NULL;

        (void)chat_msg_decode_full(&msg, (const char *)b->file + found[i].off
                                             + RELAY_JOURNAL_HEADER,
                                   found[i].size - RELAY_JOURNAL_HEADER, pool);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int memfd = -1;
    static rec_t found[MAX_FILE / RELAY_JOURNAL_HEADER + 1];
    static rec_t found0[MAX_FILE / RELAY_JOURNAL_HEADER + 1];
    apr_pool_t *pool = fuzz_pool();
    prog_t prog = { data, size, 0 };
    build_t *b = apr_pcalloc(pool, sizeof(*b));
    apr_size_t skipped, skipped0, end, end0, covered = 0;
    int n, n0;

    if (memfd < 0) {
        memfd = memfd_create("fuzz-journal", MFD_CLOEXEC);
        FUZZ_CHECK(memfd >= 0);
    }
    b->file = malloc(MAX_FILE);
    b->frame = malloc(RELAY_JOURNAL_MAX_RECORD);
    b->payload = malloc(RELAY_JOURNAL_MAX_PAYLOAD);
    FUZZ_CHECK(b->file != NULL && b->frame != NULL && b->payload != NULL);
    build(b, &prog);

    n = scan_all(b->file, b->len, 1, found, &skipped, &end);
    for (int i = 0; i < n; i++) {
        covered += found[i].size;
    }
    FUZZ_CHECK(skipped + covered == b->len);
    check_reframes(b, found, n, b->frame);
    check_intact_found(b, found, n);

    n0 = scan_all(b->file, b->len, 0, found0, &skipped0, &end0);
    FUZZ_CHECK(n0 <= n);
    for (int i = 0; i < n0; i++) {
        FUZZ_CHECK(found0[i].off == found[i].off && found0[i].size == found[i].size);
    }

    FUZZ_CHECK(ftruncate(memfd, 0) == 0);
    FUZZ_CHECK(pwrite(memfd, b->file, b->len, 0) == (ssize_t)b->len);
    check_reader(memfd, 0, 1, found, n, pool);
    check_reader(memfd, 0, 0, found0, n0, pool);
    if (n > 0) {
        int k = (int)(size % (size_t)n);

        check_reader(memfd, (apr_off_t)found[k].off, 1, found + k, n - k, pool);
    }
    decode_payloads(b, found, n, pool);
    free(b->payload);
    free(b->frame);
    free(b->file);
    fuzz_pool_done(pool);
    return 0;
}
