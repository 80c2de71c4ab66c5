/* rest_main.c: chat-restapi, the FastCGI application behind Apache.
 *
 * Owns the process: options and configuration, the listening socket, the serving threads and
 * signals. Hosting, in the order we look for it:
 *   RESTAPI_LISTEN set      our own listener on that unix socket (0660, a stale one replaced)
 *                           or host:port, for mod_proxy_fcgi (the recommended hosting);
 *   stdin is a listener     mod_fcgid spawned us with the FastCGI socket on fd 0;
 *   otherwise               $RUN_DIR/restapi.sock.
 *
 * Threads: main blocks SIGTERM/SIGINT/SIGHUP/SIGUSR1 before any other thread exists (so they
 * all inherit the mask and libfcgi's own handlers never run) and then only waits in sigwait.
 * --daemon detaches before the first thread too (fork copies only the caller).
 *
 * Reload (SIGHUP): main loads the configuration file again into a pool of its own; an invalid
 * one is logged and the running one stays. A valid one keeps the settings that need a restart
 * (listener, threads, storage, segment, log file: chat_config_carry names them in a warning)
 * and is published with one atomic pointer store. Each request reads the pointer once, so it
 * sees one configuration from start to end; superseded configurations are kept until exit (a
 * request may still hold one; a few KiB per reload). SIGUSR1 reopens LOG_FILE (logrotate).
 * RESTAPI_THREADS serving threads each own an FCGX_Request, a request pool cleared after every
 * FCGX_Finish_r, a store handle and an analytics reader (STYLE.md 5). On SIGTERM main marks
 * the shutdown in libfcgi and shuts the listening socket down, which makes every blocked
 * FCGX_Accept_r return; threads finish the request they are serving, then main joins them.
 * Connections are not reused (mod_proxy_fcgi without enablereuse), so a thread never waits on
 * an idle Apache connection at shutdown; request bodies are still read to EOF. */
#include "config.h"

#include <apr_file_info.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <errno.h>
#include <fcgiapp.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <stdatomic.h>
#include "chat_config.h"
#include "chat_log.h"
#include "chat_sd.h"
#include "chat_shm.h"
#include "chat_store.h"
#include "rest_reply.h"
#include "rest_route.h"

#define LISTEN_BACKLOG 128
#define MAX_THREADS 256

extern char **environ;

typedef struct rest_worker_t rest_worker_t;

typedef struct rest_app_t {
    rest_ctx_t ctx;              /* ctx.cfg: the configuration at start (stores, listener) */
    _Atomic(const chat_config_t *) live;  /* what requests use; replaced by a reload */
    const char *config_file;     /* the file a reload reads again; NULL: environment only */
    apr_pool_t *pool;
    int listen_fd;
    const char *unix_path;       /* the socket file we created, removed at exit */
    apr_thread_t **threads;
    rest_worker_t *workers;      /* one per thread: its pool */
    int n_threads;
} rest_app_t;

/* ---------------------------------------------------------------- one request */

static const char *param(FCGX_Request *req, const char *name)
{
    return FCGX_GetParam(name, req->envp);
}

/* The path the client asked for, without the query: REQUEST_URI is the raw request target
 * Apache received (mod_proxy_fcgi and mod_fcgid both send it); SCRIPT_NAME + PATH_INFO is the
 * fallback for servers that do not. */
static const char *request_path(FCGX_Request *req, apr_pool_t *pool)
{
    const char *uri = param(req, "REQUEST_URI");
    const char *q;

    if (uri != NULL && *uri == '/') {
        q = strchr(uri, '?');
        return q != NULL ? apr_pstrmemdup(pool, uri, (apr_size_t)(q - uri)) : uri;
    }
    uri = apr_pstrcat(pool, param(req, "SCRIPT_NAME") ? param(req, "SCRIPT_NAME") : "",
                      param(req, "PATH_INFO") ? param(req, "PATH_INFO") : "", NULL);
    return *uri == '/' ? uri : "/";
}

/* We take no bodies, but the FastCGI stream must be consumed to EOF before the reply ends,
 * or a reused connection would desynchronise. */
static void drain_body(FCGX_Request *req)
{
    char buf[4096];

    while (FCGX_GetStr(buf, (int)sizeof(buf), req->in) > 0) {
        continue;
    }
}

