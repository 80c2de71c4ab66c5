/* chat-token: mints and verifies the relay's bearer tokens from the command line.
 *
 *   chat-token [options] USER_ID          prints a token for USER_ID
 *   chat-token [options] --verify TOKEN   checks TOKEN, prints its claims as JSON
 *
 * The secret comes from --secret-file, else AUTH_SECRET: from the environment, else from the
 * secrets file (--secrets FILE, default the installed secrets.conf when readable: what the
 * systemd units load with EnvironmentFile=), else from --config FILE (default the daemons'
 * file when present). That is the order in which the daemons see it under systemd, so a token
 * minted here is one the relay accepts. Thread: single-threaded main. */
#include "config.h"

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "chat_config.h"
#include "chat_token.h"

#ifndef CHAT_DEFAULT_CONFIG
#define CHAT_DEFAULT_CONFIG "/etc/chat-analytics/chat-analytics.conf"
#endif
#ifndef CHAT_DEFAULT_SECRETS
#define CHAT_DEFAULT_SECRETS "/etc/chat-analytics/secrets.conf"
#endif

extern char **environ;

/* Exit codes, listed in --help. */
enum {
    EXIT_OK = 0,
    EXIT_MALFORMED = 1,      /* token missing, malformed or naming no user */
    EXIT_SIGNATURE = 2,      /* token signature does not match the secret */
    EXIT_EXPIRED = 3,        /* token has expired */
    EXIT_USAGE = 64,         /* bad arguments (sysexits EX_USAGE) */
    EXIT_SOFTWARE = 70,      /* internal error */
    EXIT_CONFIG = 78         /* bad configuration or no secret (EX_CONFIG) */
};

#define MAX_SECRET_FILE 65536

typedef struct {
    const char *config;
    const char *secrets;     /* KEY=value file with AUTH_SECRET */
    const char *secret_file;
    const char *name;
    const char *ttl;
    const char *expiry;
    const char *verify;      /* token to verify, "-" for stdin */
    const char *user;
} args_t;

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: chat-token [OPTIONS] USER_ID\n"
            "       chat-token [OPTIONS] --verify TOKEN\n"
            "\n"
            "Mints a bearer token for USER_ID (printed on stdout), or verifies TOKEN and prints\n"
            "its claims as JSON. Tokens are base64url(USER_ID|EXPIRY[|NAME]) \".\" base64url(\n"
            "HMAC-SHA256(AUTH_SECRET, same)), the format the relay accepts.\n"
            "\n"
            "  -c, --config FILE       read KEY=value settings from FILE (default %s\n"
            "                          when present); the environment overrides the file\n"
            "  -S, --secrets FILE      KEY=value file whose AUTH_SECRET is used unless the\n"
            "                          environment sets one (default %s\n"
            "                          when readable)\n"
            "  -s, --secret-file FILE  read the secret from FILE (one trailing newline is\n"
            "                          dropped) instead of AUTH_SECRET\n"
            "  -n, --name NAME         display name carried in the token\n"
            "  -t, --ttl SECONDS       lifetime (default TOKEN_TTL, 3600)\n"
            "  -e, --expiry UNIX       absolute expiry in Unix seconds (overrides --ttl)\n"
            "  -v, --verify TOKEN      verify TOKEN instead of minting; \"-\" reads stdin\n"
            "  -h, --help              show this help\n"
            "  -V, --version           show the version\n"
            "\n"
            "Exit status:\n"
            "  0   token minted, or token valid\n"
            "  1   token missing, malformed, or naming no user\n"
            "  2   token signature does not match the secret\n"
            "  3   token has expired\n"
            "  64  bad arguments (unknown option, bad user id, name, TTL or expiry)\n"
            "  70  internal error\n"
            "  78  bad configuration, unreadable secret file, or no secret configured\n",
            CHAT_DEFAULT_CONFIG, CHAT_DEFAULT_SECRETS);
}

