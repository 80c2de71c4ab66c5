/* chat_token.c: HMAC-SHA256 bearer tokens (being written). */
#include "chat_token.h"

apr_status_t chat_token_sign(const char *secret, const char *user_id, apr_int64_t expiry,
                             const char *name, char **out, apr_pool_t *pool)
{
    (void)secret, (void)user_id, (void)expiry, (void)name, (void)out, (void)pool;
    return APR_ENOTIMPL;
}

apr_status_t chat_token_verify(const char *secret, const char *token, apr_time_t now,
                               chat_token_claims_t *claims, apr_pool_t *pool)
{
    (void)secret, (void)token, (void)now, (void)claims, (void)pool;
    return APR_ENOTIMPL;
}

char *chat_token_b64url_encode(const unsigned char *data, apr_size_t len, apr_pool_t *pool)
{
    (void)data, (void)len;
    return apr_pcalloc(pool, 1);
}

apr_status_t chat_token_b64url_decode(const char *s, apr_size_t slen, unsigned char **out,
                                      apr_size_t *outlen, apr_pool_t *pool)
{
    (void)s, (void)slen, (void)out, (void)outlen, (void)pool;
    return APR_ENOTIMPL;
}