static void serve_one(rest_app_t *app, FCGX_Request *req, chat_store_t *store,
                      chat_shm_reader_t *shm, rest_health_cache_t *health, apr_pool_t *rp)
{
    rest_ctx_t ctx = app->ctx;
    rest_req_t r;
    const char *v;
    char *head;

    ctx.cfg = atomic_load(&app->live);   /* once: one configuration per request */
    rest_reply_init(&r, &ctx, rp);
    r.store = store;
    r.shm = shm;
    r.health = health;
    v = param(req, "REQUEST_METHOD");
    r.method = v != NULL ? v : "GET";
    r.path = request_path(req, rp);
    v = param(req, "QUERY_STRING");
    r.query_string = v != NULL ? v : "";
    r.origin = param(req, "HTTP_ORIGIN");
    r.remote_user = param(req, "REMOTE_USER");
    r.acrh = param(req, "HTTP_ACCESS_CONTROL_REQUEST_HEADERS");
    drain_body(req);

    rest_route_parse_query(&r, r.query_string);
    rest_route_handle(&r);
    if (r.body.overflow) {
        CHAT_LOG(app->ctx.log, CHAT_LOG_ERROR, "reply body over its cap", "path", r.path);
        rest_reply_error(&r, 500, "reply too large");
    }
    head = rest_reply_head(&r, rp);
    FCGX_PutS(head, req->out);
    if (r.status != 204) {
        FCGX_PutStr(r.body.data, (int)r.body.len, req->out);
    }
    /* The path only: a query string may carry a token. */
    CHAT_LOG(app->ctx.log, CHAT_LOG_DEBUG, "request", "method", r.method, "path", r.path,
             "status", apr_itoa(rp, r.status));
}

/* ---------------------------------------------------------------- serving threads */

/* One serving thread. Its pool is made by main before the thread starts and destroyed by main
 * after the join (which closes the store and the reader), so the thread simply returns:
 * apr_thread_exit from this deep a frame trips ASan's use-after-scope check in pthread_exit. */
struct rest_worker_t {
    rest_app_t *app;
    apr_pool_t *pool;
};

static void *APR_THREAD_FUNC serve(apr_thread_t *thd, void *data)
{
    rest_worker_t *w = data;
    rest_app_t *app = w->app;
    apr_pool_t *rp = NULL;
    chat_store_t *store = NULL;
    chat_shm_reader_t *shm = NULL;
    rest_health_cache_t health = { 0, APR_SUCCESS };
    FCGX_Request req;
    apr_status_t rv;
    char buf[128];

    (void)thd;
    rv = chat_store_open(&store, app->ctx.cfg, w->pool);
    if (rv != APR_SUCCESS) {
        store = NULL;             /* handlers answer 503 / "unavailable" */
        CHAT_LOG(app->ctx.log, CHAT_LOG_ERROR, "store open failed",
                 "err", chat_err_str(rv, buf, sizeof(buf)));
    }
    rv = chat_shm_reader_create(&shm, app->ctx.cfg->analytics_shm, w->pool);
    if (rv != APR_SUCCESS) {
        shm = NULL;               /* handlers report the relay as down */
        CHAT_LOG(app->ctx.log, CHAT_LOG_ERROR, "analytics reader failed",
                 "err", chat_err_str(rv, buf, sizeof(buf)));
    }
    if (apr_pool_create(&rp, w->pool) != APR_SUCCESS
        || FCGX_InitRequest(&req, app->listen_fd, 0) != 0) {
        CHAT_LOG(app->ctx.log, CHAT_LOG_ERROR, "serving thread could not start");
        return NULL;
    }
    while (FCGX_Accept_r(&req) >= 0) {
        serve_one(app, &req, store, shm, &health, rp);
        FCGX_Finish_r(&req);
        apr_pool_clear(rp);
    }
    FCGX_Free(&req, 0);
    return NULL;
}

/* ---------------------------------------------------------------- listening socket */

