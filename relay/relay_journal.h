/* relay_journal.h: the relay's append-only spool of accepted messages.
 *
 * The journal is a directory of segment files "seg-<id>.jnl" (id: 16 decimal digits, rising).
 * The service thread appends one record per message to the current segment with write(2);
 * a background thread fsyncs in groups (relay_journal_sync); a segment rotates when it grows
 * past its size limit, and a sealed segment is deleted once every record in it has been
 * confirmed written to the store (relay_journal_confirm). Segments left by a previous run are
 * loaded as sealed segments whose records all still need writing.
 *
 * Record layout (little-endian), see docs/PERSISTENCE.md:
 *
 *   +------+------+------+------+------------------------------+
 *   | magic (4)   | length (4)  | crc32c (4)  | payload (length) |
 *   +------+------+------+------+------------------------------+
 *   magic  = FE 'C' 'J' 01   (0xFE never occurs in UTF-8 JSON, so a resync cannot land in a
 *                             payload)
 *   length = 1 .. RELAY_JOURNAL_MAX_PAYLOAD
 *   crc32c = CRC-32C (Castagnoli) over the 4 length bytes and the payload
 *   payload = the message as chat_msg_encode writes it
 *
 * Thread: relay_journal_scan and relay_journal_crc32c are pure. A relay_journal_t is shared:
 * append/seal by the service thread only; sync by one background thread; confirm, claim,
 * stats and the readers by any thread. Its fields are guarded by one leaf mutex that is never
 * held across I/O except the cheap bookkeeping around it. */
#ifndef RELAY_JOURNAL_H
#define RELAY_JOURNAL_H

#include <apr_pools.h>
#include "chat_err.h"
#include "chat_msg.h"

#define RELAY_JOURNAL_HEADER 12
#define RELAY_JOURNAL_MAX_PAYLOAD (CHAT_MSG_MAX_ENCODED + 64)
#define RELAY_JOURNAL_MAX_RECORD (RELAY_JOURNAL_HEADER + RELAY_JOURNAL_MAX_PAYLOAD)
#define RELAY_JOURNAL_SEGMENT_DEFAULT (4 * 1024 * 1024)

/* CRC-32C (Castagnoli, reflected, as iSCSI and ext4 use) of buf[0..len), continuing crc
 * (start with 0). */
apr_uint32_t relay_journal_crc32c(apr_uint32_t crc, const void *buf, apr_size_t len);

/* The same CRC by table only, whatever the CPU offers (relay_journal_crc32c uses SSE4.2's
 * crc32 instruction where there is one): the tests compare the two. */
apr_uint32_t relay_journal_crc32c_portable(apr_uint32_t crc, const void *buf, apr_size_t len);

/* Frames payload[0..len) as one record into out (RELAY_JOURNAL_HEADER + len bytes).
 * APR_SUCCESS or APR_EINVAL when len is 0 or above RELAY_JOURNAL_MAX_PAYLOAD. */
apr_status_t relay_journal_frame(unsigned char *out, const void *payload, apr_size_t len);

/* Finds the next valid record in buf[*pos..len). Pure: no allocation, no state; safe on any
 * bytes (this is the function the fuzzer drives).
 *   APR_SUCCESS:    *payload and *plen point at the record's payload inside buf; *pos is moved past
 *                   the record.
 *   APR_INCOMPLETE: only when !final: a plausible record starts at *pos (moved there) but
 *                   extends past len; read more and call again.
 *   APR_EOF:        no further record; *pos = len.
 * Bytes that are not a valid record (bad magic, bad length, CRC mismatch, and with final a
 * record cut short) are skipped by searching for the next magic; *skipped (may be NULL) is
 * increased by the number of bytes skipped. */
apr_status_t relay_journal_scan(const unsigned char *buf, apr_size_t len, int final,
                                apr_size_t *pos, const unsigned char **payload,
                                apr_size_t *plen, apr_size_t *skipped);

typedef struct relay_journal_t relay_journal_t;

typedef struct relay_journal_stats_t {
    apr_uint64_t segments;       /* segment files on disk */
    apr_uint64_t bytes;          /* their total size */
    apr_uint64_t pending;        /* records appended or found but not confirmed */
    apr_uint64_t unclaimed;      /* records that must be re-read from disk (spilled, leftover) */
} relay_journal_stats_t;