/* Matches "-x VALUE", "--long VALUE" and "--long=VALUE"; advances *i past what it used. */
static int take_option(int argc, const char *const *argv, int *i, const char *shrt,
                       const char *lng, const char **value)
{
    const char *a = argv[*i];
    apr_size_t n = strlen(lng);

    if ((strcmp(a, shrt) == 0 || strcmp(a, lng) == 0) && *i + 1 < argc) {
        *value = argv[++*i];
        return 1;
    }
    if (strncmp(a, lng, n) == 0 && a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    return 0;
}

/* Returns -1 to go on, or the exit code. */
static int parse_args(int argc, const char *const *argv, args_t *args)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return EXIT_OK;
        }
        if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("chat-token %s\n", PACKAGE_VERSION);
            return EXIT_OK;
        }
        if (take_option(argc, argv, &i, "-c", "--config", &args->config)
            || take_option(argc, argv, &i, "-S", "--secrets", &args->secrets)
            || take_option(argc, argv, &i, "-s", "--secret-file", &args->secret_file)
            || take_option(argc, argv, &i, "-n", "--name", &args->name)
            || take_option(argc, argv, &i, "-t", "--ttl", &args->ttl)
            || take_option(argc, argv, &i, "-e", "--expiry", &args->expiry)
            || take_option(argc, argv, &i, "-v", "--verify", &args->verify)) {
            continue;
        }
        if (a[0] == '-' && a[1] != '\0' && strcmp(a, "--") != 0) {
            fprintf(stderr, "chat-token: unknown or incomplete option: %s\n"
                            "Try 'chat-token --help'.\n", a);
            return EXIT_USAGE;
        }
        if (strcmp(a, "--") == 0 && i + 1 < argc) {
            a = argv[++i];
        }
        if (args->user != NULL) {
            fprintf(stderr, "chat-token: one USER_ID only\n");
            return EXIT_USAGE;
        }
        args->user = a;
    }
    if ((args->verify == NULL) == (args->user == NULL)) {
        fprintf(stderr, "chat-token: give a USER_ID to mint or --verify TOKEN\n"
                        "Try 'chat-token --help'.\n");
        return EXIT_USAGE;
    }
    return -1;
}

/* Reads at most max bytes of path (or stdin for "-"), dropping one trailing newline. */
static apr_status_t read_small(const char *path, char **out, apr_pool_t *pool)
{
    apr_file_t *f = NULL;
    char *buf = apr_palloc(pool, MAX_SECRET_FILE + 1);
    apr_size_t got = 0;
    apr_status_t rv;

    rv = strcmp(path, "-") == 0 ? apr_file_open_stdin(&f, pool)
                                : apr_file_open(&f, path, APR_FOPEN_READ, 0, pool);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = apr_file_read_full(f, buf, MAX_SECRET_FILE + 1, &got);
    if (rv == APR_EOF) {
        rv = APR_SUCCESS;
    }
    if (rv == APR_SUCCESS && got > MAX_SECRET_FILE) {
        rv = APR_ENOSPC;
    }
    if (rv == APR_SUCCESS) {
        if (got > 0 && buf[got - 1] == '\n') {
            got--;
        }
        if (got > 0 && buf[got - 1] == '\r') {
            got--;
        }
        buf[got] = '\0';
        *out = buf;
    }
    if (strcmp(path, "-") != 0) {
        apr_file_close(f);
    }
    return rv;
}

