/* relay_journal.c: the append-only spool of accepted messages (see relay_journal.h).
 *
 * Owns the segment files under JOURNAL_DIR and their bookkeeping: one list of segments ordered
 * by id, each with its write fd (until the sync thread closes it after sealing), its size, how
 * many of its records still wait for the store (pending) and how many of those exist only on
 * disk (unclaimed: the in-memory copy was dropped, or the segment was left by a previous run).
 *
 * Threads: the service thread appends (write(2) outside the lock, bookkeeping under it) and
 * rotates; the sync thread fsyncs duplicates of the fds it collects under the lock, so no
 * fsync ever holds the lock; workers confirm, claim and release. j->lock is a leaf mutex.
 * Deleting a segment (unlink) also happens outside the lock: the segment leaves the list
 * first, so nobody can find it any more. */
#include "relay_journal.h"

#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char magic[4] = { 0xFE, 'C', 'J', 0x01 };

/* CRC-32C, polynomial 0x82F63B78 (reflected), one byte per step. */
static const apr_uint32_t crc32c_table[256] = {
    0x00000000u, 0xf26b8303u, 0xe13b70f7u, 0x1350f3f4u, 0xc79a971fu, 0x35f1141cu,
    0x26a1e7e8u, 0xd4ca64ebu, 0x8ad958cfu, 0x78b2dbccu, 0x6be22838u, 0x9989ab3bu,
    0x4d43cfd0u, 0xbf284cd3u, 0xac78bf27u, 0x5e133c24u, 0x105ec76fu, 0xe235446cu,
    0xf165b798u, 0x030e349bu, 0xd7c45070u, 0x25afd373u, 0x36ff2087u, 0xc494a384u,
    0x9a879fa0u, 0x68ec1ca3u, 0x7bbcef57u, 0x89d76c54u, 0x5d1d08bfu, 0xaf768bbcu,
    0xbc267848u, 0x4e4dfb4bu, 0x20bd8edeu, 0xd2d60dddu, 0xc186fe29u, 0x33ed7d2au,
    0xe72719c1u, 0x154c9ac2u, 0x061c6936u, 0xf477ea35u, 0xaa64d611u, 0x580f5512u,
    0x4b5fa6e6u, 0xb93425e5u, 0x6dfe410eu, 0x9f95c20du, 0x8cc531f9u, 0x7eaeb2fau,
    0x30e349b1u, 0xc288cab2u, 0xd1d83946u, 0x23b3ba45u, 0xf779deaeu, 0x05125dadu,
    0x1642ae59u, 0xe4292d5au, 0xba3a117eu, 0x4851927du, 0x5b016189u, 0xa96ae28au,
    0x7da08661u, 0x8fcb0562u, 0x9c9bf696u, 0x6ef07595u, 0x417b1dbcu, 0xb3109ebfu,
    0xa0406d4bu, 0x522bee48u, 0x86e18aa3u, 0x748a09a0u, 0x67dafa54u, 0x95b17957u,
    0xcba24573u, 0x39c9c670u, 0x2a993584u, 0xd8f2b687u, 0x0c38d26cu, 0xfe53516fu,
    0xed03a29bu, 0x1f682198u, 0x5125dad3u, 0xa34e59d0u, 0xb01eaa24u, 0x42752927u,
    0x96bf4dccu, 0x64d4cecfu, 0x77843d3bu, 0x85efbe38u, 0xdbfc821cu, 0x2997011fu,
    0x3ac7f2ebu, 0xc8ac71e8u, 0x1c661503u, 0xee0d9600u, 0xfd5d65f4u, 0x0f36e6f7u,
    0x61c69362u, 0x93ad1061u, 0x80fde395u, 0x72966096u, 0xa65c047du, 0x5437877eu,
    0x4767748au, 0xb50cf789u, 0xeb1fcbadu, 0x197448aeu, 0x0a24bb5au, 0xf84f3859u,
    0x2c855cb2u, 0xdeeedfb1u, 0xcdbe2c45u, 0x3fd5af46u, 0x7198540du, 0x83f3d70eu,
    0x90a324fau, 0x62c8a7f9u, 0xb602c312u, 0x44694011u, 0x5739b3e5u, 0xa55230e6u,
    0xfb410cc2u, 0x092a8fc1u, 0x1a7a7c35u, 0xe811ff36u, 0x3cdb9bddu, 0xceb018deu,
    0xdde0eb2au, 0x2f8b6829u, 0x82f63b78u, 0x709db87bu, 0x63cd4b8fu, 0x91a6c88cu,
    0x456cac67u, 0xb7072f64u, 0xa457dc90u, 0x563c5f93u, 0x082f63b7u, 0xfa44e0b4u,
    0xe9141340u, 0x1b7f9043u, 0xcfb5f4a8u, 0x3dde77abu, 0x2e8e845fu, 0xdce5075cu,
    0x92a8fc17u, 0x60c37f14u, 0x73938ce0u, 0x81f80fe3u, 0x55326b08u, 0xa759e80bu,
    0xb4091bffu, 0x466298fcu, 0x1871a4d8u, 0xea1a27dbu, 0xf94ad42fu, 0x0b21572cu,
    0xdfeb33c7u, 0x2d80b0c4u, 0x3ed04330u, 0xccbbc033u, 0xa24bb5a6u, 0x502036a5u,
    0x4370c551u, 0xb11b4652u, 0x65d122b9u, 0x97baa1bau, 0x84ea524eu, 0x7681d14du,
    0x2892ed69u, 0xdaf96e6au, 0xc9a99d9eu, 0x3bc21e9du, 0xef087a76u, 0x1d63f975u,
    0x0e330a81u, 0xfc588982u, 0xb21572c9u, 0x407ef1cau, 0x532e023eu, 0xa145813du,
    0x758fe5d6u, 0x87e466d5u, 0x94b49521u, 0x66df1622u, 0x38cc2a06u, 0xcaa7a905u,
    0xd9f75af1u, 0x2b9cd9f2u, 0xff56bd19u, 0x0d3d3e1au, 0x1e6dcdeeu, 0xec064eedu,
    0xc38d26c4u, 0x31e6a5c7u, 0x22b65633u, 0xd0ddd530u, 0x0417b1dbu, 0xf67c32d8u,
    0xe52cc12cu, 0x1747422fu, 0x49547e0bu, 0xbb3ffd08u, 0xa86f0efcu, 0x5a048dffu,
    0x8ecee914u, 0x7ca56a17u, 0x6ff599e3u, 0x9d9e1ae0u, 0xd3d3e1abu, 0x21b862a8u,
    0x32e8915cu, 0xc083125fu, 0x144976b4u, 0xe622f5b7u, 0xf5720643u, 0x07198540u,
    0x590ab964u, 0xab613a67u, 0xb831c993u, 0x4a5a4a90u, 0x9e902e7bu, 0x6cfbad78u,
    0x7fab5e8cu, 0x8dc0dd8fu, 0xe330a81au, 0x115b2b19u, 0x020bd8edu, 0xf0605beeu,
    0x24aa3f05u, 0xd6c1bc06u, 0xc5914ff2u, 0x37faccf1u, 0x69e9f0d5u, 0x9b8273d6u,
    0x88d28022u, 0x7ab90321u, 0xae7367cau, 0x5c18e4c9u, 0x4f48173du, 0xbd23943eu,
    0xf36e6f75u, 0x0105ec76u, 0x12551f82u, 0xe03e9c81u, 0x34f4f86au, 0xc69f7b69u,
    0xd5cf889du, 0x27a40b9eu, 0x79b737bau, 0x8bdcb4b9u, 0x988c474du, 0x6ae7c44eu,
    0xbe2da0a5u, 0x4c4623a6u, 0x5f16d052u, 0xad7d5351u,
};

