/* chat_config.c: configuration from defaults, an EnvironmentFile and the environment
 * (being written). */
#include "chat_config.h"

apr_status_t chat_config_load(chat_config_t **out, const char *file, const char *const *envp,
                              char **err, apr_pool_t *pool)
{
    (void)out, (void)file, (void)envp, (void)pool;
    *err = "configuration loading is not implemented yet";
    return APR_ENOTIMPL;
}

apr_status_t chat_config_parse_buffer(const char *buf, apr_size_t len, apr_table_t *table,
                                      char **err, apr_pool_t *pool)
{
    (void)buf, (void)len, (void)table, (void)pool;
    *err = "not implemented yet";
    return APR_ENOTIMPL;
}

apr_status_t chat_config_parse_listen(const char *s, char **host, int *port, int *is_unix,
                                      apr_pool_t *pool)
{
    (void)s, (void)host, (void)port, (void)is_unix, (void)pool;
    return APR_ENOTIMPL;
}

int chat_config_is_origin_allowed(const chat_config_t *cfg, const char *origin)
{
    (void)cfg, (void)origin;
    return 0;
}

const char *chat_config_storage_name(chat_storage_e s)
{
    switch (s) {
    case CHAT_STORAGE_SQLITE:
        return "sqlite";
    case CHAT_STORAGE_DYNAMODB:
        return "dynamodb";
    default:
        return "none";
    }
}

void chat_config_print_help(FILE *out)
{
    (void)out;
}