/* A socket file at path: replaced when nobody answers on it, an error when someone does. */
static apr_status_t clear_stale_socket(const char *path, char **err, apr_pool_t *pool)
{
    struct sockaddr_un sa;
    struct stat st;
    int fd, live;

    if (lstat(path, &st) != 0) {
        return APR_SUCCESS;
    }
    if (!S_ISSOCK(st.st_mode)) {
        *err = apr_psprintf(pool, "RESTAPI_LISTEN: %s exists and is not a socket", path);
        return CHAT_ECONFIG;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    apr_cpystrn(sa.sun_path, path, sizeof(sa.sun_path));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    if (live) {
        *err = apr_psprintf(pool, "RESTAPI_LISTEN: another process is listening on %s", path);
        return APR_EEXIST;
    }
    unlink(path);
    return APR_SUCCESS;
}

static apr_status_t open_unix(rest_app_t *app, const char *path, char **err)
{
    struct sockaddr_un sa;
    char *dir;
    mode_t old;
    apr_status_t rv;
    int fd = -1;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        *err = apr_psprintf(app->pool, "RESTAPI_LISTEN: socket path longer than %d bytes: %s",
                            (int)sizeof(sa.sun_path) - 1, path);
        return CHAT_ECONFIG;
    }
    dir = apr_pstrdup(app->pool, path);
    if (strrchr(dir, '/') != NULL && strrchr(dir, '/') != dir) {
        *strrchr(dir, '/') = '\0';
        apr_dir_make_recursive(dir, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE
                               | APR_FPROT_GREAD | APR_FPROT_GEXECUTE, app->pool);
    }
    rv = clear_stale_socket(path, err, app->pool);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    apr_cpystrn(sa.sun_path, path, sizeof(sa.sun_path));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rv = APR_FROM_OS_ERROR(errno);
        goto done;
    }
    old = umask(0117);            /* born 0660: Apache's group may connect, nobody else */
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        umask(old);
        goto done;
    }
    umask(old);
    app->unix_path = path;
    if (chmod(path, 0660) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        goto done;
    }
    app->listen_fd = fd;
    fd = -1;
done:
    if (fd >= 0) {
        close(fd);
    }
    if (rv != APR_SUCCESS && *err == NULL) {
        char buf[128];

        *err = apr_psprintf(app->pool, "RESTAPI_LISTEN: cannot listen on %s: %s", path,
                            apr_strerror(rv, buf, sizeof(buf)));
    }
    return rv;
}

static apr_status_t open_tcp(rest_app_t *app, const char *host, int port, char **err)
{
    struct addrinfo hints, *ai = NULL;
    char portstr[16];
    int fd = -1, on = 1, gai;
    apr_status_t rv = APR_SUCCESS;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    apr_snprintf(portstr, sizeof(portstr), "%d", port);
    gai = getaddrinfo(host, portstr, &hints, &ai);
    if (gai != 0) {
        *err = apr_psprintf(app->pool, "RESTAPI_LISTEN: cannot resolve %s: %s",
                            host ? host : "*", gai_strerror(gai));
        return CHAT_ECONFIG;
    }
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0
        || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        char buf[128];

        rv = APR_FROM_OS_ERROR(errno);
        *err = apr_psprintf(app->pool, "RESTAPI_LISTEN: cannot listen on %s:%d: %s",
                            host ? host : "*", port, apr_strerror(rv, buf, sizeof(buf)));
        if (fd >= 0) {
            close(fd);
        }
    }
    else {
        app->listen_fd = fd;
    }
    freeaddrinfo(ai);
    return rv;
}

static apr_status_t open_listener(rest_app_t *app, const char **where, char **err)
{
    const chat_config_t *cfg = app->ctx.cfg;
    const char *listen_on = cfg->restapi_listen;
    char *host = NULL;
    int port = 0, is_unix = 0;
    apr_status_t rv;

    if (listen_on == NULL || *listen_on == '\0') {
        if (!FCGX_IsCGI()) {      /* fd 0 is a listening socket: mod_fcgid spawned us */
            app->listen_fd = 0;
            *where = "stdin (mod_fcgid)";
            return APR_SUCCESS;
        }
        listen_on = apr_pstrcat(app->pool, cfg->run_dir, "/restapi.sock", NULL);
    }
    rv = chat_config_parse_listen(listen_on, &host, &port, &is_unix, app->pool);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(app->pool, "RESTAPI_LISTEN: not a socket path or host:port: \"%s\"",
                            listen_on);
        return rv;
    }
    *where = listen_on;
    return is_unix ? open_unix(app, host, err) : open_tcp(app, host, port, err);
}