#define SEG_PREFIX "seg-"
#define SEG_SUFFIX ".jnl"
#define SYNC_MAX 64                     /* segments fsync'd per relay_journal_sync call */
#define READER_BUF (4 * RELAY_JOURNAL_MAX_RECORD)

typedef struct segment_t segment_t;
struct segment_t {
    segment_t *next;
    apr_uint64_t id;
    int fd;                  /* write fd; -1 once closed (sealed and synced, or loaded) */
    int sealed;              /* no more appends */
    int dirty;               /* written since the last fsync */
    int busy;                /* claimed by a re-reader: not deleted meanwhile */
    apr_size_t pending;      /* records not yet confirmed in the store */
    apr_size_t unclaimed;    /* of those, the ones only the file holds */
    apr_off_t size;          /* bytes in the file */
    apr_off_t reread_off;    /* records before this offset were re-read and written */
};

struct relay_journal_t {
    apr_pool_t *pool;
    const char *dir;
    apr_size_t segment_max;
    apr_thread_mutex_t *lock;
    int lock_fd;             /* JOURNAL_DIR/.lock, flock'ed for the journal's lifetime */
    segment_t *segs;         /* {lock} ascending by id */
    int dir_dirty;           /* {lock} files created or deleted since the last sync */
    /* service thread only */
    segment_t *cur;          /* the segment appended to; its fields are still {lock} */
    int cur_fd;
    apr_off_t cur_size;
    apr_uint64_t next_id;
    unsigned char *frame;    /* RELAY_JOURNAL_MAX_RECORD bytes */
};

