/* chat_sd.c: sd_notify without libsystemd, --daemon and --pidfile (see chat_sd.h).
 *
 * The notify protocol is systemd's sd_notify(3): one datagram of "KEY=value\n" lines to the
 * AF_UNIX socket $NOTIFY_SOCKET names ('@' for the abstract namespace). Detaching uses the
 * classic fork + setsid with a pipe back to the parent: the child writes one byte when it
 * serves; EOF without that byte means it died, and the parent reports its exit status.
 *
 * Thread: see chat_sd.h. */
#include "chat_sd.h"

#include <apr_strings.h>
#include <apr_time.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_BYTE 'R'

struct chat_sd_daemon_t {
    int ready_fd;            /* write end of the pipe to the waiting parent; -1 once used */
};

/* ---------------------------------------------------------------- notify */

apr_status_t chat_sd_notify(const char *state)
{
    const char *name = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    socklen_t salen;
    apr_size_t n, len;
    int fd;
    apr_status_t rv = APR_SUCCESS;

    if (name == NULL || name[0] == '\0') {
        return APR_ENOENT;
    }
    n = strlen(name);
    len = strlen(state);
    if (n >= sizeof(sa.sun_path) || len > CHAT_SD_MAX_STATE || (name[0] != '/' && name[0] != '@')) {
        return APR_EINVAL;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, name, n);
    if (name[0] == '@') {
        sa.sun_path[0] = '\0';   /* abstract: no terminating NUL, the length says where it ends */
        salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    }
    else {
        salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if (sendto(fd, state, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    close(fd);
    return rv;
}

apr_status_t chat_sd_notify_reloading(void)
{
    struct timespec ts;
    char buf[96];

    clock_gettime(CLOCK_MONOTONIC, &ts);
    apr_snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%" APR_UINT64_T_FMT,
                 (apr_uint64_t)ts.tv_sec * 1000000u + (apr_uint64_t)ts.tv_nsec / 1000u);
    return chat_sd_notify(buf);
}

/* ---------------------------------------------------------------- --daemon */

/* The parent: waits for the ready byte or the child's death, then exits. */
static void wait_for_child(pid_t child, int fd)
{
    char c = 0;
    ssize_t got;
    int status = 0;

    do {
        got = read(fd, &c, 1);
    } while (got < 0 && errno == EINTR);
    if (got == 1 && c == READY_BYTE) {
        _exit(0);
    }
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
        continue;
    }
    _exit(WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1);
}

static void redirect_to_null(int target, int flags)
{
    int fd = open("/dev/null", flags | O_CLOEXEC);

    if (fd >= 0) {
        dup2(fd, target);            /* dup2's copy does not inherit O_CLOEXEC */
        close(fd);
    }
}

apr_status_t chat_sd_daemonize(chat_sd_daemon_t **out, apr_pool_t *pool)
{
    chat_sd_daemon_t *d = apr_pcalloc(pool, sizeof(*d));
    int fds[2];
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) != 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    fflush(NULL);                    /* nothing buffered gets written twice */
    pid = fork();
    if (pid < 0) {
        apr_status_t rv = APR_FROM_OS_ERROR(errno);

        close(fds[0]);
        close(fds[1]);
        return rv;
    }
    if (pid > 0) {
        close(fds[1]);
        wait_for_child(pid, fds[0]); /* does not return */
    }
    close(fds[0]);
    if (setsid() < 0 || chdir("/") != 0) {
        apr_status_t rv = APR_FROM_OS_ERROR(errno);

        close(fds[1]);
        return rv;                   /* the parent sees EOF and reports our exit status */
    }
    redirect_to_null(STDIN_FILENO, O_RDONLY);
    d->ready_fd = fds[1];
    *out = d;
    return APR_SUCCESS;
}

void chat_sd_daemon_ready(chat_sd_daemon_t *d)
{
    char c = READY_BYTE;

    if (d == NULL || d->ready_fd < 0) {
        return;
    }
    fflush(NULL);
    redirect_to_null(STDOUT_FILENO, O_WRONLY);
    redirect_to_null(STDERR_FILENO, O_WRONLY);
    while (write(d->ready_fd, &c, 1) < 0 && errno == EINTR) {
        continue;
    }
    close(d->ready_fd);
    d->ready_fd = -1;
}

/* ---------------------------------------------------------------- --pidfile */

typedef struct {
    const char *path;
    pid_t pid;
} pidfile_t;

/* The pid path names, or 0 when it is missing or holds no number. */
static pid_t read_pid(const char *path)
{
    char buf[32];
    ssize_t n;
    long v;
    char *end;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return 0;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    v = strtol(buf, &end, 10);
    if (end == buf || (*end != '\n' && *end != '\0') || v <= 0 || v > 0x3fffffff) {
        return 0;
    }
    return (pid_t)v;
}

static apr_status_t remove_pidfile(void *data)
{
    pidfile_t *pf = data;

    if (read_pid(pf->path) == pf->pid) {
        unlink(pf->path);
    }
    return APR_SUCCESS;
}

apr_status_t chat_sd_pidfile_create(const char *path, apr_pool_t *pool)
{
    pidfile_t *pf = apr_pcalloc(pool, sizeof(*pf));
    char *tmp = apr_psprintf(pool, "%s.%ld.tmp", path, (long)getpid());
    char line[32];
    pid_t old = read_pid(path);
    apr_size_t n;
    apr_status_t rv = APR_SUCCESS;
    int fd;

    if (old > 0 && old != getpid() && (kill(old, 0) == 0 || errno == EPERM)) {
        return APR_EEXIST;
    }
    n = (apr_size_t)apr_snprintf(line, sizeof(line), "%ld\n", (long)getpid());
    errno = 0;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if (write(fd, line, n) != (ssize_t)n || fchmod(fd, 0644) != 0) {
        rv = errno != 0 ? APR_FROM_OS_ERROR(errno) : APR_EGENERAL;
    }
    if (close(fd) != 0 && rv == APR_SUCCESS) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    if (rv == APR_SUCCESS && rename(tmp, path) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    if (rv != APR_SUCCESS) {
        unlink(tmp);
        return rv;
    }
    pf->path = apr_pstrdup(pool, path);
    pf->pid = getpid();
    apr_pool_cleanup_register(pool, pf, remove_pidfile, apr_pool_cleanup_null);
    return APR_SUCCESS;
}
