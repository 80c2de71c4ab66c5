/* relay_rxslab.h: lws's per-connection receive buffers in pages of their own.
 *
 * lws 4.1 mallocs rx_buffer_size (8 KiB here, see relay_proto.c) for every WebSocket, in the
 * heap among small objects, so the pages it spans are resident even when the connection never
 * sends a byte. This module gives those buffers ("rx_ubuf" allocations) page-aligned slots of
 * one reserved address range instead: a slot costs memory only for the pages lws writes, so a
 * connection that only listens holds no receive buffer in RAM, and a closed connection's slot
 * is handed back to the kernel (MADV_DONTNEED). Everything else lws allocates goes to libc as
 * before; so do receive buffers once the range is full.
 *
 * lws_set_allocator takes a function without a user pointer, so the slab is file-scope state
 * (a documented departure from STYLE.md 1, like relay_main.c's log sink).
 *
 * Thread: main before lws starts and after it stopped; otherwise the lws service thread (the
 * only thread that calls lws). */
#ifndef RELAY_RXSLAB_H
#define RELAY_RXSLAB_H

#include <apr.h>
#include <apr_errno.h>

/* Reserves address space for slots receive buffers of up to buf_size bytes each, rounded up to
 * pages (lws asks for rx_buffer_size + LWS_PRE + 4), and installs the allocator with
 * lws_set_allocator. Call once, before lws_create_context. APR_SUCCESS, or APR_ENOMEM or an
 * errno status when the range cannot be reserved (lws then keeps libc's allocator). */
apr_status_t relay_rxslab_install(apr_size_t buf_size, apr_size_t slots);

/* After lws_context_destroy: releases the range; from then on lws's allocations go to libc. */
void relay_rxslab_uninstall(void);

/* Receive buffers in slots now (for tests and the log). */
apr_size_t relay_rxslab_used(void);

#endif