/* ---------------------------------------------------------------- start-up and shutdown */

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: chat-restapi [--config FILE] [--daemon] [--pidfile FILE]\n"
            "       chat-restapi --help | --version\n"
            "\n"
            "The chat-analytics REST API: a threaded FastCGI application for Apache httpd\n"
            "(mod_proxy_fcgi on RESTAPI_LISTEN, or spawned by mod_fcgid with FastCGI on stdin).\n"
            "Routes: /health /ready /metrics /api/analytics /api/rooms /api/status[?auto]\n"
            "        /api/rooms/{room}/messages /api/users/{userId}/messages /api/token\n"
            "\n"
            "  -c, --config FILE  read KEY=value settings from FILE (default %s when present);\n"
            "                     the environment overrides the file\n"
            "  -d, --daemon       detach; exit 0 once serving (start-up errors still print)\n"
            "  -p, --pidfile FILE write the pid to FILE, removed at exit\n"
            "  -h, --help         show this help and the configuration variables\n"
            "  -V, --version      show the version\n"
            "\n"
            "Signals: SIGTERM/SIGINT finish the requests in flight and exit 0;\n"
            "         SIGHUP reloads the configuration file (an invalid one is logged and the\n"
            "         running one kept; listener, threads, storage, segment and LOG_FILE wait\n"
            "         for a restart); SIGUSR1 reopens LOG_FILE.\n"
            "Under systemd (Type=notify) it reports READY=1, RELOADING=1 and STOPPING=1.\n\n",
            CHAT_DEFAULT_CONFIG);
    chat_config_print_help(out);
}

typedef struct {
    const char *config;
    const char *pidfile;
    int daemon;
} rest_args_t;

/* Parses argv; returns -1 to go on, or the exit code. */
static int parse_args(int argc, const char *const *argv, rest_args_t *args)
{
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("chat-restapi %s\n", PACKAGE_VERSION);
            return 0;
        }
        if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc) {
            args->config = argv[++i];
        }
        else if (strncmp(a, "--config=", 9) == 0) {
            args->config = a + 9;
        }
        else if ((strcmp(a, "-p") == 0 || strcmp(a, "--pidfile") == 0) && i + 1 < argc) {
            args->pidfile = argv[++i];
        }
        else if (strncmp(a, "--pidfile=", 10) == 0) {
            args->pidfile = a + 10;
        }
        else if (strcmp(a, "-d") == 0 || strcmp(a, "--daemon") == 0) {
            args->daemon = 1;
        }
        else {
            fprintf(stderr, "chat-restapi: unknown or incomplete option: %s\n"
                    "Try 'chat-restapi --help'.\n", a);
            return 2;
        }
    }
    return -1;
}

/* Settings a running chat-restapi cannot change: a reload keeps their running values. */
static const char *const restart_only[] = {
    "LOG_FILE", "STORAGE", "DATA_DIR", "RUN_DIR", "SQLITE_PATH", "DYNAMODB_ENDPOINT",
    "DYNAMODB_REGION", "DYNAMODB_TABLE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN", "ANALYTICS_SHM", "RESTAPI_LISTEN", "RESTAPI_THREADS", NULL
};

/* Loads file (and the environment) into pool and checks what chat_config_load leaves to us. */
static apr_status_t read_config(const char *file, chat_config_t **out, chat_log_level_e *level,
                                char **err, apr_pool_t *pool)
{
    chat_config_t *cfg = NULL;
    apr_status_t rv;

    rv = chat_config_load(&cfg, file, (const char *const *)environ, err, pool);
    if (rv == APR_SUCCESS && (cfg->restapi_threads < 1 || cfg->restapi_threads > MAX_THREADS)) {
        *err = apr_psprintf(pool, "RESTAPI_THREADS: must be 1..%d, not %d", MAX_THREADS,
                            cfg->restapi_threads);
        rv = CHAT_ECONFIG;
    }
    if (rv == APR_SUCCESS && chat_log_level_parse(cfg->log_level, level) != APR_SUCCESS) {
        *err = apr_psprintf(pool, "LOG_LEVEL: not a level: \"%s\"", cfg->log_level);
        rv = CHAT_ECONFIG;
    }
    if (rv == APR_SUCCESS) {
        *out = cfg;
    }
    return rv;
}

