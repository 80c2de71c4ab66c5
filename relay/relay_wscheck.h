/* relay_wscheck.h: applies relay_wsscan to what clients send, before libwebsockets sees it.
 *
 * lws 4.1 offers no hook between the socket and its frame parser, so the relay defines recv()
 * itself: lws's calls reach it first (an executable's definition comes before libc's in symbol
 * lookup), it calls the real recv() and, for a watched WebSocket, passes on only the bytes
 * before the first broken rule. The rest of what that client sends is read and dropped (so the
 * socket is not reset on close), and the relay is told to close with the RFC's code.
 *
 * Only recv() calls on the thread that armed the check are looked at; other threads (the
 * persistence workers' libcurl) pass straight through. TLS connections are not watched: lws
 * reads them through OpenSSL, not recv(), and applies its own rules there.
 *
 * Life of a connection: relay_wscheck_accepted() when lws accepts the socket (from then on the
 * handshake bytes are recorded, up to a bound); relay_wscheck_watch() once the upgrade is done
 * (frames that came in the same reads as the handshake are checked then); relay_wscheck_forget()
 * when it closes.
 *
 * Thread: lws service thread only (the one that called relay_wscheck_arm). */
#ifndef RELAY_WSCHECK_H
#define RELAY_WSCHECK_H

#include <apr.h>

/* Called (from inside lws's read) with the close code and a static reason. */
typedef void relay_wscheck_fn(void *arg, int code, const char *reason);

/* The calling thread's recv() calls are checked from now on. */
void relay_wscheck_arm(void);

/* A new connection on descriptor fd: forget anything held for an earlier one. */
void relay_wscheck_accepted(int fd);

/* fd completed a WebSocket upgrade: check its frames from now on, telling fn(arg) about the
 * first violation. Returns 0, or -1 when its frames cannot be followed (the handshake was not
 * recorded, e.g. over TLS, or its end could not be found): the connection is then not watched. */
int relay_wscheck_watch(int fd, relay_wscheck_fn *fn, void *arg);

/* fd is closing: release what is held for it. */
void relay_wscheck_forget(int fd);

#endif