/* Opens the journal in dir (created 0750 with parents when missing) and locks it (flock on
 * dir/.lock; APR_EBUSY while another journal holds it), loading the segments a previous run
 * left there: each becomes sealed with all its valid records pending and unclaimed. New
 * appends go to a fresh segment after the highest id found. segment_max is the rotation size
 * in bytes (0: RELAY_JOURNAL_SEGMENT_DEFAULT). Files and the lock are released when pool is
 * destroyed. APR_SUCCESS, APR_EBUSY or an APR error from the file system. */
apr_status_t relay_journal_open(relay_journal_t **out, const char *dir, apr_size_t segment_max,
                                apr_pool_t *pool);

/* Service thread: appends one record (payload as chat_msg_encode produced it) with write(2),
 * rotating first when the current segment is full. *seg receives the segment id (ids start at
 * 1; confirm, spill and release ignore ids they do not know, such as 0), which the confirmer
 * passes back. The record counts as pending until confirmed. Returns APR_SUCCESS or
 * the write error (then nothing is counted; a short write is truncated away). */
apr_status_t relay_journal_append(relay_journal_t *j, const void *payload, apr_size_t len,
                                  apr_uint64_t *seg);

/* Service thread (or after the threads are joined): seals the current segment so that it is
 * deleted as soon as nothing in it is pending (at once when nothing is). The next append
 * starts a new segment. */
void relay_journal_seal(relay_journal_t *j);

/* Marks n records of segment seg as needing a re-read from disk (their in-memory copy was
 * dropped: queue full). Any thread. */
void relay_journal_spill(relay_journal_t *j, apr_uint64_t seg, apr_size_t n);

/* Records that n records of segment seg are in the store. A sealed segment whose pending
 * count reaches 0 is deleted. Any thread. */
void relay_journal_confirm(relay_journal_t *j, apr_uint64_t seg, apr_size_t n);

/* Background thread: fsyncs every segment written since the last call, closes sealed ones
 * and syncs the directory after creations and deletions. Never holds the lock across fsync.
 * Returns the first error (the journal stays usable). */
apr_status_t relay_journal_sync(relay_journal_t *j);

/* Any thread: claims the oldest segment with unclaimed records for re-reading. On APR_SUCCESS
 * *seg, *from (byte offset to read from), *n (the unclaimed count taken, to confirm once
 * the records from *from on are in the store) and *sealed (no more appends: read it final)
 * are set and the segment is marked busy until
 * relay_journal_release. APR_EOF when there is nothing to claim. */
apr_status_t relay_journal_claim(relay_journal_t *j, apr_uint64_t *seg, apr_off_t *from,
                                 apr_size_t *n, int *sealed);

/* Ends a claim. done: the records up to offset to are written (the next claim starts
 * there) and the claimed n is confirmed; !done: the n go back to unclaimed. */
void relay_journal_release(relay_journal_t *j, apr_uint64_t seg, apr_size_t n, apr_off_t to,
                           int done);

/* The path of segment seg, allocated from pool. */
const char *relay_journal_path(const relay_journal_t *j, apr_uint64_t seg, apr_pool_t *pool);

void relay_journal_stats(relay_journal_t *j, relay_journal_stats_t *out);

/* ---------------------------------------------------------------- reading a segment */

typedef struct relay_journal_reader_t relay_journal_reader_t;

/* Opens segment file path for reading from offset from. final: nothing is appended to the
 * file any more, so a record cut short at its end is torn (skipped, and a bad length field
 * cannot hide the records behind it); !final: the end may be a record still being written,
 * which is left for a later reader. Buffers in chunks; closed when pool is destroyed. */
apr_status_t relay_journal_reader_open(relay_journal_reader_t **out, const char *path,
                                       apr_off_t from, int final, apr_pool_t *pool);

/* The next valid record. APR_SUCCESS with *payload and *plen valid until the next call; APR_EOF at
 * the end of the records present now.
 * *offset (may be NULL) receives the file offset just past the last record returned.
 * Corrupt bytes are skipped and counted in *skipped (may be NULL). */
apr_status_t relay_journal_reader_next(relay_journal_reader_t *r, const unsigned char **payload,
                                       apr_size_t *plen, apr_off_t *offset,
                                       apr_size_t *skipped);

#endif
