/* chat_token.h: HMAC-SHA256 bearer tokens, in the Go system's format so its tokens still work:
 *
 *   base64url(payload) "." base64url(HMAC-SHA256(secret, payload))     (no padding)
 *   payload = userId "|" expiryUnixSeconds [ "|" displayName ]
 *
 * The signature is compared in constant time. Thread: pure, reentrant. */
#ifndef CHAT_TOKEN_H
#define CHAT_TOKEN_H

#include <apr_pools.h>
#include <apr_time.h>
#include "chat_err.h"

/* Longest token verify looks at: a 128-byte user id, the expiry and a 50-character name
 * encode to well under this. Longer is CHAT_ETOKEN_MALFORMED before any decoding. */
#define CHAT_TOKEN_MAX_LEN 2048

typedef struct chat_token_claims_t {
    const char *user_id;      /* never empty on success */
    apr_int64_t expiry;       /* Unix seconds */
    const char *name;         /* display name, or NULL when the token carries none */
} chat_token_claims_t;

/* Mints a token for user_id valid until expiry (Unix seconds), with an optional display name
 * (NULL for none). user_id must pass chat_msg_validate_userid and name (if given)
 * chat_msg_validate_username. *out is allocated from pool. APR_SUCCESS, CHAT_EBAD_USERID,
 * a username code, APR_EINVAL for a negative expiry, or CHAT_ETOKEN_MISSING when secret is
 * empty. */
apr_status_t chat_token_sign(const char *secret, const char *user_id, apr_int64_t expiry,
                             const char *name, char **out, apr_pool_t *pool);

/* Verifies token against secret at time now. On success fills *claims (strings from pool).
 * Errors, each distinct: CHAT_ETOKEN_MISSING (NULL or empty token), CHAT_ETOKEN_MALFORMED
 * (shape, base64url, payload fields), CHAT_ETOKEN_SIGNATURE, CHAT_ETOKEN_EXPIRED (expiry <=
 * now), CHAT_ETOKEN_EMPTY_USER. The signature is checked before anything in the payload is
 * trusted; an empty secret verifies nothing (CHAT_ETOKEN_SIGNATURE). A signed payload whose
 * user id fails chat_msg_validate_userid or whose name fails chat_msg_validate_username is
 * CHAT_ETOKEN_MALFORMED; an empty name field means no name. */
apr_status_t chat_token_verify(const char *secret, const char *token, apr_time_t now,
                               chat_token_claims_t *claims, apr_pool_t *pool);

/* base64url without padding; exposed for tests and the CLI. *out from pool. */
char *chat_token_b64url_encode(const unsigned char *data, apr_size_t len, apr_pool_t *pool);
/* APR_SUCCESS or CHAT_ETOKEN_MALFORMED (bad alphabet, padding, impossible length). */
apr_status_t chat_token_b64url_decode(const char *s, apr_size_t slen, unsigned char **out,
                                      apr_size_t *outlen, apr_pool_t *pool);

#endif
