/* relay_main.c: chat-relay, the WebSocket relay daemon: start-up, service loop, shutdown.
 *
 * main loads the configuration (defaults < --config FILE < environment; a bad value exits 2
 * naming the variable), opens the log, creates the analytics segment, replays any journal left
 * behind (relay_persist_recover), moves lws's receive buffers to page-aligned slots
 * (relay_rxslab.h) and creates the lws context: one vhost on RELAY_LISTEN, one
 * service thread, UTF-8 validation of text frames, pings and pong timeouts from a retry
 * policy, HANDSHAKE_TIMEOUT for requests that never complete. A one-second lws timer refreshes
 * the analytics heartbeat and RSS and checks slow clients and stuck warm-ups.
 *
 * RELAY_EVENT_LOOP picks how the service thread waits. poll: lws_service, lws's own poll()
 * over every descriptor each pass, so a pass costs the number of open connections. libev: the
 * relay creates a libev loop (epoll) and hands it to lws as a foreign loop
 * (LWS_SERVER_OPTION_LIBEV, lws's libev plugin); each pass is one ev_run(EVRUN_ONCE), which
 * costs the number of ready sockets. lws_service itself cannot be used there: with an event
 * library it runs the library's loop until the loop is broken, and the relay must look at its
 * signal flags between passes. lws timers (lws_sul: pings, timeouts, the tick below) work on
 * both; on libev lws runs them from an ev_timer of its own.
 *
 * Signals only set flags (the one piece of global state, as STYLE.md allows); a signal
 * interrupts poll or epoll_wait, so the loop sees the flag at once, and the one-second timer
 * bounds the delay otherwise. SIGTERM/SIGINT: refuse new handshakes, close every client with
 * 1001, drain persistence within SHUTDOWN_DRAIN_S, exit 0. SIGUSR1 reopens the log file.
 *
 * SIGHUP reloads the configuration file in the service loop (the one reader of srv->cfg): an
 * invalid file is logged and the running configuration stays; a valid one keeps what needs a
 * restart (listener, TLS, pings, storage and persistence, segment, trusted proxies, log file:
 * restart_only below, named in a warning) and replaces srv->cfg, so origins, rate limits,
 * per-IP and per-connection limits, LOG_LEVEL and AUTH_SECRET apply to new connections while
 * open ones keep what they were admitted with. Superseded configurations are kept until exit
 * (a few KiB each). Under systemd it reports READY=1 once listening, RELOADING=1 around a
 * reload and STOPPING=1 when it drains; --daemon and --pidfile serve everyone else.
 *
 * Thread: main thread, which is the lws service thread once serving. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <ev.h>

#include "chat_sd.h"
#include "relay_server.h"
#include "relay_conn.h"
#include "relay_gate.h"
#include "relay_proto.h"
#include "relay_room.h"
#include "relay_rxslab.h"

#define EXIT_CONFIG 2
#define CLIENT_CLOSE_WAIT (5 * APR_USEC_PER_SEC)
#define RELAY_HEADER_SPACE 16384     /* bytes of request headers lws keeps per handshake */
#define RELAY_RX_SLOTS_MAX 1048576   /* receive-buffer slots reserved at most (address space) */

extern char **environ;

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reopen_requested;
static volatile sig_atomic_t reload_requested;

/* lws 4.1's log emitter takes no user pointer, so its sink is a file-scope pointer set once
 * before lws starts logging and only read afterwards (a documented departure from STYLE 1). */
static chat_log_t *lws_log_sink;

static void on_signal(int sig)
{
    if (sig == SIGHUP) {
        reload_requested = 1;
    }
    else if (sig == SIGUSR1) {
        reopen_requested = 1;
    }
    else {
        stop_requested = 1;
    }
}

