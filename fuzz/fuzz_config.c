/* fuzz_config.c: libFuzzer harness for the configuration file parser (common/chat_config.c).
 *
 * The input is the text of a --config file (systemd EnvironmentFile syntax). It goes to
 * chat_config_parse_buffer exactly as libFuzzer allocated it, so reading one byte past len is
 * an ASan report; what parses then goes through chat_config_load as an environment, which
 * validates every value. The same bytes are also tried as a listen address.
 * Properties: a refusal always comes with an error text; a parsed key never contains '=' or
 * a NUL (the environment could not carry it); a loaded configuration's RELAY_LISTEN parses as
 * a listen address and its origin list answers consistently. */
#include "fuzz_common.h"

#include <apr_strings.h>
#include <apr_tables.h>
#include <string.h>
#include "chat_config.h"

static void check_load(const apr_table_t *table, apr_pool_t *pool)
{
    const apr_array_header_t *arr = apr_table_elts(table);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    const char **envp = apr_pcalloc(pool, sizeof(*envp) * ((apr_size_t)arr->nelts + 1));
    chat_config_t *cfg = NULL;
    char *err = NULL, *host = NULL;
    int port = -1, is_unix = -1;

    for (int i = 0; i < arr->nelts; i++) {
        FUZZ_CHECK(e[i].key != NULL && e[i].key[0] != '\0' && strchr(e[i].key, '=') == NULL);
        FUZZ_CHECK(e[i].val != NULL);
        envp[i] = apr_pstrcat(pool, e[i].key, "=", e[i].val, NULL);
    }
    if (chat_config_load(&cfg, NULL, envp, &err, pool) != APR_SUCCESS) {
        FUZZ_CHECK(cfg == NULL && err != NULL && err[0] != '\0');
        return;
    }
    FUZZ_CHECK(cfg != NULL && cfg->raw != NULL);
    FUZZ_CHECK(chat_config_parse_listen(cfg->relay_listen, &host, &port, &is_unix, pool)
               == APR_SUCCESS);
    FUZZ_CHECK(is_unix || (port > 0 && port <= 65535));
    if (cfg->allow_all_origins) {
        FUZZ_CHECK(chat_config_is_origin_allowed(cfg, "https://anything.example") == 1);
    }
    for (int i = 0; cfg->allowed_origins != NULL && i < cfg->allowed_origins->nelts; i++) {
        FUZZ_CHECK(chat_config_is_origin_allowed(
                       cfg, APR_ARRAY_IDX(cfg->allowed_origins, i, const char *)) == 1);
    }
    (void)chat_config_storage_name(cfg->storage);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_pool();
    apr_table_t *table = apr_table_make(pool, 8);
    char *err = NULL, *host = NULL, *s;
    int port = 0, is_unix = 0;

    if (size > 64 * 1024) {
        return 0;
    }
    if (chat_config_parse_buffer((const char *)data, size, table, &err, pool) == APR_SUCCESS) {
        check_load(table, pool);
    }
    else {
        FUZZ_CHECK(err != NULL && strncmp(err, "line ", 5) == 0);
    }
    s = fuzz_strdup(data, size);
    if (chat_config_parse_listen(s, &host, &port, &is_unix, pool) == APR_SUCCESS) {
        FUZZ_CHECK(is_unix ? port == 0 && host != NULL : port > 0 && port <= 65535);
    }
    free(s);
    fuzz_pool_done(pool);
    return 0;
}