/* Strict decimal in [min, max]. */
static int parse_number(const char *s, apr_int64_t min, apr_int64_t max, apr_int64_t *out)
{
    char *end;
    long long v;

    if (s == NULL || *s < '0' || *s > '9') {
        return 0;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (*end != '\0' || errno == ERANGE || v < min || v > max) {
        return 0;
    }
    *out = v;
    return 1;
}

/* AUTH_SECRET of the secrets file into *secret when it has one. The default file is skipped
 * when missing or unreadable (an admin without root); a named one must be readable. */
static int load_secrets_file(const args_t *args, const char **secret, apr_pool_t *pool)
{
    const char *file = args->secrets != NULL ? args->secrets : CHAT_DEFAULT_SECRETS;
    apr_table_t *t = apr_table_make(pool, 8);
    char *text = NULL;
    char *err = NULL;
    char ebuf[128];
    apr_status_t rv;

    rv = read_small(file, &text, pool);
    if (rv != APR_SUCCESS) {
        if (args->secrets == NULL) {
            return -1;
        }
        fprintf(stderr, "chat-token: %s: %s\n", file, apr_strerror(rv, ebuf, sizeof(ebuf)));
        return EXIT_CONFIG;
    }
    if (chat_config_parse_buffer(text, strlen(text), t, &err, pool) != APR_SUCCESS) {
        fprintf(stderr, "chat-token: %s: %s\n", file, err);
        return EXIT_CONFIG;
    }
    if (apr_table_get(t, "AUTH_SECRET") != NULL) {
        *secret = apr_table_get(t, "AUTH_SECRET");
    }
    return -1;
}

/* The secret and the TTL default, from the files and the environment. */
static int load_secret(const args_t *args, const char **secret, int *ttl, apr_pool_t *pool)
{
    const char *file = args->config;
    chat_config_t *cfg = NULL;
    apr_finfo_t fi;
    char *err = NULL;
    char *from_file = NULL;
    char ebuf[128];
    apr_status_t rv;

    if (file == NULL && apr_stat(&fi, CHAT_DEFAULT_CONFIG, APR_FINFO_TYPE, pool) == APR_SUCCESS) {
        file = CHAT_DEFAULT_CONFIG;
    }
    rv = chat_config_load(&cfg, file, (const char *const *)environ, &err, pool);
    if (rv != APR_SUCCESS) {
        fprintf(stderr, "chat-token: %s\n", err != NULL ? err : "invalid configuration");
        return EXIT_CONFIG;
    }
    *ttl = cfg->token_ttl_s;
    *secret = cfg->auth_secret;
    if (args->secret_file == NULL && getenv("AUTH_SECRET") == NULL) {
        int code = load_secrets_file(args, secret, pool);

        if (code >= 0) {
            return code;
        }
    }
    if (args->secret_file != NULL) {
        rv = read_small(args->secret_file, &from_file, pool);
        if (rv != APR_SUCCESS) {
            fprintf(stderr, "chat-token: %s: %s\n", args->secret_file,
                    apr_strerror(rv, ebuf, sizeof(ebuf)));
            return EXIT_CONFIG;
        }
        *secret = from_file;
    }
    if (**secret == '\0') {
        fprintf(stderr, "chat-token: no secret: set AUTH_SECRET (environment, secrets file or "
                        "config) or use --secret-file\n");
        return EXIT_CONFIG;
    }
    return -1;
}

static int mint(const args_t *args, const char *secret, int ttl, apr_pool_t *pool)
{
    apr_int64_t expiry, seconds = ttl;
    char *token = NULL;
    char ebuf[128];
    apr_status_t rv;

    if (args->ttl != NULL && !parse_number(args->ttl, 1, 315360000, &seconds)) {
        fprintf(stderr, "chat-token: --ttl: must be between 1 and 315360000: \"%s\"\n",
                args->ttl);
        return EXIT_USAGE;
    }
    expiry = apr_time_sec(apr_time_now()) + seconds;
    if (args->expiry != NULL && !parse_number(args->expiry, 0, APR_INT64_C(999999999999),
                                              &expiry)) {
        fprintf(stderr, "chat-token: --expiry: not Unix seconds: \"%s\"\n", args->expiry);
        return EXIT_USAGE;
    }
    rv = chat_token_sign(secret, args->user, expiry, args->name, &token, pool);
    if (rv != APR_SUCCESS) {
        fprintf(stderr, "chat-token: %s: %s\n", chat_err_code(rv),
                chat_err_str(rv, ebuf, sizeof(ebuf)));
        return chat_err_is_ours(rv) || rv == APR_EINVAL ? EXIT_USAGE : EXIT_SOFTWARE;
    }
    printf("%s\n", token);
    return EXIT_OK;
}

static int verify(const args_t *args, const char *secret, apr_pool_t *pool)
{
    chat_token_claims_t claims;
    const char *token = args->verify;
    char *from_stdin = NULL;
    char ebuf[128];
    json_object *out;
    apr_status_t rv;

    if (strcmp(token, "-") == 0) {
        if (read_small("-", &from_stdin, pool) != APR_SUCCESS) {
            fprintf(stderr, "chat-token: cannot read the token from stdin\n");
            return EXIT_USAGE;
        }
        token = from_stdin;
    }
    rv = chat_token_verify(secret, token, apr_time_now(), &claims, pool);
    if (rv != APR_SUCCESS) {
        fprintf(stderr, "chat-token: %s: %s\n", chat_err_code(rv),
                chat_err_str(rv, ebuf, sizeof(ebuf)));
        return rv == CHAT_ETOKEN_SIGNATURE ? EXIT_SIGNATURE
               : rv == CHAT_ETOKEN_EXPIRED ? EXIT_EXPIRED
                                           : EXIT_MALFORMED;
    }
    out = json_object_new_object();
    json_object_object_add(out, "userId", json_object_new_string(claims.user_id));
    json_object_object_add(out, "expiry", json_object_new_int64(claims.expiry));
    json_object_object_add(out, "name",
                           claims.name != NULL ? json_object_new_string(claims.name) : NULL);
    printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
    json_object_put(out);
    return EXIT_OK;
}

int main(int argc, const char *const *argv)
{
    args_t args = { 0 };
    apr_pool_t *pool = NULL;
    const char *secret = NULL;
    int ttl = 3600;
    int code;

    code = parse_args(argc, argv, &args);
    if (code >= 0) {
        return code;
    }
    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS
        || apr_pool_create(&pool, NULL) != APR_SUCCESS) {
        fprintf(stderr, "chat-token: cannot initialise APR\n");
        return EXIT_SOFTWARE;
    }
    code = load_secret(&args, &secret, &ttl, pool);
    if (code < 0) {
        code = args.verify != NULL ? verify(&args, secret, pool) : mint(&args, secret, ttl, pool);
    }
    apr_pool_destroy(pool);
    apr_terminate();
    return code;
}