static void on_lws_log(int level, const char *line)
{
    static apr_time_t window;
    static int lines;
    apr_time_t now = apr_time_now();
    char text[256];
    size_t n;

    if (now - window > APR_USEC_PER_SEC) {      /* at most 20 lines a second */
        window = now;
        lines = 0;
    }
    if (lws_log_sink == NULL || ++lines > 20) {
        return;
    }
    apr_cpystrn(text, line, sizeof(text));
    n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r')) {
        text[--n] = '\0';
    }
    CHAT_LOG(lws_log_sink, level & LLL_ERR ? CHAT_LOG_ERROR : CHAT_LOG_WARN, "lws", "line", text);
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: chat-relay [--config FILE] [--daemon] [--pidfile FILE]\n"
            "       chat-relay --help | --version\n\n"
            "The chat WebSocket relay: rooms, fan-out, replay and resume, persistence.\n\n"
            "Options:\n"
            "  --config FILE   read KEY=value settings from FILE (systemd EnvironmentFile\n"
            "                  syntax); the environment overrides the file\n"
            "  --daemon        detach; exit 0 once listening (start-up errors still print)\n"
            "  --pidfile FILE  write the pid to FILE, removed at exit\n"
            "  --help          show this help and exit\n"
            "  --version       show the version and exit\n\n"
            "Signals: SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the configuration file\n"
            "(origins, rate and connection limits, LOG_LEVEL, AUTH_SECRET apply to new\n"
            "connections; an invalid file is logged and the running configuration kept;\n"
            "listener, TLS, pings, storage, segment and LOG_FILE wait for a restart);\n"
            "SIGUSR1 reopens the log file. Under systemd (Type=notify) it reports READY=1,\n"
            "RELOADING=1 and STOPPING=1.\n\n"
            "Environment variables (and config keys):\n");
    chat_config_print_help(out);
}

typedef struct {
    const char *config;
    const char *pidfile;
    int daemon;
} relay_args_t;

/* Parses argv. Returns -1 to continue, else an exit code. */
static int parse_args(int argc, char **argv, relay_args_t *args)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("chat-relay %s\n", PACKAGE_VERSION);
            return 0;
        }
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            args->config = argv[++i];
        }
        else if (strncmp(argv[i], "--config=", 9) == 0) {
            args->config = argv[i] + 9;
        }
        else if (strcmp(argv[i], "--pidfile") == 0 && i + 1 < argc) {
            args->pidfile = argv[++i];
        }
        else if (strncmp(argv[i], "--pidfile=", 10) == 0) {
            args->pidfile = argv[i] + 10;
        }
        else if (strcmp(argv[i], "--daemon") == 0) {
            args->daemon = 1;
        }
        else {
            fprintf(stderr, "chat-relay: unknown argument '%s' (try --help)\n", argv[i]);
            return EXIT_CONFIG;
        }
    }
    return -1;
}

static uint64_t read_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;

    if (f == NULL) {
        return 0;
    }
    if (fscanf(f, "%lu %lu", &size, &resident) != 2) {
        resident = 0;
    }
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
    relay_server_t *srv = lws_container_of(sul, relay_server_t, tick);
    apr_time_t now = apr_time_now();
    relay_conn_t *c;

    chat_shm_tick(srv->shm, now);
    chat_shm_set(srv->shm, CHAT_CTR_RELAY_RSS, read_rss());
    for (c = srv->conns; c != NULL; c = c->all_next) {
        relay_conn_check(c, now);
    }
    relay_room_tick(srv, now);
    srv->tick_due = now + APR_USEC_PER_SEC;
    lws_sul_schedule(srv->context, 0, &srv->tick, on_tick, LWS_US_PER_SEC);
}

static void on_persist_wake(void *arg)
{
    lws_cancel_service(arg);
}

/* ------------------------------------------------------------------ start-up */

static apr_status_t open_analytics(relay_server_t *srv)
{
    const chat_config_t *cfg = srv->cfg;
    chat_shm_limits_t lim = { cfg->analytics_max_users, cfg->analytics_max_rooms };
    char *dir = apr_pstrdup(srv->pool, cfg->analytics_shm), *slash = strrchr(dir, '/');
    char ebuf[128];
    apr_status_t rv;

    if (slash != NULL && slash != dir) {
        *slash = '\0';
        apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT & 0750, srv->pool);
    }
    rv = chat_shm_create(&srv->shm, cfg->analytics_shm, &lim, srv->started, srv->pool);
    if (rv == APR_EEXIST) {
        CHAT_LOG(srv->log, CHAT_LOG_ERROR, "another relay owns the analytics segment", "path",
                 cfg->analytics_shm);
        return rv;
    }
    if (rv != APR_SUCCESS) {
        srv->shm = NULL;
        CHAT_LOG(srv->log, CHAT_LOG_WARN, "analytics segment unavailable; running without",
                 "path", cfg->analytics_shm, "err", chat_err_str(rv, ebuf, sizeof(ebuf)));
    }
    return APR_SUCCESS;
}