static apr_status_t load_config(rest_app_t *app, const char *file)
{
    chat_config_t *cfg = NULL;
    chat_log_level_e level = CHAT_LOG_INFO;
    char *err = NULL;
    apr_finfo_t fi;
    apr_status_t rv;

    if (file == NULL && apr_stat(&fi, CHAT_DEFAULT_CONFIG, APR_FINFO_TYPE, app->pool)
                        == APR_SUCCESS) {
        file = CHAT_DEFAULT_CONFIG;
    }
    app->config_file = file;
    rv = read_config(file, &cfg, &level, &err, app->pool);
    if (rv == APR_SUCCESS) {
        rv = chat_log_create(&app->ctx.log, level, cfg->log_file, app->pool);
        if (rv != APR_SUCCESS) {
            err = apr_psprintf(app->pool, "LOG_FILE: cannot open \"%s\"", cfg->log_file);
        }
    }
    if (rv != APR_SUCCESS) {
        fprintf(stderr, "chat-restapi: %s\n", err != NULL ? err : "invalid configuration");
        return rv;
    }
    app->ctx.cfg = cfg;
    atomic_store(&app->live, cfg);
    return APR_SUCCESS;
}

/* SIGHUP: the file again; see the top of this file. */
static void reload_config(rest_app_t *app)
{
    const chat_config_t *running = atomic_load(&app->live);
    chat_config_t *next = NULL;
    chat_log_level_e level = CHAT_LOG_INFO;
    apr_pool_t *p = NULL;
    const char *changed;
    char *err = NULL;

    chat_sd_notify_reloading();
    if (apr_pool_create(&p, app->pool) != APR_SUCCESS) {
        p = NULL;
        err = "out of memory";
    }
    else {
        read_config(app->config_file, &next, &level, &err, p);
    }
    if (next == NULL) {
        CHAT_LOG(app->ctx.log, CHAT_LOG_ERROR,
                 "configuration reload failed; the running configuration stays",
                 "file", app->config_file, "err", err != NULL ? err : "invalid configuration");
        if (p != NULL) {
            apr_pool_destroy(p);      /* after the log line: err lives in p */
        }
        chat_sd_notify("READY=1");
        return;
    }
    changed = chat_config_carry(next, running, restart_only, p);
    chat_log_level_set(app->ctx.log, level);
    atomic_store(&app->live, next);
    CHAT_LOG(app->ctx.log, CHAT_LOG_INFO, "configuration reloaded", "file", app->config_file,
             "level", next->log_level);
    if (changed != NULL) {
        CHAT_LOG(app->ctx.log, CHAT_LOG_WARN, "changed settings wait for a restart",
                 "keys", changed);
    }
    chat_sd_notify("READY=1");
}

static apr_status_t start_threads(rest_app_t *app)
{
    apr_threadattr_t *attr = NULL;
    apr_status_t rv;
    int i, n = app->ctx.cfg->restapi_threads;

    app->threads = apr_pcalloc(app->pool, sizeof(*app->threads) * (apr_size_t)n);
    app->workers = apr_pcalloc(app->pool, sizeof(*app->workers) * (apr_size_t)n);
    rv = apr_threadattr_create(&attr, app->pool);
    for (i = 0; rv == APR_SUCCESS && i < n; i++) {
        app->workers[i].app = app;
        rv = apr_pool_create(&app->workers[i].pool, app->pool);
        if (rv == APR_SUCCESS) {
            rv = apr_thread_create(&app->threads[i], attr, serve, &app->workers[i], app->pool);
        }
        if (rv == APR_SUCCESS) {
            app->n_threads++;
        }
    }
    return rv;
}

/* Waits for a stop signal: SIGHUP reloads the configuration, SIGUSR1 reopens the log. */
static int wait_for_stop(rest_app_t *app, const sigset_t *set)
{
    int sig = 0;

    for (;;) {
        if (sigwait(set, &sig) != 0) {
            continue;
        }
        if (sig == SIGHUP) {
            reload_config(app);
            continue;
        }
        if (sig == SIGUSR1) {
            chat_log_reopen(app->ctx.log);
            CHAT_LOG(app->ctx.log, CHAT_LOG_INFO, "log reopened", "signal", "SIGUSR1");
            continue;
        }
        return sig;
    }
}

