/* chat_sd.h: living under a service manager, or without one, without libsystemd.
 *
 * Under systemd (Type=notify) a daemon tells the manager what it is doing by sending
 * "READY=1", "RELOADING=1" or "STOPPING=1" datagrams to $NOTIFY_SOCKET (sd_notify(3)); the
 * protocol is one sendmsg on an AF_UNIX datagram socket, so we speak it ourselves. Without a
 * service manager the daemons detach with --daemon and record their pid with --pidfile:
 * chat_sd_daemonize forks, and the parent waits until the child says it is ready (or dies),
 * so `chat-relay --daemon` exits 0 only once the daemon is listening, and with the child's
 * failure status otherwise, the way an init script wants it.
 *
 * Thread: chat_sd_notify from any thread; chat_sd_daemonize from main before any other thread
 * exists (fork copies only the calling thread); the rest from main. */
#ifndef CHAT_SD_H
#define CHAT_SD_H

#include <apr_pools.h>
#include "chat_err.h"

/* The longest state string chat_sd_notify sends. */
#define CHAT_SD_MAX_STATE 512

/* Sends state ("READY=1", "STOPPING=1", several lines at once are fine) to the socket named
 * by $NOTIFY_SOCKET: a path, or an abstract name written with a leading '@'. Returns
 * APR_SUCCESS when sent, APR_ENOENT when NOTIFY_SOCKET is unset or empty (no service manager:
 * callers ignore it), APR_EINVAL for a name too long or a state over CHAT_SD_MAX_STATE, or the
 * OS error of socket/sendmsg. Never blocks: the socket is non-blocking. */
apr_status_t chat_sd_notify(const char *state);

/* "RELOADING=1\nMONOTONIC_USEC=<now>": what systemd expects at the start of a reload (the
 * timestamp lets Type=notify-reload managers match the reload to its READY=1). Same returns
 * as chat_sd_notify. */
apr_status_t chat_sd_notify_reloading(void);

typedef struct chat_sd_daemon_t chat_sd_daemon_t;

/* Detaches from the terminal: fork; the parent never returns from this call (it waits for
 * chat_sd_daemon_ready in the child and exits 0, or exits with the child's exit status, 1 if
 * it was killed by a signal); the child gets a new session, stdin from /dev/null and "/" as
 * working directory, and returns APR_SUCCESS with *out set. stdout and stderr stay open until
 * chat_sd_daemon_ready, so start-up errors still reach whoever ran the command. Returns the OS
 * error of pipe/fork/setsid on failure (still in the original process). Call before any
 * thread exists and before anything records the pid. */
apr_status_t chat_sd_daemonize(chat_sd_daemon_t **out, apr_pool_t *pool);

/* In the detached child, once it serves: points stdout and stderr at /dev/null and lets the
 * waiting parent exit 0. NULL d (not detached) is a no-op. Call once. */
void chat_sd_daemon_ready(chat_sd_daemon_t *d);

/* Writes the calling process's pid and a newline to path (created 0644 under a temporary name,
 * then renamed over path) and registers a cleanup on pool that removes the file if it still
 * names this pid. APR_EEXIST when path names a process that is alive (another instance), the
 * OS error otherwise. A stale pidfile (dead pid, garbage) is replaced. */
apr_status_t chat_sd_pidfile_create(const char *path, apr_pool_t *pool);

#endif
