/* Tests relay/relay_journal.c through its header: record framing and the scanner (torn
 * tails, flipped bytes, garbage), segment files, rotation, confirmation and leftovers. */
#include "../check_main.h"
#include "relay_journal.h"

#include <apr_file_io.h>
#include <apr_strings.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


TCase *tcase_relay_journal(void);
#define REC(n) (RELAY_JOURNAL_HEADER + (n))

static const char *const payloads[] = {
    "{\"messageId\":\"a\",\"content\":\"first\"}",
    "{\"messageId\":\"b\",\"content\":\"the second one, a little longer\"}",
    "{\"messageId\":\"c\",\"content\":\"caf\xc3\xa9 \xe2\x9c\x93\"}",
};

/* Frames the three payloads one after another into buf; returns the total length and each
 * record's start in starts[]. */
static apr_size_t frame_three(unsigned char *buf, apr_size_t starts[3])
{
    apr_size_t len = 0;

    for (int i = 0; i < 3; i++) {
        apr_size_t n = strlen(payloads[i]);

        starts[i] = len;
        ck_assert_int_eq(relay_journal_frame(buf + len, payloads[i], n), APR_SUCCESS);
        len += REC(n);
    }
    return len;
}

/* Scans buf and returns a bitmask of which payloads came back (bit i = payloads[i]). */
static int scan_mask(const unsigned char *buf, apr_size_t len, int final, apr_size_t *skipped,
                     apr_status_t *last)
{
    apr_size_t pos = 0, plen;
    const unsigned char *pl;
    apr_status_t rv;
    int mask = 0;

    while ((rv = relay_journal_scan(buf, len, final, &pos, &pl, &plen, skipped))
           == APR_SUCCESS) {
        int found = 0;

        for (int i = 0; i < 3; i++) {
            if (plen == strlen(payloads[i]) && memcmp(pl, payloads[i], plen) == 0) {
                mask |= 1 << i;
                found = 1;
            }
        }
        ck_assert_msg(found, "scan returned a payload that was never written");
    }
    *last = rv;
    return mask;
}

static char *make_dir(const char *tag)
{
    char *dir = apr_psprintf(test_pool, "/tmp/test_relay_journal_%s_%ld", tag, (long)getpid());

    ck_assert_int_eq(apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, test_pool), APR_SUCCESS);
    return dir;
}

static void remove_dir(const char *dir)
{
    apr_dir_t *d;
    apr_finfo_t fi;

    if (apr_dir_open(&d, dir, test_pool) == APR_SUCCESS) {
        while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
            if (strcmp(fi.name, ".") != 0 && strcmp(fi.name, "..") != 0) {
                apr_file_remove(apr_pstrcat(test_pool, dir, "/", fi.name, NULL), test_pool);
            }
        }
        apr_dir_close(d);
    }
    apr_dir_remove(dir, test_pool);
}

static int count_files(const char *dir)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    int n = 0;

    ck_assert_int_eq(apr_dir_open(&d, dir, test_pool), APR_SUCCESS);
    while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
        n += strncmp(fi.name, "seg-", 4) == 0;
    }
    apr_dir_close(d);
    return n;
}