/* --daemon and --pidfile, before any thread exists. */
static apr_status_t detach(rest_app_t *app, const rest_args_t *args, chat_sd_daemon_t **daemon)
{
    char *pidfile = NULL;
    char buf[128];
    apr_status_t rv = APR_SUCCESS;

    if (args->pidfile != NULL) {   /* absolute: the daemon works from "/" */
        rv = apr_filepath_merge(&pidfile, NULL, args->pidfile, 0, app->pool);
    }
    if (rv == APR_SUCCESS && args->daemon) {
        if (app->ctx.cfg->log_file[0] == '\0') {
            fprintf(stderr, "chat-restapi: --daemon without LOG_FILE: logs are discarded once "
                    "it serves\n");
        }
        rv = chat_sd_daemonize(daemon, app->pool);
    }
    if (rv == APR_SUCCESS && pidfile != NULL) {
        rv = chat_sd_pidfile_create(pidfile, app->pool);
    }
    if (rv != APR_SUCCESS) {
        const char *why = rv == APR_EEXIST ? "another chat-restapi runs with this pidfile"
                                           : apr_strerror(rv, buf, sizeof(buf));

        CHAT_LOG(app->ctx.log, CHAT_LOG_ERROR, "cannot detach or write the pidfile",
                 "pidfile", pidfile, "err", why);
        fprintf(stderr, "chat-restapi: %s%s%s\n", pidfile != NULL ? pidfile : "",
                pidfile != NULL ? ": " : "", why);
    }
    return rv;
}

static void stop_threads(rest_app_t *app)
{
    apr_status_t trv;
    int i;

    FCGX_ShutdownPending();
    /* Wakes every thread blocked in accept(); they return from FCGX_Accept_r with -1. */
    shutdown(app->listen_fd, SHUT_RDWR);
    for (i = 0; i < app->n_threads; i++) {
        apr_thread_join(&trv, app->threads[i]);
        apr_pool_destroy(app->workers[i].pool);   /* the thread's store and reader */
    }
}

int main(int argc, const char *const *argv)
{
    rest_app_t app;
    rest_args_t args = { NULL, NULL, 0 };
    chat_sd_daemon_t *daemon = NULL;
    const char *where = "";
    sigset_t set;
    char *err = NULL;
    int code, sig;

    memset(&app, 0, sizeof(app));
    app.listen_fd = -1;
    code = parse_args(argc, argv, &args);
    if (code >= 0) {
        return code;
    }
    /* Before any thread exists, so every thread inherits the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);     /* Apache hanging up mid-reply is an error code, not death */

    apr_app_initialize(&argc, &argv, NULL);
    code = 1;
    if (apr_pool_create(&app.pool, NULL) != APR_SUCCESS) {
        goto done;
    }
    app.ctx.started = apr_time_now();
    if (load_config(&app, args.config) != APR_SUCCESS
        || detach(&app, &args, &daemon) != APR_SUCCESS) {
        goto done;
    }
    if (FCGX_Init() != 0) {
        CHAT_LOG(app.ctx.log, CHAT_LOG_ERROR, "FCGX_Init failed");
        goto done;
    }
    if (open_listener(&app, &where, &err) != APR_SUCCESS) {
        CHAT_LOG(app.ctx.log, CHAT_LOG_ERROR, "cannot listen", "err", err);
        fprintf(stderr, "chat-restapi: %s\n", err != NULL ? err : "cannot listen");
        goto done;
    }
    if (start_threads(&app) != APR_SUCCESS) {
        CHAT_LOG(app.ctx.log, CHAT_LOG_ERROR, "cannot start serving threads");
        stop_threads(&app);
        goto done;
    }
    CHAT_LOG(app.ctx.log, CHAT_LOG_INFO, "chat-restapi listening", "listen", where,
             "threads", apr_itoa(app.pool, app.n_threads),
             "storage", chat_config_storage_name(app.ctx.cfg->storage),
             "version", PACKAGE_VERSION);
    chat_sd_daemon_ready(daemon);
    chat_sd_notify("READY=1");
    sig = wait_for_stop(&app, &set);
    chat_sd_notify("STOPPING=1");
    CHAT_LOG(app.ctx.log, CHAT_LOG_INFO, "chat-restapi stopping",
             "signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
    stop_threads(&app);
    CHAT_LOG(app.ctx.log, CHAT_LOG_INFO, "chat-restapi stopped");
    code = 0;
done:
    if (app.listen_fd > 0) {
        close(app.listen_fd);
    }
    if (app.unix_path != NULL) {
        unlink(app.unix_path);
    }
    if (app.pool != NULL) {
        apr_pool_destroy(app.pool);
    }
    apr_terminate();
    return code;
}