static apr_status_t open_persistence(relay_server_t *srv)
{
    apr_size_t recovered = 0;
    char ebuf[128];
    apr_status_t rv;

    rv = relay_persist_create(&srv->persist, srv->cfg, srv->shm, srv->log, srv->pool);
    if (rv == APR_SUCCESS) {
        rv = relay_persist_recover(srv->persist, &recovered);
    }
    if (rv != APR_SUCCESS) {
        CHAT_LOG(srv->log, CHAT_LOG_ERROR, "persistence failed to start", "err",
                 chat_err_str(rv, ebuf, sizeof(ebuf)));
        return rv;
    }
    if (recovered > 0) {
        CHAT_LOG(srv->log, CHAT_LOG_INFO, "journal replayed", "messages",
                 apr_psprintf(srv->pool, "%" APR_SIZE_T_FMT, recovered));
    }
    return APR_SUCCESS;
}

/* lws's receive buffers go to page-aligned slots (relay_rxslab.h), one per descriptor the
 * process may open, so a connection that never sends holds none in memory. Without the slots
 * the relay runs as before, with the buffers in the heap. */
static void open_rxslab(relay_server_t *srv)
{
    const struct lws_protocols *proto = relay_proto_table();
    struct rlimit rl;
    apr_size_t slots = 65536;
    char ebuf[128];
    apr_status_t rv;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        slots = rl.rlim_cur < RELAY_RX_SLOTS_MAX ? (apr_size_t)rl.rlim_cur : RELAY_RX_SLOTS_MAX;
    }
    rv = relay_rxslab_install(proto->rx_buffer_size + LWS_PRE + 4, slots);
    if (rv != APR_SUCCESS) {
        CHAT_LOG(srv->log, CHAT_LOG_WARN, "receive buffers stay in the heap", "err",
                 chat_err_str(rv, ebuf, sizeof(ebuf)));
    }
}

/* The service thread's wait: lws's poll(), or a libev loop lws was handed (evl). */
typedef struct {
    struct ev_loop *evl;               /* NULL with RELAY_EVENT_LOOP=poll */
    ev_timer wake;                     /* libev: ends the wait when the relay's timers are due */
} relay_loop_t;

static const char *backend_name(unsigned int backend)
{
    switch (backend) {
    case EVBACKEND_EPOLL:
        return "epoll";
    case EVBACKEND_POLL:
        return "poll";
    case EVBACKEND_SELECT:
        return "select";
    default:
        return "other";
    }
}

/* Nothing to do here: ending ev_run's wait is the point (see service_once). */
static void on_wake(struct ev_loop *evl, ev_timer *w, int revents)
{
    (void)evl;
    (void)w;
    (void)revents;
}

/* libev's loop for RELAY_EVENT_LOOP=libev; nothing for poll. lws registers its sockets, its
 * cancel pipe and its timer there when the context is created. */
