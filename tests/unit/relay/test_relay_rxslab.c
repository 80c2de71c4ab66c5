/* Unit tests for relay/relay_rxslab.c: lws's receive buffers in page-aligned slots, through
 * lws's own allocator entry point (lws_realloc), as lws 4.1 calls it. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <libwebsockets.h>

#include "../check_main.h"
#include "relay_rxslab.h"

#define BUF (8192 + LWS_PRE + 4)            /* what lws asks for with an 8 KiB rx buffer */

/* Resident pages of [p, p + len), by mincore. */
static int resident_pages(const void *p, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), pages = (len + page - 1) / page;
    unsigned char vec[16];
    int n = 0;

    ck_assert_uint_le(pages, sizeof(vec));   /* mincore writes one byte per page */
    ck_assert_int_eq(mincore((void *)p, len, vec), 0);
    for (size_t i = 0; i < pages; i++) {
        n += vec[i] & 1;
    }
    return n;
}

START_TEST(a_receive_buffer_takes_a_slot_that_costs_no_memory_until_written)
{
    unsigned char *p;

    ck_assert_int_eq(relay_rxslab_install(BUF, 4), APR_SUCCESS);
    p = lws_realloc(NULL, BUF, "rx_ubuf");
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(relay_rxslab_used(), 1);
    ck_assert_uint_eq((uintptr_t)p % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
    ck_assert_int_eq(resident_pages(p, BUF), 0);
    p[LWS_PRE] = 'x';                        /* lws writes payload after LWS_PRE */
    ck_assert_int_eq(resident_pages(p, BUF), 1);
    ck_assert_ptr_null(lws_realloc(p, 0, "lws_free"));
    ck_assert_uint_eq(relay_rxslab_used(), 0);
    ck_assert_int_eq(resident_pages(p, BUF), 0);   /* handed back to the kernel */
}
END_TEST

START_TEST(a_freed_slot_is_reused_and_reads_as_zeros)
{
    unsigned char *p, *q;

    ck_assert_int_eq(relay_rxslab_install(BUF, 4), APR_SUCCESS);
    p = lws_realloc(NULL, BUF, "rx_ubuf");
    memset(p, 0xab, BUF);
    lws_realloc(p, 0, "lws_free");
    q = lws_realloc(NULL, BUF, "rx_ubuf");
    ck_assert_ptr_eq(q, p);
    ck_assert_uint_eq(q[0], 0);
    ck_assert_uint_eq(q[BUF - 1], 0);
    lws_realloc(q, 0, "lws_free");
}
END_TEST

START_TEST(other_allocations_and_what_does_not_fit_go_to_libc)
{
    void *slots[2], *extra, *other, *big;

    ck_assert_int_eq(relay_rxslab_install(BUF, 2), APR_SUCCESS);
    other = lws_realloc(NULL, 100, "ah data");
    big = lws_realloc(NULL, 3 * BUF, "rx_ubuf");     /* larger than a slot */
    ck_assert_uint_eq(relay_rxslab_used(), 0);
    slots[0] = lws_realloc(NULL, BUF, "rx_ubuf");
    slots[1] = lws_realloc(NULL, BUF, "rx_ubuf");
    extra = lws_realloc(NULL, BUF, "rx_ubuf");       /* the range is full */
    ck_assert_uint_eq(relay_rxslab_used(), 2);
    ck_assert_ptr_nonnull(extra);
    memset(extra, 1, BUF);
    other = lws_realloc(other, 5000, "ah data");      /* realloc of a libc block still works */
    ck_assert_ptr_nonnull(other);
    lws_realloc(extra, 0, "lws_free");
    lws_realloc(big, 0, "lws_free");
    lws_realloc(other, 0, "lws_free");
    ck_assert_uint_eq(relay_rxslab_used(), 2);
    lws_realloc(slots[0], 0, "lws_free");
    lws_realloc(slots[1], 0, "lws_free");
    ck_assert_uint_eq(relay_rxslab_used(), 0);
    relay_rxslab_uninstall();
    other = lws_realloc(NULL, BUF, "rx_ubuf");       /* after uninstall: libc */
    ck_assert_ptr_nonnull(other);
    ck_assert_uint_eq(relay_rxslab_used(), 0);
    lws_realloc(other, 0, "lws_free");
}
END_TEST

START_TEST(growing_a_slot_moves_it_to_the_heap_with_its_contents)
{
    unsigned char *p, *q;

    ck_assert_int_eq(relay_rxslab_install(BUF, 2), APR_SUCCESS);
    p = lws_realloc(NULL, BUF, "rx_ubuf");
    p[0] = 7;
    p[BUF - 1] = 9;
    ck_assert_ptr_eq(lws_realloc(p, BUF - 100, "rx_ubuf"), p);   /* shrinking stays put */
    q = lws_realloc(p, 4 * BUF, "rx_ubuf");
    ck_assert_ptr_nonnull(q);
    ck_assert_ptr_ne(q, p);
    ck_assert_uint_eq(relay_rxslab_used(), 0);
    ck_assert_uint_eq(q[0], 7);
    ck_assert_uint_eq(q[BUF - 1], 9);
    lws_realloc(q, 0, "lws_free");
}
END_TEST

static TCase *tcase_rxslab(void)
{
    TCase *tc = chat_tcase_create("rxslab");

    tcase_add_test(tc, a_receive_buffer_takes_a_slot_that_costs_no_memory_until_written);
    tcase_add_test(tc, a_freed_slot_is_reused_and_reads_as_zeros);
    tcase_add_test(tc, other_allocations_and_what_does_not_fit_go_to_libc);
    tcase_add_test(tc, growing_a_slot_moves_it_to_the_heap_with_its_contents);
    return tc;
}

const char *const chat_suite_name = "rxslab";
const chat_tcase_fn chat_tcases[] = { tcase_rxslab, NULL };