struct relay_journal_reader_t {
    int fd;
    int final;
    int eof;                 /* read(2) returned 0 */
    unsigned char *buf;      /* READER_BUF bytes */
    apr_size_t len;          /* bytes in buf */
    apr_size_t pos;          /* next byte to scan */
    apr_off_t base;          /* file offset of buf[0] */
};

static apr_uint32_t crc32c_table_run(apr_uint32_t crc, const unsigned char *p, apr_size_t len)
{
    while (len-- > 0) {
        crc = crc32c_table[(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
    }
    return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* SSE4.2's crc32 instruction computes exactly this CRC (Castagnoli, reflected), 8 bytes per
 * step: the table costs about 1.5 ns per byte, which the service thread paid on every
 * journal append (3 % of the relay's core at 50k msg/s) and the workers on every re-read. */
__attribute__((target("sse4.2")))
static apr_uint32_t crc32c_sse42_run(apr_uint32_t crc, const unsigned char *p, apr_size_t len)
{
    unsigned long long c = crc;

    for (; len >= 8; p += 8, len -= 8) {
        unsigned long long v;

        memcpy(&v, p, sizeof(v));          /* unaligned-safe; the CPU is little-endian */
        c = __builtin_ia32_crc32di(c, v);
    }
    crc = (apr_uint32_t)c;
    for (; len > 0; p++, len--) {
        crc = __builtin_ia32_crc32qi(crc, *p);
    }
    return crc;
}

static int has_sse42(void)
{
    return __builtin_cpu_supports("sse4.2");
}
#else
static apr_uint32_t crc32c_sse42_run(apr_uint32_t crc, const unsigned char *p, apr_size_t len)
{
    return crc32c_table_run(crc, p, len);
}

static int has_sse42(void)
{
    return 0;
}
#endif

apr_uint32_t relay_journal_crc32c(apr_uint32_t crc, const void *buf, apr_size_t len)
{
    const unsigned char *p = buf;

    crc = ~crc;
    crc = has_sse42() ? crc32c_sse42_run(crc, p, len) : crc32c_table_run(crc, p, len);
    return ~crc;
}

apr_uint32_t relay_journal_crc32c_portable(apr_uint32_t crc, const void *buf, apr_size_t len)
{
    return ~crc32c_table_run(~crc, buf, len);
}

static void put_le32(unsigned char *p, apr_uint32_t v)
{
    p[0] = (unsigned char)(v & 0xFFu);
    p[1] = (unsigned char)((v >> 8) & 0xFFu);
    p[2] = (unsigned char)((v >> 16) & 0xFFu);
    p[3] = (unsigned char)((v >> 24) & 0xFFu);
}

static apr_uint32_t get_le32(const unsigned char *p)
{
    return (apr_uint32_t)p[0] | ((apr_uint32_t)p[1] << 8) | ((apr_uint32_t)p[2] << 16)
           | ((apr_uint32_t)p[3] << 24);
}

apr_status_t relay_journal_frame(unsigned char *out, const void *payload, apr_size_t len)
{
    if (len == 0 || len > RELAY_JOURNAL_MAX_PAYLOAD) {
        return APR_EINVAL;
    }
    memcpy(out, magic, sizeof(magic));
    put_le32(out + 4, (apr_uint32_t)len);
    memcpy(out + RELAY_JOURNAL_HEADER, payload, len);
    put_le32(out + 8, relay_journal_crc32c(relay_journal_crc32c(0, out + 4, 4),
                                           out + RELAY_JOURNAL_HEADER, len));
    return APR_SUCCESS;
}

/* Moves *pos to the next byte that could start a magic, counting what it passes. */
static void skip_to_magic(const unsigned char *buf, apr_size_t len, apr_size_t *pos,
                          apr_size_t *skipped)
{
    const unsigned char *hit;
    apr_size_t from = *pos + 1;

    hit = from < len ? memchr(buf + from, magic[0], len - from) : NULL;
    from = hit != NULL ? (apr_size_t)(hit - buf) : len;
    if (skipped != NULL) {
        *skipped += from - *pos;
    }
    *pos = from;
}

apr_status_t relay_journal_scan(const unsigned char *buf, apr_size_t len, int final,
                                apr_size_t *pos, const unsigned char **payload,
                                apr_size_t *plen, apr_size_t *skipped)
{
    while (*pos < len) {
        const unsigned char *rec = buf + *pos;
        apr_size_t avail = len - *pos;
        apr_uint32_t n;

        if (memcmp(rec, magic, avail < sizeof(magic) ? avail : sizeof(magic)) != 0) {
            skip_to_magic(buf, len, pos, skipped);
            continue;
        }
        if (avail < RELAY_JOURNAL_HEADER) {
            if (!final) {
                return APR_INCOMPLETE;
            }
            skip_to_magic(buf, len, pos, skipped);
            continue;
        }
        n = get_le32(rec + 4);
        if (n == 0 || n > RELAY_JOURNAL_MAX_PAYLOAD) {
            skip_to_magic(buf, len, pos, skipped);
            continue;
        }
        if (avail - RELAY_JOURNAL_HEADER < n) {
            if (!final) {
                return APR_INCOMPLETE;
            }
            skip_to_magic(buf, len, pos, skipped);
            continue;
        }
        if (relay_journal_crc32c(relay_journal_crc32c(0, rec + 4, 4), rec + RELAY_JOURNAL_HEADER,
                                 n) != get_le32(rec + 8)) {
            skip_to_magic(buf, len, pos, skipped);
            continue;
        }
        *payload = rec + RELAY_JOURNAL_HEADER;
        *plen = n;
        *pos += RELAY_JOURNAL_HEADER + n;
        return APR_SUCCESS;
    }
    return APR_EOF;
}

/* ---------------------------------------------------------------- segments */

const char *relay_journal_path(const relay_journal_t *j, apr_uint64_t seg, apr_pool_t *pool)
{
    return apr_psprintf(pool, "%s/" SEG_PREFIX "%016" APR_UINT64_T_FMT SEG_SUFFIX, j->dir, seg);
}

/* Parses "seg-<16 digits>.jnl". 1 and *id on a match. */
static int is_segment_name(const char *name, apr_uint64_t *id)
{
    apr_uint64_t v = 0;
    const char *p = name + sizeof(SEG_PREFIX) - 1;

    if (strncmp(name, SEG_PREFIX, sizeof(SEG_PREFIX) - 1) != 0
        || strlen(name) != sizeof(SEG_PREFIX) - 1 + 16 + sizeof(SEG_SUFFIX) - 1
        || strcmp(name + sizeof(SEG_PREFIX) - 1 + 16, SEG_SUFFIX) != 0) {
        return 0;
    }
    for (int i = 0; i < 16; i++, p++) {
        if (*p < '0' || *p > '9') {
            return 0;
        }
        v = v * 10 + (apr_uint64_t)(*p - '0');
    }
    *id = v;
    return 1;
}

static segment_t *find_locked(relay_journal_t *j, apr_uint64_t id)
{
    segment_t *s;

    for (s = j->segs; s != NULL && s->id != id; s = s->next) {
    }
    return s;
}

static void insert_locked(relay_journal_t *j, segment_t *seg)
{
    segment_t **pp = &j->segs;

    while (*pp != NULL && (*pp)->id < seg->id) {
        pp = &(*pp)->next;
    }
    seg->next = *pp;
    *pp = seg;
}

/* Unlinks seg from the list if it is finished (sealed, nothing pending, not claimed); the
 * caller then calls drop_segment outside the lock. Returns seg or NULL. */
static segment_t *take_if_done_locked(relay_journal_t *j, segment_t *seg)
{
    segment_t **pp = &j->segs;

    if (seg == NULL || !seg->sealed || seg->pending > 0 || seg->busy) {
        return NULL;
    }
    while (*pp != seg) {
        pp = &(*pp)->next;
    }
    *pp = seg->next;
    j->dir_dirty = 1;
    return seg;
}

/* Outside the lock: closes and deletes a segment taken from the list. */
static void drop_segment(relay_journal_t *j, segment_t *seg)
{
    char path[PATH_MAX];

    if (seg == NULL) {
        return;
    }
    if (seg->fd >= 0) {
        close(seg->fd);
    }
    snprintf(path, sizeof(path), "%s/" SEG_PREFIX "%016" APR_UINT64_T_FMT SEG_SUFFIX, j->dir,
             seg->id);
    unlink(path);
    free(seg);
}

static apr_status_t cleanup_journal(void *data)
{
    relay_journal_t *j = data;
    segment_t *s;

    while ((s = j->segs) != NULL) {
        j->segs = s->next;
        if (s->fd >= 0) {
            close(s->fd);
        }
        free(s);
    }
    j->cur = NULL;
    j->cur_fd = -1;
    if (j->lock_fd >= 0) {
        close(j->lock_fd);             /* releases the flock */
        j->lock_fd = -1;
    }
    return APR_SUCCESS;
}

/* One journal per directory: a second relay (or a tool) pointed at the same JOURNAL_DIR would
 * take this run's live segments for leftovers and delete them. flock, not fcntl: its lock
 * belongs to the open file, so it also holds between two opens in one process. */
static apr_status_t lock_dir(relay_journal_t *j)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/.lock", j->dir);
    j->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (j->lock_fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if (flock(j->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        return errno == EWOULDBLOCK ? APR_EBUSY : APR_FROM_OS_ERROR(errno);
    }
    return APR_SUCCESS;
}

/* Counts the valid records of a leftover segment file. */
static apr_status_t count_records(const char *path, apr_size_t *count, apr_off_t *size,
                                  apr_pool_t *pool)
{
    relay_journal_reader_t *r = NULL;
    const unsigned char *pl;
    apr_size_t plen;
    apr_status_t rv;
    apr_pool_t *sub = NULL;

    *count = 0;
    *size = 0;
    rv = apr_pool_create(&sub, pool);
    if (rv == APR_SUCCESS) {
        rv = relay_journal_reader_open(&r, path, 0, 1, sub);
    }
    while (rv == APR_SUCCESS && (rv = relay_journal_reader_next(r, &pl, &plen, NULL, NULL))
                                    == APR_SUCCESS) {
        (*count)++;
    }
    if (rv == APR_EOF) {
        *size = r->base + (apr_off_t)r->len;
        rv = APR_SUCCESS;
    }
    if (sub != NULL) {
        apr_pool_destroy(sub);
    }
    return rv;
}

static apr_status_t load_leftovers(relay_journal_t *j, apr_pool_t *pool)
{
    apr_dir_t *dir = NULL;
    apr_finfo_t fi;
    apr_uint64_t id;
    apr_status_t rv;

    rv = apr_dir_open(&dir, j->dir, pool);
    while (rv == APR_SUCCESS && apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, dir)
                                    == APR_SUCCESS) {
        segment_t *seg;
        const char *path;
        apr_size_t count;
        apr_off_t size;

        if (fi.filetype != APR_REG || !is_segment_name(fi.name, &id)) {
            continue;
        }
        path = relay_journal_path(j, id, pool);
        rv = count_records(path, &count, &size, pool);
        if (rv != APR_SUCCESS) {
            break;
        }
        if (id >= j->next_id) {
            j->next_id = id + 1;
        }
        if (count == 0) {
            unlink(path);              /* nothing in it can be recovered */
            continue;
        }
        seg = calloc(1, sizeof(*seg));
        if (seg == NULL) {
            rv = APR_ENOMEM;
            break;
        }
        seg->id = id;
        seg->fd = -1;
        seg->sealed = 1;
        seg->pending = seg->unclaimed = count;
        seg->size = size;
        insert_locked(j, seg);         /* not shared yet */
    }
    if (dir != NULL) {
        apr_dir_close(dir);
    }
    return rv;
}

apr_status_t relay_journal_open(relay_journal_t **out, const char *dir, apr_size_t segment_max,
                                apr_pool_t *pool)
{
    relay_journal_t *j = apr_pcalloc(pool, sizeof(*j));
    apr_status_t rv;

    j->pool = pool;
    j->dir = apr_pstrdup(pool, dir);
    j->segment_max = segment_max > 0 ? segment_max : RELAY_JOURNAL_SEGMENT_DEFAULT;
    j->cur_fd = -1;
    j->lock_fd = -1;
    j->next_id = 1;
    j->frame = apr_palloc(pool, RELAY_JOURNAL_MAX_RECORD);
    apr_pool_cleanup_register(pool, j, cleanup_journal, apr_pool_cleanup_null);
    rv = apr_dir_make_recursive(dir, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE
                                         | APR_FPROT_GREAD | APR_FPROT_GEXECUTE, pool);
    if (rv == APR_SUCCESS) {
        rv = lock_dir(j);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_thread_mutex_create(&j->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    }
    if (rv == APR_SUCCESS) {
        rv = load_leftovers(j, pool);
    }
    if (rv == APR_SUCCESS) {
        *out = j;
    }
    return rv;
}

/* Service thread: seals the current segment and starts a new one. The sealed segment's fd
 * now belongs to the sync thread (it closes it after the last fsync). */
static apr_status_t rotate(relay_journal_t *j)
{
    segment_t *seg = calloc(1, sizeof(*seg));
    segment_t *done = NULL;
    char path[PATH_MAX];
    int fd;

    if (seg == NULL) {
        return APR_ENOMEM;
    }
    snprintf(path, sizeof(path), "%s/" SEG_PREFIX "%016" APR_UINT64_T_FMT SEG_SUFFIX, j->dir,
             j->next_id);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0 && errno == ENOENT && mkdir(j->dir, 0750) == 0) {
        /* The directory was removed under us: recreate it rather than fail every append. */
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
    }
    if (fd < 0) {
        apr_status_t rv = APR_FROM_OS_ERROR(errno);

        free(seg);
        return rv;
    }
    seg->id = j->next_id++;
    seg->fd = fd;
    apr_thread_mutex_lock(j->lock);
    if (j->cur != NULL) {
        j->cur->sealed = 1;
        done = take_if_done_locked(j, j->cur);
    }
    insert_locked(j, seg);
    j->dir_dirty = 1;
    apr_thread_mutex_unlock(j->lock);
    drop_segment(j, done);
    j->cur = seg;
    j->cur_fd = fd;
    j->cur_size = 0;
    return APR_SUCCESS;
}

static apr_status_t write_all(int fd, const unsigned char *buf, apr_size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? APR_FROM_OS_ERROR(errno) : APR_EGENERAL;
        }
        buf += n;
        len -= (apr_size_t)n;
    }
    return APR_SUCCESS;
}

apr_status_t relay_journal_append(relay_journal_t *j, const void *payload, apr_size_t len,
                                  apr_uint64_t *seg)
{
    apr_size_t reclen = RELAY_JOURNAL_HEADER + len;
    apr_status_t rv;

    rv = relay_journal_frame(j->frame, payload, len);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (j->cur == NULL
        || (j->cur_size > 0 && (apr_size_t)j->cur_size + reclen > j->segment_max)) {
        rv = rotate(j);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    rv = write_all(j->cur_fd, j->frame, reclen);
    if (rv != APR_SUCCESS) {
        /* Cut a partial record away so the next append starts on a clean boundary (the
         * reader would skip it anyway). */
        if (ftruncate(j->cur_fd, j->cur_size) != 0) {
            rotate(j);
        }
        return rv;
    }
    j->cur_size += (apr_off_t)reclen;
    apr_thread_mutex_lock(j->lock);
    j->cur->pending++;
    j->cur->size = j->cur_size;
    j->cur->dirty = 1;
    apr_thread_mutex_unlock(j->lock);
    *seg = j->cur->id;
    return APR_SUCCESS;
}

void relay_journal_seal(relay_journal_t *j)
{
    segment_t *done = NULL;

    if (j->cur == NULL) {
        return;
    }
    apr_thread_mutex_lock(j->lock);
    j->cur->sealed = 1;
    done = take_if_done_locked(j, j->cur);
    apr_thread_mutex_unlock(j->lock);
    drop_segment(j, done);
    j->cur = NULL;
    j->cur_fd = -1;
}

void relay_journal_spill(relay_journal_t *j, apr_uint64_t seg, apr_size_t n)
{
    segment_t *s;

    apr_thread_mutex_lock(j->lock);
    s = find_locked(j, seg);
    if (s != NULL) {
        s->unclaimed += n;
    }
    apr_thread_mutex_unlock(j->lock);
}

void relay_journal_confirm(relay_journal_t *j, apr_uint64_t seg, apr_size_t n)
{
    segment_t *s;
    segment_t *done = NULL;

    apr_thread_mutex_lock(j->lock);
    s = find_locked(j, seg);
    if (s != NULL) {
        s->pending = n < s->pending ? s->pending - n : 0;
        done = take_if_done_locked(j, s);
    }
    apr_thread_mutex_unlock(j->lock);
    drop_segment(j, done);
}

apr_status_t relay_journal_claim(relay_journal_t *j, apr_uint64_t *seg, apr_off_t *from,
                                 apr_size_t *n, int *sealed)
{
    segment_t *s;

    apr_thread_mutex_lock(j->lock);
    for (s = j->segs; s != NULL && (s->busy || s->unclaimed == 0); s = s->next) {
    }
    if (s != NULL) {
        s->busy = 1;
        *seg = s->id;
        *from = s->reread_off;
        *n = s->unclaimed;
        *sealed = s->sealed;
        s->unclaimed = 0;
    }
    apr_thread_mutex_unlock(j->lock);
    return s != NULL ? APR_SUCCESS : APR_EOF;
}

void relay_journal_release(relay_journal_t *j, apr_uint64_t seg, apr_size_t n, apr_off_t to,
                           int done)
{
    segment_t *s;
    segment_t *gone = NULL;

    apr_thread_mutex_lock(j->lock);
    s = find_locked(j, seg);
    if (s != NULL) {
        s->busy = 0;
        if (done) {
            if (to > s->reread_off) {
                s->reread_off = to;
            }
            s->pending = n < s->pending ? s->pending - n : 0;
        }
        else {
            s->unclaimed += n;
        }
        gone = take_if_done_locked(j, s);
    }
    apr_thread_mutex_unlock(j->lock);
    drop_segment(j, gone);
}

/* fsyncs the directory itself so created and deleted names survive a power loss. */
static apr_status_t sync_dir(const char *dir)
{
    apr_status_t rv = APR_SUCCESS;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if (fsync(fd) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    close(fd);
    return rv;
}

apr_status_t relay_journal_sync(relay_journal_t *j)
{
    struct { apr_uint64_t id; int fd; } todo[SYNC_MAX];
    int ntodo = 0;
    int dir_dirty;
    apr_status_t first = APR_SUCCESS;

    apr_thread_mutex_lock(j->lock);
    for (segment_t *s = j->segs; s != NULL && ntodo < SYNC_MAX; s = s->next) {
        if (s->dirty && s->fd >= 0) {
            int fd = dup(s->fd);          /* ours to fsync and close, whatever happens to s */

            if (fd >= 0) {
                s->dirty = 0;
                todo[ntodo].id = s->id;
                todo[ntodo++].fd = fd;
            }
            else if (first == APR_SUCCESS) {
                first = APR_FROM_OS_ERROR(errno);
            }
        }
    }
    dir_dirty = j->dir_dirty;
    j->dir_dirty = 0;
    apr_thread_mutex_unlock(j->lock);

    for (int i = 0; i < ntodo; i++) {
        if (fdatasync(todo[i].fd) != 0 && first == APR_SUCCESS) {
            first = APR_FROM_OS_ERROR(errno);
        }
        close(todo[i].fd);
    }
    if (dir_dirty) {
        apr_status_t rv = sync_dir(j->dir);

        if (first == APR_SUCCESS) {
            first = rv;
        }
    }
    /* A sealed segment that was synced and not written since needs its fd no more. */
    apr_thread_mutex_lock(j->lock);
    for (segment_t *s = j->segs; s != NULL; s = s->next) {
        if (s->sealed && !s->dirty && s->fd >= 0) {
            close(s->fd);
            s->fd = -1;
        }
    }
    apr_thread_mutex_unlock(j->lock);
    return first;
}

void relay_journal_stats(relay_journal_t *j, relay_journal_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    apr_thread_mutex_lock(j->lock);
    for (segment_t *s = j->segs; s != NULL; s = s->next) {
        out->segments++;
        out->bytes += (apr_uint64_t)s->size;
        out->pending += s->pending;
        out->unclaimed += s->unclaimed;
    }
    apr_thread_mutex_unlock(j->lock);
}

/* ---------------------------------------------------------------- reader */

static apr_status_t cleanup_reader(void *data)
{
    relay_journal_reader_t *r = data;

    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
    }
    return APR_SUCCESS;
}

apr_status_t relay_journal_reader_open(relay_journal_reader_t **out, const char *path,
                                       apr_off_t from, int final, apr_pool_t *pool)
{
    relay_journal_reader_t *r;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if (from > 0 && lseek(fd, from, SEEK_SET) != from) {
        apr_status_t rv = APR_FROM_OS_ERROR(errno);

        close(fd);
        return rv;
    }
    r = apr_pcalloc(pool, sizeof(*r));
    r->fd = fd;
    r->final = final;
    r->base = from;
    r->buf = apr_palloc(pool, READER_BUF);
    apr_pool_cleanup_register(pool, r, cleanup_reader, apr_pool_cleanup_null);
    *out = r;
    return APR_SUCCESS;
}

/* Keeps the unscanned tail and reads more behind it. */
static apr_status_t fill(relay_journal_reader_t *r)
{
    ssize_t n;

    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->base += (apr_off_t)r->pos;
        r->len -= r->pos;
        r->pos = 0;
    }
    do {
        n = read(r->fd, r->buf + r->len, READER_BUF - r->len);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if (n == 0) {
        r->eof = 1;
    }
    r->len += (apr_size_t)n;
    return APR_SUCCESS;
}

apr_status_t relay_journal_reader_next(relay_journal_reader_t *r, const unsigned char **payload,
                                       apr_size_t *plen, apr_off_t *offset,
                                       apr_size_t *skipped)
{
    for (;;) {
        apr_status_t rv = relay_journal_scan(r->buf, r->len, r->eof && r->final, &r->pos,
                                             payload, plen, skipped);

        if (rv == APR_SUCCESS || r->eof) {
            if (offset != NULL) {
                *offset = r->base + (apr_off_t)r->pos;
            }
            return rv == APR_SUCCESS ? APR_SUCCESS : APR_EOF;
        }
        rv = fill(r);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
}