static apr_status_t open_loop(relay_server_t *srv, relay_loop_t *loop)
{
    loop->evl = NULL;
    if (srv->cfg->event_loop != CHAT_EVENT_LOOP_LIBEV) {
        return APR_SUCCESS;
    }
    loop->evl = ev_loop_new(EVFLAG_AUTO);
    ev_init(&loop->wake, on_wake);
    if (loop->evl == NULL) {
        CHAT_LOG(srv->log, CHAT_LOG_ERROR, "RELAY_EVENT_LOOP=libev: cannot create the loop",
                 "err", "ev_loop_new");
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* After lws_context_destroy: lws has taken its watchers off the loop by then. */
static void close_loop(relay_loop_t *loop)
{
    if (loop->evl != NULL) {
        ev_timer_stop(loop->evl, &loop->wake);
        ev_loop_destroy(loop->evl);
        loop->evl = NULL;
    }
}

/* One service pass: lws's poll() and what it found, or one libev iteration (it blocks in
 * epoll_wait until a socket, a timer or a signal); then the relay's own timers if lws ran
 * them late, and the writes the pass queued (relay_conn_flush). -1 when lws fails.
 *
 * Why the timers again: lws's libev plugin runs its timers (and re-arms the libev timer that
 * wakes it for them) from an idle watcher, which libev runs only in an iteration with no other
 * event pending. Under steady traffic lws_sul timers then wait for a quiet moment, and the
 * iteration that finally blocks may block until lws's next timer: paced connections (their
 * release is an lws_sul timer) waited 0.1-0.5 s at S1 400 msg/s. So the relay checks its two
 * timers, the pacing release and the 1 s tick, after every pass, and with libev keeps a libev
 * timer of its own armed for the earlier of them, so the wait ends when they are due. With
 * poll, lws has run what was due at the start of the pass and this finds nothing. */
static int service_once(relay_server_t *srv, relay_loop_t *loop)
{
    apr_time_t now, next;
    int rc = 0;

    if (loop->evl != NULL) {
        ev_run(loop->evl, EVRUN_ONCE);
    }
    else if (lws_service(srv->context, 0) < 0) {
        rc = -1;
    }
    now = apr_time_now();
    relay_conn_pace_late(srv, now);
    if (srv->tick_due != 0 && now >= srv->tick_due) {
        on_tick(&srv->tick);
    }
    relay_conn_flush(srv);
    if (loop->evl != NULL) {
        next = relay_conn_pace_next(srv);
        if (next == 0 || (srv->tick_due != 0 && srv->tick_due < next)) {
            next = srv->tick_due;
        }
        ev_timer_stop(loop->evl, &loop->wake);
        if (next != 0) {
            ev_timer_set(&loop->wake, next > now ? (double)(next - now) / APR_USEC_PER_SEC : 0.0,
                         0.0);
            ev_timer_start(loop->evl, &loop->wake);
        }
    }
    return rc;
}

static apr_status_t create_context(relay_server_t *srv, lws_retry_bo_t *retry,
                                   const relay_loop_t *loop)
{
    const chat_config_t *cfg = srv->cfg;
    struct lws_context_creation_info info;
    void *foreign[1] = { loop->evl };
    char *host = NULL;
    int port = 0, is_unix = 0;

    if (chat_config_parse_listen(cfg->relay_listen, &host, &port, &is_unix, srv->pool)
        != APR_SUCCESS) {
        CHAT_LOG(srv->log, CHAT_LOG_ERROR, "RELAY_LISTEN: not host:port, :port or a path",
                 "value", cfg->relay_listen);
        return CHAT_ECONFIG;
    }
    memset(retry, 0, sizeof(*retry));
    retry->secs_since_valid_ping = (uint16_t)cfg->ping_interval_s;
    retry->secs_since_valid_hangup = (uint16_t)cfg->pong_timeout_s;

    memset(&info, 0, sizeof(info));
    info.port = is_unix ? 0 : port;
    info.iface = host;
    info.protocols = relay_proto_table();
    info.user = srv;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (loop->evl != NULL) {
        info.options |= LWS_SERVER_OPTION_LIBEV;
        info.foreign_loops = foreign;
    }
    if (is_unix) {
        info.options |= LWS_SERVER_OPTION_UNIX_SOCK;
    }
    else if (host != NULL && strchr(host, ':') == NULL) {
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    }
    /* lws drops a request whose headers overflow this without an HTTP answer (a 502 through
     * Apache); 16 KiB lets the gate refuse a 4 KiB token, room or Origin with a proper 4xx. */
    info.max_http_header_data = RELAY_HEADER_SPACE;
    info.timeout_secs = (unsigned int)cfg->handshake_timeout_s;
    info.timeout_secs_ah_idle = (unsigned int)cfg->handshake_timeout_s;
    info.retry_and_idle_policy = retry;
    if (cfg->relay_tls_cert != NULL && *cfg->relay_tls_cert != '\0') {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cfg->relay_tls_cert;
        info.ssl_private_key_filepath = cfg->relay_tls_key;
    }
    srv->context = lws_create_context(&info);
    if (srv->context == NULL) {
        CHAT_LOG(srv->log, CHAT_LOG_ERROR, "cannot listen", "listen", cfg->relay_listen);
        if (loop->evl != NULL) {
            CHAT_LOG(srv->log, CHAT_LOG_ERROR, "RELAY_EVENT_LOOP=libev needs lws's libev plugin",
                     "package", "libwebsockets-evlib-ev");
        }
        return APR_EGENERAL;
    }
    CHAT_LOG(srv->log, CHAT_LOG_INFO, "relay listening", "listen", cfg->relay_listen,
             "storage", chat_config_storage_name(cfg->storage),
             "loop", loop->evl != NULL ? backend_name(ev_backend(loop->evl)) : "poll");
    return APR_SUCCESS;
}

static apr_status_t init_server(relay_server_t *srv)
{
    apr_status_t rv;

    srv->started = apr_time_now();
    srv->rooms = apr_hash_make(srv->pool);
    rv = chat_id_gen_init(&srv->ids);
    if (rv == APR_SUCCESS) {
        rv = relay_gate_init(srv);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_pool_create(&srv->scratch, srv->pool);
    }
    if (rv == APR_SUCCESS) {
        srv->enc = apr_palloc(srv->pool, CHAT_MSG_MAX_ENCODED + 1);
        srv->tx = apr_palloc(srv->pool, LWS_PRE + RELAY_TX_MAX + 1);
    }
    return rv;
}

/* ------------------------------------------------------------------ reload */

/* Settings a running relay cannot change: a reload keeps their running values. */
static const char *const restart_only[] = {
    "LOG_FILE", "RELAY_LISTEN", "RELAY_TLS_CERT", "RELAY_TLS_KEY", "PING_INTERVAL",
    "PONG_TIMEOUT", "HANDSHAKE_TIMEOUT", "TRUSTED_PROXIES", "ROOM_RING_SIZE", "STORAGE",
    "PERSIST_WORKERS", "PERSIST_BATCH_SIZE", "PERSIST_QUEUE_SIZE", "PERSIST_FLUSH_MS",
    "PERSIST_STALL_MS", "JOURNAL_SEGMENT_BYTES", "RELAY_EVENT_LOOP",
    "SPOOL_FSYNC_MS", "DATA_DIR", "RUN_DIR", "SQLITE_PATH", "JOURNAL_DIR", "DYNAMODB_ENDPOINT",
    "DYNAMODB_REGION", "DYNAMODB_TABLE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN", "ANALYTICS_SHM", "ANALYTICS_MAX_USERS", "ANALYTICS_MAX_ROOMS", NULL
};

/* SIGHUP, in the service thread: see the top of this file. */
static void reload_config(relay_server_t *srv, const char *config_file)
{
    chat_config_t *next = NULL;
    chat_log_level_e level = CHAT_LOG_INFO;
    apr_pool_t *p = NULL;
    const char *changed = NULL;
    char *err = NULL;

    chat_sd_notify_reloading();
    if (apr_pool_create(&p, srv->pool) != APR_SUCCESS) {
        err = "out of memory";
    }
    else if (chat_config_load(&next, config_file, (const char *const *)environ, &err, p)
             == APR_SUCCESS) {
        changed = chat_config_carry(next, srv->cfg, restart_only, p);
        if (chat_log_level_parse(next->log_level, &level) != APR_SUCCESS) {
            err = apr_psprintf(p, "LOG_LEVEL: unknown level \"%s\"", next->log_level);
            next = NULL;
        }
        else if (next->history_replay > next->room_ring_size) {
            err = apr_psprintf(p, "HISTORY_REPLAY: must not exceed the running ROOM_RING_SIZE "
                               "(%d): \"%d\"", next->room_ring_size, next->history_replay);
            next = NULL;
        }
    }
    else {
        next = NULL;
    }
    if (next == NULL) {
        CHAT_LOG(srv->log, CHAT_LOG_ERROR,
                 "configuration reload failed; the running configuration stays", "file",
                 config_file, "err", err != NULL ? err : "invalid configuration");
        if (p != NULL) {
            apr_pool_destroy(p);
        }
        chat_sd_notify("READY=1");
        return;
    }
    srv->cfg = next;
    chat_log_level_set(srv->log, level);
    CHAT_LOG(srv->log, CHAT_LOG_INFO, "configuration reloaded", "file", config_file,
             "level", next->log_level);
    if (changed != NULL) {
        CHAT_LOG(srv->log, CHAT_LOG_WARN, "changed settings wait for a restart", "keys", changed);
    }
    chat_sd_notify("READY=1");
}

/* ------------------------------------------------------------------ serving */

static void serve(relay_server_t *srv, relay_loop_t *loop, const char *config_file)
{
    on_tick(&srv->tick);                 /* heartbeat and RSS now; it reschedules itself */
    while (!stop_requested) {
        if (service_once(srv, loop) < 0) {
            CHAT_LOG(srv->log, CHAT_LOG_ERROR, "lws service failed", "err", "lws_service");
            break;
        }
        if (reopen_requested) {
            reopen_requested = 0;
            chat_log_reopen(srv->log);
            CHAT_LOG(srv->log, CHAT_LOG_INFO, "log reopened", "signal", "SIGUSR1");
        }
        if (reload_requested) {
            reload_requested = 0;
            reload_config(srv, config_file);
        }
    }
}

/* Stops accepting (the gate answers 503), closes every client with 1001 and gives them a few
 * seconds to take the close frame. */
static void close_clients(relay_server_t *srv, relay_loop_t *loop)
{
    apr_time_t deadline = apr_time_now() + CLIENT_CLOSE_WAIT;
    relay_conn_t *c;

    srv->stopping = 1;
    chat_sd_notify("STOPPING=1");
    CHAT_LOG(srv->log, CHAT_LOG_INFO, "shutting down", "clients",
             apr_itoa(srv->pool, srv->n_conns));
    for (c = srv->conns; c != NULL; c = c->all_next) {
        relay_conn_close(c, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
    }
    while (srv->n_conns > 0 && apr_time_now() < deadline) {
        if (service_once(srv, loop) < 0) {
            break;
        }
    }
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static int run(relay_server_t *srv, const char *config_file, chat_sd_daemon_t *daemon)
{
    lws_retry_bo_t retry;
    relay_loop_t loop = { NULL };
    apr_status_t rv;
    char ebuf[128];
    int code = 1;

    rv = init_server(srv);
    if (rv == APR_SUCCESS) {
        rv = open_analytics(srv);
    }
    if (rv == APR_SUCCESS) {
        rv = open_persistence(srv);
    }
    if (rv == APR_SUCCESS) {
        open_rxslab(srv);
        rv = open_loop(srv, &loop);
    }
    if (rv == APR_SUCCESS) {
        rv = create_context(srv, &retry, &loop);
    }
    if (rv == APR_SUCCESS) {
        rv = relay_persist_start(srv->persist, on_persist_wake, srv->context);
    }
    if (rv != APR_SUCCESS) {
        CHAT_LOG(srv->log, CHAT_LOG_ERROR, "relay failed to start", "err",
                 chat_err_str(rv, ebuf, sizeof(ebuf)));
        code = rv == CHAT_ECONFIG ? EXIT_CONFIG : 1;
        goto done;
    }
    install_signals();
    chat_sd_daemon_ready(daemon);
    chat_sd_notify("READY=1");
    serve(srv, &loop, config_file);
    close_clients(srv, &loop);
    rv = relay_persist_shutdown(srv->persist,
                                apr_time_now() + apr_time_from_sec(srv->cfg->shutdown_drain_s));
    if (rv != APR_SUCCESS) {
        CHAT_LOG(srv->log, CHAT_LOG_WARN, "persistence not fully drained; journal kept", "err",
                 chat_err_str(rv, ebuf, sizeof(ebuf)));
    }
    code = 0;
done:
    if (srv->context != NULL) {
        lws_context_destroy(srv->context);       /* CLOSED for every remaining client */
        srv->context = NULL;
    }
    else if (srv->persist != NULL) {
        relay_persist_shutdown(srv->persist, apr_time_now());
    }
    close_loop(&loop);
    relay_rxslab_uninstall();
    relay_room_destroy_all(srv);
    relay_conn_flush_fini(srv);
    relay_gate_fini(srv);
    CHAT_LOG(srv->log, CHAT_LOG_INFO, "relay stopped", "exit", apr_itoa(srv->pool, code));
    return code;
}

/* --daemon and --pidfile, before the segment records our pid and before any thread. */
static apr_status_t detach(relay_server_t *srv, const relay_args_t *args,
                           chat_sd_daemon_t **daemon)
{
    char *pidfile = NULL;
    char buf[128];
    apr_status_t rv = APR_SUCCESS;

    if (args->pidfile != NULL) {   /* absolute: the daemon works from "/" */
        rv = apr_filepath_merge(&pidfile, NULL, args->pidfile, 0, srv->pool);
    }
    if (rv == APR_SUCCESS && args->daemon) {
        if (srv->cfg->log_file[0] == '\0') {
            fprintf(stderr, "chat-relay: --daemon without LOG_FILE: logs are discarded once "
                    "it listens\n");
        }
        rv = chat_sd_daemonize(daemon, srv->pool);
    }
    if (rv == APR_SUCCESS && pidfile != NULL) {
        rv = chat_sd_pidfile_create(pidfile, srv->pool);
    }
    if (rv != APR_SUCCESS) {
        const char *why = rv == APR_EEXIST ? "another chat-relay runs with this pidfile"
                                           : apr_strerror(rv, buf, sizeof(buf));

        CHAT_LOG(srv->log, CHAT_LOG_ERROR, "cannot detach or write the pidfile", "pidfile",
                 pidfile, "err", why);
        fprintf(stderr, "chat-relay: %s%s%s\n", pidfile != NULL ? pidfile : "",
                pidfile != NULL ? ": " : "", why);
    }
    return rv;
}

int main(int argc, const char *const *argv)
{
    relay_server_t srv;
    apr_pool_t *pool = NULL;
    relay_args_t args = { NULL, NULL, 0 };
    chat_sd_daemon_t *daemon = NULL;
    const char *config = NULL;
    chat_config_t *cfg = NULL;
    chat_log_level_e level = CHAT_LOG_INFO;
    char *err = NULL;
    int code;

    code = parse_args(argc, (char **)argv, &args);
    if (code >= 0) {
        return code;
    }
    config = args.config;
    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS
        || apr_pool_create(&pool, NULL) != APR_SUCCESS) {
        fprintf(stderr, "chat-relay: cannot initialize APR\n");
        return 1;
    }
    memset(&srv, 0, sizeof(srv));
    srv.pool = pool;
    code = EXIT_CONFIG;
    if (chat_config_load(&cfg, config, (const char *const *)environ, &err, pool) != APR_SUCCESS) {
        fprintf(stderr, "chat-relay: %s\n", err != NULL ? err : "invalid configuration");
        goto done;
    }
    if (chat_log_level_parse(cfg->log_level, &level) != APR_SUCCESS) {
        fprintf(stderr, "chat-relay: LOG_LEVEL: unknown level \"%s\"\n", cfg->log_level);
        goto done;
    }
    if (chat_log_create(&srv.log, level, cfg->log_file, pool) != APR_SUCCESS) {
        fprintf(stderr, "chat-relay: LOG_FILE: cannot open \"%s\"\n", cfg->log_file);
        goto done;
    }
    srv.cfg = cfg;
    if (detach(&srv, &args, &daemon) != APR_SUCCESS) {
        code = 1;
        goto done;
    }
    lws_log_sink = srv.log;
    lws_set_log_level(LLL_ERR | LLL_WARN, on_lws_log);
    code = run(&srv, config, daemon);
done:
    lws_log_sink = NULL;
    apr_pool_destroy(pool);
    apr_terminate();
    return code;
}
