/* relay_rxslab.c: lws's receive buffers in page-aligned slots (see relay_rxslab.h).
 *
 * One anonymous MAP_NORESERVE range holds n_slots slots of slot_size bytes (the buffer size
 * rounded up to pages). Slots never used are taken in order (next); freed ones go on a stack
 * of indexes kept outside the range, so nothing touches a slot's pages but lws itself. A freed
 * slot is emptied with MADV_DONTNEED, which returns its pages and makes them read as zeros.
 *
 * Thread: see the header; one thread at a time, so no lock. */
#include "relay_rxslab.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define RX_REASON "rx_ubuf"             /* lws 4.1's reason string for the receive buffer */

typedef struct {
    unsigned char *base;                /* the range; NULL when not installed */
    apr_size_t slot_size;
    apr_size_t n_slots;
    apr_size_t next;                    /* slots [next, n_slots) were never handed out */
    apr_size_t *free_idx;               /* stack of freed slot indexes */
    apr_size_t n_free;
    apr_size_t used;
} rxslab_t;

static rxslab_t slab;

static int is_ours(const void *p)
{
    const unsigned char *c = p;

    return slab.base != NULL && c >= slab.base && c < slab.base + slab.slot_size * slab.n_slots;
}

static void *slot_take(void)
{
    apr_size_t i;

    if (slab.n_free > 0) {
        i = slab.free_idx[--slab.n_free];
    }
    else if (slab.next < slab.n_slots) {
        i = slab.next++;
    }
    else {
        return NULL;                    /* full: libc serves the rest */
    }
    slab.used++;
    return slab.base + i * slab.slot_size;
}

static void slot_give_back(void *p)
{
    apr_size_t i = (apr_size_t)((unsigned char *)p - slab.base) / slab.slot_size;

    madvise(slab.base + i * slab.slot_size, slab.slot_size, MADV_DONTNEED);
    slab.free_idx[slab.n_free++] = i;
    slab.used--;
}

/* lws's allocator contract (lws_set_allocator): realloc semantics, size 0 frees. */
static void *on_lws_realloc(void *ptr, size_t size, const char *reason)
{
    void *p;

    if (ptr != NULL && is_ours(ptr)) {
        if (size == 0) {
            slot_give_back(ptr);
            return NULL;
        }
        if (size <= slab.slot_size) {
            return ptr;
        }
        p = malloc(size);               /* lws 4.1 never grows it; be correct anyway */
        if (p != NULL) {
            memcpy(p, ptr, slab.slot_size);
            slot_give_back(ptr);
        }
        return p;
    }
    if (ptr == NULL && size > 0 && size <= slab.slot_size && reason != NULL
        && strcmp(reason, RX_REASON) == 0) {
        p = slot_take();
        if (p != NULL) {
            return p;
        }
    }
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, size);
}

apr_status_t relay_rxslab_install(apr_size_t buf_size, apr_size_t slots)
{
    apr_size_t page = (apr_size_t)sysconf(_SC_PAGESIZE);
    void *base;

    relay_rxslab_uninstall();           /* a second call replaces an unused range */
    memset(&slab, 0, sizeof(slab));
    slab.slot_size = (buf_size + page - 1) / page * page;
    slab.n_slots = slots;
    slab.free_idx = malloc(slots * sizeof(*slab.free_idx));
    if (slab.free_idx == NULL) {
        return APR_ENOMEM;
    }
    base = mmap(NULL, slab.slot_size * slots, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        apr_status_t rv = APR_FROM_OS_ERROR(errno);

        free(slab.free_idx);
        slab.free_idx = NULL;
        return rv;
    }
    slab.base = base;
    lws_set_allocator(on_lws_realloc);
    return APR_SUCCESS;
}

void relay_rxslab_uninstall(void)
{
    /* The allocator stays installed (lws 4.1 cannot be given its default back); with the
     * range gone it passes everything to libc. A buffer that outlived lws keeps the range. */
    if (slab.base != NULL && slab.used == 0) {
        munmap(slab.base, slab.slot_size * slab.n_slots);
        free(slab.free_idx);
        memset(&slab, 0, sizeof(slab));
    }
}

apr_size_t relay_rxslab_used(void)
{
    return slab.used;
}