START_TEST(crc32c_matches_the_castagnoli_check_value)
{
    ck_assert_uint_eq(relay_journal_crc32c(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(relay_journal_crc32c(0, "", 0), 0);
    /* Incremental equals one shot. */
    ck_assert_uint_eq(relay_journal_crc32c(relay_journal_crc32c(0, "1234", 4), "56789", 5),
                      0xE3069283u);
}
END_TEST

/* The SSE4.2 path (8 bytes per step, then the tail) and the table agree at every length and
 * alignment a record can have, and chained calls split anywhere equal one shot. */
START_TEST(crc32c_hardware_and_table_agree_at_every_length_and_offset)
{
    unsigned char buf[300];
    apr_uint32_t x = 12345;

    for (size_t i = 0; i < sizeof(buf); i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
    ck_assert_uint_eq(relay_journal_crc32c_portable(0, "123456789", 9), 0xE3069283u);
    for (size_t off = 0; off < 8; off++) {
        for (size_t len = 0; off + len <= sizeof(buf); len++) {
            apr_uint32_t want = relay_journal_crc32c_portable(0, buf + off, len);

            ck_assert_uint_eq(relay_journal_crc32c(0, buf + off, len), want);
            ck_assert_uint_eq(relay_journal_crc32c(relay_journal_crc32c(0, buf + off, len / 3),
                                                   buf + off + len / 3, len - len / 3),
                              want);
        }
    }
}
END_TEST

START_TEST(frame_rejects_empty_and_oversized_payloads)
{
    unsigned char buf[64];

    ck_assert_int_eq(relay_journal_frame(buf, "x", 0), APR_EINVAL);
    ck_assert_int_eq(relay_journal_frame(buf, "x", RELAY_JOURNAL_MAX_PAYLOAD + 1), APR_EINVAL);
}
END_TEST

START_TEST(scan_round_trips_every_record_in_order)
{
    unsigned char buf[512];
    apr_size_t starts[3], len = frame_three(buf, starts), pos = 0, plen, skipped = 0;
    const unsigned char *pl;

    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(relay_journal_scan(buf, len, 1, &pos, &pl, &plen, &skipped),
                         APR_SUCCESS);
        ck_assert_uint_eq(plen, strlen(payloads[i]));
        ck_assert(memcmp(pl, payloads[i], plen) == 0);
    }
    ck_assert_int_eq(relay_journal_scan(buf, len, 1, &pos, &pl, &plen, &skipped), APR_EOF);
    ck_assert_uint_eq(pos, len);
    ck_assert_uint_eq(skipped, 0);
}
END_TEST

/* Every cut inside the last record: final skips the torn tail, !final waits for more. */
START_TEST(scan_skips_a_torn_tail_when_final_and_waits_for_it_otherwise)
{
    unsigned char buf[512];
    apr_size_t starts[3], len = frame_three(buf, starts), skipped;
    apr_status_t last;

    for (apr_size_t cut = starts[2] + 1; cut < len; cut++) {
        skipped = 0;
        ck_assert_int_eq(scan_mask(buf, cut, 1, &skipped, &last), 0x3);
        ck_assert_int_eq(last, APR_EOF);
        ck_assert_uint_eq(skipped, cut - starts[2]);

        ck_assert_int_eq(scan_mask(buf, cut, 0, NULL, &last), 0x3);
        ck_assert_int_eq(last, APR_INCOMPLETE);
    }
}
END_TEST

/* _i walks every byte of the middle record: flipping it loses that record only. */
START_TEST(scan_skips_a_record_with_any_flipped_byte_and_reads_the_next)
{
    unsigned char buf[512];
    apr_size_t starts[3], len = frame_three(buf, starts), skipped = 0;
    apr_size_t at = starts[1] + (apr_size_t)_i;
    apr_status_t last;

    ck_assert_uint_lt(at, starts[2]);
    buf[at] ^= 0x5A;
    ck_assert_int_eq(scan_mask(buf, len, 1, &skipped, &last), 0x5);
    ck_assert_int_eq(last, APR_EOF);
    ck_assert_uint_eq(skipped, starts[2] - starts[1]);
}
END_TEST

START_TEST(scan_resyncs_after_garbage_between_records)
{
    unsigned char buf[1024];
    apr_size_t starts[3], len, skipped = 0;
    apr_status_t last;
    static const unsigned char junk[] = { 0xFE, 'C', 'J', 0x01, 0xFF, 0xFF, 0xFF, 0x7F,
                                          0xFE, 0xFE, 'C', 'x', 0x00, 0x13 };

    len = frame_three(buf, starts);
    /* Insert junk (including false magics) between the first and second record. */
    memmove(buf + starts[1] + sizeof(junk), buf + starts[1], len - starts[1]);
    memcpy(buf + starts[1], junk, sizeof(junk));
    len += sizeof(junk);
    ck_assert_int_eq(scan_mask(buf, len, 1, &skipped, &last), 0x7);
    ck_assert_uint_eq(skipped, sizeof(junk));
}
END_TEST

/* Random bytes, sprinkled with magics and real records: the scanner must terminate within the
 * buffer and only ever return records that were framed (checked by scan_mask). */
START_TEST(scan_survives_random_bytes)
{
    unsigned char *buf = apr_palloc(test_pool, 4096);
    apr_uint64_t x = 0x243F6A8885A308D3u;
    apr_size_t starts[3];
    apr_status_t last;

    for (int round = 0; round < 2000; round++) {
        apr_size_t len = (apr_size_t)(round % 4096);

        for (apr_size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = (unsigned char)x;
            if (x % 97 == 0 && i + 4 <= len) {
                memcpy(buf + i, "\xfe" "CJ\x01", 4);
            }
        }
        if (round % 3 == 0 && len >= 256) {
            frame_three(buf + (len - 256) / 2, starts);
        }
        (void)scan_mask(buf, len, round % 2, NULL, &last);
        ck_assert(last == APR_EOF || last == APR_INCOMPLETE);
    }
}
END_TEST

START_TEST(segments_round_trip_through_the_files)
{
    const char *dir = make_dir("rt");
    relay_journal_t *j;
    relay_journal_reader_t *r;
    relay_journal_stats_t st;
    apr_uint64_t seg = 0, first = 0;
    const unsigned char *pl;
    apr_size_t plen;
    apr_off_t off;
    int n = 0;

    ck_assert_int_eq(relay_journal_open(&j, dir, 0, test_pool), APR_SUCCESS);
    ck_assert_int_eq(count_files(dir), 0);              /* lazily created */
    for (int i = 0; i < 300; i++) {
        ck_assert_int_eq(relay_journal_append(j, payloads[i % 3], strlen(payloads[i % 3]), &seg),
                         APR_SUCCESS);
        first = i == 0 ? seg : first;
        ck_assert_uint_eq(seg, first);                  /* 4 MiB: one segment */
    }
    ck_assert_int_eq(relay_journal_sync(j), APR_SUCCESS);
    relay_journal_stats(j, &st);
    ck_assert_uint_eq(st.pending, 300);
    ck_assert_uint_eq(st.unclaimed, 0);
    ck_assert_uint_eq(st.segments, 1);

    ck_assert_int_eq(relay_journal_reader_open(&r, relay_journal_path(j, seg, test_pool), 0, 1,
                                               test_pool), APR_SUCCESS);
    while (relay_journal_reader_next(r, &pl, &plen, &off, NULL) == APR_SUCCESS) {
        ck_assert_uint_eq(plen, strlen(payloads[n % 3]));
        ck_assert(memcmp(pl, payloads[n % 3], plen) == 0);
        n++;
    }
    ck_assert_int_eq(n, 300);
    ck_assert_int_eq(off, (apr_off_t)st.bytes);
    remove_dir(dir);
}
END_TEST

START_TEST(confirmed_sealed_segments_are_deleted_and_the_current_one_on_seal)
{
    const char *dir = make_dir("rot");
    relay_journal_t *j;
    relay_journal_stats_t st;
    apr_uint64_t segs[64];
    int nseg = 0;

    /* 4096-byte segments: about 60 records each. */
    ck_assert_int_eq(relay_journal_open(&j, dir, 4096, test_pool), APR_SUCCESS);
    for (int i = 0; i < 1000; i++) {
        apr_uint64_t seg;

        ck_assert_int_eq(relay_journal_append(j, payloads[i % 3], strlen(payloads[i % 3]), &seg),
                         APR_SUCCESS);
        if (nseg == 0 || segs[nseg - 1] != seg) {
            ck_assert_int_lt(nseg, 64);
            segs[nseg++] = seg;
        }
        relay_journal_confirm(j, seg, 1);
    }
    ck_assert_int_gt(nseg, 10);
    relay_journal_sync(j);
    /* Every record was confirmed: only the current segment is left. */
    ck_assert_int_eq(count_files(dir), 1);
    relay_journal_stats(j, &st);
    ck_assert_uint_eq(st.pending, 0);
    ck_assert_uint_eq(st.segments, 1);
    relay_journal_seal(j);
    ck_assert_int_eq(count_files(dir), 0);
    remove_dir(dir);
}
END_TEST

START_TEST(a_segment_stays_until_its_last_record_is_confirmed)
{
    const char *dir = make_dir("pend");
    relay_journal_t *j;
    apr_uint64_t a, b;

    ck_assert_int_eq(relay_journal_open(&j, dir, 0, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_journal_append(j, payloads[0], strlen(payloads[0]), &a), APR_SUCCESS);
    ck_assert_int_eq(relay_journal_append(j, payloads[1], strlen(payloads[1]), &b), APR_SUCCESS);
    ck_assert_uint_eq(a, b);
    relay_journal_seal(j);
    relay_journal_confirm(j, a, 1);
    ck_assert_int_eq(count_files(dir), 1);
    relay_journal_confirm(j, a, 1);
    ck_assert_int_eq(count_files(dir), 0);
    remove_dir(dir);
}
END_TEST

/* A previous run's segments (the pool is destroyed without confirming, as after SIGKILL) come
 * back as unclaimed records; a claim hands them out once and its release deletes them. */
START_TEST(leftover_segments_are_loaded_claimed_once_and_deleted_on_release)
{
    const char *dir = make_dir("left");
    apr_pool_t *run1;
    relay_journal_t *j;
    relay_journal_stats_t st;
    apr_uint64_t seg, seg2;
    apr_off_t from;
    apr_size_t n;
    int sealed;

    ck_assert_int_eq(apr_pool_create(&run1, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_journal_open(&j, dir, 0, run1), APR_SUCCESS);
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(relay_journal_append(j, payloads[i % 3], strlen(payloads[i % 3]), &seg),
                         APR_SUCCESS);
    }
    apr_pool_destroy(run1);

    ck_assert_int_eq(relay_journal_open(&j, dir, 0, test_pool), APR_SUCCESS);
    relay_journal_stats(j, &st);
    ck_assert_uint_eq(st.pending, 50);
    ck_assert_uint_eq(st.unclaimed, 50);
    ck_assert_int_eq(relay_journal_claim(j, &seg2, &from, &n, &sealed), APR_SUCCESS);
    ck_assert_uint_eq(seg2, seg);
    ck_assert_int_eq(from, 0);
    ck_assert_uint_eq(n, 50);
    ck_assert_int_eq(sealed, 1);
    ck_assert_int_eq(relay_journal_claim(j, &seg2, &from, &n, &sealed), APR_EOF);
    /* A failed re-read gives the claim back... */
    relay_journal_release(j, seg, 50, 0, 0);
    ck_assert_int_eq(relay_journal_claim(j, &seg2, &from, &n, &sealed), APR_SUCCESS);
    ck_assert_uint_eq(n, 50);
    /* ...a successful one deletes the segment. */
    relay_journal_release(j, seg, 50, 1234, 1);
    ck_assert_int_eq(count_files(dir), 0);
    relay_journal_stats(j, &st);
    ck_assert_uint_eq(st.pending, 0);
    /* New segments continue after the old ids. */
    ck_assert_int_eq(relay_journal_append(j, payloads[0], strlen(payloads[0]), &seg2),
                     APR_SUCCESS);
    ck_assert_uint_gt(seg2, seg);
    remove_dir(dir);
}
END_TEST

START_TEST(a_torn_tail_on_disk_loses_only_the_torn_record)
{
    const char *dir = make_dir("torn");
    apr_pool_t *run1;
    relay_journal_t *j;
    relay_journal_stats_t st;
    apr_uint64_t seg;
    struct stat sb;
    const char *path;

    ck_assert_int_eq(apr_pool_create(&run1, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_journal_open(&j, dir, 0, run1), APR_SUCCESS);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(relay_journal_append(j, payloads[1], strlen(payloads[1]), &seg),
                         APR_SUCCESS);
    }
    path = relay_journal_path(j, seg, test_pool);
    apr_pool_destroy(run1);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(truncate(path, sb.st_size - 7), 0);

    ck_assert_int_eq(relay_journal_open(&j, dir, 0, test_pool), APR_SUCCESS);
    relay_journal_stats(j, &st);
    ck_assert_uint_eq(st.unclaimed, 9);
    remove_dir(dir);
}
END_TEST

/* A spilled record of the live segment is claimed from the last re-read offset on. */
START_TEST(spills_are_claimed_from_where_the_last_reread_stopped)
{
    const char *dir = make_dir("spill");
    relay_journal_t *j;
    relay_journal_reader_t *r;
    apr_uint64_t seg, seg2;
    apr_off_t from, off = 0;
    apr_size_t n, plen;
    const unsigned char *pl;
    int sealed, records = 0;

    ck_assert_int_eq(relay_journal_open(&j, dir, 0, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_journal_append(j, payloads[0], strlen(payloads[0]), &seg), APR_SUCCESS);
    relay_journal_spill(j, seg, 1);
    ck_assert_int_eq(relay_journal_claim(j, &seg2, &from, &n, &sealed), APR_SUCCESS);
    ck_assert_int_eq(sealed, 0);
    ck_assert_int_eq(from, 0);
    ck_assert_int_eq(relay_journal_reader_open(&r, relay_journal_path(j, seg, test_pool), from,
                                               sealed, test_pool), APR_SUCCESS);
    while (relay_journal_reader_next(r, &pl, &plen, &off, NULL) == APR_SUCCESS) {
        records++;
    }
    ck_assert_int_eq(records, 1);
    relay_journal_release(j, seg, n, off, 1);

    ck_assert_int_eq(relay_journal_append(j, payloads[1], strlen(payloads[1]), &seg), APR_SUCCESS);
    relay_journal_spill(j, seg, 1);
    ck_assert_int_eq(relay_journal_claim(j, &seg2, &from, &n, &sealed), APR_SUCCESS);
    ck_assert_int_eq(from, off);
    ck_assert_uint_eq(n, 1);
    remove_dir(dir);
}
END_TEST

START_TEST(a_removed_journal_directory_is_recreated_at_the_next_rotation)
{
    const char *dir = make_dir("gone");
    relay_journal_t *j;
    apr_uint64_t seg;

    ck_assert_int_eq(relay_journal_open(&j, dir, 4096, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_journal_append(j, payloads[0], strlen(payloads[0]), &seg), APR_SUCCESS);
    remove_dir(dir);
    for (int i = 0; i < 200; i++) {
        ck_assert_int_eq(relay_journal_append(j, payloads[1], strlen(payloads[1]), &seg),
                         APR_SUCCESS);
    }
    ck_assert_int_ge(count_files(dir), 1);
    remove_dir(dir);
}
END_TEST

START_TEST(a_journal_directory_is_locked_by_the_journal_using_it)
{
    const char *dir = make_dir("lock");
    apr_pool_t *first;
    relay_journal_t *j, *j2 = NULL;

    ck_assert_int_eq(apr_pool_create(&first, test_pool), APR_SUCCESS);
    ck_assert_int_eq(relay_journal_open(&j, dir, 0, first), APR_SUCCESS);
    ck_assert_int_eq(relay_journal_open(&j2, dir, 0, test_pool), APR_EBUSY);
    ck_assert_ptr_null(j2);
    apr_pool_destroy(first);
    ck_assert_int_eq(relay_journal_open(&j2, dir, 0, test_pool), APR_SUCCESS);
    remove_dir(dir);
}
END_TEST

TCase *tcase_relay_journal(void)
{
    TCase *tc = chat_tcase_create("relay_journal");

    tcase_add_test(tc, crc32c_matches_the_castagnoli_check_value);
    tcase_add_test(tc, crc32c_hardware_and_table_agree_at_every_length_and_offset);
    tcase_add_test(tc, frame_rejects_empty_and_oversized_payloads);
    tcase_add_test(tc, scan_round_trips_every_record_in_order);
    tcase_add_test(tc, scan_skips_a_torn_tail_when_final_and_waits_for_it_otherwise);
    tcase_add_loop_test(tc, scan_skips_a_record_with_any_flipped_byte_and_reads_the_next, 0,
                        (int)REC(strlen(payloads[1])));
    tcase_add_test(tc, scan_resyncs_after_garbage_between_records);
    tcase_add_test(tc, scan_survives_random_bytes);
    tcase_add_test(tc, segments_round_trip_through_the_files);
    tcase_add_test(tc, confirmed_sealed_segments_are_deleted_and_the_current_one_on_seal);
    tcase_add_test(tc, a_segment_stays_until_its_last_record_is_confirmed);
    tcase_add_test(tc, leftover_segments_are_loaded_claimed_once_and_deleted_on_release);
    tcase_add_test(tc, a_torn_tail_on_disk_loses_only_the_torn_record);
    tcase_add_test(tc, spills_are_claimed_from_where_the_last_reread_stopped);
    tcase_add_test(tc, a_removed_journal_directory_is_recreated_at_the_next_rotation);
    tcase_add_test(tc, a_journal_directory_is_locked_by_the_journal_using_it);
    return tc;
}
