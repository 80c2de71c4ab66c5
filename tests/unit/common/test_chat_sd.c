/* Tests of common/chat_sd.c: sd_notify datagrams (path and abstract sockets, refusals) and
 * pidfiles (written, refused while the named process lives, stale ones replaced, removed by
 * the pool). --daemon forks the caller away, so it is tested on the real daemons
 * (tests/integration/ops_daemon.test.mjs). Single-file program: tests/unit/test_sd. */
#include "../check_main.h"
#include "chat_sd.h"

#include <apr_strings.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define POOL test_pool

#define temp_dir() chat_test_temp_dir("chat-sd-test-")

/* A datagram socket bound to name ('@' = abstract; else a path in a temp_dir(), which removes
 * it). */
static int bound_socket(const char *name)
{
    struct sockaddr_un sa;
    socklen_t len;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, name, strlen(name));
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
    if (name[0] == '@') {
        sa.sun_path[0] = '\0';
    }
    else {
        len++;
    }
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, len), 0);
    return fd;
}

static char *receive(int fd)
{
    char *buf = apr_pcalloc(POOL, CHAT_SD_MAX_STATE + 1);
    ssize_t n = recv(fd, buf, CHAT_SD_MAX_STATE, MSG_DONTWAIT);

    ck_assert_int_gt(n, 0);
    return buf;
}

START_TEST(notify_sends_the_state_to_a_socket_path)
{
    char *path = apr_pstrcat(POOL, temp_dir(), "/notify", NULL);
    int fd = bound_socket(path);

    setenv("NOTIFY_SOCKET", path, 1);
    ck_assert_int_eq(chat_sd_notify("READY=1"), APR_SUCCESS);
    ck_assert_str_eq(receive(fd), "READY=1");
    ck_assert_int_eq(chat_sd_notify("STOPPING=1\nSTATUS=draining"), APR_SUCCESS);
    ck_assert_str_eq(receive(fd), "STOPPING=1\nSTATUS=draining");
    close(fd);
}
END_TEST

START_TEST(notify_reaches_an_abstract_socket_named_with_an_at_sign)
{
    char *name = apr_psprintf(POOL, "@chat-sd-test-%ld", (long)getpid());
    int fd = bound_socket(name);

    setenv("NOTIFY_SOCKET", name, 1);
    ck_assert_int_eq(chat_sd_notify("READY=1"), APR_SUCCESS);
    ck_assert_str_eq(receive(fd), "READY=1");
    close(fd);
}
END_TEST

START_TEST(reloading_carries_a_monotonic_timestamp)
{
    char *path = apr_pstrcat(POOL, temp_dir(), "/notify", NULL);
    int fd = bound_socket(path);
    char *got;

    setenv("NOTIFY_SOCKET", path, 1);
    ck_assert_int_eq(chat_sd_notify_reloading(), APR_SUCCESS);
    got = receive(fd);
    ck_assert_msg(strncmp(got, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0, "%s", got);
    ck_assert_int_gt(strtoll(got + 27, NULL, 10), 0);
    close(fd);
}
END_TEST

static const struct {
    const char *socket;      /* NULL: unset */
    const char *state;
    apr_status_t want;
} refused[] = {
    { NULL, "READY=1", APR_ENOENT },
    { "", "READY=1", APR_ENOENT },
    { "relative/notify", "READY=1", APR_EINVAL },
    { "/tmp/" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "READY=1", APR_EINVAL },
};

START_TEST(notify_refuses_each_unusable_socket_with_its_own_code)
{
    if (refused[_i].socket == NULL) {
        unsetenv("NOTIFY_SOCKET");
    }
    else {
        setenv("NOTIFY_SOCKET", refused[_i].socket, 1);
    }
    ck_assert_int_eq(chat_sd_notify(refused[_i].state), refused[_i].want);
}
END_TEST

START_TEST(notify_refuses_a_state_longer_than_the_cap)
{
    char *big = apr_pcalloc(POOL, CHAT_SD_MAX_STATE + 2);

    memset(big, 'x', CHAT_SD_MAX_STATE + 1);
    setenv("NOTIFY_SOCKET", "/run/nobody-listens-here", 1);
    ck_assert_int_eq(chat_sd_notify(big), APR_EINVAL);
}
END_TEST

START_TEST(notify_reports_a_socket_nobody_listens_on)
{
    setenv("NOTIFY_SOCKET", apr_pstrcat(POOL, temp_dir(), "/absent", NULL), 1);
    ck_assert_int_eq(chat_sd_notify("READY=1"), APR_FROM_OS_ERROR(ENOENT));
}
END_TEST

static long file_pid(const char *path)
{
    char buf[32] = { 0 };
    FILE *f = fopen(path, "r");

    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
    fclose(f);
    ck_assert_msg(strchr(buf, '\n') != NULL, "pidfile line ends with a newline");
    return strtol(buf, NULL, 10);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(pidfile_holds_our_pid_and_goes_with_the_pool)
{
    char *path = apr_pstrcat(POOL, temp_dir(), "/chat.pid", NULL);
    apr_pool_t *p = NULL;
    struct stat st;

    ck_assert_int_eq(apr_pool_create(&p, POOL), APR_SUCCESS);
    ck_assert_int_eq(chat_sd_pidfile_create(path, p), APR_SUCCESS);
    ck_assert_int_eq(file_pid(path), (long)getpid());
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0644);
    apr_pool_destroy(p);
    ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(pidfile_naming_a_live_process_is_refused_and_kept)
{
    char *path = apr_pstrcat(POOL, temp_dir(), "/chat.pid", NULL);

    write_file(path, apr_psprintf(POOL, "%ld\n", (long)getppid()));   /* Check's runner */
    ck_assert_int_eq(chat_sd_pidfile_create(path, POOL), APR_EEXIST);
    ck_assert_int_eq(file_pid(path), (long)getppid());
}
END_TEST

static const char *const stale[] = { "999999999\n", "not a pid\n", "", "-4\n", "12abc\n" };

START_TEST(pidfile_replaces_each_kind_of_stale_file)
{
    char *path = apr_pstrcat(POOL, temp_dir(), "/chat.pid", NULL);
    apr_pool_t *p = NULL;

    write_file(path, stale[_i]);
    ck_assert_int_eq(apr_pool_create(&p, POOL), APR_SUCCESS);
    ck_assert_int_eq(chat_sd_pidfile_create(path, p), APR_SUCCESS);
    ck_assert_int_eq(file_pid(path), (long)getpid());
    apr_pool_destroy(p);
    ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(pidfile_left_replaced_by_another_instance_is_not_removed)
{
    char *path = apr_pstrcat(POOL, temp_dir(), "/chat.pid", NULL);
    apr_pool_t *p = NULL;

    ck_assert_int_eq(apr_pool_create(&p, POOL), APR_SUCCESS);
    ck_assert_int_eq(chat_sd_pidfile_create(path, p), APR_SUCCESS);
    write_file(path, "1\n");                   /* someone else took it over */
    apr_pool_destroy(p);
    ck_assert_int_eq(file_pid(path), 1);
}
END_TEST

START_TEST(pidfile_in_a_missing_directory_is_an_os_error)
{
    ck_assert_int_eq(chat_sd_pidfile_create("/nonexistent-chat-dir/x.pid", POOL),
                     APR_FROM_OS_ERROR(ENOENT));
}
END_TEST

START_TEST(daemon_ready_without_daemonizing_is_a_no_op)
{
    int pipefd[2], saved = dup(STDOUT_FILENO);
    char got[2] = { 0 };

    /* stdout on a pipe: had ready pointed it at /dev/null, the byte would not arrive */
    ck_assert_int_ge(saved, 0);
    ck_assert_int_eq(pipe2(pipefd, O_NONBLOCK), 0);   /* a missing byte fails, not hangs */
    ck_assert_int_ge(dup2(pipefd[1], STDOUT_FILENO), 0);
    chat_sd_daemon_ready(NULL);
    ck_assert_int_eq(write(STDOUT_FILENO, "x", 1), 1);
    ck_assert_int_eq(read(pipefd[0], got, 1), 1);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(pipefd[0]);
    close(pipefd[1]);
    ck_assert_str_eq(got, "x");
}
END_TEST

static TCase *tcase_chat_sd(void)
{
    TCase *tc = chat_tcase_create("sd");

    tcase_add_test(tc, notify_sends_the_state_to_a_socket_path);
    tcase_add_test(tc, notify_reaches_an_abstract_socket_named_with_an_at_sign);
    tcase_add_test(tc, reloading_carries_a_monotonic_timestamp);
    tcase_add_loop_test(tc, notify_refuses_each_unusable_socket_with_its_own_code, 0,
                        (int)(sizeof(refused) / sizeof(refused[0])));
    tcase_add_test(tc, notify_refuses_a_state_longer_than_the_cap);
    tcase_add_test(tc, notify_reports_a_socket_nobody_listens_on);
    tcase_add_test(tc, pidfile_holds_our_pid_and_goes_with_the_pool);
    tcase_add_test(tc, pidfile_naming_a_live_process_is_refused_and_kept);
    tcase_add_loop_test(tc, pidfile_replaces_each_kind_of_stale_file, 0,
                        (int)(sizeof(stale) / sizeof(stale[0])));
    tcase_add_test(tc, pidfile_left_replaced_by_another_instance_is_not_removed);
    tcase_add_test(tc, pidfile_in_a_missing_directory_is_an_os_error);
    tcase_add_test(tc, daemon_ready_without_daemonizing_is_a_no_op);
    return tc;
}

const char *const chat_suite_name = "sd";
const chat_tcase_fn chat_tcases[] = { tcase_chat_sd, NULL };
